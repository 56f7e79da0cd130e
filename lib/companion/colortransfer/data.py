"""Images for the chapter: the offline photos of scikit-image, scikit-learn and matplotlib.

Colour transfer has no dataset and no ground truth: a run is a (target, reference) pair
of RGB photos. `load_image` accepts a bundled name or any image path; `as_rgb_float`
is the single place where input is validated and converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.core.photos import bundled_photo

MIN_SIDE = 16

# Bundled photos that need no download: name -> (package, how to load it).
BUNDLED = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
    "china", "flower", "grace_hopper", "motorcycle",
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
    # Added for the paired tests (more pairs, same photos plus skimage's motorcycle). Several
    # reuse a photo or reverse a pair above, so pairs are not fully independent samples.
    Pair("coffee", "chelsea", "object"),
    Pair("flower", "coffee", "object"),
    Pair("motorcycle", "rocket", "object"),
    Pair("astronaut", "chelsea", "portrait"),
    Pair("hubble_deep_field", "immunohistochemistry", "cross-domain"),
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
        hint = (" (4 channels: RGBA or CMYK; composite or drop an alpha channel, and read CMYK files with "
                "load_image, which converts them to RGB)") if arr.ndim == 3 and arr.shape[2] == 4 else ""
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
        arr = bundled_photo(name)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{source!r} is neither a bundled image ({', '.join(BUNDLED)}) nor an existing file")
        if not path.is_file():
            raise ValueError(f"{path} is not a file (a folder?); expected an image file")
        arr = read_photo(path)
    image = as_rgb_float(arr, name)
    if max_side is not None:
        image = resize_max_side(image, max_side)
    return image


# EXIF orientation tag (0x0112) -> the numpy operation that displays the image upright,
# the same transforms as Pillow's ImageOps.exif_transpose.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def read_photo(path: str | Path) -> np.ndarray:
    """Read an image file as RGB, the way a photo viewer shows it.

    - EXIF orientation is applied (a phone photo stored sideways comes out upright).
    - CMYK (print JPEGs) is converted to sRGB through its embedded ICC profile when it has
      one (Pillow's ImageCms), otherwise with Pillow's plain CMYK -> RGB formula
      (Adobe-inverted CMYK JPEGs are un-inverted by Pillow's decoder).
    - 16-bit RGB TIFF is returned as float in [0, 1] (value / 65535, via tifffile); a 16-bit
      RGB PNG comes through Pillow as its top 8 bits (value // 256), the same scale, 8-bit
      precision. Other 8-bit files come back as uint8.
    - Palette images without transparency are expanded to RGB.

    Returns
    -------
    ndarray (H, W, 3), uint8, or float32 in [0, 1] for 16-bit files.

    Raises
    ------
    ValueError naming the file: unreadable or corrupt data, an alpha channel (composite it
    first: how is the caller's choice), or a grayscale image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            mode, fmt = im.mode, im.format
            orientation = im.getexif().get(0x0112, 1)
            has_alpha = "A" in im.getbands() or (mode == "P" and "transparency" in im.info)
            if has_alpha:
                raise ValueError(f"{path} has an alpha channel (mode {mode}); composite it over a background "
                                 "or drop it first, e.g. Image.open(path).convert('RGB')")
            if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
                raise ValueError(f"{path} is grayscale (mode {mode}); colour transfer needs an RGB image")
            if mode == "CMYK":
                rgb = _cmyk_to_rgb(im)
            else:
                rgb = im.convert("RGB")
            arr = np.asarray(rgb)
    except UnidentifiedImageError as exc:
        raise ValueError(f"{path} is not an image Pillow can read (corrupt or unknown format)") from exc
    except (OSError, SyntaxError) as exc:  # truncated or damaged data
        raise ValueError(f"could not read image {path}: {exc}") from exc
    if fmt == "TIFF":
        # Pillow keeps the top 8 bits of a 16-bit RGB file; tifffile keeps all 16.
        import tifffile

        full = tifffile.imread(path)
        if full.dtype == np.uint16 and full.ndim == 3 and full.shape[2] == 3:
            arr = (full.astype(np.float64) / 65535.0).astype(np.float32)
    if orientation in _ORIENT:
        arr = np.ascontiguousarray(_ORIENT[orientation](arr))
    return arr


def _cmyk_to_rgb(im):
    """CMYK Pillow image -> RGB, through its ICC profile when it embeds one."""
    icc = im.info.get("icc_profile")
    if icc:
        import io

        from PIL import ImageCms

        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: fall back to the plain formula below
    return im.convert("RGB")


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
