"""COCO-format detection data: the loader of the COCO 2017 layout (``instances_<split>.json`` +
``<split>/*``), the vendored real COCO boxes and the chapter's data entry ``load_data``.

The synthetic generator that writes the same layout is `companion.eapm.synthetic`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from companion.core.io import read_json


def write_json_atomic(path: str | Path, obj) -> Path:
    """Write ``obj`` as JSON to ``path`` through a temporary file in the same folder + ``os.replace``.

    A run killed mid-write leaves the previous file (or none), never a truncated one.
    """
    import os
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json_or_none(path: str | Path, what: str = "file"):
    """The parsed JSON at ``path``; None (with a warning naming the file) when it is missing or corrupt."""
    import warnings

    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        warnings.warn(f"{what} {path} is corrupt ({exc}); rebuilding it", RuntimeWarning, stacklevel=2)
        return None


@dataclass
class LoadReport:
    """What the loader fixed or dropped, counted (never silently)."""

    clipped_boxes: int = 0
    dropped_outside: int = 0
    dropped_degenerate: int = 0
    crowd_ignored: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.clipped_boxes} box(es) clipped to the image, {self.dropped_outside} dropped as entirely "
                f"outside it, {self.dropped_degenerate} dropped for zero width or height, "
                f"{self.crowd_ignored} crowd region(s) ignored")


class CocoDetection(torch.utils.data.Dataset):
    """A COCO instances file + image folder as (image [3, H, W] float in [0, 1], target dict).

    ``target`` has ``boxes`` [K, 4] (x1, y1, x2, y2, float32), ``labels`` [K] (int64, contiguous
    1..C in the order of ``categories``) and ``image_id``.

    ``images_dir=None`` loads the boxes only (e.g. the vendored real COCO annotations, which ship
    without images): ``boxes()`` works, indexing an image raises FileNotFoundError.

    Bad input: a missing folder or file raises FileNotFoundError; a malformed index, a duplicate
    image id, an annotation for an unknown image or category, a malformed or non-finite bbox, or an
    image file that cannot be decoded raises ValueError naming the file (grey or RGBA images are
    converted to RGB); boxes reaching outside the image are clipped, boxes entirely outside it and
    boxes of zero width/height are dropped, all three counted in ``report`` (printable).
    """

    def __init__(self, images_dir: str | Path | None, annotation_file: str | Path):
        self.images_dir = None if images_dir is None else Path(images_dir)
        annotation_file = Path(annotation_file)
        if self.images_dir is not None and not self.images_dir.is_dir():
            raise FileNotFoundError(f"image folder {self.images_dir} does not exist")
        coco = read_json(annotation_file, "annotation file")
        for key in ("images", "annotations", "categories"):
            if key not in coco:
                raise ValueError(f"{annotation_file} has no {key!r} list: not a COCO instances file")
        self.annotation_file = annotation_file
        self.categories = sorted(coco["categories"], key=lambda c: c["id"])
        self.cat_to_label = {c["id"]: i + 1 for i, c in enumerate(self.categories)}
        self.label_to_cat = {v: k for k, v in self.cat_to_label.items()}
        self.images = sorted(coco["images"], key=lambda im: im["id"])
        by_id = {im["id"]: im for im in self.images}
        if len(by_id) != len(self.images):
            seen, dups = set(), set()
            for im in self.images:
                (dups if im["id"] in seen else seen).add(im["id"])
            raise ValueError(f"{annotation_file} lists image id(s) {sorted(dups)[:5]} more than once")
        self.report = LoadReport()
        per_image: dict[int, list] = {im["id"]: [] for im in self.images}
        for ann in coco["annotations"]:
            if ann.get("image_id") not in by_id:
                raise ValueError(f"annotation {ann.get('id')} refers to unknown image id {ann.get('image_id')}")
            if ann.get("category_id") not in self.cat_to_label:
                raise ValueError(f"annotation {ann.get('id')} has unknown category id {ann.get('category_id')} "
                                 f"(known: {sorted(self.cat_to_label)})")
            bbox = ann.get("bbox")
            if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
                raise ValueError(f"annotation {ann.get('id')} has malformed bbox {bbox!r}")
            if ann.get("iscrowd", 0):
                self.report.crowd_ignored += 1  # ignored in training, as in torchvision's references
                continue
            im = by_id[ann["image_id"]]
            try:
                x, y, w, h = map(float, bbox)
            except (TypeError, ValueError):
                raise ValueError(f"annotation {ann.get('id')} has non-numeric bbox {bbox!r}") from None
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                raise ValueError(f"annotation {ann.get('id')} has a non-finite bbox {bbox!r}")
            if w <= 0 or h <= 0:  # zero-area (or negative-size) box: nothing to learn from
                self.report.dropped_degenerate += 1
                continue
            x1, y1 = min(max(x, 0.0), im["width"]), min(max(y, 0.0), im["height"])
            x2, y2 = min(max(x + w, 0.0), im["width"]), min(max(y + h, 0.0), im["height"])
            if x2 - x1 <= 0 or y2 - y1 <= 0:  # no overlap with the image at all
                self.report.dropped_outside += 1
                continue
            if (x1, y1, x2, y2) != (x, y, x + w, y + h):
                self.report.clipped_boxes += 1
            per_image[im["id"]].append(([x1, y1, x2, y2], self.cat_to_label[ann["category_id"]]))
        self._targets = per_image

    def __len__(self) -> int:
        return len(self.images)

    def boxes(self):
        """Every kept box as a DataFrame: image_id, image width/height, label, category and x1, y1, x2, y2."""
        import pandas as pd

        by_id = {im["id"]: im for im in self.images}
        names = {i + 1: c.get("name", str(c["id"])) for i, c in enumerate(self.categories)}
        rows = [{"image_id": iid, "image_width": by_id[iid]["width"], "image_height": by_id[iid]["height"],
                 "label": label, "category": names[label], "x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3]}
                for iid, items in self._targets.items() for b, label in items]
        return pd.DataFrame(rows, columns=["image_id", "image_width", "image_height", "label", "category",
                                           "x1", "y1", "x2", "y2"])

    @property
    def num_classes(self) -> int:
        """Foreground classes + 1 (index 0 is background, torchvision's convention)."""
        return len(self.categories) + 1

    def __getitem__(self, index: int):
        im = self.images[index]
        if self.images_dir is None:
            raise FileNotFoundError(f"{self.annotation_file} was loaded without an image folder (boxes only)")
        path = self.images_dir / im["file_name"]
        if not path.is_file():
            raise FileNotFoundError(f"image {path} listed in {self.annotation_file} is missing")
        try:
            with Image.open(path) as pil:
                # grey, palette or RGBA files become RGB (the detectors' input); the mode is not an error
                array = np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0
        except (OSError, SyntaxError) as exc:  # PIL: unidentified or truncated image data
            raise ValueError(f"image {path} listed in {self.annotation_file} cannot be read: {exc}") from exc
        image = torch.from_numpy(array).permute(2, 0, 1).contiguous()
        items = self._targets[im["id"]]
        boxes = torch.tensor([b for b, _ in items], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([c for _, c in items], dtype=torch.int64)
        return image, {"boxes": boxes, "labels": labels, "image_id": im["id"]}


def collate(batch):
    """Detection batches are lists: images differ in object count (torchvision's convention)."""
    images, targets = zip(*batch)
    return list(images), list(targets)


REAL_COCO = Path(__file__).resolve().parents[3] / "data" / "real" / "coco" / "annotations" / "instances_val2017.json"


def real_coco_boxes(annotation_file: str | Path = REAL_COCO) -> CocoDetection:
    """The vendored real COCO val2017 subset (79 images, boxes only; ``data/real/coco/``, CC BY 4.0)
    through the chapter's COCO loader, without images."""
    return CocoDetection(None, annotation_file)


def coco2017(root: str | Path, split: str = "val2017") -> CocoDetection:
    """The real COCO 2017 layout: ``root/<split>/*.jpg`` and ``root/annotations/instances_<split>.json``."""
    root = Path(root)
    return CocoDetection(root / split, root / "annotations" / f"instances_{split}.json")


def aspect_ratios(dataset: CocoDetection) -> np.ndarray:
    """Long side / short side of every training box in ``dataset`` (from the annotations)."""
    out = [max(b[2] - b[0], b[3] - b[1]) / min(b[2] - b[0], b[3] - b[1])
           for items in dataset._targets.values() for b, _ in items]
    return np.asarray(out, dtype=float)
