"""Synthetic mammograms that carry the paper's phenomenon, written in the manifest format, and oracles.

What each class contains, and why (the data page says the same in prose):

``negative``
    Screening exams read negative and cancer-free a year later. Four views. Most show breast
    tissue only; a minority (``spec.incidental_rate``) carry an *incidental* benign finding the
    reader judged not worth a recall (a few coarse calcifications, a small round mass), as
    real negative screens often do.
``recalled_benign``
    Exams recalled at screening because something looked suspicious, benign at work-up. Recall
    is a decision about the patient, so the label covers all four views. The recalled breast
    shows the finding that caused the recall (round/oval mass, focal asymmetry, coarse or rim
    calcifications, and in ``spec.benign_atypical_rate`` of patients an irregular-looking
    benign mass, e.g. fat necrosis). Benign findings are often bilateral and multiple (cysts,
    fibroadenomas, benign calcifications), so the other breast carries one with probability
    ``spec.bilateral_rate``. Recalled women have denser breasts on average.
``malignant``
    Biopsy-proven cancers; only the affected breast's two views (as in the paper). The finding
    is a spiculated or irregular mass, a cluster of pleomorphic calcifications, or in
    ``spec.malignant_circumscribed_rate`` of cancers a circumscribed mass that looks benign.
    Dense tissue masks part of them: the lesion's contrast shrinks with density and in
    ``spec.occult_rate[density]`` of images it is not visible at all (mammographically occult).
    Interval cancers (``interval_cancer=True``) get ``spec.interval_contrast_factor`` of the
    contrast: the prior images in which readers missed the cancer.

Lesions differ from tissue by **shape and texture** (margin sharpness, spicules, lobulation,
internal heterogeneity, calcification shape and clustering), not only by brightness, and the
image is compressed softly towards 1 instead of being clipped, so global histogram equalisation
(a monotone map) keeps them. Calcification specks have a radius of at least
``spec.calcification_min_radius`` of the image side (1.5 px at a 96-px input).

Calibration, said plainly: ``bilateral_rate``, ``incidental_rate``, the density shift and
``ddsm_contrast_gain`` were chosen so that the *oracle* ordering of the scenarios resembles
the paper's (DDSM easier than FFDM; recalled-benign separable from negative at patient level),
and ``mass_contrast`` (0.22 -> 0.28, calcifications twice that) so that the default profile's
small CPU network, 12 epochs on a few hundred FFDM images, closes half the gap from chance to the
oracle ceiling for FFDM malignant vs negative (measured single-threaded on a 500-patient FFDM set,
232 test images: 0.71 at 0.22, 0.77 at 0.28, ceiling 0.97). In the default profile's own split the
seed-0 model reached 0.72 (ceiling 0.98, half-gap mark 0.74), seeds 1 and 2 0.79 and 0.75: the
criterion holds on the seed mean (0.75), not for every seed.
They are the generator's assumptions, not findings; the CNN's results are measured against
the oracle ceilings that follow from them.

The **oracle** sees the generator's latent labels of every image (`latent.csv`: finding kind,
visible or occult, contrast, BI-RADS density) and fits a logistic regression on them: the best a
reader of these pixels can do, the ceiling printed beside every CNN AUC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage
from scipy.special import expit

from companion.core.progress import progress
from companion.mammography import LABELS
from companion.mammography.data import LATERALITIES, PAPER_PATIENTS, VIEWS, write_manifest
from companion.mammography.scenarios import scenario_targets

BENIGN_KINDS = ("round_mass", "oval_mass", "asymmetry", "benign_calcifications")
MALIGNANT_KINDS = ("spiculated_mass", "irregular_mass", "pleomorphic_calcifications")
FINDING_KINDS = ("none",) + BENIGN_KINDS + MALIGNANT_KINDS
LATENT_COLUMNS = ("image_path", "density", "finding", "visible", "contrast", "cy", "cx", "radius", "n_findings")


@dataclass(frozen=True)
class SyntheticSpec:
    """Knobs of the phantom generator (see the module docstring for what each class contains).

    Contrasts are added intensities before the soft compression (images in [0, 1]; dense tissue
    adds up to about 0.26, the pectoral muscle sits near 0.78).
    """

    mass_contrast: float = 0.28
    calcification_contrast: float = 0.56
    calcification_min_radius: float = 1.5 / 96
    ddsm_contrast_gain: float = 1.3
    interval_contrast_factor: float = 0.45
    density_masking: float = 0.35  # contrast falls by this fraction per density step above 'a'
    occult_rate: tuple = (0.0, 0.03, 0.08, 0.15)  # malignant images with no visible finding, by density
    incidental_rate: float = 0.12
    bilateral_rate: float = 0.6
    benign_atypical_rate: float = 0.15
    malignant_circumscribed_rate: float = 0.1
    noise: float = 0.01
    film_base: float = 0.01


# BI-RADS density a-d probabilities per class: denser breasts are recalled more often.
DENSITY_P = {"negative": (0.2, 0.4, 0.3, 0.1), "recalled_benign": (0.06, 0.3, 0.42, 0.22),
             "malignant": (0.12, 0.38, 0.35, 0.15)}
_DENSE_FRACTION = (0.12, 0.3, 0.5, 0.7)


def _class_counts(total: int, proportions: dict) -> dict:
    weights = np.array(list(proportions.values()), float)
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: total - counts.sum()]] += 1
    return dict(zip(proportions, counts.tolist()))


def soft_compress(image: np.ndarray, knee: float = 0.7) -> np.ndarray:
    """Monotone map to [0, 1): identity below ``knee``, tanh roll-off above (no clipping plateau)."""
    image = np.asarray(image, dtype=np.float32)
    top = 1.0 - knee
    return np.where(image <= knee, image, knee + top * np.tanh((image - knee) / top)).astype(np.float32)


def breast(rng, size: int, view: str, density: int, noise: float, spec_fine: float = 0.3):
    """A phantom breast (chest wall on the left): intensity float [size, size] and tissue mask."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size
    depth = rng.uniform(0.62, 0.85)
    half_height = rng.uniform(0.36, 0.45) if view == "CC" else rng.uniform(0.42, 0.48)
    centre = 0.5 if view == "CC" else rng.uniform(0.52, 0.58)
    radius = np.sqrt((xx / depth) ** 2 + ((yy - centre) / half_height) ** 2)
    mask = radius < 1.0
    thickness = np.sqrt(np.clip(1.0 - radius**2, 0.0, 1.0))  # compressed breast thins towards the skin
    white = rng.standard_normal((3, size, size)).astype(np.float32)
    texture = ndimage.gaussian_filter(white[0], size * 0.04) * 7 + ndimage.gaussian_filter(white[1], size * 0.015) * 0.8
    texture = texture + 1.4 * thickness  # glandular tissue concentrates behind the nipple
    threshold = np.quantile(texture[mask], 1.0 - _DENSE_FRACTION[density])
    dense = expit((texture - threshold) * 1.5)
    # Fibroglandular tissue is not a smooth plateau: ducts, lobules and ligaments give it fine
    # structure, so that a homogeneous mass stands apart from it after rank-based equalisation.
    fine = ndimage.gaussian_filter(white[2], size * 0.008)
    fine = fine / (fine.std() + 1e-6)
    image = (0.3 + 0.26 * dense * np.clip(1.0 + spec_fine * fine, 0.0, None)) * (0.6 + 0.4 * thickness)
    if view == "MLO":  # pectoral muscle in the upper chest-wall corner
        muscle = xx / rng.uniform(0.22, 0.35) + yy / rng.uniform(0.45, 0.7) < 1.0
        image = np.where(muscle, 0.75 + 0.05 * ndimage.gaussian_filter(white[1], 2), image)
        mask_for_lesions = mask & ~muscle
    else:
        mask_for_lesions = mask
    image = np.where(mask, image + rng.normal(0.0, noise, (size, size)), 0.0)
    return image.astype(np.float32), mask, mask_for_lesions


