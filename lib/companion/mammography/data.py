"""Mammography data: the manifest format, loaders, preprocessing, splits, the CBIS-DDSM adapter.

The six scenarios (which labels a model scores) are in `companion.mammography.scenarios`.

The interface is a **manifest**: a CSV with one row per image and the columns

==================  =========================================================
``image_path``      path of the image (PNG/TIFF/JPEG or DICOM), relative to the
                    manifest's folder or absolute
``patient_id``      patient identifier; splits never put one patient on both sides
``exam_id``         screening exam identifier
``laterality``      ``L`` or ``R``
``view``            ``CC`` or ``MLO``
``label``           ``negative``, ``recalled_benign`` or ``malignant``
``dataset``         ``ffdm`` (digital) or ``ddsm`` (digitised film)
``interval_cancer`` ``True`` for the prior (read-negative) images of an interval cancer
==================  =========================================================

`companion.mammography.synthetic.make_synthetic` writes such a manifest with phantom images
(the default data of the book); `cbis_ddsm_manifest` builds one from CBIS-DDSM's description CSVs; a user
with the paper's private FFDM set writes their own. Every run reads the manifest with
`read_manifest`, so the loader the book exercises is the one real data goes through.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset

from companion.mammography import LABELS

MANIFEST_COLUMNS = ("image_path", "patient_id", "exam_id", "laterality", "view", "label", "dataset",
                    "interval_cancer")
VIEWS = ("CC", "MLO")
LATERALITIES = ("L", "R")
DATASETS = ("ffdm", "ddsm")
from companion.mammography.scenarios import LABEL_CODE  # noqa: E402 (the class codes the scenarios use)

# Table 1 / "Study cohort": patients per class in the paper's two datasets.
PAPER_PATIENTS = {
    "ffdm": {"negative": 552, "recalled_benign": 376, "malignant": 375},
    "ddsm": {"negative": 695, "recalled_benign": 850, "malignant": 867},
}
PAPER_INTERVAL_CANCERS = 34  # FFDM interval-cancer (false-negative) patients

# ----------------------------------------------------------------------------- scenarios
# The six scenarios live in `companion.mammography.scenarios`; their names are re-exported here because
# every page reads a manifest's labels through them together with the loaders below.
from companion.mammography.scenarios import (  # noqa: E402,F401
    SCENARIO_TITLES,
    SCENARIOS,
    check_scenario,
    scenario_classes,
    scenario_targets,
)


# ----------------------------------------------------------------------------- manifest
def _as_bool(series: pd.Series, path) -> pd.Series:
    mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    text = series.astype(str).str.strip().str.lower()
    bad = ~text.isin(list(mapping))
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()
        raise ValueError(f"{path}: column 'interval_cancer' must be true/false; bad values on lines {rows}")
    return text.map(mapping).astype(bool)


def validate_manifest(frame: pd.DataFrame, source="manifest") -> pd.DataFrame:
    """Check columns and values; return a clean copy (strings stripped, booleans parsed).

    Raises
    ------
    ValueError
        Naming the missing column, or the column, bad values and first lines (1-based, header = 1).
    """
    missing = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; a manifest needs {list(MANIFEST_COLUMNS)}")
    if len(frame) == 0:
        raise ValueError(f"{source}: the manifest has no rows")
    out = frame[list(MANIFEST_COLUMNS)].copy()
    for column in MANIFEST_COLUMNS[:-1]:
        if out[column].isna().any():
            rows = (np.flatnonzero(out[column].isna().to_numpy())[:5] + 2).tolist()
            raise ValueError(f"{source}: column {column!r} is empty on lines {rows}")
        out[column] = out[column].astype(str).str.strip()
    for column, allowed in (("laterality", LATERALITIES), ("view", VIEWS), ("label", LABELS), ("dataset", DATASETS)):
        bad = ~out[column].isin(allowed)
        if bad.any():
            values = sorted(set(out.loc[bad, column]))[:5]
            rows = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()
            raise ValueError(f"{source}: column {column!r} allows {list(allowed)}, found {values} on lines {rows}")
    out["interval_cancer"] = _as_bool(out["interval_cancer"], source)
    wrong = out["interval_cancer"] & (out["label"] != "malignant")
    if wrong.any():
        rows = (np.flatnonzero(wrong.to_numpy())[:5] + 2).tolist()
        raise ValueError(f"{source}: interval_cancer is true only for malignant images; lines {rows} are not malignant")
    dup = out["image_path"].duplicated()
    if dup.any():
        raise ValueError(f"{source}: image_path repeated, e.g. {out.loc[dup, 'image_path'].iloc[0]!r}")
    mixed = out.groupby("patient_id")["dataset"].nunique()
    if (mixed > 1).any():
        raise ValueError(f"{source}: patient(s) {mixed[mixed > 1].index[:5].tolist()} appear in both datasets")
    return out.reset_index(drop=True)


def read_manifest(path, check_files: bool = True) -> pd.DataFrame:
    """Read and validate a manifest CSV; image paths come back absolute.

    Raises
    ------
    FileNotFoundError
        The manifest, or (with ``check_files``) images it names, do not exist (all are counted).
    ValueError
        Malformed columns or values (see `validate_manifest`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    frame = validate_manifest(frame, source=str(path))
    root = path.parent
    frame["image_path"] = [str(p if Path(p).is_absolute() else (root / p)) for p in frame["image_path"]]
    if check_files:
        missing = [p for p in frame["image_path"] if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: {len(missing)} of {len(frame)} images are missing, e.g. {missing[0]}")
    return frame


def write_manifest(frame: pd.DataFrame, path, relative_to=None) -> Path:
    """Validate ``frame`` and write it as a manifest CSV (paths relative to its folder when possible)."""
    path = Path(path)
    frame = validate_manifest(frame, source="frame to write")
    root = Path(relative_to) if relative_to is not None else path.parent
    paths = []
    for p in frame["image_path"]:
        try:
            paths.append(str(Path(p).resolve().relative_to(root.resolve())) if Path(p).is_absolute() else p)
        except ValueError:
            paths.append(str(p))
    frame = frame.assign(image_path=paths, interval_cancer=frame["interval_cancer"].map({True: "true", False: "false"}))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def patient_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: dataset, label (the most severe of its images) and interval flag."""
    codes = manifest["label"].map(LABEL_CODE)
    table = manifest.assign(code=codes).groupby("patient_id").agg(
        dataset=("dataset", "first"), code=("code", "max"), interval_cancer=("interval_cancer", "any"),
        n_images=("image_path", "size"))
    table["label"] = [LABELS[c] for c in table["code"]]
    return table.drop(columns="code")


# ----------------------------------------------------------------------------- images
def load_image(path) -> np.ndarray:
    """Read one mammogram as float32 [H, W] scaled to [0, 1] (PNG/TIFF/JPEG via Pillow, DICOM via pydicom).

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, a file that cannot be decoded, or a colour image (grey stored as RGB is accepted).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    try:
        if path.suffix.lower() in (".dcm", ".dicom"):
            import pydicom

            ds = pydicom.dcmread(path)
            array = ds.pixel_array.astype(np.float32)
            if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
                array = array.max() - array  # MONOCHROME1 stores dense tissue dark
        else:
            with Image.open(path) as img:
                if img.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                    rgb = np.asarray(img.convert("RGB"), dtype=np.int16)
                    if np.abs(rgb - rgb[..., :1]).max() > 2:  # a grey image stored as RGB is fine
                        raise ValueError(f"colour image (mode {img.mode}); a mammogram is grey-level")
                array = np.asarray(img.convert("I;16") if img.mode.startswith("I") else img.convert("L"),
                                   dtype=np.float32)
    except Exception as exc:
        raise ValueError(f"image {path} could not be decoded ({type(exc).__name__}: {exc})") from exc
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"image {path} is not a 2-D grey-level image (shape {array.shape})")
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def equalize_histogram(image: np.ndarray, nbins: int = 256, background: float = 0.02) -> np.ndarray:
    """Histogram equalisation of the breast (scikit-image), float [H, W] in [0, 1] -> float [H, W] in [0, 1].

    The histogram is taken over pixels brighter than ``background`` (the breast and any
    artefacts); darker pixels stay at 0. Equalising the whole frame would spend half the grey
    levels on the air around the breast and lift its noise to mid-grey.
    """
    from skimage.exposure import equalize_hist

    image = np.asarray(image, dtype=np.float64)
    tissue = image > background
    if tissue.sum() < 2:
        return np.zeros_like(image, dtype=np.float32)
    return np.where(tissue, equalize_hist(image, nbins=nbins, mask=tissue), 0.0).astype(np.float32)


def resize_bicubic(image: np.ndarray, size: int) -> np.ndarray:
    """Bicubic resampling (Pillow, antialiased when shrinking) of float [H, W] to [size, size]."""
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    out = Image.fromarray(np.asarray(image, dtype=np.float32), mode="F").resize((size, size), Image.BICUBIC)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def preprocess_image(image: np.ndarray, size: int = 227, equalize: bool = True) -> np.ndarray:
    """The paper's preprocessing before mean subtraction: histogram equalisation, bicubic resampling.

    Parameters
    ----------
    image : float ndarray [H, W] in [0, 1]
    size : int
        Output side (the paper: 227).
    equalize : bool
        Apply global histogram equalisation first (switched off in the ablation).

    Returns
    -------
    uint8 ndarray [size, size]
        Mean subtraction happens later, with the training set's mean image (`MammogramDataset`).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grey-level image, got shape {image.shape}")
    if equalize:
        image = equalize_histogram(image)
    return np.round(resize_bicubic(image, size) * 255.0).astype(np.uint8)


def preprocess_manifest(manifest: pd.DataFrame, size: int, equalize: bool = True, cache_dir=None) -> np.ndarray:
    """Decode and preprocess every image once; cache the uint8 stack [N, size, size] as .npy.

    The cache file is keyed by the manifest's paths and the settings, so a changed manifest
    or size makes a new one. Unreadable images are counted and reported together.
    """
    key = hashlib.sha1("\n".join(manifest["image_path"]).encode() + f"|{size}|{equalize}".encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"images-{size}px-eq{int(equalize)}-{key}.npy" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        stack = np.load(cache)
        if stack.shape == (len(manifest), size, size):
            return stack
    stack = np.empty((len(manifest), size, size), np.uint8)
    failures = []
    for i, path in enumerate(manifest["image_path"]):
        try:
            stack[i] = preprocess_image(load_image(path), size, equalize)
        except (FileNotFoundError, ValueError) as exc:
            failures.append(str(exc))
    if failures:
        raise ValueError(f"{len(failures)} of {len(manifest)} images could not be read; first: {failures[0]}")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, stack)
        tmp.replace(cache)
    return stack


class MammogramDataset(Dataset):
    """Preprocessed images as network input: mean-subtracted, scaled, replicated to 3 channels.

    Parameters
    ----------
    images : uint8 array [N, S, S]
    targets : int array [N]
    mean_image : float array [S, S] in [0, 1], optional
        The training set's mean image (Caffe's mean subtraction); None skips the subtraction
        and centres on 0.5 instead so that the input scale stays comparable.
    scale : float
        Divides the centred image (roughly the pixel standard deviation) so SGD sees unit-scale input.

    Items are ``(x, y)`` with x float32 [3, S, S] and y int64 [].
    """

    def __init__(self, images, targets, mean_image=None, scale: float = 0.25):
        images = torch.as_tensor(np.asarray(images))
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 [N, S, S], got {tuple(images.shape)} {images.dtype}")
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.int64)
        centre = torch.full(images.shape[1:], 0.5) if mean_image is None else torch.as_tensor(mean_image,
                                                                                              dtype=torch.float32)
        if centre.shape != images.shape[1:]:
            raise ValueError(f"mean_image has shape {tuple(centre.shape)}, images {tuple(images.shape[1:])}")
        self.centre = centre
        self.scale = float(scale)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        x = (self.images[index].float() / 255.0 - self.centre) / self.scale
        return x.unsqueeze(0).expand(3, -1, -1).contiguous(), self.targets[index]

    def tensors(self) -> torch.Tensor:
        """All inputs at once, float32 [N, 3, S, S] (for evaluation)."""
        x = (self.images.float() / 255.0 - self.centre) / self.scale
        return x.unsqueeze(1).expand(-1, 3, -1, -1)


def mean_image(images: np.ndarray) -> np.ndarray:
    """Per-pixel mean of a uint8 stack [N, S, S], float32 [S, S] in [0, 1]."""
    if len(images) == 0:
        raise ValueError("cannot take the mean image of an empty set")
    return (np.asarray(images, dtype=np.float64).mean(0) / 255.0).astype(np.float32)


# ----------------------------------------------------------------------------- splits
def patient_split(manifest: pd.DataFrame, test_fraction: float = 0.05, seed: int = 0) -> pd.Series:
    """Assign every image to ``train``, ``test`` or ``interval`` by patient.

    Each dataset (ffdm, ddsm) is split on its own, stratified by the patient's label, with at
    least one test patient per class. Interval-cancer patients are held out of both sides
    (``interval``): the false-negative analysis uses them.

    Returns
    -------
    pandas.Series of str, aligned with ``manifest``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    patients = patient_table(manifest)
    rng = np.random.default_rng(seed)
    test_patients = set()
    for (_, _), group in patients[~patients["interval_cancer"]].groupby(["dataset", "label"]):
        ids = np.array(sorted(group.index))
        if len(ids) < 2:
            raise ValueError(f"need at least 2 patients per class and dataset to split, got {len(ids)} "
                             f"({group['dataset'].iloc[0]}, {group['label'].iloc[0]})")
        n_test = min(max(1, int(round(test_fraction * len(ids)))), len(ids) - 1)
        test_patients.update(rng.choice(ids, n_test, replace=False).tolist())
    interval = set(patients.index[patients["interval_cancer"]])
    split = np.where(manifest["patient_id"].isin(interval), "interval",
                     np.where(manifest["patient_id"].isin(test_patients), "test", "train"))
    return pd.Series(split, index=manifest.index, name="split")


