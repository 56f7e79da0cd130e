"""Reference vectors for companion.metrics.detection, generated once with pycocotools' COCOeval.

    cd tests/unit/metrics/reference && PYTHONPATH=../../../../lib python make_detection_vectors.py

Writes ``coco_detection.json``: small COCO ground truths and detection lists (stored in full, so
the vectors do not depend on our generator staying the same) and the 12 ``COCOeval.stats`` that
pycocotools computes for them, calling COCO/loadRes/COCOeval directly. Cases: three seeded
synthetic sets (several categories, all size buckets, crowd boxes, misses, false positives), one
with many crowd regions, and one where mask ``area`` and box w*h put objects in different buckets.
"""

import contextlib
import io
import json

from importlib.metadata import version
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from companion.metrics.detection import synthetic_coco


def reference_stats(gt, dets):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = json.loads(json.dumps(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(json.loads(json.dumps(dets)))
        ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def main():
    cases = []
    for name, kwargs in [
        ("synthetic-3cat-seed0", dict(n_images=30, n_categories=3, seed=0)),
        ("synthetic-5cat-seed1", dict(n_images=40, n_categories=5, seed=1, false_positives=2.0)),
        ("synthetic-1cat-seed2", dict(n_images=25, n_categories=1, seed=2, miss_rate=0.4)),
        ("synthetic-crowded-seed3", dict(n_images=25, n_categories=2, seed=3, crowd_rate=0.4)),
    ]:
        gt, dets = synthetic_coco(**kwargs)
        cases.append({"name": name, "ground_truth": gt, "detections": dets})
    # Hand-made: box area says "large" but the mask area says "medium" (and vice versa).
    gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 7}, {"id": 9}],
          "annotations": [
              {"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 100, 100], "area": 5000, "iscrowd": 0},
              {"id": 2, "image_id": 1, "category_id": 9, "bbox": [200, 200, 50, 50], "area": 2500, "iscrowd": 0},
              {"id": 3, "image_id": 2, "category_id": 7, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
              {"id": 4, "image_id": 2, "category_id": 7, "bbox": [300, 100, 200, 200], "area": 40000,
               "iscrowd": 1}]}
    dets = [{"image_id": 1, "category_id": 7, "bbox": [0, 0, 100, 62], "score": 0.9},
            {"image_id": 1, "category_id": 9, "bbox": [202, 201, 50, 48], "score": 0.8},
            {"image_id": 1, "category_id": 9, "bbox": [400, 400, 30, 30], "score": 0.85},
            {"image_id": 2, "category_id": 7, "bbox": [11, 10, 20, 21], "score": 0.3},
            {"image_id": 2, "category_id": 7, "bbox": [320, 120, 40, 40], "score": 0.95},
            {"image_id": 2, "category_id": 7, "bbox": [380, 150, 40, 40], "score": 0.94}]
    cases.append({"name": "hand-area-and-crowd", "ground_truth": gt, "detections": dets})
    for case in cases:
        case["stats"] = reference_stats(case["ground_truth"], case["detections"])
    out = {"generator": f"pycocotools {version('pycocotools')} COCOeval(iouType=bbox)", "cases": cases}
    with open("coco_detection.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