def _place(rng, allowed: np.ndarray, margin: float) -> tuple[float, float]:
    """A lesion centre inside ``allowed`` at least ``margin`` (fraction of the side) from its edge."""
    size = allowed.shape[0]
    inner = ndimage.binary_erosion(allowed, iterations=max(1, int(margin * size)))
    ys, xs = np.nonzero(inner if inner.any() else allowed)
    i = rng.integers(len(ys))
    return float(ys[i]), float(xs[i])


def lesion(rng, size: int, kind: str, contrast: float, cy: float, cx: float, spec: SyntheticSpec = SyntheticSpec()
           ) -> tuple[np.ndarray, float]:
    """An additive lesion map float [size, size] centred at (cy, cx) px; returns it and its extent radius (px).

    ``contrast`` scales masses and asymmetries; calcifications use ``spec.calcification_contrast``
    times ``contrast / spec.mass_contrast``.
    """
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    r0 = rng.uniform(0.05, 0.085) * size
    calc = spec.calcification_contrast * contrast / spec.mass_contrast
    rmin = spec.calcification_min_radius * size
    grain = ndimage.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), 1.0)
    grain = grain / (grain.std() + 1e-6)
    out = np.zeros((size, size), np.float32)
    extent = r0
    if kind in ("round_mass", "oval_mass"):  # circumscribed: sharp smooth margin, homogeneous
        aspect = 1.0 if kind == "round_mass" else rng.uniform(1.4, 1.9)
        angle = rng.uniform(0, np.pi)
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        rr = np.sqrt((u / aspect) ** 2 + v**2)
        out = contrast * expit(-(rr - r0) / 0.5)
        extent = r0 * aspect
    elif kind == "asymmetry":  # broad, tissue-textured density without a margin
        rr2 = (dx**2 + dy**2) / (2 * (1.8 * r0) ** 2)
        out = 0.9 * contrast * np.exp(-rr2) * (1.0 + 0.35 * grain)
        extent = 2.5 * r0
    elif kind == "benign_calcifications":  # few, coarse, round or rim-shaped, scattered widely
        extent = 0.16 * size
        for _ in range(rng.integers(3, 7)):
            py, px = cy + rng.normal(0, 0.08 * size), cx + rng.normal(0, 0.08 * size)
            rad = rng.uniform(1.6, 2.6) * rmin
            dist = np.hypot(yy - py, xx - px)
            if rng.random() < 0.5:  # rim ("eggshell") calcification
                out += calc * expit(-(np.abs(dist - rad) - 0.45 * rmin) / 0.3)
            else:
                out += calc * expit(-(dist - rad) / 0.3)
    elif kind == "spiculated_mass":  # dense irregular core with radiating spicules
        rr = np.hypot(dy, dx)
        out = contrast * expit(-(rr - 0.7 * r0) / 1.2) * (1.0 + 0.25 * grain)
        for phi in rng.uniform(-np.pi, np.pi, rng.integers(8, 15)):
            length = r0 * rng.uniform(1.8, 3.0)
            along = dx * np.cos(phi) + dy * np.sin(phi)
            across = np.abs(-dx * np.sin(phi) + dy * np.cos(phi))
            width = 0.012 * size * (1.0 - 0.7 * np.clip(along / length, 0, 1))
            out += 0.8 * contrast * ((along > 0) & (along < length)) * expit(-(across - width) / 0.4)
        extent = 2.5 * r0
    elif kind == "irregular_mass":  # lobulated, ill-defined margin, heterogeneous inside
        theta = np.arctan2(dy, dx)
        wobble = sum(rng.uniform(0.12, 0.25) * np.sin(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
        rr = np.hypot(dy, dx) / (1.0 + wobble)
        out = contrast * expit(-(rr - r0) / 1.8) * (1.0 + 0.4 * grain)
        extent = 1.4 * r0
    elif kind == "pleomorphic_calcifications":  # many small, varied (dot, linear, branching) specks, tight cluster
        extent = 0.09 * size
        for _ in range(rng.integers(10, 20)):
            py, px = cy + rng.normal(0, 0.035 * size), cx + rng.normal(0, 0.035 * size)
            rad = rng.uniform(1.0, 1.3) * rmin
            if rng.random() < 0.5:  # linear / branching fragment
                phi = rng.uniform(0, np.pi)
                along = (xx - px) * np.cos(phi) + (yy - py) * np.sin(phi)
                across = -(xx - px) * np.sin(phi) + (yy - py) * np.cos(phi)
                length = rng.uniform(2.0, 4.0) * rad
                out += rng.uniform(0.8, 1.2) * calc * expit(-(np.maximum(np.abs(along) - length, 0) + np.abs(across)
                                                             - rad * 0.8) / 0.3)
            else:
                out += rng.uniform(0.8, 1.2) * calc * expit(-(np.hypot(yy - py, xx - px) - rad) / 0.3)
    else:
        raise ValueError(f"unknown lesion kind {kind!r}; choose one of {', '.join(FINDING_KINDS[1:])}")
    return np.clip(out, 0.0, None).astype(np.float32), float(extent)


def film(rng, image: np.ndarray, mask: np.ndarray, base: float = 0.01) -> np.ndarray:
    """Digitised-film look: half resolution, film tone curve, grain, dark film base, label, streaks.

    The film base outside the breast (direct exposure: the darkest film) is dark, ``base`` with
    little noise, so the preprocessing's breast mask (intensity > 0.02) does not spend grey levels on it.
    """
    size = image.shape[0]
    small = ndimage.zoom(image, 0.5, order=1)
    image = ndimage.zoom(small, size / small.shape[0], order=1)[:size, :size]
    gamma = rng.uniform(5.0, 8.0)
    image = expit(gamma * (image - 0.42))  # H&D-like characteristic curve
    image = image + ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), 0.8) * 0.03
    image = np.where(mask, image, np.abs(base + 0.003 * rng.standard_normal(image.shape)))
    if rng.random() < 0.6:  # film label sticker in a corner away from the breast
        h, w = int(0.12 * size), int(0.22 * size)
        top = int(rng.uniform(0.02, 0.1) * size)
        image[top: top + h, size - w - 2: size - 2] = rng.uniform(0.85, 1.0)
    if rng.random() < 0.3:  # scanner streak
        column = int(rng.uniform(0.1, 0.95) * size)
        image[:, column] += 0.1
    return image.astype(np.float32)


