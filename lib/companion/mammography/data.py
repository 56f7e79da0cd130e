"""Mammography data: the manifest format, a synthetic generator, loaders, preprocessing, splits.

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

`make_synthetic_dataset` writes such a manifest with phantom images (the default data
of the book); `cbis_ddsm_manifest` builds one from CBIS-DDSM's description CSVs; a user
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
from scipy import ndimage
from scipy.special import expit
from torch.utils.data import Dataset

from companion.mammography import LABELS

MANIFEST_COLUMNS = ("image_path", "patient_id", "exam_id", "laterality", "view", "label", "dataset",
                    "interval_cancer")
VIEWS = ("CC", "MLO")
LATERALITIES = ("L", "R")
DATASETS = ("ffdm", "ddsm")
LABEL_CODE = {name: code for code, name in enumerate(LABELS)}

# Table 1 / "Study cohort": patients per class in the paper's two datasets.
PAPER_PATIENTS = {
    "ffdm": {"negative": 552, "recalled_benign": 376, "malignant": 375},
    "ddsm": {"negative": 695, "recalled_benign": 850, "malignant": 867},
}
PAPER_INTERVAL_CANCERS = 34  # FFDM interval-cancer (false-negative) patients

# ----------------------------------------------------------------------------- scenarios
# name -> (classes scored as positive, classes scored as negative); the triple scenario has None.
SCENARIOS = {
    "malignant_vs_rest": (("malignant",), ("recalled_benign", "negative")),
    "malignant_vs_negative": (("malignant",), ("negative",)),
    "malignant_vs_recalled": (("malignant",), ("recalled_benign",)),
    "recalled_vs_negative": (("recalled_benign",), ("negative",)),
    "recalled_vs_rest": (("recalled_benign",), ("malignant", "negative")),
    "triple": None,
}
SCENARIO_TITLES = {
    "malignant_vs_rest": "malignant vs recalled-benign + negative",
    "malignant_vs_negative": "malignant vs negative",
    "malignant_vs_recalled": "malignant vs recalled-benign",
    "recalled_vs_negative": "negative vs recalled-benign",
    "recalled_vs_rest": "recalled-benign vs malignant + negative",
    "triple": "malignant vs negative vs recalled-benign",
}


def check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    return scenario


def scenario_targets(labels, scenario: str) -> tuple[np.ndarray, np.ndarray]:
    """Map class codes to one scenario's targets.

    Parameters
    ----------
    labels : array-like of int, shape [N]
        Class codes (0 negative, 1 recalled-benign, 2 malignant).
    scenario : str
        A key of `SCENARIOS`.

    Returns
    -------
    keep : bool ndarray [N]
        Images that take part in the scenario (e.g. no recalled-benign in malignant vs negative).
    target : int64 ndarray [keep.sum()]
        1 for the positive class(es) and 0 for the others; for ``"triple"`` the class codes.
    """
    check_scenario(scenario)
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(LABELS)):
        raise ValueError(f"class codes must lie in 0..{len(LABELS) - 1}, got {sorted(set(labels.tolist()))}")
    if SCENARIOS[scenario] is None:
        return np.ones(len(labels), bool), labels.astype(np.int64)
    positive, negative = SCENARIOS[scenario]
    pos_codes = [LABEL_CODE[c] for c in positive]
    neg_codes = [LABEL_CODE[c] for c in negative]
    keep = np.isin(labels, pos_codes + neg_codes)
    return keep, np.isin(labels[keep], pos_codes).astype(np.int64)


def scenario_classes(scenario: str) -> int:
    """Number of output classes of a scenario's model (2, or 3 for the triple classification)."""
    return 3 if SCENARIOS[check_scenario(scenario)] is None else 2


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
        Missing file, or a file that cannot be decoded.
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
CBIS_PATHOLOGY = {"MALIGNANT": "malignant", "BENIGN": "recalled_benign"}


