"""COCO bounding-box AP/AR for paper 4, computed by the COCO reference evaluator.

``coco_ap`` returns the twelve numbers ``COCOeval.summarize()`` prints for ``iouType="bbox"``:

=======  ==========================================================================
key      meaning (COCOeval defaults: 101 recall points, IoU 0.50:0.05:0.95)
=======  ==========================================================================
AP       precision averaged over 10 IoU thresholds, 101 recall levels, categories
AP50     the same at IoU 0.50 only (PASCAL-VOC-like, but 101-point interpolation)
AP75     the same at IoU 0.75 only
APs      AP over objects with ``area`` < 32**2 (small)
APm      AP over objects with 32**2 <= ``area`` < 96**2 (medium)
APl      AP over objects with ``area`` >= 96**2 (large)
AR1      recall with at most 1 detection per image, averaged over IoUs and categories
AR10     ... at most 10 detections per image
AR100    ... at most 100 detections per image
ARs      AR100 over small objects
ARm      AR100 over medium objects
ARl      AR100 over large objects
=======  ==========================================================================

Things worth knowing about the reference evaluator, all reproduced here:

* **Size buckets use the ground-truth annotation's ``area`` field**, not the box's w*h. For
  real COCO that is the *segmentation mask* area, so a 40x40 box around a thin object can be a
  "small" object. A ground-truth object outside a bucket is *ignored* in that bucket (a
  detection matched to it is neither a true nor a false positive); an unmatched detection
  whose own box area (w*h) is outside the bucket is also ignored.
* ``iscrowd=1`` ground truth never counts as a miss; a detection may match it (IoU for crowd
  regions is intersection over the *detection's* area) and is then ignored rather than a
  false positive. Several detections may match one crowd region.
* A bucket (or a whole category) without any non-ignored ground truth has no defined AP; it
  gets -1 internally and is left out of the averages. A stat that is -1 here means "nothing
  to measure", not "worst possible".
* **Empty detections**: ``pycocotools``' ``loadRes`` crashes on an empty list (it indexes
  ``anns[0]``), so we build an empty result set ourselves. COCOeval then returns 0.0 for
  every stat whose bucket has ground truth and -1.0 for buckets without any.

Backends: ``"faster"`` uses ``faster-coco-eval`` (C++ matching and accumulation), which the
unit tests check gives *identical* stats to ``"pycocotools"`` on synthetic sets with crowd
boxes, several categories and all three size buckets; ``benchmarks/coco_benchmark.py`` times
both. ``"pycocotools"`` is the reference implementation itself.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
from numbers import Real
from pathlib import Path

import numpy as np

__all__ = ["STAT_NAMES", "coco_ap", "coco_evaluate", "precision_recall_curve", "synthetic_coco"]

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
BACKENDS = ("faster", "pycocotools")


def _load_json(source, what: str):
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{what} file not found: {path}")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{what} file {path} is not valid JSON: {err}") from None
    return source


def _is_box(bbox) -> bool:
    if isinstance(bbox, np.ndarray):
        bbox = bbox.tolist()
    return (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
            and bbox[2] >= 0 and bbox[3] >= 0)


def _check_ground_truth(gt) -> dict:
    if not isinstance(gt, dict):
        raise ValueError(f"ground_truth must be a COCO dict or a path to one, got {type(gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(gt.get(key), list):
            raise ValueError(f"ground_truth must have a list under {key!r}")
    image_ids = [img.get("id") if isinstance(img, dict) else None for img in gt["images"]]
    if None in image_ids:
        raise ValueError("every ground_truth image needs an 'id'")
    if len(set(image_ids)) != len(image_ids):
        raise ValueError("ground_truth image ids are not unique")
    cat_ids = [cat.get("id") if isinstance(cat, dict) else None for cat in gt["categories"]]
    if None in cat_ids or len(set(cat_ids)) != len(cat_ids):
        raise ValueError("every ground_truth category needs a unique 'id'")
    images, cats, ann_ids = set(image_ids), set(cat_ids), set()
    for i, ann in enumerate(gt["annotations"]):
        if not isinstance(ann, dict):
            raise ValueError(f"ground_truth annotation {i} is not a dict")
        missing = [k for k in ("id", "image_id", "category_id", "bbox", "area") if k not in ann]
        if missing:
            # 'area' is required: COCOeval's size buckets read it, never the box.
            raise ValueError(f"ground_truth annotation {i} lacks {missing}")
        if ann["id"] in ann_ids:
            raise ValueError(f"ground_truth annotation id {ann['id']} is not unique")
        ann_ids.add(ann["id"])
        if ann["image_id"] not in images:
            raise ValueError(f"ground_truth annotation {ann['id']} refers to unknown image {ann['image_id']}")
        if ann["category_id"] not in cats:
            raise ValueError(f"ground_truth annotation {ann['id']} refers to unknown category {ann['category_id']}")
        if not _is_box(ann["bbox"]):
            raise ValueError(f"ground_truth annotation {ann['id']}: bbox must be 4 finite numbers "
                             f"[x, y, w, h] with w, h >= 0, got {ann['bbox']!r}")
        area = ann["area"]
        if not isinstance(area, Real) or isinstance(area, bool) or not math.isfinite(area) or area < 0:
            raise ValueError(f"ground_truth annotation {ann['id']}: area must be a finite number >= 0, got {area!r}")
    return gt


def _check_detections(dets, gt) -> list:
    if not isinstance(dets, list):
        raise ValueError(f"detections must be a list of COCO result dicts or a path to one, got {type(dets).__name__}")
    images = {img["id"] for img in gt["images"]}
    cats = {cat["id"] for cat in gt["categories"]}
    bad_images, bad_cats = set(), set()
    for i, det in enumerate(dets):
        if not isinstance(det, dict):
            raise ValueError(f"detection {i} is not a dict")
        missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in det]
        if missing:
            raise ValueError(f"detection {i} lacks {missing}")
        if not _is_box(det["bbox"]):
            raise ValueError(f"detection {i}: bbox must be 4 finite numbers [x, y, w, h] with w, h >= 0, "
                             f"got {det['bbox']!r}")
        score = det["score"]
        if not isinstance(score, Real) or isinstance(score, bool) or not math.isfinite(score):
            raise ValueError(f"detection {i}: score must be a finite number, got {score!r}")
        if det["image_id"] not in images:
            bad_images.add(det["image_id"])
        if det["category_id"] not in cats:
            bad_cats.add(det["category_id"])
    if bad_images:
        raise ValueError(f"detections refer to images not in the ground truth: {sorted(bad_images, key=str)[:10]}")
    if bad_cats:
        raise ValueError(f"detections refer to categories not in the ground truth: {sorted(bad_cats, key=str)[:10]}")
    # loadRes writes 'area', 'id', 'iscrowd' and 'segmentation' into each dict: work on copies,
    # with numpy scalars and arrays (straight from a model's output) turned into Python numbers.
    return [{"image_id": _plain(det["image_id"]), "category_id": _plain(det["category_id"]),
             "bbox": [float(v) for v in np.asarray(det["bbox"]).tolist()], "score": float(det["score"])}
            for det in dets]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def coco_evaluate(ground_truth, detections, backend: str = "faster"):
    """Run COCOeval (bbox) and return the evaluator after ``evaluate/accumulate/summarize``.

    Use this when you need more than the twelve summary numbers, e.g. ``ev.eval["precision"]``
    of shape [T=10 IoUs, R=101 recall levels, K categories, A=4 areas, M=3 maxDets]
    (see :func:`precision_recall_curve`). Arguments as in :func:`coco_ap`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    gt = _check_ground_truth(_load_json(ground_truth, "ground_truth"))
    dets = _check_detections(_load_json(detections, "detections"), gt)
    # COCOeval writes an 'ignore' flag into every ground-truth annotation dict: evaluate on
    # per-dict copies (cheaper than a deep copy; boxes and segmentations are only read).
    gt = {**gt, **{key: [dict(item) for item in gt[key]] for key in ("images", "annotations", "categories")}}
    if backend == "faster":
        from faster_coco_eval import COCO, COCOeval_faster as COCOeval
    else:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    # The reference tools print progress and the summary table; keep notebooks and logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:
            coco_dt = COCO()
            coco_dt.dataset = {"images": list(gt["images"]), "categories": copy.deepcopy(gt["categories"]),
                               "annotations": []}
            coco_dt.createIndex()
        if backend == "faster":
            ev = COCOeval(coco_gt, coco_dt, iouType="bbox", print_function=lambda *a, **k: None)
        else:
            ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def coco_ap(ground_truth, detections, backend: str = "faster") -> dict:
    """The 12 COCO bbox summary statistics, identical to pycocotools' ``COCOeval``.

    Parameters
    ----------
    ground_truth : dict or path
        COCO annotation dict (``images``, ``annotations``, ``categories``) or a path to its
        JSON file. Each annotation needs ``id, image_id, category_id, bbox=[x, y, w, h], area``;
        ``iscrowd`` is optional (0 when absent). Size buckets use ``area``.
    detections : list of dict or path
        COCO result format: ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``
        per detection, or a path to such a JSON list. May be empty.
    backend : {"faster", "pycocotools"}
        ``faster-coco-eval`` (default, checked identical) or the reference ``pycocotools``.

    Returns
    -------
    dict[str, float]
        Keys :data:`STAT_NAMES` (``AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm,
        ARl``), values in [0, 1], or -1.0 where a bucket has no ground truth to measure.

    Raises
    ------
    ValueError
        Unknown backend; missing or invalid JSON file; ground truth without
        images/annotations/categories lists, with duplicate ids, annotations lacking
        ``area``/``bbox``; detections that are not a list, lack a key, have a non-finite
        score or box, or refer to an image or category the ground truth does not have.

    Examples
    --------
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}
    >>> stats = coco_ap(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 50], "score": 0.9}])
    >>> stats["AP"], stats["APm"], stats["APs"]
    (1.0, 1.0, -1.0)
    """
    ev = coco_evaluate(ground_truth, detections, backend=backend)
    stats = np.asarray(ev.stats, dtype=float)[: len(STAT_NAMES)]
    return {name: float(v) for name, v in zip(STAT_NAMES, stats)}


