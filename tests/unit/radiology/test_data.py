import json
from collections import Counter

import numpy as np
import pytest
import torch

from companion.radiology.data import (FINDINGS, NORMAL_FRACTION, label_findings, load_annotation, load_reports,
                                      real_reports_root, report_statistics, resplit, sentence_frequencies,
                                      split_by_study)
from companion.radiology.synthetic import _sentences, make_synthetic, oracle_reports


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("iu") / "iu", 30, image_size=48, seed=3)


def test_annotation_round_trip(dataset):
    raw = json.loads((dataset / "annotation.json").read_text())
    studies = load_annotation(dataset)
    assert {k: len(v) for k, v in studies.items()} == {k: len(raw[k]) for k in ("train", "val", "test")}
    first = raw["train"][0]
    s = studies["train"][0]
    assert s.id == first["id"] and s.report == first["report"] and s.split == "train"
    assert s.image_paths[0] == dataset / "images" / first["image_path"][0]
    assert list(s.findings) == first["findings"]


def test_generator_is_deterministic_and_the_labeller_reads_back_its_findings(tmp_path):
    a = make_synthetic(tmp_path / "a", 40, 48, seed=7)
    b = make_synthetic(tmp_path / "b", 40, 48, seed=7)
    assert (a / "annotation.json").read_text() == (b / "annotation.json").read_text()
    assert (a / "images/CXR5_IM-1004/0.png").read_bytes() == (b / "images/CXR5_IM-1004/0.png").read_bytes()
    studies = [s for part in load_annotation(a).values() for s in part]
    assert [frozenset(s.findings) for s in studies] == label_findings([s.report for s in studies])
    assert any(s.findings for s in studies) and any(not s.findings for s in studies)


def test_synthetic_reports_are_made_of_real_sentences_and_normal_reports_repeat(tmp_path):
    real = [s.report for s in load_reports(real_reports_root())["train"]]
    real_sentences = {x for r in real for x in _sentences(r)}
    root = make_synthetic(tmp_path / "iu", 120, 32, seed=1)
    studies = [s for part in load_annotation(root).values() for s in part]
    for s in studies:
        for sentence in _sentences(s.report):
            assert sentence in real_sentences or sentence.rstrip(".") in real_sentences, sentence
    normal = Counter(s.report for s in studies if not s.findings)
    assert len(normal) < sum(normal.values())  # the frequent real normal reports recur


def test_oracle_retrieves_a_report_with_the_same_findings():
    train_f = [(), ("nodule",), ("cardiomegaly", "nodule"), ("nodule",)]
    reports = ["n0", "nod1", "cm+nod", "nod3"]
    out, missing = oracle_reports([("nodule",), (), ("cardiomegaly",)], train_f, reports, seed=0)
    assert out[0] in ("nod1", "nod3") and out[1] == "n0" and out[2] == "cm+nod" and missing == 1
    with pytest.raises(ValueError):
        oracle_reports([()], [()], ["a", "b"])


def test_finding_frequencies_are_imbalanced():
    from companion.radiology.synthetic import sample_findings

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
    root = make_synthetic(tmp_path / "iu", 12, 48, seed=0)
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


def test_load_reports_reads_the_index_without_images(tmp_path):
    entry = {"id": "s1", "report": "The lungs are clear.", "image_path": ["s1/0.png", "s1/1.png"], "cls": 3}
    (tmp_path / "annotation.json").write_text(json.dumps({"train": [entry], "val": [], "test": []}))
    with pytest.raises(FileNotFoundError, match="0.png"):
        load_annotation(tmp_path)  # images are required by default ...
    assert load_reports(tmp_path)["train"][0].report == "The lungs are clear."  # ... not for the index alone
    (tmp_path / "annotation.json").write_text(json.dumps({"train": [entry, entry], "val": [], "test": []}))
    with pytest.raises(ValueError, match="duplicate"):
        load_reports(tmp_path)
    (tmp_path / "annotation.json").write_text(json.dumps({"train": [{**entry, "report": " "}], "val": [], "test": []}))
    with pytest.raises(ValueError, match="empty"):
        load_reports(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_reports(tmp_path / "missing")


def test_real_reports_vendored_and_their_statistics():
    root = real_reports_root()
    assert (root / "README.md").is_file() and "Demner-Fushman" in (root / "README.md").read_text()
    studies = load_reports(root)
    assert {k: len(v) for k, v in studies.items()} == {"train": 2069, "val": 296, "test": 590}
    stats = report_statistics([s.report for s in studies["train"]])
    assert 20 < stats["mean_words"] < 50 and 0.4 < stats["normal_fraction"] < 0.8
    assert stats["distinct_reports"] < stats["reports"] and stats["top_report_count"] > 10
    top = sentence_frequencies([s.report for s in studies["train"]], top=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1] and "lungs" in top[0][0]


def test_generated_findings_follow_the_documented_rates(tmp_path):
    root = make_synthetic(tmp_path / "iu", 300, 32, seed=5)
    studies = [s for part in load_annotation(root).values() for s in part]
    normal = np.mean([not s.findings for s in studies])
    assert abs(normal - NORMAL_FRACTION) < 0.08  # 300 draws: about 3 standard deviations


def test_dataset_select_and_with_images_validate():
    from companion.radiology.data import ReportImageDataset

    ds = object.__new__(ReportImageDataset)
    ds.studies = ["a", "b", "c"]
    ds.images, ds.input_ids, ds.attention_mask = torch.zeros(3, 3, 4, 4), torch.ones(3, 5), torch.ones(3, 5)
    assert ds.select([2, 0]).studies == ["c", "a"]
    with pytest.raises(ValueError, match="select"):
        ds.select([3])
    with pytest.raises(ValueError, match="with_images"):
        ds.with_images(torch.zeros(2, 8, 1, 1))
    assert ds.with_images(torch.zeros(3, 8, 1, 1)).images.shape == (3, 8, 1, 1)
