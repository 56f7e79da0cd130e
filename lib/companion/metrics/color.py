"""Colour-transfer measures for paper 5, where no ground-truth result exists.

A colour transfer takes a **target** image (whose content and structure must be kept) and a
**reference** image (whose colours should be adopted) and produces a **result**. There is no
correct answer to compare with, so no single number says "good". We report several measures,
each answering a narrower question:

=====================================  =================================  ==========================
measure                                question it answers                blind to
=====================================  =================================  ==========================
:func:`channel_wasserstein` (Lab)      do the L, a, b histograms of the   how channels co-occur;
                                       result match the reference's?      where colours are placed
:func:`sliced_wasserstein`,            does the joint 3-D colour          where colours are placed
:func:`emd_distance` (Lab)             distribution match?                (a pixel shuffle scores 0)
:func:`ssim_luminance` vs target       is the target's structure (edges,  colour entirely (a, b are
                                       texture in L*) preserved?          ignored)
:func:`mean_ciede2000` vs target       how far did colours move, per      whether the move was
                                       pixel, perceptually?               towards the reference
:func:`colorfulness`                   how vivid is an image?             any reference: a garish
                                                                          result scores high
=====================================  =================================  ==========================

A result that copies the reference pixel-for-pixel has perfect distribution distances and
terrible structure; the untouched target has SSIM 1 and CIEDE2000 0 but the target's colours.
The measures are meant to be read together, beside the images.

Conventions: images are RGB, either ``uint8`` in [0, 255] or floating point in [0, 1], shape
[H, W, 3] (sRGB, D65). Distribution measures work in CIELAB (L* in [0, 100], a*, b* roughly
[-128, 127]), so their unit is a Lab unit (a Euclidean ΔE76 of about 2.3 is often quoted as
just noticeable). Subsampling is seeded; the same seed gives the same number.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wasserstein_distance
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

__all__ = [
    "as_float_rgb",
    "channel_wasserstein",
    "color_transfer_scores",
    "colorfulness",
    "emd_distance",
    "mean_ciede2000",
    "sliced_wasserstein",
    "ssim_luminance",
]

SPACES = ("lab", "rgb")
# SSIM's Gaussian window (sigma 1.5, truncated at 3.5 sigma) is 11 pixels wide.
_MIN_SIDE = 11


def as_float_rgb(image, name: str = "image", allow_gray: bool = False) -> np.ndarray:
    """Validate an RGB image and return it as float64 in [0, 1].

    Parameters
    ----------
    image : array-like, shape [H, W, 3] (or [H, W] when ``allow_gray``)
        ``uint8`` in [0, 255] or floating point in [0, 1].
    name : str
        Used in error messages.

    Raises
    ------
    ValueError
        Wrong shape, empty, a dtype other than uint8/float, non-finite values, or floats
        outside [0, 1] (a hint is given when they look like 0-255 values).
    """
    arr = np.asarray(image)
    shapes = "[H, W, 3]" + (" or [H, W]" if allow_gray else "")
    if not (arr.ndim == 3 and arr.shape[2] == 3) and not (allow_gray and arr.ndim == 2):
        raise ValueError(f"{name} must have shape {shapes} (RGB), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    if arr.dtype == np.uint8:
        out = arr.astype(np.float64) / 255.0
    elif np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64)
        if not np.isfinite(out).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        lo, hi = out.min(), out.max()
        if lo < 0 or hi > 1:
            hint = " (looks like 0-255 values: pass uint8 or divide by 255)" if hi > 1.5 else ""
            raise ValueError(f"float {name} must lie in [0, 1], found [{lo:.4g}, {hi:.4g}]{hint}")
    else:
        raise ValueError(f"{name} must be uint8 in [0, 255] or float in [0, 1], got dtype {arr.dtype}")
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    return out


def _pixels(image, name: str, space: str) -> np.ndarray:
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    rgb = as_float_rgb(image, name)
    return (rgb2lab(rgb) if space == "lab" else rgb).reshape(-1, 3)


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"{what} needs images of the same height and width, got {a.shape[:2]} and {b.shape[:2]}")


def _subsample(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    # Each image gets its own generator from the same seed: two images of the same size are
    # sampled at the same pixel positions, so an image is at distance exactly 0 from itself.
    if len(points) <= n:
        return points
    return points[np.random.default_rng(seed).choice(len(points), size=n, replace=False)]


def channel_wasserstein(result, reference, space: str = "lab") -> dict[str, float]:
    """1-D Wasserstein-1 distance between the result's and the reference's channel histograms.

    Parameters
    ----------
    result, reference : array, shape [H, W, 3] and [H', W', 3]
        RGB images (sizes may differ: only the value distributions are compared).
    space : {"lab", "rgb"}
        Compare L*, a*, b* (default; Lab units) or R, G, B in [0, 1].

    Returns
    -------
    dict
        ``{"L": w, "a": w, "b": w}`` (or ``{"R", "G", "B"}``): for each channel the area between
        the two empirical CDFs, i.e. the average amount by which each value must move. A
        distribution shifted by c is at distance exactly |c|.

    Notes
    -----
    Can tell: whether each channel's tonal range and balance match the reference. Cannot tell:
    whether the channel *combinations* match (an image whose a* and b* histograms match but
    are paired differently has distance 0), nor anything about where colours are placed.
    """
    x, y = _pixels(result, "result", space), _pixels(reference, "reference", space)
    names = ("L", "a", "b") if space == "lab" else ("R", "G", "B")
    return {n: float(wasserstein_distance(x[:, c], y[:, c])) for c, n in enumerate(names)}


def sliced_wasserstein(result, reference, n_projections: int = 128, n_samples: int = 5_000,
                       seed: int = 0, space: str = "lab") -> float:
    """Sliced Wasserstein-2 distance between the two images' 3-D colour distributions (POT).

    The joint distribution is projected onto ``n_projections`` random directions and the 1-D
    W2 distances are averaged (root mean square), :math:`SW_2^2 = E_\\theta[W_2^2(\\theta^\\top X,
    \\theta^\\top Y)]`. Up to ``n_samples`` pixels of each image enter (seeded subsample).

    Parameters
    ----------
    result, reference : array, shape [H, W, 3], [H', W', 3]
    n_projections, n_samples : int
    seed : int
        Seeds both the pixel subsample and the projection directions.
    space : {"lab", "rgb"}

    Returns
    -------
    float
        In Lab units (or [0, 1] RGB units). A pure translation by v gives about |v|/sqrt(3).

    Notes
    -----
    Can tell: whether colours *co-occur* as in the reference (unlike per-channel distances).
    Cannot tell: where colours go spatially; it is a Monte-Carlo estimate (spread shrinks with
    ``n_projections``), and it underestimates the full W2 distance.
    """
    import ot

    # POT's 1-D solver handles arbitrary weights and slows down sharply with n (about 10 s for
    # 20,000 pixels x 256 directions on the book's 2-core CPU); 5,000 x 128 keeps it near 1 s
    # with a seed-to-seed spread well under one Lab unit on 512x512 photos.
    if n_projections < 1 or n_samples < 2:
        raise ValueError("n_projections must be >= 1 and n_samples >= 2")
    x = _subsample(_pixels(result, "result", space), n_samples, seed)
    y = _subsample(_pixels(reference, "reference", space), n_samples, seed)
    return float(ot.sliced_wasserstein_distance(x, y, n_projections=n_projections, seed=seed))


def emd_distance(result, reference, n_samples: int = 1500, seed: int = 0, space: str = "lab") -> float:
    """Exact earth mover's distance (Wasserstein-1, Euclidean ground cost) on seeded pixel subsamples.

    Solves the optimal-transport linear programme with ``ot.emd2`` between ``n_samples``
    pixels of each image (uniform weights). Cost O(n^2) memory and roughly O(n^3) time, hence
    the subsample; with all pixels of small images it is exact.

    Returns
    -------
    float
        The mean distance a pixel colour must travel (Lab units: the average ΔE76 of the optimal
        matching). A pure translation by v gives exactly |v| (on the same pixels).

    Notes
    -----
    Can tell: the joint colour-distribution mismatch, interpretable as an average colour error
    under the best possible re-assignment. Cannot tell: spatial placement; the subsample adds
    variance (change ``seed`` to see it).
    """
    import ot

    if n_samples < 2:
        raise ValueError("n_samples must be >= 2")
    x = _subsample(_pixels(result, "result", space), n_samples, seed)
    y = _subsample(_pixels(reference, "reference", space), n_samples, seed)
    cost = ot.dist(x, y, metric="euclidean")
    a, b = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, cost, numItermax=10_000_000))


def _luminance(image, name: str) -> np.ndarray:
    return rgb2lab(as_float_rgb(image, name, allow_gray=True))[..., 0]


def ssim_luminance(result, target) -> float:
    """SSIM between the L* channels of the result and the target (structure preservation).

    Uses Wang et al. (2004)'s settings explicitly: an 11x11 Gaussian window with sigma 1.5,
    population covariances (``use_sample_covariance=False``), K1 = 0.01, K2 = 0.03 and
    ``data_range = 100`` (the span of L*), so the number does not depend on dtype guessing.

    Parameters
    ----------
    result : array, shape [H, W, 3]
    target : array, shape [H, W, 3] or [H, W] (grey)
        Same height and width, each at least 11 pixels.

    Returns
    -------
    float
        In [-1, 1]; 1 for identical luminance.

    Notes
    -----
    Can tell: whether edges, textures and local contrast of the target survive the transfer.
    Cannot tell: anything about colour (a*, b* are ignored), so a transfer that does nothing
    scores 1; a global brightness change lowers it only through the luminance term.
    """
    x, y = _luminance(result, "result"), _luminance(target, "target")
    _same_shape(x, y, "ssim_luminance")
    if min(x.shape) < _MIN_SIDE:
        raise ValueError(f"ssim_luminance needs images at least {_MIN_SIDE}x{_MIN_SIDE}, got {x.shape}")
    return float(structural_similarity(x, y, data_range=100.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, K1=0.01, K2=0.03))


def mean_ciede2000(result, target) -> float:
    """Mean per-pixel CIEDE2000 colour difference between two images of the same size.

    Returns
    -------
    float
        Mean ΔE00 (``skimage.color.deltaE_ciede2000`` on the Lab images); 0 for identical images,
        differences of about 1 to 2 are near the threshold of visibility.

    Notes
    -----
    Can tell: how far colours moved from the target, pixel by pixel and perceptually weighted.
    Cannot tell: whether the move was *right*; in colour transfer a large value is expected.
    Use it against the target to see how much changed, never as an error against the reference
    (the reference has different content).
    """
    x, y = as_float_rgb(result, "result"), as_float_rgb(target, "target")
    _same_shape(x, y, "mean_ciede2000")
    return float(deltaE_ciede2000(rgb2lab(x), rgb2lab(y)).mean())


def colorfulness(image) -> float:
    """Hasler and Süsstrunk (2003)'s colourfulness metric M.

    With R, G, B in [0, 255], the opponent components :math:`rg = R - G` and
    :math:`yb = (R + G)/2 - B` and their means and (population) standard deviations over all
    pixels,

    .. math:: M = \\sqrt{\\sigma_{rg}^2 + \\sigma_{yb}^2} + 0.3\\sqrt{\\mu_{rg}^2 + \\mu_{yb}^2}.

    Parameters
    ----------
    image : array, shape [H, W, 3]

    Returns
    -------
    float
        0 for any grey image; the paper's scale runs from "not colourful" (0) through "moderately"
        (~33) to "extremely colourful" (>= 109).

    Notes
    -----
    Can tell: how vivid an image looks, with no reference needed. Cannot tell: whether the
    colours are the reference's or plausible; compare the result's value with the reference's.
    """
    rgb = as_float_rgb(image, "image") * 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def color_transfer_scores(result, target, reference, seed: int = 0, n_samples: int = 5_000,
                          n_projections: int = 128, emd_samples: int | None = 1500) -> dict[str, float]:
    """All measures for one colour transfer, named for the results registry.

    Parameters
    ----------
    result, target : array, shape [H, W, 3]
        The transfer's output and its input (same size).
    reference : array, shape [H', W', 3]
        The colour source (any size).
    emd_samples : int or None
        Pixels per image for the exact EMD; None skips it (it is the slowest measure).

    Returns
    -------
    dict[str, float]
        ``W1_L, W1_a, W1_b`` and ``SW2_lab`` (and ``EMD_lab``) against the reference;
        ``SSIM_L`` and ``dE00`` against the target; ``colorfulness_result``,
        ``colorfulness_reference``, ``colorfulness_target``.
    """
    _same_shape(as_float_rgb(result, "result"), as_float_rgb(target, "target"), "color_transfer_scores")
    w1 = channel_wasserstein(result, reference)
    out = {f"W1_{k}": v for k, v in w1.items()}
    out["SW2_lab"] = sliced_wasserstein(result, reference, n_projections=n_projections, n_samples=n_samples,
                                        seed=seed)
    if emd_samples is not None:
        out["EMD_lab"] = emd_distance(result, reference, n_samples=emd_samples, seed=seed)
    out["SSIM_L"] = ssim_luminance(result, target)
    out["dE00"] = mean_ciede2000(result, target)
    out["colorfulness_result"] = colorfulness(result)
    out["colorfulness_reference"] = colorfulness(reference)
    out["colorfulness_target"] = colorfulness(target)
    return out
