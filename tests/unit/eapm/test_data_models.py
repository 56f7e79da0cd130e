import json

import numpy as np
import pytest
import torch

from companion.eapm.data import CocoDetection, aspect_ratios, collate
from companion.eapm.synthetic import make_synthetic
from companion.eapm.evaluate import ap_by_aspect_ratio, coco_stats, paired_gain, predict
from companion.eapm.models import build_detector
from companion.eapm.train import TrainConfig, detection_step


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    paths = make_synthetic(root, n_train=6, n_val=3, image_size=64, seed=3)
    return root, paths


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


def _write(tmp_path, coco):
    (tmp_path / "img").mkdir(exist_ok=True)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(coco))
    return tmp_path / "img", path


def _coco(anns):
    return {"images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
            "categories": [{"id": 7, "name": "bar"}], "annotations": anns}


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="image folder"):
        CocoDetection(tmp_path / "nope", tmp_path / "ann.json")
    img, ann = _write(tmp_path, _coco([{"id": 1, "image_id": 1, "category_id": 9, "bbox": [0, 0, 5, 5]}]))
    with pytest.raises(ValueError, match="unknown category id 9"):
        CocoDetection(img, ann)
    img, ann = _write(tmp_path, _coco([{"id": 1, "image_id": 2, "category_id": 7, "bbox": [0, 0, 5, 5]}]))
    with pytest.raises(ValueError, match="unknown image id 2"):
        CocoDetection(img, ann)
    ann.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        CocoDetection(img, ann)
    for bad in ([0, 0, float("nan"), 5], [0, 0, "wide", 5], [0, 0, 5]):
        img, ann = _write(tmp_path, _coco([{"id": 1, "image_id": 1, "category_id": 7, "bbox": bad}]))
        with pytest.raises(ValueError, match="bbox"):
            CocoDetection(img, ann)
    # reaching outside the image: clipped and counted; entirely outside, zero or negative size:
    # dropped and counted; the rest untouched
    img, ann = _write(tmp_path, _coco([
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [-5, 10, 20, 50]},
        {"id": 2, "image_id": 1, "category_id": 7, "bbox": [3, 3, 0, 8]},
        {"id": 3, "image_id": 1, "category_id": 7, "bbox": [3, 3, 4, -1]},
        {"id": 4, "image_id": 1, "category_id": 7, "bbox": [500, 3, 10, 10]},
        {"id": 5, "image_id": 1, "category_id": 7, "bbox": [2, 2, 4, 4]},
    ]))
    ds = CocoDetection(img, ann)
    assert (ds.report.clipped_boxes, ds.report.dropped_outside, ds.report.dropped_degenerate) == (1, 1, 2)
    assert [b for b, _ in ds._targets[1]] == [[0.0, 10.0, 15.0, 40.0], [2.0, 2.0, 6.0, 6.0]]
    assert "1 box(es) clipped" in str(ds.report) and "2 dropped for zero width" in str(ds.report)
    with pytest.raises(FileNotFoundError, match="a.png"):
        ds[0]


@pytest.mark.parametrize("detector,kw", [
    ("retinanet", dict(mu=1.5, reg_loss="balanced_l1", theta=1.0)),
    ("fcos", dict(mu=1.5)),
    ("faster_rcnn", dict(theta=1.0)),
])
def test_detectors_train_and_predict_shapes(tiny, detector, kw):
    root, paths = tiny
    ds = CocoDetection(root / "train", paths["train"])
    torch.manual_seed(0)
    model = build_detector(detector, ds.num_classes, image_size=64, **kw)
    images, targets = collate([ds[i] for i in range(2)])
    losses = detection_step(model.train(), (images, targets))
    assert torch.isfinite(losses["loss"]) and losses["loss"] > 0
    losses["loss"].backward()
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert out[0]["boxes"].shape[1] == 4 and out[0]["boxes"].shape[0] == out[0]["scores"].shape[0]


def test_invalid_detector_options():
    with pytest.raises(ValueError, match="GIoU"):
        build_detector("fcos", 3, theta=1.0)
    with pytest.raises(ValueError, match="balanced_l1"):
        build_detector("retinanet", 3, theta=1.0)
    with pytest.raises(ValueError, match="detector must be"):
        build_detector("yolo", 3)


def test_training_steps_decrease_loss_and_are_seeded(tiny):
    root, paths = tiny
    ds = CocoDetection(root / "train", paths["train"])
    batch = collate([ds[i] for i in range(3)])

    def run():
        torch.manual_seed(0)
        model = build_detector("retinanet", ds.num_classes, mu=1.5, image_size=64).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        values = []
        for _ in range(3):
            loss = detection_step(model, batch)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(float(loss.detach()))
        return values

    first = run()
    assert first[-1] < first[0]
    assert run() == first  # same seed, same numbers on CPU


def test_evaluation_perfect_and_aspect_buckets(tiny):
    root, paths = tiny
    ds = CocoDetection(root / "val", paths["val"])
    coco = json.loads(paths["val"].read_text())
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in coco["annotations"]]
    assert coco_stats(ds, perfect)["AP"] == pytest.approx(1.0)
    buckets = ap_by_aspect_ratio(ds, perfect)
    assert all(np.isnan(v) or v == pytest.approx(1.0) for v in buckets.values())
    assert set(buckets) == {"AP_ar1to2", "AP_ar2to4", "AP_ar4tomax"}


def test_paired_gain():
    out = paired_gain([0.1, 0.2, 0.3], [0.2, 0.3, 0.45])
    assert out["gain"] == pytest.approx(0.35 / 3) and out["n_seeds"] == 3 and out["p_value"] < 0.05
    with pytest.raises(ValueError, match="equally many"):
        paired_gain([0.1], [0.1, 0.2])


def test_seed_summary_treats_missing_bucket_as_nan():
    from companion.eapm.evaluate import seed_summary

    out = seed_summary([{"AP": 0.2, "APl": -1.0}, {"AP": 0.4, "APl": -1.0}], keys=("AP", "APl"))
    assert out["AP"][0] == pytest.approx(0.3) and out["AP"][1] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert np.isnan(out["APl"][0])


def test_paper_rows_follow_the_tables():
    from companion.eapm.paper import paper_row

    assert paper_row("RetinaNet", None)["AP"] == 35.6 and paper_row("RetinaNet", 2.0)["APl"] == 48.2
    assert paper_row("FCOS", 1.5)["APs"] == 22.3
    assert paper_row("Libra RetinaNet (mu=1.5)", 1.0)["AP"] == 38.4
    assert paper_row("Libra R-CNN", 1.5)["AP"] == 38.6
    assert paper_row("RetinaNet", 0.5) is None
    with pytest.raises(ValueError, match="unknown family"):
        paper_row("YOLO", None)
