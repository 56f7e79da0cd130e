"""Figures for chapter 1 (each returns the matplotlib Figure)."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from companion.core.figures import training_curves as core_training_curves
from companion.radiology.data import FINDINGS, Study, primary_finding


def study_grid(studies: list[Study], n: int = 4, wrap: int = 48):
    """Frontal and lateral views of ``n`` studies with their reports underneath."""
    studies = studies[:n]
    fig, axes = plt.subplots(2, len(studies), figsize=(3.2 * len(studies), 7.5), squeeze=False)
    for j, s in enumerate(studies):
        for i in range(2):
            with Image.open(s.image_paths[i]) as im:
                axes[i, j].imshow(np.asarray(im.convert("L")), cmap="gray", vmin=0, vmax=255)
            axes[i, j].axis("off")
        axes[0, j].set_title(f"{s.id}\n{primary_finding(s)}", fontsize=8)
        axes[1, j].text(0, -0.05, textwrap.fill(s.report, wrap), transform=axes[1, j].transAxes,
                        va="top", fontsize=6.5)
    fig.tight_layout()
    return fig


def finding_frequencies(counts: dict[str, int], n_studies: int, title: str = ""):
    """Horizontal bars: share of studies with each finding (normal first)."""
    names = list(counts)
    share = [counts[k] / max(n_studies, 1) for k in names]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.barh(names[::-1], share[::-1], color=["C2" if k == "normal" else "C0" for k in names[::-1]])
    ax.set_xlabel("fraction of studies")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict]], keys=("train_loss", "val_loss"), title: str = ""):
    """Loss per epoch for one or several runs (solid: train, dashed: validation): `core.figures.training_curves`."""
    return core_training_curves(histories, keys, ylabel="symmetric cross-entropy", title=title)


def metric_bars(table, metrics=("BLEU_1", "BLEU_4", "METEOR", "ROUGE_L"), title: str = ""):
    """Grouped bars of ``table`` (DataFrame: rows = systems, columns = metrics, optional _low/_high)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.8 / len(table)
    x = np.arange(len(metrics))
    for i, (name, row) in enumerate(table.iterrows()):
        vals = np.array([row[m] for m in metrics], float)
        err = None
        if all(f"{m}_low" in row for m in metrics):
            err = np.abs(np.array([[row[f"{m}_low"] for m in metrics], [row[f"{m}_high"] for m in metrics]], float)
                         - vals)
        ax.bar(x + i * width, vals, width, yerr=err, capsize=2, label=name)
    ax.set_xticks(x + width * (len(table) - 1) / 2, metrics)
    ax.set_ylabel("score")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def attention_overlay(images: torch.Tensor, spatial_maps: torch.Tensor, titles: list[str]):
    """Each image with its spatial-attention map A_s upsampled on top."""
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), squeeze=False)
    for ax, img, amap, title in zip(axes[0], images, spatial_maps, titles):
        ax.imshow(img[0].numpy(), cmap="gray")
        up = torch.nn.functional.interpolate(amap[None].float(), size=img.shape[-2:], mode="bilinear",
                                             align_corners=False)[0, 0]
        ax.imshow(up.numpy(), cmap="inferno", alpha=0.45)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.suptitle("spatial attention A_s over the frontal view", fontsize=9)
    fig.tight_layout()
    return fig


def channel_weights(weights: torch.Tensor, labels: list[str]):
    """Squeeze-and-excitation weights A_c [n, C] of a few studies, as a heat map."""
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * len(labels)))
    im = ax.imshow(weights.numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("channel of the multi-scale features")
    fig.colorbar(im, ax=ax, label="A_c")
    fig.tight_layout()
    return fig


def embedding_projection(image_emb: np.ndarray, text_emb: np.ndarray, labels: list[str], seed: int = 0):
    """PCA of image (circles) and report (crosses) embeddings together, coloured by finding."""
    from sklearn.decomposition import PCA

    both = np.concatenate([image_emb, text_emb])
    xy = PCA(n_components=2, random_state=seed).fit_transform(both)
    n = len(image_emb)
    order = ["normal", *FINDINGS, "unknown"]
    fig, ax = plt.subplots(figsize=(6, 4.6))
    for c, name in enumerate(order):
        idx = [i for i, lab in enumerate(labels) if lab == name]
        if not idx:
            continue
        ax.scatter(xy[idx, 0], xy[idx, 1], s=14, color=f"C{c}", marker="o", label=name)
        ax.scatter(xy[[n + i for i in idx], 0], xy[[n + i for i in idx], 1], s=18, color=f"C{c}", marker="x")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("joint space, PCA (o image, x report)", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def architecture_diagram(rows: list[dict], title: str = ""):
    """Fig. 1 redrawn from `companion.radiology.models.architecture_trace`: the image branch (left) and
    the text branch (right) as boxes in data-flow order with each stage's output shape and parameter
    counts (blue: trains, grey: frozen), meeting in the similarity matrix of the loss."""
    from matplotlib.patches import FancyBboxPatch

    branches = {"image": [r for r in rows if r["branch"] == "image"],
                "text": [r for r in rows if r["branch"] == "text"]}
    joint = [r for r in rows if r["branch"] == "joint"]
    depth = max(len(v) for v in branches.values()) + 0.2 + len(joint)
    fig, ax = plt.subplots(figsize=(9, 0.78 * depth + 0.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(-depth - 0.1, 1.0)
    ax.axis("off")

    def box(x, y, r, width=4.2):
        trains = r["trainable"] > 0
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.3), width, 0.6, boxstyle="round,pad=0.03",
                                    fc="#d6e6f5" if trains else "#e4e4e4", ec="C0" if trains else "0.5"))
        params = f"{r['trainable']:,} trainable" + (f", {r['frozen']:,} frozen" if r["frozen"] else "")
        ax.text(x, y + 0.08, r["label"], ha="center", va="center", fontsize=8, weight="bold")
        ax.text(x, y - 0.16, f"{list(r['shape'])}   {params}", ha="center", va="center", fontsize=6.5)

    ends = {}
    for x, (name, items) in zip((2.5, 7.5), branches.items()):
        ax.text(x, 0.75, "image [B, 3, S, S]" if name == "image" else "report tokens [B, L]", ha="center",
                fontsize=9, style="italic")
        y = 0.0
        for i, r in enumerate(items):
            box(x, y, r)
            ax.annotate("", xy=(x, y + 0.32), xytext=(x, y + (0.62 if i == 0 else 0.68)),
                        arrowprops=dict(arrowstyle="->", color="0.3"))
            y -= 1.0
        ends[name] = (x, y + 1.0)
    y = min(e[1] for e in ends.values()) - 1.2
    for r in joint:
        box(5.0, y, r, width=5.0)
        for x, yy in ends.values():
            ax.annotate("", xy=(5.0, y + 0.32), xytext=(x, yy - 0.32), arrowprops=dict(arrowstyle="->", color="0.3"))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
