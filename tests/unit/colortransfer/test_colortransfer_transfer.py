"""Baselines, regrain, the whole pipeline and its input checks."""

import numpy as np
import pytest

from companion.colortransfer import baselines
from companion.colortransfer.data import as_rgb_float, load_image
from companion.colortransfer.pipeline import main, transfer


@pytest.fixture(scope="module")
def pair():
    return load_image("coffee", max_side=48), load_image("rocket", max_side=40)


def test_regrain_keeps_target_detail_and_recoloured_low_frequencies():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64] / 64
    smooth = np.stack([0.3 + 0.2 * xx, 0.5 + 0.1 * yy, 0.4 + 0 * xx], -1)
    texture = 0.05 * rng.standard_normal((64, 64, 1))
    original = np.clip(smooth + texture, 0, 1)
    recoloured = np.clip(smooth[..., ::-1] * 0.8 + 0.1, 0, 1)  # new colours, no texture
    out = baselines.regrain(original, recoloured, smoothness=30.0)
    # Fine gradients come from the original ...
    g_out, g_orig = np.diff(out, axis=1), np.diff(original, axis=1)
    assert np.corrcoef(g_out.ravel(), g_orig.ravel())[0, 1] > 0.9
    # ... while the colour (per-channel means) follows the recoloured image.
    np.testing.assert_allclose(out.mean((0, 1)), recoloured.mean((0, 1)), atol=0.01)
    # smoothness 0 returns the recoloured image unchanged.
    np.testing.assert_allclose(baselines.regrain(original, recoloured, 0.0), recoloured, atol=1e-6)


def test_reinhard_matches_lab_mean_and_std(pair):
    from skimage.color import rgb2lab

    # A reference inside the target's gamut, so clipping to [0, 1] does not interfere.
    t = pair[0]
    r = np.clip(t[::-1, ::-1] * 0.6 + np.array([0.3, 0.15, 0.05], np.float32), 0, 1)
    out = rgb2lab(baselines.reinhard(t, r)).reshape(-1, 3)
    ref = rgb2lab(r).reshape(-1, 3)
    np.testing.assert_allclose(out.mean(0), ref.mean(0), atol=1.0)
    np.testing.assert_allclose(out.std(0), ref.std(0), rtol=0.1, atol=0.5)


def test_pitie_idt_moves_the_distribution_to_the_reference(pair):
    from scipy.stats import wasserstein_distance

    t, r = pair
    out = baselines.pitie_idt(t, r, n_iter=20, seed=0)
    before = sum(wasserstein_distance(t[..., k].ravel(), r[..., k].ravel()) for k in range(3))
    after = sum(wasserstein_distance(out[..., k].ravel(), r[..., k].ravel()) for k in range(3))
    assert after < 0.2 * before
    np.testing.assert_array_equal(out, baselines.pitie_idt(t, r, n_iter=20, seed=0))


def test_transfer_output_range_shape_and_sizes_may_differ(pair):
    t, r = pair
    out = transfer(t, r, features="handcrafted")
    assert out.shape == t.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    # uint8 input gives the same result as its float version
    out8 = transfer((t * 255).round().astype(np.uint8), r, features="handcrafted")
    np.testing.assert_allclose(out8, transfer((t * 255).round() / 255, r, features="handcrafted"), atol=1e-5)


def test_transfer_moves_colours_towards_the_reference(pair):
    t, r = pair
    out = transfer(t, r, features="efficientnet")
    assert np.abs(out.mean((0, 1)) - r.mean((0, 1))).sum() < np.abs(t.mean((0, 1)) - r.mean((0, 1))).sum()


def test_transfer_is_deterministic(pair):
    t, r = pair
    a = transfer(t, r, features="efficientnet", regrain=False)
    b = transfer(t, r, features="efficientnet", regrain=False)
    np.testing.assert_array_equal(a, b)


def test_hard_attention_uses_reference_superpixel_colours_only(pair):
    t, r = pair
    _, det = transfer(t, r, features="handcrafted", attention="hard", regrain=False, return_details=True)
    from companion.colortransfer.matching import mean_colors

    ref_colors = mean_colors(r, det["reference_labels"]).numpy()
    for c in det["superpixel_colors"].numpy():
        assert np.min(np.abs(ref_colors - c).sum(1)) < 1e-5


@pytest.mark.parametrize("bad, message", [
    (np.zeros((32, 32)), "grayscale"),
    (np.zeros((32, 32, 1)), "grayscale"),
    (np.zeros((32, 32, 4)), "RGBA"),
    (np.zeros((8, 32, 3)), "at least 16"),
    (np.full((32, 32, 3), np.nan), "non-finite"),
    (np.full((32, 32, 3), 2.0), r"\[0, 1\]"),
    (np.zeros((32, 32, 3), np.int32), "uint8"),
])
def test_bad_inputs_raise_clear_errors(bad, message, pair):
    with pytest.raises(ValueError, match=message):
        as_rgb_float(bad)
    with pytest.raises(ValueError, match="reference"):
        transfer(pair[0], bad, features="handcrafted")


def test_unknown_options_raise():
    with pytest.raises(ValueError, match="feature extractor"):
        from companion.colortransfer.models import build_extractor

        build_extractor("resnet")
    with pytest.raises(FileNotFoundError, match="neither a bundled"):
        load_image("/no/such/image.png")


def test_cli_writes_an_image(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["--target", "chelsea", "--reference", "coffee", "--out", str(out), "--max-side", "40",
                 "--features", "handcrafted", "--device", "cpu"]) == 0
    import skimage.io

    img = skimage.io.imread(out)
    assert img.shape[2] == 3 and max(img.shape[:2]) == 40
    assert "wrote" in capsys.readouterr().out


def test_feature_extractors_return_full_resolution_maps():
    from companion.colortransfer.models import build_extractor

    img = load_image("astronaut", max_side=37)  # odd size: upsampling must restore it exactly
    for kind, depth in [("efficientnet", "shallow"), ("efficientnet", "deep"), ("handcrafted", "shallow"),
                        ("vgg19", "shallow")]:
        ex = build_extractor(kind, depth=depth)
        f = ex(img)
        assert tuple(f.shape) == (37, 37, ex.channels) and bool(f.isfinite().all())


def test_vgg19_loads_a_local_weights_file(tmp_path):
    import torch
    from torchvision.models.vgg import cfgs, make_layers

    from companion.colortransfer.models import VGG19Features

    torch.manual_seed(0)
    trunk = make_layers(cfgs["E"])[:12]  # up to relu3_1, as in a torchvision vgg19 state dict
    state = {f"features.{k}": v for k, v in trunk.state_dict().items()}
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    ex = VGG19Features(weights_path=path)
    assert ex.pretrained and ex.channels == 64 + 128
    torch.testing.assert_close(ex.features[0].weight, state["features.0.weight"])
    img = load_image("chelsea", max_side=24)
    torch.testing.assert_close(ex(img), VGG19Features(weights_path=path)(img))  # same file, same features
    torch.save({"features.0.weight": state["features.0.weight"]}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="lacks VGG-19 feature weights"):
        VGG19Features(weights_path=tmp_path / "partial.pth")
