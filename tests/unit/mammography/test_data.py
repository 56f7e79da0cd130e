import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from companion.mammography.synthetic import make_synthetic
from companion.mammography.data import (
    LABEL_CODE,
    MANIFEST_COLUMNS,
    PAPER_PATIENTS,
    SCENARIOS,
    MammogramDataset,
    balanced_indices,
    cbis_ddsm_cohort,
    cbis_ddsm_manifest,
    cv_folds,
    equalize_histogram,
    load_image,
    patient_split,
    patient_table,
    preprocess_image,
    preprocess_manifest,
    read_cbis_descriptions,
    read_manifest,
    resolve_cbis_path,
    scenario_targets,
    validate_manifest,
    write_manifest,
)


def _frame(tmp_path, n=4):
    rows = []
    for i in range(n):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(np.full((40, 40), 20 * i, np.uint8)).save(path)
        rows.append(dict(image_path=str(path), patient_id=f"P{i // 2}", exam_id=f"E{i // 2}", laterality="L",
                         view=("CC", "MLO")[i % 2], label=("negative", "malignant")[i // 2 % 2], dataset="ffdm",
                         interval_cancer=False))
    return pd.DataFrame(rows)


def test_manifest_round_trip_keeps_rows_and_makes_paths_relative(tmp_path):
    frame = _frame(tmp_path)
    path = write_manifest(frame, tmp_path / "manifest.csv")
    text = path.read_text()
    assert str(tmp_path) not in text  # stored relative to the manifest's folder
    back = read_manifest(path)
    assert list(back.columns) == list(MANIFEST_COLUMNS)
    assert back["image_path"].tolist() == frame["image_path"].tolist()
    assert back["interval_cancer"].dtype == bool
    pd.testing.assert_frame_equal(back.drop(columns="image_path"), frame.drop(columns="image_path"),
                                  check_dtype=False)


@pytest.mark.parametrize("column, value, message", [
    ("label", "benign", "column 'label'"),
    ("view", "ML", "column 'view'"),
    ("dataset", "inbreast", "column 'dataset'"),
    ("interval_cancer", "maybe", "interval_cancer"),
])
def test_bad_values_name_the_column(tmp_path, column, value, message):
    frame = _frame(tmp_path).astype({column: object})
    frame.loc[1, column] = value
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ValueError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_missing_column_missing_file_and_missing_images(tmp_path):
    frame = _frame(tmp_path)
    frame.drop(columns="view").to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ValueError, match="missing column.*view"):
        read_manifest(tmp_path / "m.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_manifest(tmp_path / "nope.csv")
    write_manifest(frame, tmp_path / "ok.csv")
    (tmp_path / "img1.png").unlink()
    (tmp_path / "img2.png").unlink()
    with pytest.raises(FileNotFoundError, match="2 of 4 images are missing"):
        read_manifest(tmp_path / "ok.csv")


def test_interval_cancer_must_be_malignant(tmp_path):
    frame = _frame(tmp_path)
    frame.loc[0, "interval_cancer"] = True  # row 0 is negative
    with pytest.raises(ValueError, match="interval_cancer"):
        write_manifest(frame, tmp_path / "m.csv")


def test_corrupt_image_is_reported(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="could not be decoded"):
        load_image(bad)
    frame = _frame(tmp_path)
    frame.loc[3, "image_path"] = str(bad)
    with pytest.raises(ValueError, match="1 of 4 images could not be read"):
        preprocess_manifest(frame, 16)


def test_colour_image_duplicate_and_empty_manifest_are_refused(tmp_path):
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "colour.png")
    with pytest.raises(ValueError, match=r"colour.png.*colour image"):
        load_image(tmp_path / "colour.png")
    grey = np.repeat(np.arange(64, dtype=np.uint8).reshape(8, 8, 1), 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "grey_rgb.png")
    assert load_image(tmp_path / "grey_rgb.png").max() == 1.0  # grey stored as RGB is accepted
    frame = _frame(tmp_path)
    frame.loc[1, "image_path"] = frame.loc[0, "image_path"]
    with pytest.raises(ValueError, match="image_path repeated"):
        validate_manifest(frame)
    with pytest.raises(ValueError, match="no rows"):
        validate_manifest(_frame(tmp_path).iloc[:0])


