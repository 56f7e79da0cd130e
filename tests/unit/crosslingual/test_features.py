import pytest
import torch


def test_e5_is_skipped_with_a_reason_without_avx2(monkeypatch, tmp_path):
    from companion.crosslingual import features, models
    from companion.crosslingual.data import COCO_IMAGES
    from companion.crosslingual.synthetic import load_synthetic, make_synthetic

    monkeypatch.setattr(models, "has_avx2", lambda: False)
    ok, why = models.text_encoder_available("e5")
    assert not ok and "AVX2" in why
    with pytest.raises(RuntimeError, match="unavailable: .*AVX2"):
        models.text_encoder("e5")
    # the pipeline skips it, says why, and still embeds with the other encoder
    root = make_synthetic(tmp_path / "ds", 3, 2, seed=0, image_size=16, captions_per_image=1)
    tr, te = load_synthetic(root, ["en", "de"])
    monkeypatch.setattr(features, "text_encoder_available", models.text_encoder_available)
    monkeypatch.setattr(features, "PooledImageEncoder", lambda *a, **k: _FakeCNN())
    feats = features.embed_dataset(tr, te, root / COCO_IMAGES, text_encoders=("e5",), languages=["en", "de"],
                                image_size=16, cache_dir=tmp_path / "cache")
    assert "e5" not in feats.train_text and "AVX2" in feats.skipped["e5"]


class _FakeCNN(torch.nn.Module):
    dim = 3

    def forward(self, x):
        return x.float().mean(dim=(1, 2)) if x.shape[-1] == 3 else x.float().mean(dim=(2, 3))
