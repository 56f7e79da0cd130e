"""The paper's contribution: super-features, attention matching, and colour fusion (Sec. 3).

Shapes: n = H*W pixels, N_T / N_R target / reference superpixels, C feature channels.
Nothing here builds an n x n (pixel x pixel) or n x N_R matrix: the largest object is
the N_T x N_R attention map (N ~ 3*sqrt(n), so N_T*N_R ~ 9n) and fusion works on
chunks of pixels against a handful of neighbouring superpixels.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def n_superpixels(n_pixels: int, factor: float = 3.0) -> int:
    """The paper's superpixel count, ``factor * sqrt(n)`` (Sec. 4.1: factor 3)."""
    return max(2, int(round(factor * math.sqrt(n_pixels))))


def superpixels(image: np.ndarray, n_segments: int | None = None, factor: float = 3.0,
                compactness: float = 10.0) -> np.ndarray:
    """SLIC superpixels with consecutive labels 0..N-1.

    Parameters
    ----------
    image : ndarray (H, W, 3) float in [0, 1]
    n_segments : int, optional
        Default ``factor * sqrt(H*W)``.

    Returns
    -------
    labels : ndarray (H, W) int64, values 0..N-1, every label used.
    """
    from skimage.segmentation import slic

    n_segments = n_segments or n_superpixels(image.shape[0] * image.shape[1], factor)
    labels = slic(image, n_segments=n_segments, compactness=compactness, start_label=0, channel_axis=-1)
    # SLIC may skip label values; consecutive labels keep every matrix dense and small.
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(image.shape[:2]).astype(np.int64)


def _labels_tensor(labels, device) -> torch.Tensor:
    lab = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels, device=device)
    if lab.dtype.is_floating_point or lab.dtype == torch.bool:
        raise ValueError(f"labels must be integers, got {lab.dtype}")
    return lab.long()


def super_features(features, labels) -> torch.Tensor:
    """Average features over each superpixel (Sec. 3.1, Fig. 2).

    Parameters
    ----------
    features : tensor or ndarray (H, W, C)
    labels : tensor or ndarray (H, W) int, values 0..N-1

    Returns
    -------
    tensor (N, C), float32: row k is the mean feature over superpixel k.
    """
    feats = torch.as_tensor(features)
    if feats.ndim != 3:
        raise ValueError(f"features must be (H, W, C), got shape {tuple(feats.shape)}")
    lab = _labels_tensor(labels, feats.device)
    if lab.shape != feats.shape[:2]:
        raise ValueError(f"labels shape {tuple(lab.shape)} does not match features {tuple(feats.shape[:2])}")
    if lab.min() < 0:
        raise ValueError("labels must be non-negative")
    n = int(lab.max()) + 1
    flat = lab.reshape(-1)
    counts = torch.bincount(flat, minlength=n)
    if (counts == 0).any():
        raise ValueError(f"labels must use every value 0..{n - 1}; {int((counts == 0).sum())} are empty")
    sums = torch.zeros(n, feats.shape[2], dtype=torch.float32, device=feats.device)
    sums.index_add_(0, flat, feats.reshape(-1, feats.shape[2]).float())
    return sums / counts[:, None].float()


