"""Figure functions for the chapter; each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch


def image_row(images, titles, height: float = 2.6, ncols: int | None = None):
    """Images side by side (wrapping after ``ncols``), axes off, one title each."""
    n = len(images)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(height * ncols * 1.2, height * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles):
        ax.imshow(np.clip(img, 0, 1), cmap=None if np.ndim(img) == 3 else "viridis")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def pca_image(features) -> np.ndarray:
    """First three principal components of (H, W, C) features as an RGB image in [0, 1]."""
    f = torch.as_tensor(features).float().reshape(-1, features.shape[-1])
    f = f - f.mean(0)
    _, _, v = torch.linalg.svd(f[:: max(1, len(f) // 20000)], full_matrices=False)
    proj = (f @ v[:3].T).numpy()
    lo, hi = np.percentile(proj, 1, 0), np.percentile(proj, 99, 0)
    return np.clip((proj - lo) / np.maximum(hi - lo, 1e-8), 0, 1).reshape(*features.shape[:2], 3)


def super_feature_figure(image, labels, features, super_feats):
    """Fig. 2-style: image with superpixels, features (PCA), and super-features painted back."""
    from skimage.segmentation import mark_boundaries

    from companion.colortransfer.matching import paint_superpixels

    feat_rgb = pca_image(features)
    # Same PCA basis for the pooled features: pool the PCA image over superpixels.
    painted = paint_superpixels(torch.from_numpy(_pool(feat_rgb, labels)), labels)
    return image_row([mark_boundaries(image, labels, color=(1, 1, 0)), feat_rgb, painted],
                     [f"SLIC: {labels.max() + 1} superpixels", f"features ({features.shape[-1]} ch, PCA)",
                      f"super-features ({super_feats.shape[0]} x {super_feats.shape[1]}, PCA)"])


def _pool(img, labels):
    n = labels.max() + 1
    counts = np.bincount(labels.ravel(), minlength=n)[:, None]
    return np.stack([np.bincount(labels.ravel(), img[..., k].ravel(), n) for k in range(img.shape[-1])], 1) / counts


def attention_heatmap(attention, title: str = "attention map A", ax=None, max_rows: int = 200):
    """Heat-map of A (target superpixels as rows, reference as columns), log colour scale."""
    from matplotlib.colors import LogNorm

    a = torch.as_tensor(attention).numpy()
    a = a[:: max(1, a.shape[0] // max_rows), :: max(1, a.shape[1] // max_rows)]
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
    cmap = plt.get_cmap("magma").copy()
    cmap.set_bad("black")  # weights that underflow to exactly 0 at small tau
    im = ax.imshow(np.where(a > 0, a, np.nan), aspect="auto", cmap=cmap, norm=LogNorm(vmin=max(a.max() * 1e-4, 1e-12), vmax=a.max()),
                   interpolation="nearest")
    ax.set_xlabel("reference superpixel j")
    ax.set_ylabel("target superpixel i")
    ax.set_title(title, fontsize=9)
    plt.colorbar(im, ax=ax, fraction=0.046)
    return fig or ax.figure


def tau_sweep_figure(direct_images, attentions, taus):
    """Fig. 4: direct superpixel matching (top) and the attention map (bottom) for each tau."""
    fig, axes = plt.subplots(2, len(taus), figsize=(3.6 * len(taus), 6.4))
    for k, (img, a, tau) in enumerate(zip(direct_images, attentions, taus)):
        axes[0, k].imshow(np.clip(img, 0, 1))
        axes[0, k].set_title(f"direct matching, τ = {tau:g}", fontsize=9)
        axes[0, k].axis("off")
        attention_heatmap(a, f"A, τ = {tau:g}", ax=axes[1, k])
    fig.tight_layout()
    return fig


def comparison_grid(images: dict, pair_names, columns, labels: dict):
    """Fig. 6: one row per pair; columns target, reference, then each method."""
    fig, axes = plt.subplots(len(pair_names), len(columns), figsize=(2.3 * len(columns), 1.9 * len(pair_names)),
                             squeeze=False)
    for r, pair in enumerate(pair_names):
        for c, col in enumerate(columns):
            ax = axes[r, c]
            ax.imshow(np.clip(images[(pair, col)], 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(labels.get(col, col), fontsize=8)
            if c == 0:
                ax.set_ylabel(pair, fontsize=7)
    fig.tight_layout()
    return fig


def scaling_plot(table, column: str = "cpu_seconds", ylabel: str = "CPU seconds (all threads)", min_n=None):
    """Log-log cost against pixel count, with fitted slopes (over n >= min_n[method]) in the legend."""
    min_n = min_n or {}
    from companion.colortransfer.cost import fit_slope

    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    for method, marker in (("pixel", "o"), ("superpixel", "s")):
        sub = table[table.method == method]
        if len(sub):
            slope = fit_slope(table, method, column, min_n=min_n.get(method, 0))
            ax.loglog(sub.n, sub[column], marker=marker, label=f"{method} attention (slope {slope:.2f})")
    ax.set_xlabel("pixels per image n")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def paired_differences(table, measure: str, rows, regrain: bool = True, ax=None):
    """Per-pair difference (row − ours) of ``measure``, one line of dots per row (same regrain setting).

    Dots right of zero: the row is higher than ours on that pair. Each dot is one photo pair.
    """
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 0.45 * len(rows) + 1.2))
    ours = table[(table.row == "ours") & (table.regrain == regrain)].set_index("pair")[measure]
    for k, row in enumerate(rows):
        sub = table[(table.row == row) & (table.regrain == (regrain if row != "identity" else False))]
        d = sub.set_index("pair")[measure] - ours
        ax.scatter(d.to_numpy(), np.full(len(d), k), s=18, alpha=0.8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_xlabel(f"{measure}: row − ours (per photo pair)")
    ax.grid(True, axis="x", alpha=0.3)
    return fig or ax.figure