def cbis_ddsm_manifest(description_csvs, image_root, out_path=None) -> pd.DataFrame:
    """Build a manifest from CBIS-DDSM's case-description CSVs (mass/calc, train/test).

    CBIS-DDSM has lesion rows (one per abnormality) with ``patient_id``, ``left or right
    breast``, ``image view``, ``pathology`` and ``image file path`` (a DICOM under
    ``image_root``). Pathology ``MALIGNANT`` becomes ``malignant`` and ``BENIGN`` (biopsied)
    ``recalled_benign``; ``BENIGN_WITHOUT_CALLBACK`` rows were never recalled and are left out.
    CBIS-DDSM holds **no negative exams**: add DDSM normal volumes (converted from LJPEG) as
    ``negative`` rows yourself. An image with several lesions keeps its most severe label.

    Raises
    ------
    FileNotFoundError
        A CSV or the image root is missing.
    ValueError
        A CSV lacks the columns named above.
    """
    image_root = Path(image_root)
    if not image_root.is_dir():
        raise FileNotFoundError(f"CBIS-DDSM image folder {image_root} does not exist")
    needed = ["patient_id", "left or right breast", "image view", "pathology", "image file path"]
    rows = []
    for csv in description_csvs:
        csv = Path(csv)
        if not csv.is_file():
            raise FileNotFoundError(f"CBIS-DDSM description file {csv} does not exist")
        table = pd.read_csv(csv, dtype=str)
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(f"{csv}: not a CBIS-DDSM description file, missing column(s) {missing}")
        for _, row in table.iterrows():
            label = CBIS_PATHOLOGY.get(str(row["pathology"]).strip())
            if label is None:
                continue
            laterality = "L" if str(row["left or right breast"]).strip().upper().startswith("L") else "R"
            view = str(row["image view"]).strip().upper()
            rows.append(dict(image_path=str(image_root / str(row["image file path"]).strip()),
                             patient_id=str(row["patient_id"]).strip(),
                             exam_id=f"{str(row['patient_id']).strip()}_{laterality}",
                             laterality=laterality, view=view, label=label, dataset="ddsm",
                             interval_cancer=False))
    if not rows:
        raise ValueError("no MALIGNANT or BENIGN rows found in the CBIS-DDSM files")
    frame = pd.DataFrame(rows)
    frame["code"] = frame["label"].map(LABEL_CODE)
    frame = frame.sort_values("code").drop_duplicates("image_path", keep="last").drop(columns="code")
    frame = validate_manifest(frame.sort_values("image_path"), source="CBIS-DDSM")
    if out_path is not None:
        write_manifest(frame, out_path)
    return frame


# ----------------------------------------------------------------------------- synthetic data
@dataclass(frozen=True)
class SyntheticSpec:
    """Knobs of the phantom generator.

    The defaults make findings conspicuous enough that a small CNN trained for minutes on a CPU
    picks up some of them, yet hidden often enough by dense tissue (and, for recalled-benign
    patients, absent from the two views of the unaffected breast) that it cannot reach AUC 1.
    ``lesion_contrast`` is the median added intensity of a lesion over its surroundings
    (images are in [0, 1], dense tissue adds up to about 0.26); ``ddsm_contrast_gain`` makes
    DDSM lesions more conspicuous, as the paper's DDSM numbers suggest; interval cancers
    get ``interval_contrast_factor`` of the usual contrast.
    """

    lesion_contrast: float = 0.6
    ddsm_contrast_gain: float = 1.35
    interval_contrast_factor: float = 0.45
    noise: float = 0.01


# BI-RADS density a-d probabilities per class: denser breasts are recalled more often.
_DENSITY_P = {"negative": (0.2, 0.4, 0.3, 0.1), "recalled_benign": (0.08, 0.32, 0.4, 0.2),
              "malignant": (0.12, 0.38, 0.35, 0.15)}
_DENSE_FRACTION = (0.12, 0.3, 0.5, 0.7)


def _class_counts(total: int, proportions: dict) -> dict:
    weights = np.array(list(proportions.values()), float)
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: total - counts.sum()]] += 1
    return dict(zip(proportions, counts.tolist()))