def correlation(target_super_features, reference_super_features, centering: str = "image") -> torch.Tensor:
    """Centred cosine correlation M_TR of Eq. 2, shape (N_T, N_R).

    ``centering="image"`` (default) subtracts from each super-feature the mean
    super-feature of its own image (one C-vector per image, as in Zhang et al. 2019,
    whose operator the paper adopts); ``"row"`` subtracts each row's own channel mean
    (a Pearson correlation per pair); ``"none"`` is the plain cosine.
    """
    ft, fr = torch.as_tensor(target_super_features).float(), torch.as_tensor(reference_super_features).float()
    if ft.ndim != 2 or fr.ndim != 2 or ft.shape[1] != fr.shape[1]:
        raise ValueError(f"super-features must be (N_T, C) and (N_R, C) with the same C, got "
                         f"{tuple(ft.shape)} and {tuple(fr.shape)}")
    if centering == "image":
        ft, fr = ft - ft.mean(0, keepdim=True), fr - fr.mean(0, keepdim=True)
    elif centering == "row":
        ft, fr = ft - ft.mean(1, keepdim=True), fr - fr.mean(1, keepdim=True)
    elif centering != "none":
        raise ValueError(f"centering must be 'image', 'row' or 'none', got {centering!r}")
    # eps keeps a constant super-feature (zero after centring) at correlation 0, not NaN.
    ft = ft / ft.norm(dim=1, keepdim=True).clamp_min(1e-8)
    fr = fr / fr.norm(dim=1, keepdim=True).clamp_min(1e-8)
    return ft @ fr.T


def attention_map(target_super_features, reference_super_features, tau: float = 0.02,
                  centering: str = "image") -> torch.Tensor:
    """A = row-softmax(M_TR / tau), Eqs. 1-2: each target superpixel's distribution over reference ones.

    Parameters
    ----------
    target_super_features : (N_T, C)
    reference_super_features : (N_R, C)
    tau : float > 0
        Temperature; large tau spreads each row, small tau approaches a hard
        one-to-one (argmax) match. Paper: 0.02.

    Returns
    -------
    tensor (N_T, N_R), rows sum to 1.
    """
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive finite number, got {tau!r}")
    m = correlation(target_super_features, reference_super_features, centering)
    return torch.softmax(m / tau, dim=1)


def hard_matching(target_super_features, reference_super_features, centering: str = "image") -> torch.Tensor:
    """One-hot nearest-neighbour matching (argmax of M_TR): the no-attention baseline, tau -> 0."""
    m = correlation(target_super_features, reference_super_features, centering)
    a = torch.zeros_like(m)
    a[torch.arange(m.shape[0], device=m.device), m.argmax(1)] = 1.0
    return a


def colour_statistics(image, labels) -> torch.Tensor:
    """Hand-crafted super-features: mean and standard deviation of L*, a*, b* per superpixel, (N, 6).

    The weight-free descriptor of the Giraud-style baseline: what a superpixel looks like
    in colour, with no CNN. Each column is standardised within its image (zero mean, unit
    spread over the image's superpixels), so a target and a reference of different
    palettes are compared by where a superpixel sits in its own image's distribution
    (darkest, most saturated...), as Reinhard's transfer does globally.

    Parameters
    ----------
    image : ndarray (H, W, 3) float RGB in [0, 1]
    labels : (H, W) int, 0..N-1

    Returns
    -------
    tensor (N, 6) float32: [mean L, mean a, mean b, std L, std a, std b], standardised per column.
    """
    from skimage.color import rgb2lab

    img = np.asarray(image.cpu() if torch.is_tensor(image) else image, dtype=np.float64)
    lab = torch.from_numpy(rgb2lab(img).astype(np.float32))
    lab_t = _labels_tensor(labels, "cpu")
    mean = super_features(lab, lab_t)
    sq = super_features(lab * lab, lab_t)
    std = (sq - mean * mean).clamp_min(0).sqrt()
    stats = torch.cat([mean, std], 1)
    return (stats - stats.mean(0)) / stats.std(0).clamp_min(1e-6)