def _plan_patient(rng, label: str, interval: bool, spec: SyntheticSpec) -> dict:
    """What a patient's exam contains: density, affected side, finding per breast (latent labels)."""
    density = int(rng.choice(4, p=DENSITY_P[label]))
    affected = str(rng.choice(LATERALITIES))
    other = "R" if affected == "L" else "L"
    findings = {affected: "none", other: "none"}
    if label == "malignant":
        if rng.random() < spec.malignant_circumscribed_rate:
            findings[affected] = str(rng.choice(("round_mass", "oval_mass")))
        else:
            findings[affected] = str(rng.choice(MALIGNANT_KINDS, p=(0.35, 0.3, 0.35)))
    elif label == "recalled_benign":
        if rng.random() < spec.benign_atypical_rate:
            findings[affected] = "irregular_mass"
        else:
            findings[affected] = str(rng.choice(BENIGN_KINDS, p=(0.3, 0.25, 0.2, 0.25)))
        if rng.random() < spec.bilateral_rate:
            findings[other] = str(rng.choice(("round_mass", "oval_mass", "benign_calcifications")))
    elif rng.random() < spec.incidental_rate:
        findings[affected] = str(rng.choice(("round_mass", "benign_calcifications")))
    contrast = rng.lognormal(0.0, 0.3) * (1.0 - spec.density_masking * density / 3.0)
    return {"density": density, "affected": affected, "findings": findings, "contrast": contrast}


