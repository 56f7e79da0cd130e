"""Super-features, attention and fusion against direct (slow, obvious) computations."""

import numpy as np
import pytest
import torch

from companion.colortransfer import matching


def _random_labels(h, w, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n, size=(h, w))
    labels.flat[:n] = np.arange(n)  # every label used
    return labels


def test_super_features_match_a_hand_loop():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(9, 11, 5)).astype(np.float32)
    labels = _random_labels(9, 11, 7, 1)
    got = matching.super_features(torch.from_numpy(feats), labels).numpy()
    for k in range(7):
        want = np.mean([feats[i, j] for i in range(9) for j in range(11) if labels[i, j] == k], axis=0)
        np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=1e-6)


def test_super_features_reject_bad_labels():
    feats = torch.zeros(4, 4, 2)
    with pytest.raises(ValueError, match="every value"):
        matching.super_features(feats, np.array([[0, 0, 2, 2]] * 4))
    with pytest.raises(ValueError, match="does not match"):
        matching.super_features(feats, np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="integers"):
        matching.super_features(feats, np.zeros((4, 4)))


def test_attention_rows_sum_to_one_and_follow_eq2():
    g = torch.Generator().manual_seed(0)
    ft, fr = torch.randn(12, 6, generator=g), torch.randn(9, 6, generator=g)
    a = matching.attention_map(ft, fr, tau=0.05)
    assert a.shape == (12, 9)
    torch.testing.assert_close(a.sum(1), torch.ones(12))
    # Eq. 2 written out entry by entry with the per-image mean super-feature.
    ct, cr = ft - ft.mean(0), fr - fr.mean(0)
    m = torch.tensor([[float(ct[i] @ cr[j] / (ct[i].norm() * cr[j].norm())) for j in range(9)] for i in range(12)])
    torch.testing.assert_close(a, torch.softmax(m / 0.05, 1))


def test_small_tau_tends_to_argmax_and_large_tau_to_uniform():
    g = torch.Generator().manual_seed(1)
    ft, fr = torch.randn(20, 8, generator=g), torch.randn(15, 8, generator=g)
    m = matching.correlation(ft, fr)
    sharp = matching.attention_map(ft, fr, tau=1e-4)
    assert torch.equal(sharp.argmax(1), m.argmax(1))
    assert sharp.max(1).values.min() > 0.99
    soft = matching.attention_map(ft, fr, tau=100.0)
    assert (soft - 1 / 15).abs().max() < 0.01
    # Entropy of each row grows with tau.
    ent = [-(matching.attention_map(ft, fr, tau=t).clamp_min(1e-30).log()
             * matching.attention_map(ft, fr, tau=t)).sum(1).mean() for t in (9e-4, 0.02, 0.1)]
    assert ent[0] < ent[1] < ent[2]
    hard = matching.hard_matching(ft, fr)
    assert torch.equal(hard.argmax(1), m.argmax(1)) and torch.equal(hard.sum(1), torch.ones(20))


@pytest.mark.parametrize("tau", [0, -1, float("nan"), float("inf")])
def test_attention_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        matching.attention_map(torch.randn(3, 2), torch.randn(4, 2), tau=tau)


def test_correlation_is_invariant_to_feature_scale_and_shift():
    g = torch.Generator().manual_seed(2)
    ft, fr = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    torch.testing.assert_close(matching.correlation(ft, fr), matching.correlation(3 * ft + 2, fr * 0.5 - 1))


