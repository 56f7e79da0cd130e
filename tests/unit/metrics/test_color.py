"""companion.metrics.color: known answers, invariances and input validation."""

import numpy as np
import pytest
from skimage import data
from skimage.color import rgb2lab
from skimage.metrics import structural_similarity

from companion.metrics.color import (as_float_rgb, channel_wasserstein, color_transfer_scores, colorfulness,
                                     emd_distance, mean_ciede2000, sliced_wasserstein, ssim_luminance)


@pytest.fixture(scope="module")
def photos():
    # Small crops keep the suite fast; real photos keep the numbers meaningful.
    return data.astronaut()[::8, ::8], data.coffee()[::8, ::8]


def random_image(seed, shape=(24, 32), high=1.0):
    return np.random.default_rng(seed).uniform(0, high, size=(*shape, 3))


def test_identical_images(photos):
    a, _ = photos
    assert all(v == 0.0 for v in channel_wasserstein(a, a).values())
    assert sliced_wasserstein(a, a) == pytest.approx(0.0, abs=1e-9)
    assert emd_distance(a, a, n_samples=300) == pytest.approx(0.0, abs=1e-6)  # ot.dist rounding
    assert ssim_luminance(a, a) == pytest.approx(1.0)
    assert mean_ciede2000(a, a) == 0.0


def test_uint8_and_float_inputs_agree(photos):
    a, c = photos
    assert colorfulness(a) == pytest.approx(colorfulness(a / 255.0), rel=1e-12)
    assert channel_wasserstein(a, c) == pytest.approx(channel_wasserstein(a / 255.0, c.astype(np.float32) / 255))


def test_channel_wasserstein_of_a_shift_is_the_shift():
    x = random_image(0, high=0.8)
    y = x + np.array([0.1, 0.0, 0.05])
    got = channel_wasserstein(x, y, space="rgb")
    assert got["R"] == pytest.approx(0.1) and got["G"] == 0.0 and got["B"] == pytest.approx(0.05)


def test_channel_wasserstein_ignores_where_pixels_are(photos):
    a, _ = photos
    shuffled = np.random.default_rng(1).permutation(a.reshape(-1, 3)).reshape(a.shape)
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in channel_wasserstein(a, shuffled).values())
    assert ssim_luminance(shuffled, a) < 0.2  # structure is what SSIM sees instead


def test_emd_of_a_translation_is_its_length():
    x = random_image(2, shape=(10, 12), high=0.7)  # 120 pixels: no subsampling, exact EMD
    shift = np.array([0.1, 0.2, 0.2])
    assert emd_distance(x, x + shift, n_samples=500, space="rgb") == pytest.approx(0.3, rel=1e-9)


def test_sliced_wasserstein_of_a_translation():
    x = random_image(3, shape=(30, 30), high=0.7)
    shift = np.array([0.1, 0.2, 0.2])
    # each 1-D projection of a translation is a shift by theta.v: SW2^2 = E[(theta.v)^2] = |v|^2 / 3
    got = sliced_wasserstein(x, x + shift, n_projections=1000, space="rgb")
    assert got == pytest.approx(0.3 / np.sqrt(3), rel=0.05)


def test_subsampled_distances_are_seeded(photos):
    a, c = photos
    assert sliced_wasserstein(a, c, n_samples=500, seed=4) == sliced_wasserstein(a, c, n_samples=500, seed=4)
    assert emd_distance(a, c, n_samples=200, seed=4) == emd_distance(a, c, n_samples=200, seed=4)
    assert emd_distance(a, c, n_samples=200, seed=4) != emd_distance(a, c, n_samples=200, seed=5)


def test_colorfulness_of_grey_is_zero():
    grey = np.random.default_rng(5).integers(0, 256, size=(20, 20), dtype=np.uint8)
    assert colorfulness(np.repeat(grey[..., None], 3, axis=2)) == pytest.approx(0.0, abs=1e-12)


def test_colorfulness_hand_computed():
    # Half pure red, half pure blue. red: rg = 255, yb = 127.5; blue: rg = 0, yb = -255.
    # mu_rg = 127.5, sd_rg = 127.5; mu_yb = -63.75, sd_yb = 191.25 (population std), so
    # M = 127.5 * (sqrt(1 + 1.5^2) + 0.3 * sqrt(1 + 0.5^2)).
    img = np.zeros((4, 6, 3), dtype=np.uint8)
    img[:2, :, 0] = 255
    img[2:, :, 2] = 255
    assert colorfulness(img) == pytest.approx(127.5 * (np.sqrt(3.25) + 0.3 * np.sqrt(1.25)), rel=1e-12)


def test_ssim_uses_wang_settings_on_l(photos):
    a, c = photos
    b = np.clip(a.astype(float) / 255 * 0.8 + 0.1, 0, 1)
    la, lb = rgb2lab(a)[..., 0], rgb2lab(b)[..., 0]
    expected = structural_similarity(la, lb, data_range=100, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim_luminance(b, a) == pytest.approx(expected, rel=1e-12)
    assert ssim_luminance(b, a) != pytest.approx(structural_similarity(la, lb, data_range=100), rel=1e-6)
    # A grey target is accepted: a recolouring that keeps L* perfectly keeps SSIM at 1 only for same L*.
    grey = (rgb2lab(a)[..., 0] / 100)
    assert 0 < ssim_luminance(a, grey) <= 1


def test_ciede2000_grows_with_the_colour_change(photos):
    a, _ = photos
    small = np.clip(a / 255 + [0.02, 0, 0], 0, 1)
    large = np.clip(a / 255 + [0.15, 0, -0.1], 0, 1)
    assert 0 < mean_ciede2000(small, a) < mean_ciede2000(large, a)


def test_color_transfer_scores_bundle(photos):
    a, c = photos
    s = color_transfer_scores(a, a, c, emd_samples=200)
    assert s["SSIM_L"] == pytest.approx(1.0) and s["dE00"] == 0.0
    assert s["colorfulness_result"] == s["colorfulness_target"] != s["colorfulness_reference"]
    assert all(s[k] > 0 for k in ("W1_L", "W1_a", "W1_b", "SW2_lab", "EMD_lab"))
    assert "EMD_lab" not in color_transfer_scores(a, a, c, emd_samples=None)


@pytest.mark.parametrize("image, match", [
    (np.zeros((4, 4)), r"\[H, W, 3\]"),
    (np.zeros((4, 4, 4)), r"\[H, W, 3\]"),
    (np.zeros((0, 4, 3)), "empty"),
    (np.full((4, 4, 3), 2.0), r"\[0, 1\]"),
    (np.full((4, 4, 3), 200.0), "0-255"),
    (np.full((4, 4, 3), np.nan), "NaN"),
    (np.zeros((4, 4, 3), dtype=np.int64), "dtype"),
    (np.zeros((4, 4, 3), dtype=bool), "dtype"),
])
def test_bad_images(image, match):
    with pytest.raises(ValueError, match=match):
        as_float_rgb(image)
    with pytest.raises(ValueError, match=match):
        colorfulness(image)


def test_bad_pairs_and_options():
    x, y = random_image(6), random_image(7, shape=(24, 30))
    for fn in (ssim_luminance, mean_ciede2000):
        with pytest.raises(ValueError, match="same height and width"):
            fn(x, y)
    with pytest.raises(ValueError, match="at least 11"):
        ssim_luminance(random_image(8, (8, 8)), random_image(9, (8, 8)))
    with pytest.raises(ValueError, match="space"):
        channel_wasserstein(x, y, space="hsv")
    with pytest.raises(ValueError, match="result"):
        sliced_wasserstein(np.zeros((3, 3)), y)