def constrained_matching(target_super_features, reference_super_features, capacity: float = 2.0) -> torch.Tensor:
    """One-hot matching where each reference superpixel may be used a bounded number of times.

    In the spirit of Giraud et al. (ICIP 2017), whose superpixel matching limits how often
    one reference superpixel is selected so that the result uses the reference's whole
    palette rather than its single best match. Solved exactly as a linear assignment
    (scipy's `linear_sum_assignment`) between target superpixels and ``k`` copies of each
    reference superpixel, ``k = ceil(capacity * N_T / N_R)``, minimising the total
    Euclidean distance between super-features. Giraud et al. use an approximate
    nearest-neighbour search (PatchMatch) over neighbourhood descriptors; this is the
    exact version of the constraint on whole-superpixel descriptors.

    Parameters
    ----------
    target_super_features : (N_T, C); reference_super_features : (N_R, C)
    capacity : float >= 1
        How many times its fair share (N_T / N_R) a reference superpixel may be chosen;
        large values tend to plain nearest-neighbour matching.

    Returns
    -------
    tensor (N_T, N_R): one 1 per row; column sums at most ``ceil(capacity * N_T / N_R)``.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    if not (math.isfinite(capacity) and capacity >= 1):
        raise ValueError(f"capacity must be a finite number >= 1, got {capacity!r}")
    ft = torch.as_tensor(target_super_features).float()
    fr = torch.as_tensor(reference_super_features).float()
    if ft.ndim != 2 or fr.ndim != 2 or ft.shape[1] != fr.shape[1]:
        raise ValueError(f"super-features must be (N_T, C) and (N_R, C) with the same C, got "
                         f"{tuple(ft.shape)} and {tuple(fr.shape)}")
    n_t, n_r = ft.shape[0], fr.shape[0]
    copies = max(1, math.ceil(capacity * n_t / n_r))
    cost = cdist(ft.cpu().numpy().astype(np.float64), fr.cpu().numpy().astype(np.float64))
    rows, cols = linear_sum_assignment(np.tile(cost, (1, copies)))
    a = torch.zeros(n_t, n_r, device=ft.device)
    a[torch.from_numpy(rows).to(ft.device), torch.from_numpy(cols % n_r).to(ft.device)] = 1.0
    return a


def superpixel_stats(image, labels) -> dict:
    """Position/colour centroids and covariances of each superpixel (Eqs. 5-6).

    Parameters
    ----------
    image : tensor or ndarray (H, W, 3)
    labels : (H, W) int, 0..N-1

    Returns
    -------
    dict with "pos_mean" (N, 2) in (row, col) pixels, "col_mean" (N, 3),
    "pos_cov" (N, 2, 2), "col_cov" (N, 3, 3), "count" (N,).
    """
    img = torch.as_tensor(image).float()
    lab = _labels_tensor(labels, img.device)
    h, w = lab.shape
    rows = torch.arange(h, device=img.device, dtype=torch.float32)[:, None].expand(h, w)
    cols = torch.arange(w, device=img.device, dtype=torch.float32)[None, :].expand(h, w)
    pos = torch.stack([rows, cols], -1).reshape(-1, 2)
    col = img.reshape(-1, 3)
    flat = lab.reshape(-1)
    n = int(flat.max()) + 1
    count = torch.bincount(flat, minlength=n).float().clamp_min(1)

    def mean_cov(v):
        d = v.shape[1]
        s1 = torch.zeros(n, d, device=v.device).index_add_(0, flat, v)
        s2 = torch.zeros(n, d * d, device=v.device).index_add_(0, flat, (v[:, :, None] * v[:, None, :]).reshape(-1, d * d))
        mean = s1 / count[:, None]
        cov = s2.reshape(n, d, d) / count[:, None, None] - mean[:, :, None] * mean[:, None, :]
        return mean, cov

    pos_mean, pos_cov = mean_cov(pos)
    col_mean, col_cov = mean_cov(col)
    return dict(pos_mean=pos_mean, col_mean=col_mean, pos_cov=pos_cov, col_cov=col_cov, count=count)


def mean_colors(image, labels) -> torch.Tensor:
    """Mean colour of each superpixel, (N, 3): the Ī of Sec. 3.3."""
    return super_features(torch.as_tensor(image).float(), labels)


def direct_matching(attention, reference_colors) -> torch.Tensor:
    """A-weighted mean reference colour per target superpixel, (N_T, 3) (Fig. 4)."""
    return torch.as_tensor(attention) @ torch.as_tensor(reference_colors).to(attention.device)


def paint_superpixels(colors, labels) -> np.ndarray:
    """Image (H, W, 3) with each superpixel filled by its row of ``colors`` (N, 3)."""
    c = torch.as_tensor(colors)
    lab = _labels_tensor(labels, c.device)
    return c[lab].cpu().numpy()


def adjacency_neighbours(labels, rings: int = 1) -> torch.Tensor:
    """Each superpixel and the superpixels within ``rings`` steps of it, padded with -1: (N, K_max).

    Steps follow 4-connected adjacency of the label map; column 0 is the superpixel
    itself. Restricting the fusion sum of Eq. 4 to these superpixels (as Giraud et al.
    2017 do) makes fusion linear in n: K_max does not grow with the image.
    """
    import scipy.sparse as sp

    lab = np.asarray(labels.cpu() if torch.is_tensor(labels) else labels).astype(np.int64)
    if rings < 1:
        raise ValueError(f"rings must be >= 1, got {rings}")
    n = int(lab.max()) + 1
    src, dst = [], []
    for a, b in ((lab[:, 1:], lab[:, :-1]), (lab[1:, :], lab[:-1, :])):
        diff = a != b
        src.append(a[diff])
        dst.append(b[diff])
    src, dst = np.concatenate(src), np.concatenate(dst)
    step = sp.coo_matrix((np.ones(2 * len(src)), (np.r_[src, dst], np.r_[dst, src])), shape=(n, n)).tocsr()
    step = ((step + sp.identity(n, format="csr")) > 0).astype(np.float64)
    reach = step
    for _ in range(rings - 1):
        reach = ((reach @ step) > 0).astype(np.float64)
    reach = reach.tocsr()
    reach.sort_indices()
    degree = np.diff(reach.indptr)
    out = np.full((n, int(degree.max())), -1, dtype=np.int64)
    for i in range(n):
        row = reach.indices[reach.indptr[i]:reach.indptr[i + 1]]
        out[i, 0] = i  # self first
        out[i, 1:len(row)] = row[row != i]
    return torch.from_numpy(out)


def _inverse_covariances(stats, delta_s: float, delta_c: float, eps_pos: float, eps_col: float):
    """Σ_i^{-1} blocks of Eq. 6 with a small floor so flat or thin superpixels stay invertible."""
    eye2 = torch.eye(2, device=stats["pos_cov"].device)
    eye3 = torch.eye(3, device=stats["col_cov"].device)
    inv_pos = torch.linalg.inv(delta_s**2 * (stats["pos_cov"] + eps_pos * eye2))
    inv_col = torch.linalg.inv(delta_c**2 * (stats["col_cov"] + eps_col * eye3))
    return inv_pos, inv_col


def _monomials(x: torch.Tensor) -> torch.Tensor:
    """[x_i x_j for i <= j, x_i, 1] of each row of x (b, d): (b, d(d+1)/2 + d + 1)."""
    d = x.shape[1]
    iu = torch.triu_indices(d, d)
    quad = x[:, iu[0]] * x[:, iu[1]]
    return torch.cat([quad, x, torch.ones_like(x[:, :1])], 1)


def _quadratic_coefficients(precision: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Coefficients c_k with `_monomials(x) @ c_k = (x - μ_k)ᵀ P_k (x - μ_k)`: (N, d(d+1)/2 + d + 1)."""
    d = mean.shape[1]
    iu = torch.triu_indices(d, d)
    sym = precision + precision.transpose(1, 2)
    quad = torch.where(iu[0] == iu[1], precision[:, iu[0], iu[1]], sym[:, iu[0], iu[1]])
    p_mu = torch.einsum("nij,nj->ni", precision, mean)
    p_mu_t = torch.einsum("nij,ni->nj", precision, mean)
    lin = -(p_mu + p_mu_t)
    const = torch.einsum("ni,ni->n", mean, p_mu)[:, None]
    return torch.cat([quad, lin, const], 1)