def cv_folds(manifest: pd.DataFrame, n_folds: int = 6, seed: int = 0) -> np.ndarray:
    """Patient-grouped, label-stratified fold number (0..n_folds-1) for every image (the paper: 6 folds)."""
    from sklearn.model_selection import StratifiedGroupKFold

    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    n_patients = manifest["patient_id"].nunique()
    if n_patients < n_folds:
        raise ValueError(f"{n_patients} patients cannot fill {n_folds} folds")
    folds = np.full(len(manifest), -1)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fold, (_, held) in enumerate(splitter.split(manifest, manifest["label"], groups=manifest["patient_id"])):
        folds[held] = fold
    return folds


def balanced_indices(targets, seed: int = 0) -> np.ndarray:
    """Indices that undersample every target class to the smallest one (Table 1: equal counts per category).

    Returns sorted positions into ``targets``.
    """
    targets = np.asarray(targets)
    classes, counts = np.unique(targets, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"need at least two classes to balance, got {classes.tolist()}")
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(targets == c), counts.min(), replace=False) for c in classes]
    return np.sort(np.concatenate(keep))


# ----------------------------------------------------------------------------- CBIS-DDSM
CBIS_COLUMNS = ("patient_id", "left or right breast", "image view", "pathology", "image file path")
CBIS_PATHOLOGIES = ("MALIGNANT", "BENIGN", "BENIGN_WITHOUT_CALLBACK")
WITHOUT_CALLBACK_CHOICES = ("exclude", "negative", "recalled_benign")
"""What `BENIGN_WITHOUT_CALLBACK` lesions can become. The paper defines recalled-benign as *recalled*
at screening and benign at work-up; these findings were never called back, so by that definition
they are not recalled-benign: the closest of the paper's classes is ``negative`` (not recalled,
no cancer), though nobody checked them a year later. ``exclude`` (the default) leaves their images
out and counts them."""


