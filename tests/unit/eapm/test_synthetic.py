"""The synthetic COCO-format set (`companion.eapm.synthetic`)."""

import json

import pytest
import torch

from companion.eapm.data import CocoDetection, aspect_ratios
from companion.eapm.evaluate import coco_stats
from companion.eapm.synthetic import make_synthetic, oracle_detections, synthetic_dataset


def test_round_trip_and_determinism(tiny, tmp_path):
    root, paths = tiny
    ds = CocoDetection(root / "train", paths["train"])
    coco = json.loads(paths["train"].read_text())
    assert len(ds) == 6 and ds.num_classes == 5
    image, target = ds[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    anns = [a for a in coco["annotations"] if a["image_id"] == target["image_id"]]
    want = torch.tensor([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                         for a in anns])
    assert torch.equal(target["boxes"], want)
    assert [ds.label_to_cat[int(c)] for c in target["labels"]] == [a["category_id"] for a in anns]
    # same seed, same files
    again = make_synthetic(tmp_path, n_train=6, n_val=3, image_size=64, seed=3)
    assert again["train"].read_text() == paths["train"].read_text()
    assert (tmp_path / "train" / "000002.png").read_bytes() == (root / "train" / "000002.png").read_bytes()
    assert aspect_ratios(ds).min() >= 1.0


def test_corrupt_synthetic_index_is_named_and_rebuilt(tmp_path):
    train, val = synthetic_dataset(tmp_path, 3, 2, image_size=64, seed=1)
    good = val.annotation_file.read_text()
    val.annotation_file.write_text(good[: len(good) // 2])  # a write cut short
    with pytest.warns(RuntimeWarning, match="instances_val.json is corrupt"):
        _, val2 = synthetic_dataset(tmp_path, 3, 2, image_size=64, seed=1)
    assert val2.annotation_file.read_text() == good and len(val2) == 2


def test_make_synthetic_refuses_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match="n_train and n_val"):
        make_synthetic(tmp_path, 0, 2)
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic(tmp_path, 2, 2, image_size=16)


def test_oracle_detections_reach_ap_one_and_a_shifted_oracle_does_not(tiny):
    root, paths = tiny
    val = CocoDetection(root / "val", paths["val"])
    oracle = oracle_detections(val)
    assert len(oracle) == len(json.loads(paths["val"].read_text())["annotations"])
    assert coco_stats(val, oracle)["AP"] == pytest.approx(1.0)
    shifted = [{**d, "bbox": [d["bbox"][0] + d["bbox"][2] / 2, *d["bbox"][1:]]} for d in oracle]  # IoU 1/3
    assert coco_stats(val, shifted)["AP"] < 0.05