def fuse_colors(target, labels, superpixel_colors, *, delta_s: float = 10.0, delta_c: float = 0.1,
                sigma_g: float = 1.0, neighbourhood: str | int = "adjacent", eps_pos: float = 1.0,
                eps_col: float = 1e-4, chunk: int = 1 << 16) -> torch.Tensor:
    """Colour fusion, Eqs. 3-6, per target pixel.

    With W(p, j) = Σ_i d(p, i) A(i, j) and rows of A summing to one, Eq. 3 equals
    ``Σ_i d(p, i) c_i / Σ_i d(p, i)`` with ``c = A @ Ī_R`` (the direct-matching
    colours, ``superpixel_colors``): an exact rewrite that never forms the n x N_R
    matrix W.

    Parameters
    ----------
    target : tensor or ndarray (H, W, 3) in [0, 1]
    labels : (H, W) target superpixel labels 0..N_T-1
    superpixel_colors : (N_T, 3) colour c_i given to each target superpixel
    delta_s, delta_c : float
        Scale of the spatial and colour covariances (paper: 10 and 0.1).
    sigma_g : float
        The σ_g of Eq. 5 (the paper gives no value; 1 by default).
    neighbourhood : {"adjacent", "all"} or int
        "adjacent" (= 1): sum over the pixel's superpixel and its neighbours (linear in
        n); an int k: superpixels within k adjacency steps; "all": every target
        superpixel (exact Eq. 4, O(n * N_T), small images only).
    eps_pos, eps_col : float
        Floors added to the covariances (pixels², colour²) before scaling.

    Returns
    -------
    tensor (H, W, 3)
    """
    img = torch.as_tensor(target).float()
    device = img.device
    lab = _labels_tensor(labels, device)
    colors = torch.as_tensor(superpixel_colors).float().to(device)
    stats = superpixel_stats(img, lab)
    inv_pos, inv_col = _inverse_covariances(stats, delta_s, delta_c, eps_pos, eps_col)
    h, w = lab.shape
    flat_lab = lab.reshape(-1)
    rows = torch.arange(h, device=device, dtype=torch.float32)[:, None].expand(h, w).reshape(-1)
    cols = torch.arange(w, device=device, dtype=torch.float32)[None, :].expand(h, w).reshape(-1)
    pix_col = img.reshape(-1, 3)
    if isinstance(neighbourhood, int) and not isinstance(neighbourhood, bool):
        nbrs = adjacency_neighbours(lab.cpu(), neighbourhood).to(device)
    elif neighbourhood == "adjacent":
        nbrs = adjacency_neighbours(lab.cpu(), 1).to(device)
    elif neighbourhood != "all":
        raise ValueError(f"neighbourhood must be 'adjacent', 'all' or a number of rings, got {neighbourhood!r}")
    out = torch.empty(h * w, 3, device=device)
    if neighbourhood == "all":
        # Every pixel meets every superpixel, so expand each quadratic form
        # (x - μ)ᵀ P (x - μ) = Σ P_ij x_i x_j - 2 Σ (Pμ)_i x_i + μᵀPμ into one matrix product of
        # pixel monomials with per-superpixel coefficients (float64: the colour precisions
        # are large, and the expansion subtracts nearly equal terms).
        pos = torch.stack([rows, cols], 1).double()
        coef_pos = _quadratic_coefficients(inv_pos.double(), stats["pos_mean"].double())
        coef_col = _quadratic_coefficients(inv_col.double(), stats["col_mean"].double())
        # About a million weights per block keeps the block in cache.
        step = max(64, min(chunk, (1 << 20) // max(1, colors.shape[0])))
        for s in range(0, h * w, step):
            e = min(s + step, h * w)
            q = _monomials(pos[s:e]) @ coef_pos.T + _monomials(pix_col[s:e].double()) @ coef_col.T
            weight = torch.softmax(-q / sigma_g, dim=1)
            out[s:e] = (weight @ colors.double()).float()
        return out.reshape(h, w, 3)
    step = chunk
    for s in range(0, h * w, step):
        e = min(s + step, h * w)
        idx = nbrs[flat_lab[s:e]]                      # (b, K) with -1 padding
        valid = idx >= 0
        idx = idx.clamp_min(0)
        dpos = torch.stack([rows[s:e], cols[s:e]], 1)[:, None, :] - stats["pos_mean"][idx]   # (b, K, 2)
        dcol = pix_col[s:e, None, :] - stats["col_mean"][idx]                                # (b, K, 3)
        q = torch.einsum("bki,bkij,bkj->bk", dpos, inv_pos[idx], dpos)
        q = q + torch.einsum("bki,bkij,bkj->bk", dcol, inv_col[idx], dcol)
        logit = (-q / sigma_g).masked_fill(~valid, float("-inf"))
        # Normalising in the log domain is exact for the ratio of Eq. 3 and avoids the
        # underflow that a narrow colour covariance (delta_c = 0.1) causes in exp(-q).
        weight = torch.softmax(logit, dim=1)
        out[s:e] = torch.einsum("bk,bkc->bc", weight, colors[idx])
    return out.reshape(h, w, 3)


def pixel_attention_colors(target_features, reference_features, reference_image, tau: float = 0.02,
                           chunk: int = 4096) -> torch.Tensor:
    """Pixel-level attention (Zhang et al. 2019 style) applied to colours, streamed.

    For the complexity comparison only: the cost is O(n_T * n_R * C) like the full
    pixel attention, but reference pixels are visited in chunks with an online
    softmax, so memory stays O(chunk²): the n x n matrix is never stored.

    Parameters
    ----------
    target_features : (H_T, W_T, C); reference_features : (H_R, W_R, C)
    reference_image : (H_R, W_R, 3)

    Returns
    -------
    tensor (H_T, W_T, 3): Σ_j softmax_j(M(p, j)/tau) I_R(j)
    """
    ft = torch.as_tensor(target_features).float()
    fr = torch.as_tensor(reference_features).float()
    shape = ft.shape[:2]
    ft, fr = ft.reshape(-1, ft.shape[-1]), fr.reshape(-1, fr.shape[-1])
    ft = ft - ft.mean(0, keepdim=True)
    fr = fr - fr.mean(0, keepdim=True)
    ft = ft / ft.norm(dim=1, keepdim=True).clamp_min(1e-8)
    fr = fr / fr.norm(dim=1, keepdim=True).clamp_min(1e-8)
    colors = torch.as_tensor(reference_image).float().reshape(-1, 3).to(ft.device)
    out = torch.empty(ft.shape[0], 3, device=ft.device)
    for s in range(0, ft.shape[0], chunk):
        q = ft[s:s + chunk]
        run_max = torch.full((q.shape[0], 1), -float("inf"), device=ft.device)
        run_sum = torch.zeros(q.shape[0], 1, device=ft.device)
        acc = torch.zeros(q.shape[0], 3, device=ft.device)
        for r in range(0, fr.shape[0], chunk):
            logits = q @ fr[r:r + chunk].T / tau                      # (chunk, chunk)
            new_max = torch.maximum(run_max, logits.max(1, keepdim=True).values)
            scale = torch.exp(run_max - new_max)
            p = torch.exp(logits - new_max)
            run_sum = run_sum * scale + p.sum(1, keepdim=True)
            acc = acc * scale + p @ colors[r:r + chunk]
            run_max = new_max
        out[s:s + chunk] = acc / run_sum
    return out.reshape(*shape, 3)