def _fusion_by_hand(img, labels, colors, delta_s, delta_c, sigma_g, eps_pos=1.0, eps_col=1e-4):
    """Eqs. 3-6 over all target superpixels with W(p, j) = Σ_i d(p, i) A(i, j) kept explicit."""
    h, w, _ = img.shape
    n = labels.max() + 1
    out = np.zeros_like(img, dtype=np.float64)
    pos = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1).astype(float)
    stats = []
    for i in range(n):
        m = labels == i
        p, c = pos[m], img[m].astype(float)
        sp = delta_s**2 * (np.cov(p.T, bias=True) + eps_pos * np.eye(2))
        sc = delta_c**2 * (np.cov(c.T, bias=True) + eps_col * np.eye(3))
        stats.append((p.mean(0), c.mean(0), np.linalg.inv(sp), np.linalg.inv(sc)))
    for y in range(h):
        for x in range(w):
            q = np.array([(pos[y, x] - pm) @ ip @ (pos[y, x] - pm) + (img[y, x] - cm) @ ic @ (img[y, x] - cm)
                          for pm, cm, ip, ic in stats])
            d = np.exp(-(q - q.min()) / sigma_g)
            out[y, x] = d @ colors / d.sum()
    return out


def test_fusion_over_all_superpixels_matches_equations():
    rng = np.random.default_rng(3)
    img = rng.uniform(size=(10, 12, 3)).astype(np.float32)
    labels = np.repeat(np.repeat(np.arange(6).reshape(2, 3), 5, 0), 4, 1)
    colors = rng.uniform(size=(6, 3)).astype(np.float32)
    got = matching.fuse_colors(img, labels, colors, delta_s=10, delta_c=0.5, neighbourhood="all").numpy()
    np.testing.assert_allclose(got, _fusion_by_hand(img, labels, colors, 10, 0.5, 1.0), atol=1e-4)


def test_fusion_equals_weighted_average_with_attention_matrix():
    """The rewrite Σ_j W(p,j) Ī_R(j) / Σ_j W(p,j) = Σ_i d c_i / Σ_i d with c = A Ī_R."""
    rng = np.random.default_rng(4)
    img = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    labels = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 4, 0), 4, 1)
    attention = torch.softmax(torch.randn(4, 5, generator=torch.Generator().manual_seed(0)), 1)
    ref_colors = torch.rand(5, 3, generator=torch.Generator().manual_seed(1))
    got = matching.fuse_colors(img, labels, matching.direct_matching(attention, ref_colors),
                               delta_c=1.0, neighbourhood="all").numpy()
    assert got.shape == (8, 8, 3) and np.all(np.isfinite(got))
    # Explicit W(p, j) = Σ_i d(p, i) A(i, j), with d(p, i) from the hand implementation
    # (fusing one-hot colours returns the normalised d itself).
    d = np.stack([_fusion_by_hand(img, labels, np.eye(4)[:, [k, k, k]], 10.0, 1.0, 1.0)[..., 0] for k in range(4)], -1)
    w = d @ attention.numpy()                                        # (H, W, N_R)
    want = (w @ ref_colors.numpy()) / w.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_fusion_weights_favour_the_pixels_own_superpixel():
    # Two flat halves of very different colour: each pixel must take its own half's colour.
    img = np.zeros((16, 16, 3), np.float32)
    img[:, 8:] = 1.0
    labels = np.zeros((16, 16), int)
    labels[:, 8:] = 1
    colors = np.array([[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]], np.float32)
    out = matching.fuse_colors(img, labels, colors).numpy()
    np.testing.assert_allclose(out[:, :8], np.broadcast_to(colors[0], (16, 8, 3)), atol=1e-5)
    np.testing.assert_allclose(out[:, 8:], np.broadcast_to(colors[1], (16, 8, 3)), atol=1e-5)


