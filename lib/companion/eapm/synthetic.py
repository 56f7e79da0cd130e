"""The chapter's synthetic COCO-format detection set: ``make_synthetic`` writes it, ``synthetic_dataset``
generates it once and loads it, ``oracle_detections`` is the oracle that knows its boxes.

The set carries what EAPM is about: long thin objects (aspect ratios up to 1:10, far from the
1:2..2:1 anchors), a wide range of scales, class imbalance, overlapping objects and unannotated
distractors on a textured background. It is written in the COCO 2017 layout
(``annotations/instances_<split>.json`` + ``<split>/*.png``) and read by the same loader as real
COCO (`companion.eapm.data.CocoDetection`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from companion.core.progress import progress
from companion.eapm.data import CocoDetection, read_json_or_none, write_json_atomic

# name, relative frequency, aspect-ratio range (long side / short side)
CATEGORIES = (
    ("bar", 0.40, (4.0, 10.0)),     # long thin objects: the large-shape-variation case
    ("disc", 0.30, (1.0, 1.3)),
    ("box", 0.20, (1.3, 3.0)),
    ("triangle", 0.10, (1.0, 2.0)),  # rare class
)
_COLOURS = ((220, 60, 50), (60, 170, 230), (240, 200, 40), (120, 220, 90))


def make_synthetic(
    root: str | Path,
    n_train: int,
    n_val: int,
    image_size: int = 128,
    max_objects: int = 6,
    seed: int = 0,
) -> dict[str, Path]:
    """Write a synthetic COCO-format detection set under ``root``; deterministic in ``seed``.

    Layout::

        root/annotations/instances_train.json, root/annotations/instances_val.json
        root/train/000000.png ..., root/val/000000.png ...

    Each annotation has ``bbox`` [x, y, w, h] of the visible object, ``area`` = its visible pixel
    count (what COCOeval uses for the small/medium/large buckets) and ``iscrowd`` 0.

    Returns
    -------
    dict with keys ``train``/``val`` -> annotation file paths.
    """
    if n_train < 1 or n_val < 1:
        raise ValueError(f"n_train and n_val must be >= 1, got {n_train}, {n_val}")
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32, got {image_size}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("val", n_val)):
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for i in progress(range(n), f"synthetic {split} images"):
            image, anns = _draw_image(rng, image_size, max_objects)
            name = f"{i:06d}.png"
            Image.fromarray(image).save(root / split / name)
            images.append({"id": i + 1, "file_name": name, "width": image_size, "height": image_size})
            for ann in anns:
                ann.update(id=len(annotations) + 1, image_id=i + 1, iscrowd=0)
                annotations.append(ann)
        coco = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": k + 1, "name": c[0], "supercategory": "shape"} for k, c in enumerate(CATEGORIES)],
        }
        path = root / "annotations" / f"instances_{split}.json"
        write_json_atomic(path, coco)
        out[split] = path
    return out


def _draw_image(rng: np.random.Generator, size: int, max_objects: int):
    # Smooth random background plus pixel noise: clutter the detector must learn to ignore.
    low = rng.uniform(40, 140, size=(4, 4, 3))
    background = np.array(Image.fromarray(low.astype(np.uint8)).resize((size, size), Image.BILINEAR), dtype=float)
    canvas = Image.fromarray(np.clip(background + rng.normal(0, 12, background.shape), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    # Distractors: thin grey curves and rings, never annotated.
    for _ in range(rng.integers(0, 3)):
        x0, y0 = rng.uniform(0, size, 2)
        r = rng.uniform(4, size / 5)
        grey = int(rng.uniform(90, 200))
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], outline=(grey, grey, grey), width=1)
    labels = np.zeros((size, size), dtype=np.int32)  # which object owns each pixel (for occlusion)
    freqs = np.array([c[1] for c in CATEGORIES])
    objects = []
    for k in range(int(rng.integers(1, max_objects + 1))):
        cat = int(rng.choice(len(CATEGORIES), p=freqs / freqs.sum()))
        ratio = rng.uniform(*CATEGORIES[cat][2])
        # log-uniform scale: sqrt(area) from 6 px to 45 % of the image
        side = float(np.exp(rng.uniform(np.log(6), np.log(0.45 * size))))
        long_side, short_side = side * np.sqrt(ratio), max(side / np.sqrt(ratio), 2.0)
        long_side = min(long_side, size - 2)
        w, h = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
        x = rng.uniform(0, size - w)
        y = rng.uniform(0, size - h)
        colour = tuple(int(c + rng.integers(-25, 26)) for c in _COLOURS[cat])
        mask_img = Image.new("L", (size, size), 0)
        mdraw = ImageDraw.Draw(mask_img)
        shape = [x, y, x + w, y + h]
        for d in (draw, mdraw):
            fill = colour if d is draw else 255
            name = CATEGORIES[cat][0]
            if name in ("bar", "box"):
                d.rectangle(shape, fill=fill)
            elif name == "disc":
                d.ellipse(shape, fill=fill)
            else:
                d.polygon([(x, y + h), (x + w, y + h), (x + w / 2, y)], fill=fill)
        mask = np.array(mask_img) > 0
        labels[mask] = k + 1
        objects.append(cat)
    anns = []
    for k, cat in enumerate(objects):
        ys, xs = np.nonzero(labels == k + 1)
        if len(xs) < 4:  # fully (or almost) occluded by later objects: not annotated
            continue
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        anns.append({"category_id": cat + 1, "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                     "area": float(len(xs))})
    return np.array(canvas), anns


def synthetic_dataset(root: str | Path, n_train: int, n_val: int, image_size: int = 128, seed: int = 0):
    """Generate (once; reused when the same files exist) and load the synthetic train/val sets."""
    root = Path(root) / f"n{n_train}-{n_val}-s{image_size}-seed{seed}"
    # Both index files are written atomically (train first, val last); one that is missing or does not
    # parse (e.g. written by an older version that was killed mid-write) is named and the set rebuilt.
    complete = all(
        isinstance(read_json_or_none(root / "annotations" / f"instances_{split}.json", "synthetic annotation file"), dict)
        for split in ("train", "val"))
    if not complete:
        make_synthetic(root, n_train, n_val, image_size=image_size, seed=seed)
    return (CocoDetection(root / "train", root / "annotations" / "instances_train.json"),
            CocoDetection(root / "val", root / "annotations" / "instances_val.json"))


def oracle_detections(dataset: CocoDetection) -> list[dict]:
    """The ground truth of ``dataset`` as COCO detections (score 1): the ceiling a perfect detector
    reaches under this chapter's metric (COCO AP of the annotation file as written)."""
    gt = json.loads(dataset.annotation_file.read_text())
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": list(map(float, a["bbox"])),
             "score": 1.0} for a in gt["annotations"] if not a.get("iscrowd", 0)]