def render_patient(rng, size: int, label: str, dataset: str, interval: bool, spec: SyntheticSpec = SyntheticSpec()):
    """Images and latent labels of one patient.

    Returns
    -------
    images : {(laterality, view): float [size, size] in [0, 1)}
    latent : {(laterality, view): dict(density, finding, visible, contrast, cy, cx, radius, n_findings)}
        ``finding`` is what the image shows (``none`` for an occult cancer); ``cy, cx, radius``
        locate it as fractions of the side, after the right-breast flip (NaN without a finding).
    """
    plan = _plan_patient(rng, label, interval, spec)
    density = plan["density"]
    # Paper: malignant patients contribute only the cancer-affected breast; others all four views.
    lateralities = (plan["affected"],) if label == "malignant" else LATERALITIES
    images, latent = {}, {}
    for lat in lateralities:
        kind = plan["findings"][lat]
        for view in VIEWS:
            image, mask, allowed = breast(rng, size, view, density, spec.noise)
            contrast = spec.mass_contrast * plan["contrast"] * rng.uniform(0.85, 1.15)
            if dataset == "ddsm":
                contrast *= spec.ddsm_contrast_gain
            if interval:
                contrast *= spec.interval_contrast_factor
            visible = kind != "none"
            if visible and label == "malignant" and rng.random() < spec.occult_rate[density]:
                visible = False
            info = {"density": density, "finding": kind if visible else "none", "visible": visible,
                    "contrast": contrast if visible else 0.0, "cy": np.nan, "cx": np.nan, "radius": np.nan,
                    "n_findings": int(visible)}
            if visible:
                cy, cx = _place(rng, allowed, 0.08)
                add, extent = lesion(rng, size, kind, contrast, cy, cx, spec)
                image = image + add * mask
                info.update(cy=cy / size, cx=cx / size, radius=extent / size)
            if dataset == "ddsm":
                image = film(rng, image, mask, spec.film_base)
            image = soft_compress(np.clip(image, 0.0, None))
            if lat == "R":  # right breasts face the other way
                image = image[:, ::-1]
                if visible:
                    info["cx"] = 1.0 - info["cx"] - 1.0 / size
            images[(lat, view)] = image
            latent[(lat, view)] = info
    return images, latent