def test_neighbourhood_rings_converge_to_the_full_sum_on_a_photo():
    from companion.colortransfer.data import load_image

    img = load_image("coffee", max_side=48)
    labels = matching.superpixels(img)
    colors = np.random.default_rng(0).uniform(size=(labels.max() + 1, 3)).astype(np.float32)
    full = matching.fuse_colors(img, labels, colors, neighbourhood="all").numpy()
    gaps = [np.abs(matching.fuse_colors(img, labels, colors, neighbourhood=k).numpy() - full).mean()
            for k in (1, 3, 100)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-5  # rings covering the whole graph give exactly Eq. 4


def test_adjacency_lists_self_first_and_symmetric():
    labels = np.array([[0, 0, 1], [2, 2, 1], [2, 3, 3]])
    nb = matching.adjacency_neighbours(labels).numpy()
    assert nb.shape[1] == 4  # 0 and 3 each have two neighbours plus themselves; 2 has all three
    assert list(nb[:, 0]) == [0, 1, 2, 3]
    sets = [set(r[r >= 0]) for r in nb]
    assert sets[0] == {0, 1, 2} and sets[3] == {1, 2, 3} and sets[2] == {0, 1, 2, 3}
    two = matching.adjacency_neighbours(labels, rings=2).numpy()
    assert set(two[0][two[0] >= 0]) == {0, 1, 2, 3}
    for i, s in enumerate(sets):
        for j in s:
            assert i in sets[j]


def test_superpixels_count_follows_three_sqrt_n_and_labels_are_dense():
    from companion.colortransfer.data import load_image

    img = load_image("astronaut", max_side=96)
    labels = matching.superpixels(img)
    n = labels.max() + 1
    assert set(np.unique(labels)) == set(range(n))
    assert 0.5 * matching.n_superpixels(96 * 96) <= n <= 1.5 * matching.n_superpixels(96 * 96)
    assert matching.n_superpixels(1024 * 1024) == 3072


def test_pixel_attention_streaming_matches_dense_softmax():
    g = torch.Generator().manual_seed(5)
    ft, fr = torch.randn(6, 5, 4, generator=g), torch.randn(4, 7, 4, generator=g)
    ref = torch.rand(4, 7, 3, generator=g)
    got = matching.pixel_attention_colors(ft, fr, ref, tau=0.1, chunk=8)
    a = matching.attention_map(ft.reshape(-1, 4), fr.reshape(-1, 4), tau=0.1)
    torch.testing.assert_close(got.reshape(-1, 3), a @ ref.reshape(-1, 3), rtol=1e-4, atol=1e-5)


def test_constrained_matching_respects_capacity_and_tends_to_nearest_neighbour():
    from scipy.spatial.distance import cdist

    g = torch.Generator().manual_seed(3)
    ft, fr = torch.randn(30, 4, generator=g), torch.randn(10, 4, generator=g)
    # Every target superpixel close to reference 0: unconstrained, all would pick it.
    ft = ft * 0.1 + fr[0]
    a = matching.constrained_matching(ft, fr, capacity=1.0)
    assert a.shape == (30, 10) and torch.equal(a.sum(1), torch.ones(30))
    assert a.sum(0).max() <= 3  # ceil(1.0 * 30 / 10)
    assert a.sum(0).min() >= 1 and int((a.argmax(1) == 0).sum()) == 3
    free = matching.constrained_matching(ft, fr, capacity=100.0)
    nearest = cdist(ft.numpy(), fr.numpy()).argmin(1)
    np.testing.assert_array_equal(free.argmax(1).numpy(), nearest)
    with pytest.raises(ValueError, match="capacity"):
        matching.constrained_matching(ft, fr, capacity=0.5)


def test_colour_statistics_are_lab_means_and_spreads_standardised_per_image():
    from skimage.color import rgb2lab

    rng = np.random.default_rng(4)
    img = rng.uniform(size=(12, 10, 3))
    labels = _random_labels(12, 10, 6, 5)
    got = matching.colour_statistics(img, labels).numpy()
    lab = rgb2lab(img)
    raw = np.array([np.r_[lab[labels == k].mean(0), lab[labels == k].std(0)] for k in range(6)])
    want = (raw - raw.mean(0)) / raw.std(0, ddof=1)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_transfer_with_colour_statistics_and_constrained_matching():
    from companion.colortransfer.data import load_image
    from companion.colortransfer.pipeline import transfer

    t, r = load_image("coffee", max_side=48), load_image("rocket", max_side=40)
    out, det = transfer(t, r, features="colour-stats", attention="constrained", regrain=False, return_details=True)
    assert out.shape == t.shape and det["channels"] == 6
    a = det["attention"]
    assert torch.equal(a.sum(1), torch.ones(a.shape[0]))
    assert a.sum(0).max() <= np.ceil(2.0 * a.shape[0] / a.shape[1])