def _breast(rng, size: int, view: str, density: int, noise: float):
    """A phantom breast (chest wall on the left), float [size, size], and its tissue mask."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size
    depth = rng.uniform(0.62, 0.85)
    half_height = rng.uniform(0.36, 0.45) if view == "CC" else rng.uniform(0.42, 0.48)
    centre = 0.5 if view == "CC" else rng.uniform(0.52, 0.58)
    radius = np.sqrt((xx / depth) ** 2 + ((yy - centre) / half_height) ** 2)
    mask = radius < 1.0
    thickness = np.sqrt(np.clip(1.0 - radius**2, 0.0, 1.0))  # compressed breast thins towards the skin
    white = rng.standard_normal((2, size, size)).astype(np.float32)
    texture = ndimage.gaussian_filter(white[0], size * 0.04) * 7 + ndimage.gaussian_filter(white[1], size * 0.015) * 0.8
    texture = texture + 1.4 * thickness  # glandular tissue concentrates behind the nipple
    threshold = np.quantile(texture[mask], 1.0 - _DENSE_FRACTION[density])
    dense = expit((texture - threshold) * 1.5)
    image = (0.3 + 0.26 * dense) * (0.6 + 0.4 * thickness)
    if view == "MLO":  # pectoral muscle in the upper chest-wall corner
        muscle = xx / rng.uniform(0.22, 0.35) + yy / rng.uniform(0.45, 0.7) < 1.0
        image = np.where(muscle, 0.75 + 0.05 * ndimage.gaussian_filter(white[1], 2), image)
    # Quantum noise inside the breast only: a processed FFDM image has a clean, black background.
    image = np.where(mask, image + rng.normal(0.0, noise, (size, size)), 0.0)
    return image.astype(np.float32), mask


def _lesion(rng, size: int, kind: str, contrast: float) -> tuple[np.ndarray, int]:
    """An additive lesion map [size, size] centred at a random point; returns it and its radius in px."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * size, rng.uniform(0.15, 0.5) * size
    r0 = rng.uniform(0.06, 0.11) * size
    dy, dx = yy - cy, xx - cx
    out = np.zeros((size, size), np.float32)
    if kind in ("round_mass", "oval_mass"):  # circumscribed: sharp, smooth margin
        aspect = 1.0 if kind == "round_mass" else rng.uniform(1.3, 1.8)
        angle = rng.uniform(0, np.pi)
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        rr = np.sqrt((u / aspect) ** 2 + v**2)
        out = contrast * expit(-(rr - r0) / 0.6)
    elif kind == "asymmetry":  # broad, faint, no margin
        out = 0.6 * contrast * np.exp(-(dx**2 + dy**2) / (2 * (2.2 * r0) ** 2))
    elif kind == "benign_calcifications":  # few, coarse, scattered
        for _ in range(rng.integers(3, 8)):
            py, px = cy + rng.normal(0, 0.1 * size), cx + rng.normal(0, 0.1 * size)
            out += 2.5 * contrast * (np.hypot(yy - py, xx - px) < rng.uniform(0.012, 0.02) * size)
    elif kind == "spiculated_mass":  # dense core with radiating spicules
        rr = np.hypot(dy, dx)
        out = contrast * expit(-(rr - 0.7 * r0) / 1.5)
        for phi in rng.uniform(-np.pi, np.pi, rng.integers(8, 16)):
            length = r0 * rng.uniform(1.6, 3.0)
            along = dx * np.cos(phi) + dy * np.sin(phi)
            across = np.abs(-dx * np.sin(phi) + dy * np.cos(phi))
            spicule = (along > 0) & (along < length) & (across < 0.9 + 0.004 * size * (1 - along / length))
            out += 0.7 * contrast * spicule
    elif kind == "irregular_mass":  # lobulated, ill-defined margin
        theta = np.arctan2(dy, dx)
        wobble = sum(rng.uniform(0.08, 0.2) * np.sin(k * theta + rng.uniform(0, 2 * np.pi)) for k in (3, 5, 7))
        rr = np.hypot(dy, dx) / (1.0 + wobble)
        out = contrast * expit(-(rr - r0) / 2.0)
    elif kind == "pleomorphic_calcifications":  # many fine, varied specks in a tight cluster
        for _ in range(rng.integers(10, 25)):
            py, px = cy + rng.normal(0, 0.025 * size), cx + rng.normal(0, 0.025 * size)
            out += rng.uniform(1.5, 3.0) * contrast * (np.hypot(yy - py, xx - px) < rng.uniform(0.004, 0.009) * size)
    else:
        raise ValueError(f"unknown lesion kind {kind!r}")
    return out.astype(np.float32), int(r0)


_LESIONS = {
    "recalled_benign": ("round_mass", "oval_mass", "asymmetry", "benign_calcifications"),
    "malignant": ("spiculated_mass", "irregular_mass", "pleomorphic_calcifications"),
}


