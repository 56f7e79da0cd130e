import json

import numpy as np
import pytest

from companion.eapm.data import REAL_COCO, CocoDetection, real_coco_boxes
from companion.eapm.evaluate import box_attributes
from companion.eapm.models import build_detector


def test_vendored_real_coco_reads_through_the_loader():
    ds = real_coco_boxes()
    raw = json.loads(REAL_COCO.read_text())
    crowd = sum(a.get("iscrowd", 0) for a in raw["annotations"])
    assert len(ds) == 79 and len(raw["annotations"]) == 624
    assert ds.report.crowd_ignored == crowd > 0
    boxes = ds.boxes()
    assert len(boxes) == 624 - crowd - ds.report.dropped_degenerate - ds.report.dropped_outside
    assert (boxes.x2 > boxes.x1).all() and (boxes.y2 > boxes.y1).all()
    with pytest.raises(FileNotFoundError, match="without an image folder"):
        ds[0]
    assert (REAL_COCO.parents[1] / "LICENSE.md").is_file() and "CC BY 4.0" in (REAL_COCO.parents[1] / "README.md").read_text()


def test_boxes_only_loader_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        real_coco_boxes(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        CocoDetection(None, bad)


def test_box_attributes_real_vs_anchor_geometry():
    ds = real_coco_boxes()
    model = build_detector("retinanet", ds.num_classes, backbone="mobilenet_v3_small", fpn_channels=16, image_size=96)
    att = box_attributes(ds, model, 96)
    assert len(att) == len(ds.boxes())
    assert att.best_iou.between(0, 1).all() and (att.aspect >= 1).all()
    # the best anchor's log-size ratios are bounded by the octave spacing for boxes inside the anchor range
    mid = att[(att.aspect < 1.5) & att.sqrt_area.between(12, 100)]
    assert np.median(mid.shape_variation) < 0.5