def precision_recall_curve(evaluator, iou: float = 0.5, area: str = "all", max_dets: int = 100,
                           category_id=None) -> tuple[np.ndarray, np.ndarray]:
    """The interpolated precision-recall curve behind an AP number.

    Parameters
    ----------
    evaluator : COCOeval
        As returned by :func:`coco_evaluate`.
    iou : float
        One of the evaluator's IoU thresholds (0.50, 0.55, ..., 0.95).
    area : {"all", "small", "medium", "large"}
    max_dets : {1, 10, 100}
    category_id : optional
        One category; by default the mean over categories that have ground truth (which is
        how COCO averages: AP is the mean of this curve over the 101 recall levels).

    Returns
    -------
    recall : ndarray, shape [101]
        The recall levels 0, 0.01, ..., 1.
    precision : ndarray, shape [101]
        Interpolated precision at each level (the running max from the right); -1 entries
        (categories without ground truth) are excluded from the mean; NaN where none remain.
    """
    p = evaluator.params
    thresholds = np.asarray(p.iouThrs)
    t = np.flatnonzero(np.isclose(thresholds, iou))
    if t.size == 0:
        raise ValueError(f"iou must be one of {np.round(thresholds, 2).tolist()}, got {iou}")
    if area not in p.areaRngLbl:
        raise ValueError(f"area must be one of {list(p.areaRngLbl)}, got {area!r}")
    if max_dets not in p.maxDets:
        raise ValueError(f"max_dets must be one of {list(p.maxDets)}, got {max_dets}")
    precision = np.asarray(evaluator.eval["precision"])[t[0], :, :, list(p.areaRngLbl).index(area),
                                                        list(p.maxDets).index(max_dets)]  # [R, K]
    if category_id is not None:
        cats = list(p.catIds)
        if category_id not in cats:
            raise ValueError(f"category_id {category_id!r} not among the evaluated categories {cats}")
        precision = precision[:, [cats.index(category_id)]]
    valid = precision > -1
    with np.errstate(invalid="ignore"):
        mean = np.where(valid, precision, 0).sum(axis=1) / valid.sum(axis=1)
    return np.asarray(p.recThrs, dtype=float), mean


