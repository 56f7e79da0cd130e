"""The COCO loader and the vendored real COCO boxes (`companion.eapm.data`): bad input is a clear error."""

import json

import pytest

from companion.eapm.data import REAL_COCO, CocoDetection, real_coco_boxes, write_json_atomic


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


def test_duplicate_ids_corrupt_images_and_image_modes(tmp_path):
    from PIL import Image

    coco = _coco([{"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 2, 4, 4]}])
    img, ann = _write(tmp_path, {**coco, "images": coco["images"] * 2})
    with pytest.raises(ValueError, match=r"ann.json lists image id\(s\) \[1\] more than once"):
        CocoDetection(img, ann)
    img, ann = _write(tmp_path, coco)
    (img / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match=r"a.png listed in .*ann.json cannot be read"):
        CocoDetection(img, ann)[0]
    for mode in ("L", "RGBA", "P"):
        Image.new(mode, (50, 40)).save(img / "a.png")
        image, target = CocoDetection(img, ann)[0]
        assert image.shape == (3, 40, 50) and target["boxes"].shape == (1, 4)


def test_write_json_atomic_leaves_no_temp_and_keeps_old_on_error(tmp_path):
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})  # not serialisable: fails mid-write
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


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
