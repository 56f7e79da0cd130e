"""Images for the chapter: the offline photos of scikit-image, scikit-learn and matplotlib.

Colour transfer has no dataset and no ground truth: a run is a (target, reference) pair
of RGB photos. `load_image` accepts a bundled name or any image path; `as_rgb_float`
is the single place where input is validated and converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SIDE = 16

# Bundled photos that need no download: name -> (package, how to load it).
BUNDLED = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
    "china", "flower", "grace_hopper",
)


@dataclass(frozen=True)
class Pair:
    """A target/reference pair: colours go from ``reference`` to ``target``."""

    target: str
    reference: str
    kind: str

    @property
    def name(self) -> str:
        return f"{self.target}<-{self.reference}"


# Curated pairs: scenes with sky/ground, portraits, objects, and one deliberately hard
# cross-domain pair (microscopy <- space) where no semantic match exists.
PAIRS = (
    Pair("china", "rocket", "landscape"),
    Pair("rocket", "china", "landscape"),
    Pair("astronaut", "grace_hopper", "portrait"),
    Pair("grace_hopper", "astronaut", "portrait"),
    Pair("coffee", "flower", "object"),
    Pair("chelsea", "coffee", "object"),
    Pair("immunohistochemistry", "hubble_deep_field", "cross-domain"),
)


def as_rgb_float(image, name: str = "image") -> np.ndarray:
    """Validate an RGB image and return it as float32 in [0, 1].

    Parameters
    ----------
    image : array-like, shape (H, W, 3)
        uint8 in [0, 255] or float in [0, 1].
    name : str
        Used in error messages ("target", "reference").

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]

    Raises
    ------
    ValueError
        Grayscale (2-D or one channel), RGBA or any channel count other than 3, a side
        shorter than 16 pixels, non-finite values, floats outside [0, 1], or an
        unsupported dtype. RGBA is refused rather than silently flattened, because how
        to composite the alpha is the caller's decision.
    """
    arr = np.asarray(image)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 1):
        raise ValueError(f"{name} is grayscale (shape {arr.shape}); colour transfer needs an RGB image "
                         "(convert with skimage.color.gray2rgb if you mean to colourise it)")
    if arr.ndim != 3 or arr.shape[2] != 3:
        hint = " (RGBA: drop or composite the alpha channel first)" if arr.ndim == 3 and arr.shape[2] == 4 else ""
        raise ValueError(f"{name} must have shape (H, W, 3), got {arr.shape}{hint}")
    if min(arr.shape[:2]) < MIN_SIDE:
        raise ValueError(f"{name} is {arr.shape[0]}x{arr.shape[1]} pixels; each side must be at least {MIN_SIDE}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} has dtype {arr.dtype}; expected uint8 or float")
    if np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} has integer dtype {arr.dtype}; only uint8 is accepted (or float in [0, 1])")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} non-finite values (NaN or inf)")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} is float with range [{lo:.3g}, {hi:.3g}]; expected [0, 1]")
    return arr.astype(np.float32)


def load_image(source: str | Path, max_side: int | None = None) -> np.ndarray:
    """Load a bundled photo by name, or any RGB image file, as float32 RGB in [0, 1].

    Parameters
    ----------
    source : str or Path
        One of `BUNDLED` or a path to an image file.
    max_side : int, optional
        Downscale (anti-aliased) so that the longer side is at most this many pixels.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
    """
    name = str(source)
    if name in BUNDLED:
        arr = _load_bundled(name)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{source!r} is neither a bundled image ({', '.join(BUNDLED)}) nor an existing file")
        import skimage.io

        try:
            arr = skimage.io.imread(path)
        except Exception as exc:  # imageio raises several types for a corrupt file
            raise ValueError(f"could not read image {path}: {exc}") from exc
    image = as_rgb_float(arr, name)
    if max_side is not None:
        image = resize_max_side(image, max_side)
    return image


def _load_bundled(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
            return matplotlib.image.imread(fh, format="jpg")
    import skimage.data

    return getattr(skimage.data, name)()


def resize_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Anti-aliased downscale so the longer side is ``max_side`` (never upscales)."""
    if max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    from skimage.transform import resize

    shape = (max(MIN_SIDE, round(h * scale)), max(MIN_SIDE, round(w * scale)))
    return np.clip(resize(image, shape, anti_aliasing=True, order=1), 0, 1).astype(np.float32)


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to an exact (H, W) (used by the scaling benchmark)."""
    from skimage.transform import resize

    return np.clip(resize(image, shape, anti_aliasing=True, order=1), 0, 1).astype(np.float32)


def load_pair(pair: Pair | tuple[str, str], max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ``(target, reference)`` of a `Pair` (or a tuple of two sources)."""
    target, reference = (pair.target, pair.reference) if isinstance(pair, Pair) else pair
    return load_image(target, max_side), load_image(reference, max_side)


def pairs(n: int | None = None) -> list[Pair]:
    """The first ``n`` curated pairs (all when None)."""
    if n is not None and not 1 <= n <= len(PAIRS):
        raise ValueError(f"n_pairs must be between 1 and {len(PAIRS)}, got {n}")
    return list(PAIRS[:n])