def _film(rng, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Digitised-film look: lower resolution, film tone curve, grain, scanner artefacts."""
    size = image.shape[0]
    small = ndimage.zoom(image, 0.5, order=1)
    image = ndimage.zoom(small, size / small.shape[0], order=1)[:size, :size]
    gamma = rng.uniform(5.0, 8.0)
    image = expit(gamma * (image - 0.42))  # H&D-like characteristic curve
    image = image + ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), 0.8) * 0.05
    image = np.where(mask, image, 0.08 + 0.02 * rng.standard_normal(image.shape))
    if rng.random() < 0.6:  # film label sticker in a corner away from the breast
        h, w = int(0.12 * size), int(0.22 * size)
        top = int(rng.uniform(0.02, 0.1) * size)
        image[top: top + h, size - w - 2: size - 2] = rng.uniform(0.85, 1.0)
    if rng.random() < 0.3:  # scanner streak
        column = int(rng.uniform(0.1, 0.95) * size)
        image[:, column] += 0.15
    return image.astype(np.float32)


def _render_patient(rng, size: int, label: str, dataset: str, interval: bool, spec: SyntheticSpec):
    """Images of one patient: {(laterality, view): float [size, size]} and lesion kind (or None)."""
    density = int(rng.choice(4, p=_DENSITY_P[label]))
    affected = rng.choice(LATERALITIES)
    kind = None if label == "negative" else str(rng.choice(_LESIONS[label]))
    contrast = spec.lesion_contrast * rng.lognormal(0.0, 0.35)
    if dataset == "ddsm":
        contrast *= spec.ddsm_contrast_gain
    if interval:
        contrast *= spec.interval_contrast_factor
    # Paper: malignant patients contribute only the cancer-affected breast; others all four views.
    lateralities = (affected,) if label == "malignant" else LATERALITIES
    out = {}
    for lat in lateralities:
        for view in VIEWS:
            image, mask = _breast(rng, size, view, density, spec.noise)
            if kind is not None and lat == affected:
                lesion, _ = _lesion(rng, size, kind, contrast)
                image = image + lesion * mask
            if dataset == "ddsm":
                image = _film(rng, image, mask)
            image = np.clip(image, 0.0, 1.0)
            out[(lat, view)] = image[:, ::-1] if lat == "R" else image  # right breasts face the other way
    return out, kind


def make_synthetic_dataset(root, n_ffdm: int = 120, n_ddsm: int = 200, n_interval: int = 10, image_size: int = 128,
                           seed: int = 0, spec: SyntheticSpec = SyntheticSpec(), overwrite: bool = False) -> Path:
    """Write a synthetic two-domain mammography set and its manifest; return the manifest path.

    Patients per class follow the paper's proportions (FFDM 552/376/375 negative/recalled-benign/
    malignant; DDSM 695/850/867), scaled to ``n_ffdm`` and ``n_ddsm`` patients; ``n_interval``
    extra FFDM malignant patients carry subtle lesions and ``interval_cancer=True``. The
    generator is deterministic given ``seed`` (each patient has its own random stream), and an
    existing set with the same settings is reused unless ``overwrite``.

    Parameters
    ----------
    root : path
        Output folder: ``manifest.csv`` plus ``images/<dataset>/<patient>_<lat>_<view>.png``.
    image_size : int
        Side of the written 8-bit PNGs (the loader resamples to the model's input size).
    """
    if min(n_ffdm, n_ddsm) < 6 or n_interval < 0:
        raise ValueError(f"need at least 6 patients per dataset (got n_ffdm={n_ffdm}, n_ddsm={n_ddsm}) "
                         f"and n_interval >= 0 (got {n_interval})")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32, got {image_size}")
    root = Path(root)
    manifest_path = root / "manifest.csv"
    stamp = root / "settings.txt"
    settings = f"{n_ffdm} {n_ddsm} {n_interval} {image_size} {seed} {spec}"
    if manifest_path.is_file() and stamp.is_file() and stamp.read_text() == settings and not overwrite:
        return manifest_path
    rows = []
    plan = []
    for dataset, total in (("ffdm", n_ffdm), ("ddsm", n_ddsm)):
        for label, count in _class_counts(total, PAPER_PATIENTS[dataset]).items():
            plan += [(dataset, label, False)] * count
    plan += [("ffdm", "malignant", True)] * n_interval
    for index, (dataset, label, interval) in enumerate(plan):
        rng = np.random.default_rng([seed, index])
        patient = f"{dataset.upper()}-{index:05d}"
        images, _ = _render_patient(rng, image_size, label, dataset, interval, spec)
        for (lat, view), image in images.items():
            rel = Path("images") / dataset / f"{patient}_{lat}_{view}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(root / rel)
            rows.append(dict(image_path=str(rel), patient_id=patient, exam_id=f"{patient}-E1", laterality=lat,
                             view=view, label=label, dataset=dataset, interval_cancer=interval))
    write_manifest(pd.DataFrame(rows), manifest_path)
    stamp.write_text(settings)
    return manifest_path


def lesion_examples(image_size: int = 128, seed: int = 0, spec: SyntheticSpec = SyntheticSpec()) -> dict:
    """One FFDM CC image per lesion kind (and a negative), float [size, size], for figures."""
    out = {}
    for i, kind in enumerate(("none",) + _LESIONS["recalled_benign"] + _LESIONS["malignant"]):
        rng = np.random.default_rng([seed, 10_000 + i])
        image, mask = _breast(rng, image_size, "CC", 1, spec.noise)
        if kind != "none":
            image = image + _lesion(rng, image_size, kind, spec.lesion_contrast * 1.5)[0] * mask
        out[kind] = np.clip(image, 0, 1)
    return out
