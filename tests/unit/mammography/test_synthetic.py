import numpy as np
import pandas as pd
import pytest

from companion.mammography.data import equalize_histogram, load_image, patient_table, read_manifest, resize_bicubic
from companion.mammography.synthetic import (
    FINDING_KINDS,
    SyntheticSpec,
    breast,
    lesion,
    lesion_mask,
    make_synthetic,
    oracle_auc,
    oracle_features,
    read_latent,
    soft_compress,
)


def test_soft_compress_is_monotone_and_never_clips():
    x = np.linspace(0, 1.6, 200)
    y = soft_compress(x)
    assert np.all(np.diff(y) > 0) and y.max() < 1.0
    np.testing.assert_allclose(y[x <= 0.7], x[x <= 0.7], atol=1e-6)


@pytest.mark.parametrize("kind", FINDING_KINDS[1:])
def test_every_finding_survives_histogram_equalisation(kind):
    # The lesion region must stay brighter than its surroundings after the paper's preprocessing.
    rng = np.random.default_rng(1)
    image, mask, allowed = breast(rng, 128, "CC", 2, 0.01)
    add, extent = lesion(rng, 128, kind, 0.22, 64.0, 40.0)
    yy, xx = np.mgrid[:128, :128]
    inside = (add > 0.3 * add.max()) & mask
    ring = (np.hypot(yy - 64, xx - 40) > extent + 4) & (np.hypot(yy - 64, xx - 40) < extent + 14) & mask
    for eq in (False, True):
        out = soft_compress(image + add * mask)
        out = equalize_histogram(out) if eq else out
        assert out[inside].mean() - out[ring].mean() > 0.05, (kind, eq)


def test_calcifications_are_resolvable_at_the_input_size():
    spec = SyntheticSpec()
    rng = np.random.default_rng(0)
    add, _ = lesion(rng, 128, "pleomorphic_calcifications", 0.22, 64.0, 64.0, spec)
    small = resize_bicubic(np.clip(add, 0, 1), 96)
    assert spec.calcification_min_radius * 96 >= 1.5
    assert small.max() > 0.5 * add.max()  # the specks are not averaged away by the resampling


def test_make_synthetic_writes_latent_labels_matching_the_classes(tmp_path, tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    latent = read_latent(manifest, tiny_manifest.parent / "latent.csv")
    assert len(latent) == len(manifest)
    assert (latent["image_path"].to_numpy() == manifest["image_path"].to_numpy()).all()
    malignant = manifest["label"] == "malignant"
    negative = manifest["label"] == "negative"
    # Malignant findings are mostly malignant-looking; negatives show at most incidental benign findings.
    assert set(latent.loc[negative, "finding"]) <= {"none", "round_mass", "benign_calcifications"}
    assert latent.loc[malignant & latent["visible"], "finding"].isin(FINDING_KINDS[1:]).all()
    visible = latent[latent["visible"]]
    assert ((visible["cy"] >= 0) & (visible["cy"] <= 1) & (visible["cx"] >= 0) & (visible["cx"] <= 1)).all()
    # The finding is where the latent label says: brighter inside its disc than on the breast outside it.
    row = latent[latent["visible"] & latent["finding"].str.endswith("mass")].iloc[0]
    image = load_image(row["image_path"])
    disc = lesion_mask(row, image.shape[0])
    assert image[disc].mean() > image[~disc & (image > 0.05)].mean()


def test_recalled_benign_findings_reach_the_patient_level(tmp_path):
    root = make_synthetic(tmp_path / "s", n_ffdm=40, n_ddsm=6, n_interval=0, image_size=48, seed=0)
    manifest = read_manifest(root)
    latent = read_latent(manifest, root.parent / "latent.csv")
    recalled = manifest["label"] == "recalled_benign"
    shown = latent[recalled.to_numpy()].groupby(manifest.loc[recalled, "patient_id"].to_numpy())["visible"].sum()
    assert (shown >= 2).all()  # the recalled breast shows its finding in both views
    assert (latent.loc[recalled.to_numpy(), "visible"].mean()) > 0.6  # bilateral benign findings are common


def test_oracle_ceiling_beats_chance_and_reads_latent_labels(tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    latent = read_latent(manifest, tiny_manifest.parent / "latent.csv")
    codes = manifest["label"].map({"negative": 0, "recalled_benign": 1, "malignant": 2}).to_numpy()
    everything = np.arange(len(manifest))
    assert oracle_auc(latent, codes, everything, everything, "malignant_vs_negative") > 0.9
    assert oracle_features(latent).shape == (len(manifest), len(FINDING_KINDS) * 2 - 1 + 4)
    with pytest.raises(ValueError, match="one class"):
        oracle_auc(latent, codes, everything[codes == 0], everything, "malignant_vs_negative")


def test_read_latent_bad_input(tmp_path, tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    with pytest.raises(FileNotFoundError, match="latent"):
        read_latent(manifest, tmp_path / "latent.csv")
    table = pd.read_csv(tiny_manifest.parent / "latent.csv")
    table.drop(columns="finding").to_csv(tmp_path / "latent.csv", index=False)
    with pytest.raises(ValueError, match="finding"):
        read_latent(manifest, tmp_path / "latent.csv")
    table.iloc[1:].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="no latent row"):
        read_latent(manifest, tmp_path / "short.csv")


def test_make_synthetic_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least 6"):
        make_synthetic(tmp_path, n_ffdm=3)
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic(tmp_path, image_size=16)
    with pytest.raises(ValueError, match="unknown lesion kind"):
        lesion(np.random.default_rng(0), 64, "cyst", 0.2, 32.0, 32.0)


def test_film_background_stays_below_the_breast_threshold(tiny_manifest):
    manifest = read_manifest(tiny_manifest)
    path = manifest.loc[manifest["dataset"] == "ddsm", "image_path"].iloc[0]
    image = load_image(path)
    # the raw film base (corners far from the breast, away from the label sticker) is darker than 0.02
    assert np.median(image[-8:, -8:]) < 0.02
    assert patient_table(manifest)["dataset"].nunique() == 2