def test_synthetic_set_is_deterministic_and_follows_paper_proportions(tmp_path, tiny_manifest):
    again = make_synthetic(tmp_path / "again", n_ffdm=14, n_ddsm=14, n_interval=2, image_size=64, seed=3)
    first, second = read_manifest(tiny_manifest), read_manifest(again)
    assert (first.drop(columns="image_path") == second.drop(columns="image_path")).all().all()
    for a, b in zip(first["image_path"][:6], second["image_path"][:6]):
        np.testing.assert_array_equal(load_image(a), load_image(b))
    other = make_synthetic(tmp_path / "other", n_ffdm=14, n_ddsm=14, n_interval=2, image_size=64, seed=4)
    assert not np.array_equal(load_image(first["image_path"][0]), load_image(read_manifest(other)["image_path"][0]))
    patients = patient_table(first)
    ffdm = patients[(patients["dataset"] == "ffdm") & ~patients["interval_cancer"]]["label"].value_counts()
    expected = np.array([PAPER_PATIENTS["ffdm"][k] for k in ("negative", "recalled_benign", "malignant")]) / 1303 * 14
    assert np.abs(ffdm.reindex(["negative", "recalled_benign", "malignant"]).to_numpy() - expected).max() <= 1
    # Malignant patients keep the affected breast only (2 views), the others all four.
    per_patient = first.groupby("patient_id").agg(label=("label", "first"), n=("image_path", "size"))
    assert set(per_patient.loc[per_patient["label"] == "malignant", "n"]) == {2}
    assert set(per_patient.loc[per_patient["label"] != "malignant", "n"]) == {4}
    assert patients["interval_cancer"].sum() == 2


