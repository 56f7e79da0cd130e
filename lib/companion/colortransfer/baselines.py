"""Global colour-transfer baselines (Sec. 4.2) and the regrain post-processing.

- `reinhard`: Reinhard et al. 2001, match per-channel mean and standard deviation in
  CIE Lab (the original uses Ruderman's lαβ; Lab is the common modern stand-in).
- `pitie_idt`: Pitié et al. 2007 iterative distribution transfer (N-dimensional PDF
  transfer by 1-D matching along random rotations).
- `histogram_matching`: per-channel CDF matching (scikit-image).
- `regrain`: the gradient-preserving step of Pitié et al. 2005, as a screened Poisson
  problem solved exactly with the DCT.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn


def reinhard(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Lab mean/std transfer. Images (H, W, 3) float in [0, 1]; returns (H_T, W_T, 3) in [0, 1]."""
    from skimage.color import lab2rgb, rgb2lab

    t, r = rgb2lab(target), rgb2lab(reference)
    mt, st = t.reshape(-1, 3).mean(0), t.reshape(-1, 3).std(0)
    mr, sr = r.reshape(-1, 3).mean(0), r.reshape(-1, 3).std(0)
    out = (t - mt) / np.maximum(st, 1e-6) * sr + mr
    return np.clip(lab2rgb(out), 0, 1).astype(np.float32)


def _match_1d(source: np.ndarray, reference_sorted: np.ndarray) -> np.ndarray:
    """Map ``source`` values to the reference quantiles at their own ranks (1-D OT map)."""
    ranks = np.empty(len(source))
    ranks[np.argsort(source, kind="stable")] = (np.arange(len(source)) + 0.5) / len(source)
    grid = (np.arange(len(reference_sorted)) + 0.5) / len(reference_sorted)
    return np.interp(ranks, grid, reference_sorted)


def pitie_idt(target: np.ndarray, reference: np.ndarray, n_iter: int = 20, seed: int = 0,
              max_samples: int = 200_000) -> np.ndarray:
    """Iterative distribution transfer (Pitié, Kokaram & Dahyot 2007).

    Each iteration draws a random rotation of RGB space, matches the 1-D marginals of
    the target to the reference's along the three rotated axes, and rotates back; the
    target's colour distribution converges to the reference's.

    Parameters
    ----------
    target, reference : (H, W, 3) float in [0, 1]
    n_iter : int
        Number of random rotations (the paper's examples converge in about 20).
    seed : int
        Seeds the rotations (and the reference subsample when it is large).

    Returns
    -------
    ndarray (H_T, W_T, 3) float32 in [0, 1]
    """
    rng = np.random.default_rng(seed)
    x = target.reshape(-1, 3).astype(np.float64)
    y = reference.reshape(-1, 3).astype(np.float64)
    if len(y) > max_samples:
        y = y[rng.choice(len(y), max_samples, replace=False)]
    for _ in range(n_iter):
        rot, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        xr, yr = x @ rot, y @ rot
        for k in range(3):
            xr[:, k] = _match_1d(xr[:, k], np.sort(yr[:, k]))
        x = xr @ rot.T
    return np.clip(x.reshape(target.shape), 0, 1).astype(np.float32)


def histogram_matching(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching with `skimage.exposure.match_histograms`."""
    from skimage.exposure import match_histograms

    return np.clip(match_histograms(target, reference, channel_axis=-1), 0, 1).astype(np.float32)


def regrain(original: np.ndarray, recoloured: np.ndarray, smoothness: float = 30.0) -> np.ndarray:
    """Keep the gradients of ``original`` and the colours of ``recoloured`` (Pitié et al. 2005).

    Solves per channel ``min_O  ||O - J||² + λ ||∇O - ∇I||²`` with J the recoloured image
    and I the original target: low spatial frequencies (colour) follow J, high
    frequencies (grain, edges) follow I. With Neumann boundaries the normal equations
    ``(1 - λΔ) O = J - λΔI`` diagonalise in the DCT-II basis, so the solve is exact and
    O(n log n). Pitié et al. weight both terms per pixel and solve iteratively over
    scales; this is the constant-weight version (see the chapter's reading notes).

    Parameters
    ----------
    original : (H, W, 3) the target before transfer
    recoloured : (H, W, 3) the transfer result
    smoothness : float
        λ in pixels²: details finer than about 2π·sqrt(λ) pixels come from ``original``.
        30 matches Pitié et al.'s gradient weight φ = 30 on flat regions.

    Returns
    -------
    ndarray (H, W, 3) float32, clipped to [0, 1]
    """
    if original.shape != recoloured.shape:
        raise ValueError(f"original {original.shape} and recoloured {recoloured.shape} must have the same shape")
    if smoothness < 0:
        raise ValueError(f"smoothness must be >= 0, got {smoothness}")
    h, w = original.shape[:2]
    # Eigenvalues of the negative Neumann Laplacian in the DCT-II basis.
    ky = 2 - 2 * np.cos(np.pi * np.arange(h) / h)
    kx = 2 - 2 * np.cos(np.pi * np.arange(w) / w)
    lap = ky[:, None] + kx[None, :]
    out = np.empty_like(recoloured, dtype=np.float64)
    for c in range(3):
        j_hat = dctn(recoloured[..., c].astype(np.float64), type=2, norm="ortho")
        i_hat = dctn(original[..., c].astype(np.float64), type=2, norm="ortho")
        o_hat = (j_hat + smoothness * lap * i_hat) / (1 + smoothness * lap)
        out[..., c] = idctn(o_hat, type=2, norm="ortho")
    return np.clip(out, 0, 1).astype(np.float32)