def make_synthetic(root, n_ffdm: int = 120, n_ddsm: int = 200, n_interval: int = 10, image_size: int = 128,
                   seed: int = 0, spec: SyntheticSpec = SyntheticSpec(), overwrite: bool = False) -> Path:
    """Write a synthetic two-domain mammography set, its manifest and its latent labels; return the manifest path.

    Patients per class follow the paper's proportions (FFDM 552/376/375 negative/recalled-benign/
    malignant; DDSM 695/850/867), scaled to ``n_ffdm`` and ``n_ddsm`` patients; ``n_interval``
    extra FFDM malignant patients carry subtle lesions and ``interval_cancer=True``. Deterministic
    given ``seed`` (each patient has its own random stream); an existing set with the same settings
    is reused unless ``overwrite``.

    Parameters
    ----------
    root : path
        Output folder: ``manifest.csv``, ``latent.csv`` (`LATENT_COLUMNS`, one row per image) and
        ``images/<dataset>/<patient>_<lat>_<view>.png`` (8-bit).
    image_size : int
        Side of the written PNGs (the loader resamples to the model's input size).
    """
    if min(n_ffdm, n_ddsm) < 6 or n_interval < 0:
        raise ValueError(f"need at least 6 patients per dataset (got n_ffdm={n_ffdm}, n_ddsm={n_ddsm}) "
                         f"and n_interval >= 0 (got {n_interval})")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32, got {image_size}")
    root = Path(root)
    manifest_path = root / "manifest.csv"
    stamp = root / "settings.txt"
    settings = f"v2 {n_ffdm} {n_ddsm} {n_interval} {image_size} {seed} {spec}"
    if (manifest_path.is_file() and (root / "latent.csv").is_file() and stamp.is_file()
            and stamp.read_text() == settings and not overwrite):
        return manifest_path
    rows, latent_rows, plan = [], [], []
    for dataset, total in (("ffdm", n_ffdm), ("ddsm", n_ddsm)):
        for label, count in _class_counts(total, PAPER_PATIENTS[dataset]).items():
            plan += [(dataset, label, False)] * count
    plan += [("ffdm", "malignant", True)] * n_interval
    for index, (dataset, label, interval) in enumerate(progress(plan, "mammography phantoms")):
        rng = np.random.default_rng([seed, index])
        patient = f"{dataset.upper()}-{index:05d}"
        images, latent = render_patient(rng, image_size, label, dataset, interval, spec)
        for (lat, view), image in images.items():
            rel = Path("images") / dataset / f"{patient}_{lat}_{view}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(root / rel)
            rows.append(dict(image_path=str(rel), patient_id=patient, exam_id=f"{patient}-E1", laterality=lat,
                             view=view, label=label, dataset=dataset, interval_cancer=interval))
            latent_rows.append({"image_path": str(rel), **latent[(lat, view)]})
    write_manifest(pd.DataFrame(rows), manifest_path)
    pd.DataFrame(latent_rows, columns=list(LATENT_COLUMNS)).to_csv(root / "latent.csv", index=False)
    stamp.write_text(settings)
    return manifest_path