def test_patient_split_has_no_leakage_and_every_class_in_test(tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    split = patient_split(manifest, test_fraction=0.2, seed=0)
    train = set(manifest.loc[split == "train", "patient_id"])
    test = set(manifest.loc[split == "test", "patient_id"])
    assert train and test and not train & test
    assert set(manifest.loc[split == "interval", "patient_id"]) == set(
        manifest.loc[manifest["interval_cancer"], "patient_id"])
    tested = manifest[split == "test"].groupby("dataset")["label"].nunique()
    assert (tested == 3).all()
    assert patient_split(manifest, 0.2, seed=0).equals(split)
    assert not patient_split(manifest, 0.2, seed=1).equals(split)
    with pytest.raises(ValueError, match="test_fraction"):
        patient_split(manifest, 0.0)


def test_cv_folds_group_patients(tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    folds = cv_folds(manifest, n_folds=3, seed=0)
    assert set(folds) == {0, 1, 2}
    assert (manifest.assign(fold=folds).groupby("patient_id")["fold"].nunique() == 1).all()
    with pytest.raises(ValueError, match="cannot fill"):
        cv_folds(manifest.head(4), n_folds=6)


def test_scenario_label_mapping():
    labels = np.array([LABEL_CODE[c] for c in ("negative", "recalled_benign", "malignant", "negative")])
    expected = {
        "malignant_vs_rest": ([1, 1, 1, 1], [0, 0, 1, 0]),
        "malignant_vs_negative": ([1, 0, 1, 1], [0, 1, 0]),
        "malignant_vs_recalled": ([0, 1, 1, 0], [0, 1]),
        "recalled_vs_negative": ([1, 1, 0, 1], [0, 1, 0]),
        "recalled_vs_rest": ([1, 1, 1, 1], [0, 1, 0, 0]),
        "triple": ([1, 1, 1, 1], [0, 1, 2, 0]),
    }
    assert set(expected) == set(SCENARIOS)
    for scenario, (keep, target) in expected.items():
        got_keep, got_target = scenario_targets(labels, scenario)
        assert got_keep.astype(int).tolist() == keep, scenario
        assert got_target.tolist() == target, scenario
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario_targets(labels, "benign_vs_all")
    with pytest.raises(ValueError, match="class codes"):
        scenario_targets(np.array([0, 3]), "triple")


def test_balanced_indices_undersample_to_smallest_class():
    targets = np.array([0] * 7 + [1] * 3)
    chosen = balanced_indices(targets, seed=0)
    assert np.bincount(targets[chosen]).tolist() == [3, 3]
    assert set(np.flatnonzero(targets == 1)) <= set(chosen)
    with pytest.raises(ValueError, match="two classes"):
        balanced_indices(np.zeros(4))


def test_preprocessing_equalises_breast_and_keeps_background_black():
    rng = np.random.default_rng(0)
    image = np.zeros((120, 100), np.float32)
    image[20:100, :60] = rng.uniform(0.3, 0.5, (80, 60))  # a low-contrast "breast"
    equalised = equalize_histogram(image)
    assert equalised[image == 0].max() == 0.0
    tissue = equalised[image > 0]
    assert tissue.max() > 0.95 and tissue.min() < 0.05  # stretched over the full range
    out = preprocess_image(image, 32)
    assert out.shape == (32, 32) and out.dtype == np.uint8
    plain = preprocess_image(image, 32, equalize=False)
    assert plain[8:24, 2:14].std() < out[8:24, 2:14].std()
    with pytest.raises(ValueError, match="2-D"):
        preprocess_image(np.zeros((4, 4, 3)), 32)


def test_dataset_centres_with_mean_image_and_replicates_channels():
    images = np.stack([np.full((8, 8), 100, np.uint8), np.full((8, 8), 200, np.uint8)])
    centre = images.mean(0) / 255.0
    ds = MammogramDataset(images, [0, 1], centre, scale=0.5)
    x, y = ds[1]
    assert x.shape == (3, 8, 8) and y.item() == 1
    assert torch.allclose(x, torch.full((3, 8, 8), (200 - 150) / 255 / 0.5))
    assert torch.allclose(ds.tensors()[1], x)
    with pytest.raises(ValueError, match="targets"):
        MammogramDataset(images, [0], centre)
    with pytest.raises(ValueError, match="uint8"):
        MammogramDataset(images.astype(np.float32), [0, 1])


def _cbis_rows():
    return pd.DataFrame({
        "patient_id": ["P_00001", "P_00001", "P_00002", "P_00003", "P_00004", "P_00004"],
        "left or right breast": ["LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT"],
        "image view": ["CC", "CC", "MLO", "MLO", "CC", "CC"],
        "pathology": ["BENIGN", "MALIGNANT", "BENIGN_WITHOUT_CALLBACK", "BENIGN", "BENIGN_WITHOUT_CALLBACK",
                      "BENIGN"],
        "image file path": ["Mass-Training_P_00001_LEFT_CC/1.2/1.3/000000.dcm",
                            "Mass-Training_P_00001_LEFT_CC/1.2/1.3/000000.dcm",
                            "Mass-Training_P_00002_RIGHT_MLO/2.2/2.3/000000.dcm",
                            "Mass-Training_P_00003_LEFT_MLO/3.2/3.3/000000.dcm",
                            "Mass-Training_P_00004_RIGHT_CC/4.2/4.3/000000.dcm",
                            "Mass-Training_P_00004_RIGHT_CC/4.2/4.3/000000.dcm"],
    })


def _dicom_tree(root, names):
    for rel in names:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")


def test_cbis_ddsm_cohort_counts_and_without_callback_choice(tmp_path):
    _cbis_rows().to_csv(tmp_path / "mass.csv", index=False)
    frame, report = cbis_ddsm_cohort([tmp_path / "mass.csv"])
    assert len(frame) == 3  # the callback-free-only image is left out, the lesions of one image merged
    assert report["without_callback_rows"] == 2 and report["without_callback_only_images"] == 1
    assert report["excluded_images"] == 1 and report["excluded_patients"] == 1
    assert report["extra_lesion_rows"] == 2
    by_path = frame.set_index("image_path")["label"]
    assert by_path["Mass-Training_P_00001_LEFT_CC/1.2/1.3/000000.dcm"] == "malignant"  # most severe wins
    assert by_path["Mass-Training_P_00004_RIGHT_CC/4.2/4.3/000000.dcm"] == "recalled_benign"
    for choice in ("negative", "recalled_benign"):
        frame, report = cbis_ddsm_cohort([tmp_path / "mass.csv"], without_callback=choice)
        assert len(frame) == 4 and report["excluded_images"] == 0
        assert frame.set_index("image_path")["label"]["Mass-Training_P_00002_RIGHT_MLO/2.2/2.3/000000.dcm"] == choice
    with pytest.raises(ValueError, match="without_callback"):
        cbis_ddsm_cohort([tmp_path / "mass.csv"], without_callback="benign")


def test_cbis_ddsm_manifest_resolves_tcia_names_and_reports_missing_files(tmp_path):
    _cbis_rows().to_csv(tmp_path / "mass.csv", index=False)
    images = tmp_path / "CBIS-DDSM"
    _dicom_tree(images, ["Mass-Training_P_00001_LEFT_CC/1.2/1.3/000000.dcm",  # as the CSV names it
                         "Mass-Training_P_00003_LEFT_MLO/07-20-2016-DDSM-12345/1.000000-full mammogram-678/1-1.dcm"])
    with pytest.raises(FileNotFoundError, match=r"1 of 3 CBIS-DDSM images are not under .*P_00004"):
        cbis_ddsm_manifest([tmp_path / "mass.csv"], images)
    frame = cbis_ddsm_manifest([tmp_path / "mass.csv"], images, missing="drop")
    assert len(frame) == 2 and frame.attrs["report"]["missing_images"] == 1
    assert any(p.endswith("1-1.dcm") for p in frame["image_path"])  # TCIA's download naming
    with pytest.raises(FileNotFoundError, match="image folder"):
        cbis_ddsm_manifest([tmp_path / "mass.csv"], tmp_path / "missing")
    with pytest.raises(ValueError, match="missing must be"):
        cbis_ddsm_manifest([tmp_path / "mass.csv"], images, missing="ignore")


def test_resolve_cbis_path_refuses_ambiguous_series(tmp_path):
    _dicom_tree(tmp_path, ["Calc-Test_P_1_LEFT_CC/a/1-1.dcm", "Calc-Test_P_1_LEFT_CC/b/1-1.dcm"])
    assert resolve_cbis_path(tmp_path, "Calc-Test_P_1_LEFT_CC/x/y/000000.dcm") is None


def test_cbis_descriptions_bad_input(tmp_path):
    rows = _cbis_rows()
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_cbis_descriptions([tmp_path / "nothere.csv"])
    rows.drop(columns="pathology").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv.*pathology"):
        read_cbis_descriptions([tmp_path / "bad.csv"])
    odd = rows.copy()
    odd.loc[2, "pathology"] = "UNKNOWN"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(ValueError, match=r"odd.csv.*UNKNOWN.*\[4\]"):
        read_cbis_descriptions([tmp_path / "odd.csv"])
    odd = rows.copy()
    odd.loc[0, "image view"] = "ML"
    odd.to_csv(tmp_path / "view.csv", index=False)
    with pytest.raises(ValueError, match=r"view.csv.*image view"):
        read_cbis_descriptions([tmp_path / "view.csv"])
    odd = rows.copy()
    odd.loc[1, "patient_id"] = None
    odd.to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(ValueError, match=r"empty.csv.*patient_id.*\[3\]"):
        read_cbis_descriptions([tmp_path / "empty.csv"])
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(ValueError, match="blank.csv"):
        read_cbis_descriptions([tmp_path / "blank.csv"])
    rows.iloc[:0].to_csv(tmp_path / "header_only.csv", index=False)
    with pytest.raises(ValueError, match="header_only.csv.*no rows"):
        read_cbis_descriptions([tmp_path / "header_only.csv"])
    clash = rows.copy()
    clash.loc[1, "patient_id"] = "P_00009"
    clash.to_csv(tmp_path / "clash.csv", index=False)
    with pytest.raises(ValueError, match="more than one patient"):
        cbis_ddsm_cohort([tmp_path / "clash.csv"])


def test_vendored_cbis_ddsm_cohort():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "data" / "real" / "cbis_ddsm"
    frame, report = cbis_ddsm_cohort(sorted(root.glob("*_case_description_*_set.csv")))
    assert report["lesion_rows"] == 3568 and report["patients"] == 1566
    assert (report["without_callback_rows"], report["without_callback_only_images"],
            report["excluded_patients"]) == (682, 399, 138)
    assert set(frame["label"]) == {"malignant", "recalled_benign"}


def test_sixteen_bit_images_keep_their_full_range(tmp_path):
    """A 16-bit mammogram (the usual export) is read with all its grey levels, not its top 8 bits."""
    from PIL import Image

    from companion.mammography.data import load_image

    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 13).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    image = load_image(path)
    assert image.dtype == np.float32 and image.min() == 0.0 and image.max() == 1.0
    assert len(np.unique(image)) == 64 * 64  # 4,096 levels survive; 8 bits would leave 256
