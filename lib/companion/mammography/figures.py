"""Figures of the chapter (each function returns a matplotlib Figure; the notebook shows it)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.core.figures import training_curves as core_training_curves
from companion.mammography import LABELS
from companion.mammography.scenarios import SCENARIO_TITLES

STRATEGY_TITLES = {"ffdm": "(i) FFDM only", "ddsm": "(ii) DDSM only", "mixed": "(iii) FFDM + DDSM mixed",
                   "incremental": "(iv) ImageNet/scratch -> DDSM -> FFDM"}


def image_grid(images, titles, ncols: int = 6, cmap="gray", size: float = 1.9, suptitle: str | None = None):
    """A grid of grey-level images [H, W] with a title each."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image, cmap=cmap, vmin=0, vmax=1 if np.asarray(image).dtype != np.uint8 else 255)
        ax.set_title(title, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def class_balance(patients: pd.DataFrame, paper: dict):
    """Patients per class and dataset, ours beside the paper's proportions (Table 1 cohort)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=False)
    for ax, dataset in zip(axes, ("ffdm", "ddsm")):
        ours = patients[patients["dataset"] == dataset]["label"].value_counts().reindex(LABELS, fill_value=0)
        theirs = pd.Series(paper[dataset]).reindex(LABELS)
        x = np.arange(len(LABELS))
        ax.bar(x - 0.2, ours / ours.sum(), 0.4, label=f"ours (n={ours.sum()})")
        ax.bar(x + 0.2, theirs / theirs.sum(), 0.4, label=f"paper (n={theirs.sum()})")
        ax.set_xticks(x, [label.replace("_", "-") for label in LABELS])
        ax.set_ylabel("share of patients")
        ax.set_title(dataset.upper())
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame, title: str):
    """Training loss and, when present, validation loss per epoch (`core.figures.training_curves`), with the
    validation AUC on a second axis."""
    rows = history.rename_axis("epoch").reset_index().to_dict("records")
    keys = [k for k in ("train_loss", "val_loss") if k in history]
    fig = core_training_curves({"": rows}, keys, ylabel="cross-entropy", title=title)
    ax = fig.axes[0]
    if "val_auc" in history:
        ax2 = ax.twinx()
        ax2.plot(history.index, history["val_auc"], marker="s", color="C2", label="validation AUC")
        ax2.set_ylabel("validation AUC")
        ax2.set_ylim(0.3, 1.0)
        ax2.legend(loc="upper right", fontsize=8)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def roc_panel(curves: dict, triple_curves: dict, triple_auc: float, title: str):
    """Figs. 1-3 layout: binary scenarios' ROC curves (left), triple classification's pairs (right).

    ``curves[scenario] = (fpr, tpr, auc)``; ``triple_curves[pair name] = (fpr, tpr, auc)``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax, items in zip(axes, (curves, triple_curves)):
        for name, (fpr, tpr, auc) in items.items():
            ax.plot(fpr, tpr, label=f"{SCENARIO_TITLES.get(name, name)} (AUC {auc:.2f})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set_xlabel("1 - specificity")
        ax.set_ylabel("sensitivity")
        ax.legend(fontsize=7, loc="lower right")
        ax.set_aspect("equal")
    axes[0].set_title("binary scenarios", fontsize=10)
    axes[1].set_title(f"triple classification, pairs (mean AUC {triple_auc:.2f})", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def strategy_comparison(table: pd.DataFrame):
    """Fig. 4: AUC of strategy (i) vs (iv) per scenario, with Holm-adjusted DeLong p-values.

    ``table`` has columns scenario, auc_ffdm, auc_incremental, p_holm (NaN for the triple).
    """
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["auc_ffdm"], 0.4, label="(i) FFDM only")
    ax.bar(x + 0.2, table["auc_incremental"], 0.4, label="(iv) incremental via DDSM")
    for xi, (_, row) in zip(x, table.iterrows()):
        if np.isfinite(row["p_holm"]):
            ax.text(xi, max(row["auc_ffdm"], row["auc_incremental"]) + 0.02, f"p={row['p_holm']:.2f}",
                    ha="center", fontsize=8)
    ax.set_xticks(x, [SCENARIO_TITLES[s].replace(" vs ", "\nvs ") for s in table["scenario"]], fontsize=7)
    ax.set_ylabel("AUC on the FFDM test set")
    ax.set_ylim(0.0, 1.1)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def robustness(table: pd.DataFrame):
    """Fig. 5: AUC against the test fraction, one panel per strategy, one line per scenario."""
    strategies = list(dict.fromkeys(table["strategy"]))
    fig, axes = plt.subplots(1, len(strategies), figsize=(3.2 * len(strategies), 3.3), sharey=True, squeeze=False)
    for ax, strategy in zip(axes[0], strategies):
        part = table[table["strategy"] == strategy]
        for scenario, rows in part.groupby("scenario", sort=False):
            ax.plot(rows["test_fraction"] * 100, rows["auc"], marker="o", label=SCENARIO_TITLES[scenario])
        ax.set_title(STRATEGY_TITLES[strategy], fontsize=9)
        ax.set_xlabel("test set (% of patients)")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[0][0].set_ylabel("AUC")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def ablation_points(table: pd.DataFrame, title: str):
    """AUC of each variant, one dot per seed, with the mean as a bar."""
    variants = list(dict.fromkeys(table["variant"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, variant in enumerate(variants):
        values = table.loc[table["variant"] == variant, "auc"].to_numpy()
        ax.bar(i, values.mean(), 0.6, color="C0", alpha=0.35)
        ax.scatter(np.full(len(values), i), values, color="C0", zorder=3)
    ax.set_xticks(range(len(variants)), [v.replace(" ", "\n", 1) for v in variants], fontsize=8)
    ax.set_ylabel("test AUC")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0.0, 1.05)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def cam_grid(images, cams, titles, ncols: int = 4):
    """Images with their Grad-CAM maps overlaid (jet, 40 % opacity)."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 2.5 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, cam, title in zip(axes.flat, images, cams, titles):
        ax.imshow(image, cmap="gray")
        ax.imshow(cam, cmap="jet", alpha=0.4, vmin=0, vmax=1)
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return fig


def strategy_rocs(runs: dict, summaries: dict, strategy: str, title: str):
    """Figs. 1-4 for one strategy: `roc_panel` of its five binary scenarios and the triple's class pairs.

    ``runs[(strategy, scenario)]`` are `train.ScenarioRun`; constant-output models are left out
    of the plot (their AUC is not a measurement) and named in the legend title.
    """
    from companion.mammography.scenarios import SCENARIOS
    from companion.metrics import roc

    curves = {}
    for scenario in SCENARIOS:
        run = runs[(strategy, scenario)]
        if scenario != "triple" and not summaries[(strategy, scenario)].get("constant"):
            fpr, tpr, _ = roc.roc_curve(run.y_true, run.scores)
            curves[scenario] = (fpr, tpr, summaries[(strategy, scenario)]["auc"])
    triple = runs[(strategy, "triple")]
    pairs = roc.pairwise_auc_summary(triple.y_true, triple.proba)
    pair_curves = {}
    for (a, b), auc in pairs.pairs.items():
        keep = np.isin(triple.y_true, (a, b))
        fpr, tpr, _ = roc.roc_curve((triple.y_true[keep] == b).astype(int), triple.proba[keep, b])
        pair_curves[f"{LABELS[b]} vs {LABELS[a]}".replace("_", "-")] = (fpr, tpr, auc)
    return roc_panel(curves, pair_curves, pairs.mean, title)
