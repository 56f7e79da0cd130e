"""The one figure every training page draws: per-epoch curves of one or several runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_STYLES = ("-", "--", ":", "-.")


def training_curves(histories: Mapping[str, Sequence[Mapping]], keys=("train_loss",), *, ax=None,
                    ylabel: str = "loss", title: str = "", logy: bool = False):
    """Plot ``keys`` of each run's history (`core.train.TrainResult.history`: dicts with ``epoch``) against epochs.

    One colour per run, one line style per key (solid, dashed, dotted, dash-dot); rows without a key are skipped,
    so a validation measure computed every few epochs plots where it exists. Draws on ``ax`` when given (a panel
    of a larger figure), else on a new figure. Returns the figure.

    >>> fig = training_curves({"run": [{"epoch": 1, "train_loss": 2.0}, {"epoch": 2, "train_loss": 1.0}]})
    >>> [line.get_ydata().tolist() for line in fig.axes[0].lines]
    [[2.0, 1.0]]
    """
    import matplotlib.pyplot as plt

    if len(keys) > len(_STYLES):
        raise ValueError(f"at most {len(_STYLES)} keys per panel, got {len(keys)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for colour, (name, history) in enumerate(histories.items()):
        for key, style in zip(keys, _STYLES):
            rows = [row for row in history if key in row]
            what = key.replace("_", " ")
            ax.plot([row["epoch"] for row in rows], [row[key] for row in rows], style, marker="o", ms=3,
                    color=f"C{colour}", label=f"{name}: {what}" if name else what)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure
