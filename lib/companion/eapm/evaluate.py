"""Detections -> COCO AP through `companion.metrics.detection.coco_ap`, plus AP by aspect ratio
and seed statistics for the paper's tables."""

from __future__ import annotations

import copy
import json

import numpy as np
import torch

from companion.eapm.data import CocoDetection, collate

COCO_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
# Buckets of long side / short side of the ground-truth box; anchors cover 1:2..2:1.
ASPECT_BUCKETS = ((1.0, 2.0), (2.0, 4.0), (4.0, float("inf")))


@torch.no_grad()
def predict(model, dataset: CocoDetection, device="cpu", batch_size: int = 8, max_images: int | None = None) -> list[dict]:
    """Run ``model`` (eval mode) over ``dataset`` and return COCO result dicts (bbox in xywh)."""
    model.eval().to(device)
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    results = []
    for start in range(0, n, batch_size):
        images, targets = collate([dataset[i] for i in range(start, min(n, start + batch_size))])
        outputs = model([im.to(device) for im in images])
        for target, out in zip(targets, outputs):
            boxes = out["boxes"].float().cpu().numpy()
            for (x1, y1, x2, y2), score, label in zip(boxes, out["scores"].float().cpu().numpy(),
                                                      out["labels"].cpu().numpy()):
                if int(label) not in dataset.label_to_cat:  # background index: never a COCO category
                    continue
                results.append({"image_id": int(target["image_id"]), "category_id": dataset.label_to_cat[int(label)],
                                "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                                "score": float(score)})
    return results


def _ground_truth(dataset: CocoDetection, max_images: int | None = None) -> dict:
    gt = json.loads(dataset.annotation_file.read_text())
    if max_images is not None:
        keep = {im["id"] for im in dataset.images[:max_images]}
        gt["images"] = [im for im in gt["images"] if im["id"] in keep]
        gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in keep]
    return gt


def coco_stats(dataset: CocoDetection, detections: list[dict], max_images: int | None = None) -> dict[str, float]:
    """The 12 COCOeval bbox numbers (AP in [0, 1]) for ``detections`` on ``dataset``."""
    from companion.metrics.detection import coco_ap

    return coco_ap(_ground_truth(dataset, max_images), detections)


def evaluate_detector(model, dataset: CocoDetection, device="cpu", max_images: int | None = None) -> dict[str, float]:
    """predict + coco_stats."""
    return coco_stats(dataset, predict(model, dataset, device=device, max_images=max_images), max_images)


def ap_by_aspect_ratio(dataset: CocoDetection, detections: list[dict], buckets=ASPECT_BUCKETS) -> dict[str, float]:
    """AP over IoU 0.5:0.95 restricted to ground truth whose aspect ratio is in each bucket.

    Ground truth outside the bucket is marked ``iscrowd=1``, which COCOeval treats as "ignore":
    detections matched to it count neither as true nor as false positives (the same mechanism
    COCOeval uses for its small/medium/large buckets). Keys look like ``AP_ar1to2``.
    """
    from companion.metrics.detection import coco_ap

    base = _ground_truth(dataset)
    out = {}
    for low, high in buckets:
        gt = copy.deepcopy(base)
        n = 0
        for ann in gt["annotations"]:
            w, h = ann["bbox"][2], ann["bbox"][3]
            ratio = max(w, h) / max(min(w, h), 1e-9)
            inside = low <= ratio < high
            ann["iscrowd"] = 0 if inside else 1
            n += inside
        name = f"AP_ar{low:g}to{high:g}".replace("inf", "max").replace(".", "p")
        out[name] = coco_ap(gt, detections)["AP"] if n else float("nan")
    return out


def seed_summary(rows: list[dict], keys=COCO_KEYS) -> dict[str, tuple[float, float]]:
    """Mean and sample std (ddof=1; 0 for one seed) of each key over seed runs.

    COCOeval reports -1 for a size bucket without ground truth; that becomes NaN here
    (no value), not a score of -1.
    """
    out = {}
    for k in keys:
        vals = np.array([r[k] for r in rows], dtype=float)
        vals[vals < 0] = np.nan
        if np.isnan(vals).all():
            out[k] = (float("nan"), float("nan"))
            continue
        vals = vals[~np.isnan(vals)]
        out[k] = (float(vals.mean()), float(vals.std(ddof=1)) if len(vals) > 1 else 0.0)
    return out


def paired_gain(baseline: list[float], treated: list[float]) -> dict[str, float]:
    """Paired comparison over seeds (same seed = same data order and initialisation).

    Returns the mean gain, its standard error and a two-sided paired t-test p-value (NaN with
    fewer than two seeds or zero spread). "Beyond seed noise" means p < 0.05 here.
    """
    from scipy import stats

    a, b = np.asarray(baseline, float), np.asarray(treated, float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired_gain needs equally many baseline and treated runs, got {a.size} and {b.size}")
    d = b - a
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    p = float(stats.ttest_rel(b, a).pvalue) if d.size > 1 and d.std() > 0 else float("nan")
    return {"gain": float(d.mean()), "se": se, "p_value": p, "n_seeds": int(d.size)}