def read_cbis_descriptions(description_csvs) -> pd.DataFrame:
    """CBIS-DDSM's case-description CSVs (mass/calc x train/test) as one table of lesion rows.

    Returns the columns of `CBIS_COLUMNS` (stripped strings) plus ``source`` (file name) and
    ``line`` (1-based line of the row's start in its file, header = 1; quoted newlines in the
    cropped-image column make lines and rows differ, so ``line`` counts records).

    Raises
    ------
    FileNotFoundError
        A CSV does not exist.
    ValueError
        A CSV is empty or unreadable, lacks a column of `CBIS_COLUMNS`, or has an unknown
        pathology, laterality or view, or an empty patient id or image path (file and lines named).
    """
    tables = []
    description_csvs = [description_csvs] if isinstance(description_csvs, (str, Path)) else list(description_csvs)
    if not description_csvs:
        raise ValueError("no CBIS-DDSM description files given")
    for csv in description_csvs:
        csv = Path(csv)
        if not csv.is_file():
            raise FileNotFoundError(f"CBIS-DDSM description file {csv} does not exist")
        try:
            table = pd.read_csv(csv, dtype=str)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"{csv}: not a readable CSV ({type(exc).__name__}: {exc})") from exc
        missing = [c for c in CBIS_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{csv}: not a CBIS-DDSM description file, missing column(s) {missing}")
        if len(table) == 0:
            raise ValueError(f"{csv}: the description file has no rows")
        table = table[list(CBIS_COLUMNS)].fillna("").apply(lambda col: col.str.strip())
        table["source"] = csv.name
        table["line"] = np.arange(len(table)) + 2
        checks = (("pathology", CBIS_PATHOLOGIES), ("left or right breast", ("LEFT", "RIGHT")),
                  ("image view", VIEWS))
        for column, allowed in checks:
            bad = ~table[column].str.upper().isin(allowed)
            if bad.any():
                raise ValueError(f"{csv}: column {column!r} allows {list(allowed)}, found "
                                 f"{sorted(set(table.loc[bad, column]))[:5]} on records {table.loc[bad, 'line'].tolist()[:5]}")
        for column in ("patient_id", "image file path"):
            bad = table[column] == ""
            if bad.any():
                raise ValueError(f"{csv}: column {column!r} is empty on records {table.loc[bad, 'line'].tolist()[:5]}")
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def cbis_ddsm_cohort(description_csvs, without_callback: str = "exclude") -> tuple[pd.DataFrame, dict]:
    """The image-level cohort CBIS-DDSM's descriptions define, and what happened to every row.

    One image (``image file path``) may carry several lesion rows; it keeps its most severe
    label (malignant > recalled-benign > the ``without_callback`` choice). ``MALIGNANT`` becomes
    ``malignant``, ``BENIGN`` (recalled, biopsied) ``recalled_benign``, and
    ``BENIGN_WITHOUT_CALLBACK`` follows ``without_callback`` (see `WITHOUT_CALLBACK_CHOICES`).

    Returns
    -------
    frame : DataFrame with the manifest columns; ``image_path`` is the CSV's relative path
        (not checked here: `cbis_ddsm_manifest` resolves it under an image folder).
    report : dict
        ``lesion_rows``, ``images``, ``patients`` read; ``extra_lesion_rows`` (rows on an image
        that already has one: several abnormalities per image); ``without_callback_rows`` / ``_images`` / ``_patients``
        (images and patients whose *only* findings are without callback); ``excluded_images``
        and ``excluded_patients`` (left out by ``without_callback="exclude"``); ``kept_images``,
        ``kept_patients``.
    """
    if without_callback not in WITHOUT_CALLBACK_CHOICES:
        raise ValueError(f"without_callback must be one of {WITHOUT_CALLBACK_CHOICES}, got {without_callback!r}")
    rows = read_cbis_descriptions(description_csvs)
    severity = {"MALIGNANT": 3, "BENIGN": 2, "BENIGN_WITHOUT_CALLBACK": 1}
    rows = rows.assign(severity=rows["pathology"].str.upper().map(severity))
    per_image = rows.groupby("image file path").agg(
        patient_id=("patient_id", "first"), laterality=("left or right breast", "first"),
        view=("image view", "first"), severity=("severity", "max"), n_patients=("patient_id", "nunique"))
    if (per_image["n_patients"] > 1).any():
        path = per_image.index[per_image["n_patients"] > 1][0]
        raise ValueError(f"CBIS-DDSM image {path} is listed under more than one patient")
    bwc_only = per_image["severity"] == 1
    patient_best = per_image.groupby("patient_id")["severity"].max()
    report = {
        "lesion_rows": int(len(rows)),
        "images": int(len(per_image)),
        "patients": int(rows["patient_id"].nunique()),
        "extra_lesion_rows": int(len(rows) - len(per_image)),
        "without_callback_rows": int((rows["severity"] == 1).sum()),
        "without_callback_images": int(per_image["severity"].eq(1).sum()),
        "without_callback_only_images": int(bwc_only.sum()),
        "without_callback_only_patients": int((patient_best == 1).sum()),
        "without_callback_patients": int(rows.loc[rows["severity"] == 1, "patient_id"].nunique()),
    }
    label = {3: "malignant", 2: "recalled_benign", 1: without_callback}
    kept = per_image if without_callback != "exclude" else per_image[~bwc_only]
    report["excluded_images"] = int(len(per_image) - len(kept))
    report["excluded_patients"] = int(report["patients"] - kept["patient_id"].nunique())
    report["kept_images"] = int(len(kept))
    report["kept_patients"] = int(kept["patient_id"].nunique())
    frame = pd.DataFrame({
        "image_path": kept.index.to_numpy(), "patient_id": kept["patient_id"].to_numpy(),
        "exam_id": kept["patient_id"].to_numpy(),  # a DDSM case is one screening exam
        "laterality": kept["laterality"].str.upper().str[0].to_numpy(), "view": kept["view"].str.upper().to_numpy(),
        "label": kept["severity"].map(label).to_numpy(), "dataset": "ddsm", "interval_cancer": False})
    if len(frame) == 0:
        raise ValueError("no CBIS-DDSM image is left after excluding BENIGN_WITHOUT_CALLBACK rows")
    frame = validate_manifest(frame.sort_values("image_path"), source="CBIS-DDSM")
    return frame, report


def resolve_cbis_path(image_root, relative: str) -> Path | None:
    """Where a description's ``image file path`` lies under ``image_root``, or None.

    The CSVs name ``<series folder>/<study uid>/<series uid>/000000.dcm``; TCIA's downloads name
    the file ``1-1.dcm`` and the study folder by date and description. Tried in order: the path
    as written; the one DICOM in its folder; the one DICOM anywhere under the series folder
    (``Mass-Training_P_00001_LEFT_CC``). A series folder holding several DICOMs is ambiguous: None.
    """
    image_root = Path(image_root)
    exact = image_root / relative
    if exact.is_file():
        return exact
    if exact.parent.is_dir():
        found = sorted(exact.parent.glob("*.dcm"))
        if len(found) == 1:
            return found[0]
    series = image_root / Path(relative).parts[0]
    if series.is_dir():
        found = sorted(series.rglob("*.dcm"))
        if len(found) == 1:
            return found[0]
    return None


def cbis_ddsm_manifest(description_csvs, image_root, out_path=None, without_callback: str = "exclude",
                       missing: str = "error") -> pd.DataFrame:
    """Build a manifest from CBIS-DDSM's case-description CSVs and a folder of its DICOMs.

    The cohort and labels are `cbis_ddsm_cohort`'s; every image path is resolved under
    ``image_root`` with `resolve_cbis_path` (TCIA's ``1-1.dcm`` naming included). CBIS-DDSM holds
    **no negative exams**: add DDSM normal volumes (converted from LJPEG) as ``negative`` rows.

    Parameters
    ----------
    without_callback : {"exclude", "negative", "recalled_benign"}
        What ``BENIGN_WITHOUT_CALLBACK`` images become (see `WITHOUT_CALLBACK_CHOICES`).
    missing : {"error", "drop"}
        Images not found under ``image_root``: raise (naming how many and the first), or drop
        them; either way the count is in ``frame.attrs["report"]["missing_images"]``.

    Raises
    ------
    FileNotFoundError
        A CSV, the image root or (``missing="error"``) images are missing.
    ValueError
        Malformed description files (see `read_cbis_descriptions`).
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', got {missing!r}")
    image_root = Path(image_root)
    if not image_root.is_dir():
        raise FileNotFoundError(f"CBIS-DDSM image folder {image_root} does not exist")
    frame, report = cbis_ddsm_cohort(description_csvs, without_callback)
    resolved = [resolve_cbis_path(image_root, p) for p in frame["image_path"]]
    absent = [p for p, r in zip(frame["image_path"], resolved) if r is None]
    report["missing_images"] = len(absent)
    if absent and missing == "error":
        raise FileNotFoundError(f"{len(absent)} of {len(frame)} CBIS-DDSM images are not under {image_root}, "
                                f"e.g. {absent[0]} (pass missing='drop' to leave them out, counted)")
    keep = np.array([r is not None for r in resolved])
    frame = frame[keep].assign(image_path=[str(r) for r in resolved if r is not None]).reset_index(drop=True)
    if len(frame) == 0:
        raise FileNotFoundError(f"none of the CBIS-DDSM images were found under {image_root}")
    frame.attrs["report"] = report
    if out_path is not None:
        write_manifest(frame, out_path)
    return frame


def vendored_cbis_csvs() -> list[Path]:
    """The four CBIS-DDSM description CSVs shipped in ``data/real/cbis_ddsm`` (CC BY 3.0, Lee et al. 2017)."""
    root = Path(__file__).resolve().parents[3] / "data" / "real" / "cbis_ddsm"
    found = sorted(root.glob("*_case_description_*_set.csv"))
    if len(found) != 4:
        raise FileNotFoundError(f"expected the 4 CBIS-DDSM description CSVs in {root}, found {len(found)}")
    return found


def cohort_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Patients and images per label, with the views and lateralities of the images (a cohort table)."""
    table = frame.groupby("label").agg(patients=("patient_id", "nunique"), images=("image_path", "size"))
    for column, values in (("view", VIEWS), ("laterality", LATERALITIES)):
        counts = frame.groupby(["label", column]).size().unstack(fill_value=0).reindex(columns=list(values),
                                                                                     fill_value=0)
        table = table.join(counts.rename(columns=lambda v: f"{column} {v}"))
    total = table.sum().to_frame("all").T
    total.loc["all", "patients"] = frame["patient_id"].nunique()
    return pd.concat([table, total]).astype(int)
