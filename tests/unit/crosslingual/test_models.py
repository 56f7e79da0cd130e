import numpy as np
import pytest
import torch

from companion.crosslingual.models import build_mlp, cached, count_parameters, has_avx2, text_encoder_available


def test_mlp_shapes_and_paper_widths():
    mlp = build_mlp(512, 1280)
    widths = [b[0].out_features for b in mlp.blocks]
    assert widths == [1024, 2048, 1280]
    assert [b[1].p for b in mlp.blocks] == [0.2, 0.1, 0.0]
    mlp.eval()
    out = mlp(torch.randn(5, 512))
    assert out.shape == (5, 1280)
    assert (out >= 0).all()  # the last block ends in ReLU, like pooled CNN features
    assert count_parameters(mlp)["trainable"] == 512 * 1024 + 1024 + 1024 * 2048 + 2048 + 2048 * 1280 + 1280
    with pytest.raises(ValueError, match=r"\[B, 512\]"):
        mlp(torch.randn(5, 384))
    assert len(build_mlp(384, 64, n_blocks=1).blocks) == 1


def test_intermediate_blocks_are_l2_normalised():
    mlp = build_mlp(8, 6, n_blocks=3, width=16).eval()
    h = mlp.blocks[0](torch.randn(4, 8))
    h = torch.nn.functional.normalize(h, dim=1)
    h = mlp.blocks[1](h)
    # feeding the normalised hidden state reproduces the forward pass
    expected = mlp.blocks[2](torch.nn.functional.normalize(h, dim=1))
    x = torch.randn(4, 8)
    torch.manual_seed(0)
    assert torch.allclose(mlp(x), mlp.blocks[2](torch.nn.functional.normalize(
        mlp.blocks[1](torch.nn.functional.normalize(mlp.blocks[0](x), dim=1)), dim=1)))
    assert expected.shape == (4, 6)


def test_cache_is_keyed_by_model_and_data(tmp_path):
    calls = []

    def compute(v):
        def f():
            calls.append(v)
            return np.full((2, 3), v, np.float32)
        return f

    a, info = cached(tmp_path, "muse", ["x", "y"], compute(1))
    assert not info["hit"] and a[0, 0] == 1
    b, info = cached(tmp_path, "muse", ["x", "y"], compute(2))
    assert info["hit"] and b[0, 0] == 1          # same model + data: loaded, not recomputed
    c, _ = cached(tmp_path, "e5", ["x", "y"], compute(3))
    d, _ = cached(tmp_path, "muse", ["y", "x"], compute(4))
    e, _ = cached(tmp_path, "muse", ["x", "y"], compute(5), extra="size=64")
    assert (c[0, 0], d[0, 0], e[0, 0]) == (3, 4, 5)
    assert calls == [1, 3, 4, 5]
    with pytest.raises(ValueError, match="3 keys"):
        cached(tmp_path, "muse", ["p", "q", "r"], compute(6))


def test_e5_availability_follows_avx2():
    ok, why = text_encoder_available("e5")
    if not has_avx2():
        assert not ok and "AVX2" in why
    assert text_encoder_available("muse")[0]


def test_cpu_advertises_avx2_matches_proc_cpuinfo():
    from pathlib import Path
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else None
    if flags is None:
        pytest.skip("no /proc/cpuinfo on this system")
    assert has_avx2() == (" avx2" in flags)


def test_pooled_image_encoder_shapes_and_layout_independence():
    from companion.crosslingual.models import PooledImageEncoder, encode_images
    enc = PooledImageEncoder()
    g = np.random.default_rng(0)
    imgs = g.random((3, 48, 48, 3)).astype(np.float32)
    feats = encode_images(imgs, enc, batch_size=2)
    assert feats.shape == (3, 1280) and feats.dtype == np.float32
    assert (feats >= 0).all()  # pooled after ReLU6
    # [B, 3, H, W] input gives the same features as [B, H, W, 3]
    chw = enc(torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()).numpy()
    assert np.allclose(chw, feats, atol=1e-5)
    # a plain (not channels-last) copy of the network agrees up to float reordering
    with torch.no_grad():
        x = (torch.from_numpy(imgs).permute(0, 3, 1, 2) - enc.mean) / enc.std
        ref = enc.trunk(x.contiguous()).mean(dim=(2, 3)).numpy()
    assert np.allclose(ref, feats, atol=1e-3)
    with pytest.raises(ValueError, match="images must be"):
        enc(torch.zeros(3, 48, 48))
    with pytest.raises(ValueError, match="unknown image encoder"):
        PooledImageEncoder("vgg16")


def test_output_scale_multiplies_the_output_and_matches_the_features():
    from companion.crosslingual.models import feature_scale
    torch.manual_seed(0)
    a = build_mlp(8, 6, width=16).eval()
    b = build_mlp(8, 6, width=16, output_scale=7.5).eval()
    b.load_state_dict({**a.state_dict(), "output_scale": torch.tensor(7.5)})
    x = torch.randn(3, 8)
    assert torch.allclose(b(x), 7.5 * a(x))
    assert count_parameters(b)["trainable"] == count_parameters(a)["trainable"]  # a buffer, not a weight
    feats = np.array([[3.0, 4.0], [0.0, 5.0]])  # norms 5 and 5
    assert feature_scale(feats) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="output_scale"):
        build_mlp(8, 6, output_scale=0)