def read_latent(manifest: pd.DataFrame, latent_path) -> pd.DataFrame:
    """The latent labels aligned row by row with ``manifest`` (as `read_manifest` returns it).

    Raises
    ------
    FileNotFoundError
        ``latent_path`` does not exist (only synthetic sets have one).
    ValueError
        Columns missing, or images of the manifest without a latent row.
    """
    latent_path = Path(latent_path)
    if not latent_path.is_file():
        raise FileNotFoundError(f"latent labels {latent_path} do not exist (only make_synthetic writes them)")
    table = pd.read_csv(latent_path)
    missing = [c for c in LATENT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{latent_path}: missing column(s) {missing}")
    table["image_path"] = [str((latent_path.parent / p)) for p in table["image_path"]]
    table = table.set_index("image_path")
    absent = ~manifest["image_path"].isin(table.index)
    if absent.any():
        raise ValueError(f"{latent_path}: {int(absent.sum())} manifest images have no latent row, "
                         f"e.g. {manifest.loc[absent, 'image_path'].iloc[0]}")
    return table.loc[manifest["image_path"]].reset_index()


def oracle_features(latent: pd.DataFrame) -> np.ndarray:
    """What a perfect reader of the pixels knows, float [N, F]: finding kind (one-hot), its contrast, density (one-hot)."""
    kind = np.stack([(latent["finding"] == k).to_numpy() for k in FINDING_KINDS], 1).astype(float)
    density = np.stack([(latent["density"] == d).to_numpy() for d in range(4)], 1).astype(float)
    contrast = latent["contrast"].to_numpy(float)[:, None]
    return np.concatenate([kind, kind[:, 1:] * contrast[:, :1] / 0.2, density], 1)


def oracle_scores(latent: pd.DataFrame, codes, train_index, test_index, scenario: str) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression on `oracle_features`, fitted on ``train_index``, scoring ``test_index``.

    Returns ``(y_true, proba)`` of the scenario's test images (class-balanced selection is the
    caller's); ``proba`` is [N, 2] or [N, 3] for the triple scenario.
    """
    from sklearn.linear_model import LogisticRegression

    codes = np.asarray(codes)
    features = oracle_features(latent)
    train_index, test_index = np.asarray(train_index), np.asarray(test_index)
    keep, y_train = scenario_targets(codes[train_index], scenario)
    keep_test, y_test = scenario_targets(codes[test_index], scenario)
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"{scenario}: the oracle's training images hold one class only")
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(features[train_index[keep]], y_train)
    return y_test, model.predict_proba(features[test_index[keep_test]])


def oracle_auc(latent: pd.DataFrame, codes, train_index, test_index, scenario: str) -> float:
    """The oracle ceiling of a scenario: AUC of `oracle_scores` (pairwise mean for the triple scenario)."""
    from companion.metrics import roc

    y, proba = oracle_scores(latent, codes, train_index, test_index, scenario)
    if len(np.unique(y)) < 2:
        raise ValueError(f"{scenario}: the test images hold one class only")
    return float(roc.auc(y, proba[:, 1]) if proba.shape[1] == 2 else roc.pairwise_auc_summary(y, proba).mean)


def lesion_examples(image_size: int = 128, seed: int = 0, spec: SyntheticSpec = SyntheticSpec()) -> dict:
    """One FFDM CC image per finding kind (and one without), float [size, size], for figures."""
    out = {}
    for i, kind in enumerate(FINDING_KINDS):
        rng = np.random.default_rng([seed, 10_000 + i])
        image, mask, allowed = breast(rng, image_size, "CC", 1, spec.noise)
        if kind != "none":
            cy, cx = _place(rng, allowed, 0.15)
            image = image + lesion(rng, image_size, kind, spec.mass_contrast * 1.3, cy, cx, spec)[0] * mask
        out[kind] = soft_compress(image)
    return out


def lesion_mask(latent_row, size: int) -> np.ndarray:
    """Boolean [size, size] disc covering an image's finding (empty without one), from its latent row."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size
    if not bool(latent_row["visible"]) or not np.isfinite(latent_row["radius"]):
        return np.zeros((size, size), bool)
    return np.hypot(yy - latent_row["cy"], xx - latent_row["cx"]) <= latent_row["radius"]