def synthetic_coco(n_images: int = 100, n_categories: int = 3, seed: int = 0, crowd_rate: float = 0.05,
                   miss_rate: float = 0.15, false_positives: float = 1.0) -> tuple[dict, list]:
    """A seeded COCO-format ground truth and a plausible detector's results for it.

    Objects are drawn across the three COCO size buckets (side lengths 8-200 px on 640x480
    images); ``area`` is the box area times a mask fill factor in [0.5, 1], as a segmentation
    area would be, so a few boxes fall in a different bucket than their w*h suggests. About
    ``crowd_rate`` of the objects are ``iscrowd=1``. The detector finds each object with
    probability ``1 - miss_rate`` (box jittered by up to ~15 % of its size, score rising with
    the overlap), and adds on average ``false_positives`` random boxes per image with low
    scores.

    Returns
    -------
    ground_truth : dict
        COCO annotation dict.
    detections : list of dict
        COCO result dicts (``image_id, category_id, bbox, score``).
    """
    if n_images < 1 or n_categories < 1:
        raise ValueError("n_images and n_categories must be >= 1")
    rng = np.random.default_rng(seed)
    width, height = 640, 480
    images = [{"id": i + 1, "width": width, "height": height, "file_name": f"{i + 1:06d}.jpg"}
              for i in range(n_images)]
    categories = [{"id": c + 1, "name": f"class_{c + 1}"} for c in range(n_categories)]
    annotations, detections = [], []
    for img in images:
        n_obj = int(rng.integers(1, 8))
        # log-uniform side lengths span small (<32), medium and large (>=96) objects
        sides = np.exp(rng.uniform(np.log(8), np.log(200), size=(n_obj, 2)))
        for w, h in sides:
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            cat = int(rng.integers(1, n_categories + 1))
            box = [round(float(x), 2), round(float(y), 2), round(float(w), 2), round(float(h), 2)]
            annotations.append({"id": len(annotations) + 1, "image_id": img["id"], "category_id": cat,
                                "bbox": box, "area": round(float(w * h * rng.uniform(0.5, 1.0)), 2),
                                "iscrowd": int(rng.random() < crowd_rate)})
            if rng.random() < miss_rate:
                continue
            jitter = rng.normal(0, 0.08, size=4) * np.array([w, h, w, h])
            dx, dy, dw, dh = jitter
            det = [x + dx, y + dy, max(w + dw, 1.0), max(h + dh, 1.0)]
            quality = float(np.exp(-np.abs(jitter / np.array([w, h, w, h])).sum() * 4))
            score = float(np.clip(0.3 + 0.7 * quality + rng.normal(0, 0.1), 0.01, 1.0))
            detections.append({"image_id": img["id"], "category_id": cat,
                               "bbox": [round(float(v), 2) for v in det], "score": round(score, 4)})
        for _ in range(int(rng.poisson(false_positives))):
            w, h = np.exp(rng.uniform(np.log(8), np.log(200), size=2))
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            detections.append({"image_id": img["id"], "category_id": int(rng.integers(1, n_categories + 1)),
                               "bbox": [round(float(v), 2) for v in (x, y, w, h)],
                               "score": round(float(rng.uniform(0.01, 0.6)), 4)})
    gt = {"info": {"description": f"synthetic COCO, seed {seed}"}, "images": images,
          "annotations": annotations, "categories": categories}
    return gt, detections
