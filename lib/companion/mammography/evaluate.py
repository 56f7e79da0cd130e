"""Predictions -> the paper's statistics, all through `companion.metrics.roc`.

* binary scenarios: AUC with a 95 % bootstrap CI (the paper's CIs are bootstrap CIs);
* the triple classification: the paper reports "an ROC curve for each binary-class combination
  and the average of the AUCs". We use the symmetric pairwise convention (for classes a, b:
  the mean of the AUC of p_b separating b from a and of p_a separating a from b, on the
  images of a and b only), i.e. Hand & Till's M, equal to scikit-learn's one-vs-one macro AUC;
* DeLong's test between two strategies on the same test images, Holm-adjusted across scenarios;
* specificity at the radiologists' 86.9 % sensitivity;
* the false-negative analysis: share of interval-cancer images called malignant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from companion.mammography import LABELS

RADIOLOGIST_SENSITIVITY = 0.869  # Lehman et al. 2017, quoted in the paper's Discussion
RADIOLOGIST_SPECIFICITY = 0.889


def _roc():
    from companion.metrics import roc

    return roc


def pairwise_aucs(y_true, proba) -> dict[tuple[int, int], float]:
    """AUC of each class pair (a, b), a < b, symmetric convention (`roc.pairwise_auc_summary`).

    Parameters
    ----------
    y_true : int array [N] with values 0..C-1
    proba : float array [N, C]
    """
    return dict(_roc().pairwise_auc_summary(y_true, proba).pairs)


def triple_auc(y_true, proba) -> float:
    """The triple classification's summary: the mean of the pairwise AUCs."""
    return float(_roc().pairwise_auc_summary(y_true, proba).mean)


def binary_summary(y_true, scores, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """AUC, bootstrap CI (stratified percentile) and DeLong CI of one binary scenario."""
    roc = _roc()
    boot = roc.bootstrap_ci(y_true, scores, n_boot=n_boot, level=level, stratified=True, seed=seed)
    delong = roc.delong_ci(y_true, scores, level=level)
    return {"auc": float(roc.auc(y_true, scores)), "ci_low": float(boot.low), "ci_high": float(boot.high),
            "delong_low": float(delong.low), "delong_high": float(delong.high), "n": int(len(y_true)),
            "n_positive": int(np.sum(y_true))}


def summarize_run(run, n_boot: int = 2000, seed: int = 0) -> dict:
    """`binary_summary` for a binary `ScenarioRun`, the pairwise mean for the triple one."""
    if run.proba.shape[1] == 2:
        return binary_summary(run.y_true, run.scores, n_boot=n_boot, seed=seed)
    return {"auc": triple_auc(run.y_true, run.proba), "n": int(len(run.y_true))}


def compare_runs(run_a, run_b) -> dict:
    """DeLong's paired test of two binary runs on the same test images (e.g. strategy i vs iv)."""
    if not np.array_equal(run_a.test_index, run_b.test_index) or not np.array_equal(run_a.y_true, run_b.y_true):
        raise ValueError(f"{run_a.strategy} and {run_b.strategy} were not tested on the same images")
    test = _roc().delong_test(run_a.y_true, run_a.scores, run_b.scores)
    return {"auc_a": test.auc_a, "auc_b": test.auc_b, "z": test.z, "p_value": test.p_value,
            "diff_low": test.diff_low, "diff_high": test.diff_high}


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (`roc.adjust_pvalues`)."""
    return _roc().adjust_pvalues(p_values, method="holm")


def specificity_at(y_true, scores, sensitivity: float = RADIOLOGIST_SENSITIVITY) -> float:
    """Specificity at the operating point reaching ``sensitivity`` (the Discussion's comparison)."""
    return float(_roc().specificity_at_sensitivity(y_true, scores, sensitivity))


def roc_points(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the empirical ROC curve, for plotting."""
    fpr, tpr, _ = _roc().roc_curve(y_true, scores)
    return fpr, tpr


def called_malignant(proba_malignant, threshold: float = 0.5) -> float:
    """Share of images whose malignant probability exceeds ``threshold`` (false-negative analysis)."""
    proba_malignant = np.asarray(proba_malignant, dtype=float)
    if proba_malignant.size == 0:
        raise ValueError("no interval-cancer images to score")
    return float(np.mean(proba_malignant > threshold))


def results_table(summaries: dict, reported: dict | None = None) -> pd.DataFrame:
    """AUC table: rows = scenarios, columns = strategies (ours), with the paper's beside when given.

    ``summaries[(strategy, scenario)]`` is a `summarize_run` dict; ``reported[(strategy, scenario)]``
    the paper's AUC.
    """
    rows = []
    for (strategy, scenario), s in summaries.items():
        row = {"strategy": strategy, "scenario": scenario, "AUC (ours)": s["auc"]}
        if "ci_low" in s:
            row["95% CI (ours)"] = f"{s['ci_low']:.2f}-{s['ci_high']:.2f}"
        if reported is not None:
            row["AUC (paper)"] = reported.get((strategy, scenario), np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def grad_cam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: torch.Tensor | None = None
             ) -> np.ndarray:
    """Grad-CAM maps (Selvaraju et al. 2017) for a batch.

    The map is ReLU(sum_k w_k A_k), with A the activations of ``layer`` and w_k the spatial mean
    of d logit_target / d A_k, upsampled bilinearly to the input size and scaled to [0, 1] per image.

    Parameters
    ----------
    inputs : float tensor [B, 3, S, S]
    target : int tensor [B], optional
        Class to explain; the predicted class when None.

    Returns
    -------
    float ndarray [B, S, S]
    """
    store = {}

    def keep(_, __, output):
        store["act"] = output
        output.register_hook(lambda grad: store.__setitem__("grad", grad))

    was_training = model.training
    model.eval()
    handle = layer.register_forward_hook(keep)
    try:
        inputs = inputs.detach().clone().requires_grad_(True)  # hooks fire even where params are frozen
        logits = model(inputs)
        if target is None:
            target = logits.argmax(1)
        model.zero_grad(set_to_none=True)
        logits.gather(1, target.view(-1, 1)).sum().backward()
    finally:
        handle.remove()
        model.train(was_training)
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * store["act"]).sum(1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    return (cam / peak).detach().cpu().numpy()


def class_name(code: int) -> str:
    return LABELS[code]
