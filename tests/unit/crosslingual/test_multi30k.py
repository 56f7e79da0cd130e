import numpy as np
import pytest

from companion.crosslingual.train import TrainConfig


def test_multi30k_training_rows_share_image_ids(tmp_path, monkeypatch):
    from companion.crosslingual import multi30k
    from companion.crosslingual.multi30k import AlignedFeatures, train_multi30k

    g = np.random.default_rng(0)
    feats = AlignedFeatures("toy", {"train": {lang: g.normal(size=(6, 8)).astype(np.float32) for lang in ("en", "de")}},
                            {"train": np.abs(g.normal(size=(6, 5))).astype(np.float32)},
                            {"train": [f"{i}.jpg" for i in range(6)]})
    seen = {}

    def spy(text, image, ids, cfg, **kw):
        seen.update(text=text, image=image, ids=ids, path=kw["checkpoint_path"])
        return None, None, None

    monkeypatch.setattr(multi30k, "train_mapping", spy)
    cfg = TrainConfig(epochs=1, batch_size=4)
    train_multi30k(feats, ["en", "de"], cfg, cache_dir=tmp_path)
    assert seen["text"].shape == (12, 8) and seen["image"].shape == (12, 5)
    assert seen["ids"].tolist() == list(range(6)) * 2
    assert np.array_equal(seen["text"][6:], feats.text["train"]["de"])
    path_multi = seen["path"]
    train_multi30k(feats, ["en"], cfg, cache_dir=tmp_path)
    assert seen["text"].shape == (6, 8) and seen["path"] != path_multi
    with pytest.raises(ValueError, match="no training captions for \\['fr'\\]"):
        train_multi30k(feats, ["en", "fr"], cfg, cache_dir=tmp_path)
