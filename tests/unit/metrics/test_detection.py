"""companion.metrics.detection against pycocotools reference vectors and live COCOeval."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from companion.metrics.detection import (STAT_NAMES, coco_ap, coco_evaluate, precision_recall_curve,
                                         synthetic_coco)

REFERENCE = json.loads((Path(__file__).parent / "reference" / "coco_detection.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}


def one_box_gt(area=5000.0, iscrowd=0):
    return {"images": [{"id": 1}], "categories": [{"id": 1}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100],
                             "area": area, "iscrowd": iscrowd}]}


@pytest.mark.parametrize("backend", ["faster", "pycocotools"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_committed_pycocotools_vectors(name, backend):
    case = CASES[name]
    got = coco_ap(case["ground_truth"], case["detections"], backend=backend)
    assert list(got) == list(STAT_NAMES)
    # Same algorithm, same floating-point order of operations: demand equality to the last bits.
    np.testing.assert_allclose(list(got.values()), case["stats"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [10, 11])
def test_backends_identical_live(seed):
    gt, dets = synthetic_coco(n_images=60, n_categories=4, seed=seed, crowd_rate=0.1)
    assert coco_ap(gt, dets, backend="faster") == coco_ap(gt, dets, backend="pycocotools")


def test_hand_worked_iou_and_area_bucket():
    # IoU of [0,0,100,62] with [0,0,100,100] is 0.62: a match at IoU 0.50, 0.55, 0.60 only.
    det = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 62], "score": 0.9}]
    stats = coco_ap(one_box_gt(area=5000.0), det)
    assert stats["AP"] == pytest.approx(0.3) and stats["AP50"] == 1.0 and stats["AP75"] == 0.0
    # The 100x100 box is "medium" because its annotated area (5000) is, not its w*h (10000).
    assert stats["APm"] == pytest.approx(0.3) and stats["APl"] == -1.0 and stats["APs"] == -1.0
    moved = coco_ap(one_box_gt(area=10000.0), det)
    assert moved["APl"] == pytest.approx(0.3) and moved["APm"] == -1.0


def test_detection_on_crowd_region_is_ignored_not_false_positive():
    gt = one_box_gt()
    gt["annotations"].append({"id": 2, "image_id": 1, "category_id": 1, "bbox": [300, 300, 200, 150],
                              "area": 30000.0, "iscrowd": 1})
    good = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100], "score": 0.5}
    on_crowd = {"image_id": 1, "category_id": 1, "bbox": [320, 320, 50, 50], "score": 0.9}
    elsewhere = {"image_id": 1, "category_id": 1, "bbox": [150, 0, 50, 50], "score": 0.9}
    assert coco_ap(gt, [good])["AP"] == pytest.approx(1.0)
    assert coco_ap(gt, [good, on_crowd])["AP"] == pytest.approx(1.0)
    assert coco_ap(gt, [good, elsewhere])["AP"] < 0.6  # a higher-scored false positive halves precision


@pytest.mark.parametrize("backend", ["faster", "pycocotools"])
def test_empty_detections(backend):
    stats = coco_ap(one_box_gt(), [], backend=backend)
    assert stats["AP"] == 0.0 and stats["AR100"] == 0.0 and stats["APm"] == 0.0
    assert stats["APs"] == -1.0 and stats["APl"] == -1.0  # buckets with no ground truth


def test_paths_and_no_mutation(tmp_path):
    case = CASES["hand-area-and-crowd"]
    gt, dets = copy.deepcopy(case["ground_truth"]), copy.deepcopy(case["detections"])
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dets))
    from_paths = coco_ap(tmp_path / "gt.json", str(tmp_path / "dt.json"))
    assert list(from_paths.values()) == pytest.approx(case["stats"], rel=1e-12)
    coco_ap(gt, dets)
    assert gt == case["ground_truth"] and dets == case["detections"]  # loadRes adds keys; not to ours


def test_precision_recall_curve_averages_to_ap():
    case = CASES["synthetic-3cat-seed0"]
    ev = coco_evaluate(case["ground_truth"], case["detections"])
    recall, precision = precision_recall_curve(ev, iou=0.5)
    assert recall.shape == precision.shape == (101,)
    assert np.all(np.diff(precision) <= 1e-12)  # interpolated precision never rises with recall
    assert precision.mean() == pytest.approx(case["stats"][1], rel=1e-12)  # AP50
    with pytest.raises(ValueError, match="iou"):
        precision_recall_curve(ev, iou=0.52)
    with pytest.raises(ValueError, match="area"):
        precision_recall_curve(ev, area="tiny")


def test_synthetic_coco_is_seeded_and_covers_buckets():
    a, b = synthetic_coco(20, seed=5), synthetic_coco(20, seed=5)
    assert a == b and a != synthetic_coco(20, seed=6)
    areas = np.array([ann["area"] for ann in a[0]["annotations"]])
    assert (areas < 32 ** 2).any() and ((areas >= 32 ** 2) & (areas < 96 ** 2)).any() and (areas >= 96 ** 2).any()


def _gt_without_area():
    gt = one_box_gt()
    del gt["annotations"][0]["area"]
    return gt


DET = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5}


@pytest.mark.parametrize("gt, dets, match", [
    (one_box_gt(), [{**DET, "image_id": 99}], "images not in the ground truth"),
    (one_box_gt(), [{**DET, "category_id": 5}], "categories not in the ground truth"),
    (one_box_gt(), [{k: v for k, v in DET.items() if k != "score"}], "lacks"),
    (one_box_gt(), [{**DET, "score": float("nan")}], "score"),
    (one_box_gt(), [{**DET, "bbox": [0, 0, -1, 5]}], "bbox"),
    (one_box_gt(), [{**DET, "bbox": [0, 0, 5]}], "bbox"),
    (one_box_gt(), {"annotations": []}, "list"),
    (_gt_without_area(), [DET], "area"),
    ({"images": [], "annotations": []}, [DET], "categories"),
    ([1, 2], [DET], "COCO dict"),
])
def test_bad_input(gt, dets, match):
    with pytest.raises(ValueError, match=match):
        coco_ap(gt, dets)


def test_bad_files_and_backend(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        coco_ap(bad, [])
    with pytest.raises(ValueError, match="not found"):
        coco_ap(one_box_gt(), tmp_path / "missing.json")
    with pytest.raises(ValueError, match="backend"):
        coco_ap(one_box_gt(), [], backend="mmdet")


def test_numpy_detections_from_a_model_are_accepted():
    case = CASES["hand-area-and-crowd"]
    as_numpy = [{"image_id": np.int64(d["image_id"]), "category_id": np.int32(d["category_id"]),
                 "bbox": np.asarray(d["bbox"], dtype=np.float64), "score": np.float32(d["score"])}
                for d in case["detections"]]
    for backend in ("faster", "pycocotools"):
        got = coco_ap(case["ground_truth"], as_numpy, backend=backend)
        # float32 scores keep their order, so the stats cannot change
        np.testing.assert_allclose(list(got.values()), case["stats"], rtol=1e-12, atol=1e-15)


def test_depends_only_on_score_order_not_list_order():
    gt, dets = synthetic_coco(n_images=40, n_categories=3, seed=21)
    # Make scores distinct: with ties, COCOeval's stable sort lets the input order decide.
    dets = [{**d, "score": d["score"] + 1e-7 * i} for i, d in enumerate(dets)]
    assert len({d["score"] for d in dets}) == len(dets)
    base = coco_ap(gt, dets)
    rescaled = [{**d, "score": 0.5 * d["score"] ** 2} for d in dets]  # monotone: same ranking
    shuffled = [dets[i] for i in np.random.default_rng(0).permutation(len(dets))]
    assert coco_ap(gt, rescaled) == base
    assert coco_ap(gt, shuffled) == base


@pytest.mark.parametrize("backend", ["faster", "pycocotools"])
def test_no_ground_truth_objects_gives_minus_one(backend):
    gt = one_box_gt()
    gt["annotations"] = []
    stats = coco_ap(gt, [DET], backend=backend)
    assert all(v == -1.0 for v in stats.values())
