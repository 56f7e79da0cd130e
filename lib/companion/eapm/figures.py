"""Figures for the EAPM chapter; each function returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from companion.core.figures import training_curves as core_training_curves
from companion.eapm.losses import focal_gradient_curve, regression_gradient_curve

_CAT_COLOURS = ("tab:red", "tab:blue", "tab:orange", "tab:green", "tab:purple")


def fig3_focal_gradients(mus=(1.0, 1.5, 2.0), gamma: float = 2.0, n: int = 400):
    """Paper Fig. 3: |dL/dx| against difficulty for focal loss and EAPM-focal (exact, by autograd)."""
    dif = torch.linspace(0.0005, 0.9995, n, dtype=torch.float64)
    fig, (ax, ax_ratio) = plt.subplots(1, 2, figsize=(10, 3.8))
    fl = focal_gradient_curve(dif, None, gamma)
    ax.plot(dif, fl, color="k", lw=2, label=f"focal loss (γ = {gamma:g})")
    for mu in mus:
        g = focal_gradient_curve(dif, mu, gamma)
        ax.plot(dif, g, lw=1.6, label=f"EAPM, μ = {mu:g}")
        ax_ratio.plot(dif, g / fl, lw=1.6, label=f"μ = {mu:g}")
    ax.set_xlabel("difficulty Dif = |p − p*|")
    ax.set_ylabel("|∂L/∂x|")
    ax.set_title("Gradient of the classification loss")
    ax.legend(fontsize=8)
    ax_ratio.axhline(1, color="k", lw=1)
    ax_ratio.set_xlabel("difficulty Dif = |p − p*|")
    ax_ratio.set_ylabel("EAPM gradient / focal-loss gradient")
    ax_ratio.set_title("Up-weighting factor")
    ax_ratio.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig4_regression_gradients(thetas=(1.0, 1.5, 2.0), total: float = 1.5, n: int = 400):
    """Paper Fig. 4: |dL/dt| against |t - t*| at |t| + |t*| = ``total`` (exact, by autograd)."""
    d = torch.linspace(0.0, total, n, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(d, regression_gradient_curve(d, "smooth_l1", total=total), color="0.5", ls="--", label="smooth L1")
    ax.plot(d, regression_gradient_curve(d, "balanced_l1", total=total), color="k", lw=2,
            label="balanced L1 (α = 0.5, γ = 1.5)")
    for theta in thetas:
        ax.plot(d, regression_gradient_curve(d, "eapm", theta=theta, total=total), lw=1.6,
                label=f"EAPM + balanced L1, θ = {theta:g}")
    ax.set_xlabel("regression error |t_j − t_j*|")
    ax.set_ylabel("|∂L/∂t_j|")
    ax.set_title(f"Gradient at |t_j| + |t_j*| = {total:g} (large shape variation)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_examples(dataset, indices, category_names, ncols: int = 4):
    """Images with their ground-truth boxes coloured by category."""
    rows = -(-len(indices) // ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(2.6 * ncols, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        image, target = dataset[i]
        ax.imshow(image.permute(1, 2, 0).numpy())
        for (x1, y1, x2, y2), label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.2, color=_CAT_COLOURS[label % 5]))
            ax.text(x1, y1, category_names[label - 1], fontsize=6, color="w",
                    bbox=dict(facecolor=_CAT_COLOURS[label % 5], pad=0.5, lw=0))
        ax.set_title(f"image {int(target['image_id'])}", fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict]], keys=("train_loss",)):
    """Per-epoch training losses of several runs (one colour per run, one line style per key)."""
    return core_training_curves(histories, keys, ylabel="loss (per image, summed terms)")


def compare_detections(dataset, indices, detections_a, detections_b, names=("balanced L1", "EAPM + balanced L1"),
                       score_min: float = 0.3, category_names=None):
    """Paper Fig. 5 layout: the same images, top row ``detections_a``, bottom row ``detections_b``.

    Ground truth is drawn dashed white; detections above ``score_min`` in colour.
    """
    fig, axes = plt.subplots(2, len(indices), figsize=(2.8 * len(indices), 5.8), squeeze=False)
    for col, i in enumerate(indices):
        image, target = dataset[i]
        image_id = int(target["image_id"])
        for row, (dets, name) in enumerate(((detections_a, names[0]), (detections_b, names[1]))):
            ax = axes[row, col]
            ax.imshow(image.permute(1, 2, 0).numpy())
            ax.axis("off")
            for x1, y1, x2, y2 in target["boxes"].tolist():
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1, ls="--", color="w"))
            for det in dets:
                if det["image_id"] != image_id or det["score"] < score_min:
                    continue
                x, y, w, h = det["bbox"]
                colour = _CAT_COLOURS[det["category_id"] % 5]
                ax.add_patch(Rectangle((x, y), w, h, fill=False, lw=1.4, color=colour))
            if col == 0:
                ax.set_title(name, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


ZERO_AP_NOTE = "every AP here is 0: this profile's detectors\nare not trained long enough to find objects"


def _note_if_all_zero(ax, values, axis: str) -> None:
    """Say so on the axes when every plotted AP is zero, rather than leave an empty-looking plot; the
    AP axis then starts at 0 so that the zeros sit on its edge, clear of the note."""
    values = np.asarray(values, dtype=float)
    if values.size and np.allclose(np.nan_to_num(values), 0.0):
        (ax.set_xlim if axis == "x" else ax.set_ylim)(-0.02, 1.0)
        ax.text(0.55, 0.5, ZERO_AP_NOTE, transform=ax.transAxes, ha="center", va="center", fontsize=9,
                color="0.35")


def ablation_ap_plot(runs: dict[str, list[float]]):
    """Horizontal bars of mean AP ×100 per setting with one dot per seed. ``runs[label] = [AP, ...]``
    (COCO AP as a fraction, one value per seed)."""
    labels = list(runs)
    if not labels:
        raise ValueError("ablation_ap_plot needs at least one setting")
    fig, ax = plt.subplots(figsize=(6.5, 0.8 + 0.28 * len(labels)))
    y = np.arange(len(labels))[::-1]
    all_values = []
    for yi, label in zip(y, labels):
        aps = 100 * np.asarray(runs[label], dtype=float)
        all_values.extend(aps)
        std = aps.std(ddof=1) if aps.size > 1 else 0.0
        ax.barh(yi, aps.mean(), xerr=std, color="C0", alpha=0.6, capsize=3)
        ax.scatter(aps, [yi] * aps.size, color="k", s=10, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("AP (IoU .50:.95) ×100; bars: mean ± sd over seeds, dots: seeds")
    _note_if_all_zero(ax, all_values, axis="x")
    fig.tight_layout()
    return fig


def ap_by_aspect_plot(table: dict[str, dict[str, float]]):
    """Bars of AP per aspect-ratio bucket, one group per setting. ``table[setting][bucket] = AP``."""
    settings = list(table)
    buckets = list(next(iter(table.values())))
    x = np.arange(len(buckets))
    width = 0.8 / max(1, len(settings))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for k, s in enumerate(settings):
        ax.bar(x + k * width, [100 * table[s][b] for b in buckets], width, label=s)
    ax.set_xticks(x + width * (len(settings) - 1) / 2)
    ax.set_xticklabels([b.replace("AP_ar", "aspect ").replace("to", "–").replace("max", "∞") for b in buckets])
    ax.set_ylabel("AP (IoU .50:.95) ×100")
    ax.legend(fontsize=8)
    _note_if_all_zero(ax, [table[s][b] for s in settings for b in buckets], axis="y")
    fig.tight_layout()
    return fig
