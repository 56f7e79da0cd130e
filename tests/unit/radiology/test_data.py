import json
from collections import Counter

import numpy as np
import pytest

from companion.radiology.data import (FINDINGS, NORMAL_FRACTION, generate_synthetic, load_annotation, resplit,
                                      split_by_study)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate_synthetic(tmp_path_factory.mktemp("iu") / "iu", 30, image_size=48, seed=3)


def test_annotation_round_trip(dataset):
    raw = json.loads((dataset / "annotation.json").read_text())
    studies = load_annotation(dataset)
    assert {k: len(v) for k, v in studies.items()} == {k: len(raw[k]) for k in ("train", "val", "test")}
    first = raw["train"][0]
    s = studies["train"][0]
    assert s.id == first["id"] and s.report == first["report"] and s.split == "train"
    assert s.image_paths[0] == dataset / "images" / first["image_path"][0]
    assert list(s.findings) == first["findings"]


def test_generator_is_deterministic_and_reports_match_findings(tmp_path):
    a = generate_synthetic(tmp_path / "a", 40, 48, seed=7)
    b = generate_synthetic(tmp_path / "b", 40, 48, seed=7)
    assert (a / "annotation.json").read_text() == (b / "annotation.json").read_text()
    assert (a / "images/CXR5_IM-1004/0.png").read_bytes() == (b / "images/CXR5_IM-1004/0.png").read_bytes()
    studies = [s for part in load_annotation(a).values() for s in part]
    for s in studies:
        text = s.report.lower()
        if "cardiomegaly" in s.findings:
            assert "enlarged" in text or "cardiomegaly" in text
        if "pneumothorax" in s.findings:
            assert "pneumothorax is present" in text or "there is a" in text or "apical pneumothorax" in text
        if not s.findings:
            assert "granuloma" not in text and "enlarged" not in text


def test_finding_frequencies_are_imbalanced():
    from companion.radiology.data import sample_findings

    rng = np.random.default_rng(0)
    draws = [sample_findings(rng) for _ in range(4000)]
    normal = np.mean([not d for d in draws])
    assert abs(normal - NORMAL_FRACTION) < 0.03
    counts = Counter(f for d in draws for f in d)
    assert counts["pneumothorax"] < counts["cardiomegaly"] / 3
    assert set(counts) <= set(FINDINGS)


def test_split_by_study_is_disjoint_seeded_and_in_ratio():
    ids = [f"s{i}" for i in range(100)]
    a = split_by_study(ids, (0.7, 0.2, 0.1), seed=1)
    assert [len(a[k]) for k in ("train", "val", "test")] == [70, 20, 10]
    assert set().union(*map(set, a.values())) == set(ids)
    assert sum(map(len, a.values())) == 100
    assert a == split_by_study(list(reversed(ids)), (0.7, 0.2, 0.1), seed=1)  # order of input does not matter
    assert a != split_by_study(ids, (0.7, 0.2, 0.1), seed=2)
    with pytest.raises(ValueError, match="ratios"):
        split_by_study(ids, (0.5, 0.2, 0.1))


def test_resplit_keeps_studies_whole(dataset):
    studies = load_annotation(dataset)
    r2 = resplit(studies, "r2gen", seed=0)
    assert [len(r2[k]) for k in ("train", "val", "test")] == [21, 3, 6]
    ids = [s.id for part in r2.values() for s in part]
    assert len(ids) == len(set(ids)) == 30
    assert all(s.split == k for k, part in r2.items() for s in part)
    with pytest.raises(ValueError, match="split"):
        resplit(studies, "80-20")


def test_missing_folder_and_index(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_annotation(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="annotation.json"):
        load_annotation(tmp_path)


def test_malformed_json_and_entries(tmp_path):
    (tmp_path / "annotation.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_annotation(tmp_path)
    (tmp_path / "annotation.json").write_text(json.dumps({"train": []}))
    with pytest.raises(ValueError, match="keys"):
        load_annotation(tmp_path)
    (tmp_path / "annotation.json").write_text(json.dumps({"train": [{"id": "x", "report": "a"}], "val": [], "test": []}))
    with pytest.raises(ValueError, match="image_path"):
        load_annotation(tmp_path)


def test_missing_and_corrupt_images(tmp_path):
    root = generate_synthetic(tmp_path / "iu", 12, 48, seed=0)
    victim = load_annotation(root)["train"][0]
    victim.image_paths[1].write_bytes(b"not a png")
    with pytest.raises(ValueError, match="unreadable"):
        load_annotation(root)
    with pytest.warns(UserWarning, match="skipped 1 studies"):
        kept = load_annotation(root, skip_unreadable=True)
    assert victim.id not in {s.id for part in kept.values() for s in part}
    victim.image_paths[1].unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        load_annotation(root)
