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


def claims_table(summaries: dict, delong_p: dict[str, float], specificity: float,
                 called: dict[str, float] | None = None, *, close: float = 0.05) -> pd.DataFrame:
    """The paper's claims, each with the paper's evidence, this run's and whether it holds here.

    Parameters
    ----------
    summaries : {(strategy, scenario): {"auc", "ci_low", "ci_high"}}
        `summarize_run` of every strategy and scenario (binary ones carry the bootstrap CI).
    delong_p : {scenario: p}
        Unadjusted DeLong p-values of strategy (i) FFDM against (iv) incremental, binary scenarios.
    specificity : float
        Specificity of the best malignant-vs-negative model at the radiologists' 86.9 % sensitivity.
    called : {scenario: share}, optional
        Share of interval-cancer images called malignant by the FFDM models trained without them
        (``malignant_vs_negative`` and ``malignant_vs_recalled``); None leaves that claim out.
    close : float
        How far below the radiologists' 88.9 % specificity still counts as "comparable" (the
        paper's own model is 1.9 points below).

    The criteria are ours and are written out in the "criterion" column; the paper states its
    claims in words.
    """
    from companion.mammography import STRATEGIES
    from companion.mammography.data import SCENARIOS
    from companion.mammography.paper import PAPER_AUC, PAPER_DELONG_P, PAPER_FALSE_NEGATIVE, PAPER_SPECIFICITY_AT_869

    binary = [s for s in SCENARIOS if s != "triple"]
    missing = [(st, sc) for st in STRATEGIES for sc in SCENARIOS if (st, sc) not in summaries]
    if missing:
        raise ValueError(f"claims_table needs every strategy and scenario; missing {missing}")
    missing_p = [s for s in binary if s not in delong_p]
    if missing_p:
        raise ValueError(f"claims_table needs a DeLong p-value for every binary scenario; missing {missing_p}")
    auc = {key: s["auc"] for key, s in summaries.items()}
    rows = []

    # 1. every FFDM binary scenario separates its classes: the 95 % CI excludes 0.5
    lows = {s: summaries[("ffdm", s)]["ci_low"] for s in binary}
    worst = min(lows, key=lows.get)
    paper_lows = [PAPER_AUC[("ffdm", s)][1] for s in binary]
    rows.append({"claim": "on FFDM, every binary scenario (recalled-benign included) is separated above chance",
                 "paper": f"AUC {min(PAPER_AUC[('ffdm', s)][0] for s in binary):.2f}-"
                          f"{max(PAPER_AUC[('ffdm', s)][0] for s in binary):.2f}, lowest CI bound {min(paper_lows):.2f}",
                 "this run": f"lowest CI bound {lows[worst]:.2f} ({worst})",
                 "criterion": "95 % bootstrap CI above 0.5 in all five",
                 "holds": all(v > 0.5 for v in lows.values())})

    # 2. negative vs recalled-benign is the best-separated pair, in every strategy
    best = {st: max(binary, key=lambda s: auc[(st, s)]) for st in STRATEGIES}
    n_best = sum(b == "recalled_vs_negative" for b in best.values())
    rows.append({"claim": "negative vs recalled-benign is the best-separated pair",
                 "paper": "highest binary AUC under all four strategies",
                 "this run": f"highest in {n_best} of {len(STRATEGIES)} strategies",
                 "criterion": "recalled-vs-negative has the highest binary AUC in every strategy",
                 "holds": n_best == len(STRATEGIES)})

    # 3. incremental transfer through DDSM raises every FFDM scenario ...
    gains = {s: auc[("incremental", s)] - auc[("ffdm", s)] for s in SCENARIOS}
    paper_gains = [PAPER_AUC[("incremental", s)][0] - PAPER_AUC[("ffdm", s)][0] for s in SCENARIOS]
    rows.append({"claim": "incremental transfer (ImageNet -> DDSM -> FFDM) raises every FFDM scenario",
                 "paper": f"+{min(paper_gains):.2f} to +{max(paper_gains):.2f}",
                 "this run": f"{min(gains.values()):+.2f} to {max(gains.values()):+.2f}",
                 "criterion": "incremental AUC > FFDM-only AUC in all six scenarios",
                 "holds": all(g > 0 for g in gains.values())})

    # 4. ... but no single gain is significant
    p = [delong_p[s] for s in binary]
    rows.append({"claim": "none of those gains is statistically significant",
                 "paper": f"DeLong p {min(PAPER_DELONG_P.values()):.2f}-{max(PAPER_DELONG_P.values()):.2f}",
                 "this run": f"DeLong p {min(p):.2f}-{max(p):.2f}",
                 "criterion": "unadjusted DeLong p > 0.05 in all five binary scenarios",
                 "holds": all(v > 0.05 for v in p)})

    # 5. specificity comparable to radiologists' at their sensitivity
    rows.append({"claim": "at radiologists' 86.9 % sensitivity, specificity is comparable to theirs (88.9 %)",
                 "paper": f"{PAPER_SPECIFICITY_AT_869:.2f}",
                 "this run": f"{specificity:.2f}",
                 "criterion": f"best malignant-vs-negative model >= {RADIOLOGIST_SPECIFICITY - close:.3f}",
                 "holds": specificity >= RADIOLOGIST_SPECIFICITY - close})

    # 6. most interval cancers (missed by radiologists) are called malignant
    if called is not None:
        keys = ("malignant_vs_negative", "malignant_vs_recalled")
        if any(k not in called for k in keys):
            raise ValueError(f"called needs shares for {keys}, got {sorted(called)}")
        rows.append({"claim": "most interval cancers, read negative at screening, are called malignant",
                     "paper": " / ".join(f"{PAPER_FALSE_NEGATIVE[(k, 'excluded')]:.1%}" for k in keys),
                     "this run": " / ".join(f"{called[k]:.1%}" for k in keys),
                     "criterion": "share above 50 % for the malignant-vs-negative and -vs-recalled models",
                     "holds": all(called[k] > 0.5 for k in keys)})
    return pd.DataFrame(rows)
