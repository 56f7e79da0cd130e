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

from companion.mammography.train import scenario_subset, strategy_indices, test_subset
from companion.metrics import roc
from companion.metrics.comparison import gap_closed  # the shared headroom share (ours - baseline) / (ceiling - baseline)

RADIOLOGIST_SENSITIVITY = 0.869  # Lehman et al. 2017, quoted in the paper's Discussion
RADIOLOGIST_SPECIFICITY = 0.889


def pairwise_aucs(y_true, proba) -> dict[tuple[int, int], float]:
    """AUC of each class pair (a, b), a < b, symmetric convention (`roc.pairwise_auc_summary`).

    Parameters
    ----------
    y_true : int array [N] with values 0..C-1
    proba : float array [N, C]
    """
    return dict(roc.pairwise_auc_summary(y_true, proba).pairs)


def triple_auc(y_true, proba) -> float:
    """The triple classification's summary: the mean of the pairwise AUCs."""
    return float(roc.pairwise_auc_summary(y_true, proba).mean)


def binary_summary(y_true, scores, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """AUC, bootstrap CI (stratified percentile) and DeLong CI of one binary scenario."""
    boot = roc.bootstrap_ci(y_true, scores, n_boot=n_boot, level=level, stratified=True, seed=seed)
    delong = roc.delong_ci(y_true, scores, level=level)
    return {"auc": float(roc.auc(y_true, scores)), "ci_low": float(boot.low), "ci_high": float(boot.high),
            "delong_low": float(delong.low), "delong_high": float(delong.high), "n": int(len(y_true)),
            "n_positive": int(np.sum(y_true))}


def summarize_run(run, n_boot: int = 2000, seed: int = 0) -> dict:
    """`binary_summary` for a binary `ScenarioRun`, the pairwise mean for the triple one.

    A model whose output is constant over the test images (`constant_output`) gets
    ``constant=True`` and NaN AUC and CI: an AUC of 0.50 with a zero-width interval would
    read as a measured chance result when the model learned nothing at all.
    """
    if constant_output(run.proba):
        return {"auc": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": int(len(run.y_true)),
                "constant": True}
    if run.proba.shape[1] == 2:
        return {**binary_summary(run.y_true, run.scores, n_boot=n_boot, seed=seed), "constant": False}
    return {"auc": triple_auc(run.y_true, run.proba), "n": int(len(run.y_true)), "constant": False}


def compare_runs(run_a, run_b) -> dict:
    """DeLong's paired test of two binary runs on the same test images (e.g. strategy i vs iv)."""
    if not np.array_equal(run_a.test_index, run_b.test_index) or not np.array_equal(run_a.y_true, run_b.y_true):
        raise ValueError(f"{run_a.strategy} and {run_b.strategy} were not tested on the same images")
    test = roc.delong_test(run_a.y_true, run_a.scores, run_b.scores)
    return {"auc_a": test.auc_a, "auc_b": test.auc_b, "z": test.z, "p_value": test.p_value,
            "diff_low": test.diff_low, "diff_high": test.diff_high}


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (`roc.adjust_pvalues`)."""
    return roc.adjust_pvalues(p_values, method="holm")


def specificity_at(y_true, scores, sensitivity: float = RADIOLOGIST_SENSITIVITY) -> float:
    """Specificity at the operating point reaching ``sensitivity`` (the Discussion's comparison)."""
    return float(roc.specificity_at_sensitivity(y_true, scores, sensitivity))


def roc_points(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the empirical ROC curve, for plotting."""
    fpr, tpr, _ = roc.roc_curve(y_true, scores)
    return fpr, tpr


def called_malignant(proba_malignant, threshold: float = 0.5) -> float:
    """Share of images whose malignant probability exceeds ``threshold`` (false-negative analysis)."""
    proba_malignant = np.asarray(proba_malignant, dtype=float)
    if proba_malignant.size == 0:
        raise ValueError("no interval-cancer images to score")
    return float(np.mean(proba_malignant > threshold))


def format_auc(summary: dict | None) -> str:
    """``"0.78 (0.70-0.85)"``, ``"0.66"`` without a CI, ``"constant output"`` for a constant model."""
    if summary is None:
        return ""
    if summary.get("constant"):
        return "constant output"
    auc = summary.get("auc")
    if auc is None or not np.isfinite(auc):
        return ""
    low, high = summary.get("ci_low"), summary.get("ci_high")
    return f"{auc:.2f}" + (f" ({low:.2f}-{high:.2f})" if low is not None and np.isfinite(low) else "")


def paper_layout_table(summaries: dict, reported: dict, ceilings: dict | None = None) -> pd.DataFrame:
    """Rows (scenario, ours / oracle ceiling / paper), columns strategies: the evaluation page's main table.

    ``summaries`` are `summarize_run` dicts, ``reported[(strategy, scenario)]`` the paper's
    ``(auc, low, high, where)``, ``ceilings`` the oracle AUCs (omitted when None, e.g. real data).
    """
    from companion.mammography.scenarios import SCENARIO_TITLES

    strategy_titles = {"ffdm": "(i) FFDM only", "ddsm": "(ii) DDSM only", "mixed": "(iii) FFDM + DDSM mixed",
                       "incremental": "(iv) ImageNet/scratch -> DDSM -> FFDM"}
    table = {}
    for (strategy, scenario), s in summaries.items():
        column = strategy_titles[strategy]
        table.setdefault((SCENARIO_TITLES[scenario], "ours"), {})[column] = format_auc(s)
        if ceilings is not None:
            table.setdefault((SCENARIO_TITLES[scenario], "oracle ceiling"), {})[column] = (
                f"{ceilings[(strategy, scenario)]:.2f}")
        paper = reported.get((strategy, scenario))
        table.setdefault((SCENARIO_TITLES[scenario], "paper"), {})[column] = format_auc(
            None if paper is None else {"auc": paper[0], "ci_low": paper[1] if paper[1] is not None else np.nan,
                                        "ci_high": paper[2] if paper[2] is not None else np.nan})
    return pd.DataFrame(table).T


def table1_layout(data, seed: int = 0, balance: bool = True) -> pd.DataFrame:
    """Table 1 in the paper's layout: images per experiment, ours beside the paper's.

    Rows: (strategy, "negative vs recalled-benign" | "others"); columns: (train | test) x
    (total | per category) x (ours | paper). The paper lists every scenario other than negative vs
    recalled-benign under "Others" with one count; ours differ by scenario, so "others" shows
    malignant vs negative (the scenario with the fewest images, as malignant is the smallest class).
    """
    from companion.mammography import STRATEGIES
    from companion.mammography.paper import PAPER_TABLE1

    rows = {}
    for strategy in STRATEGIES:
        stages = strategy_indices(data, strategy)
        for name, scenario in (("negative vs recalled-benign", "recalled_vs_negative"),
                               ("others", "malignant_vs_negative")):
            counts = []
            for stage in ("train", "test"):
                _, targets = scenario_subset(data, stages[stage], scenario, balance, seed)
                counts += [len(targets), int(np.bincount(targets).min()) if len(targets) else 0]
            paper = PAPER_TABLE1[(strategy, "recalled_vs_negative" if name.startswith("negative") else "others")]
            rows[(strategy, name)] = {("train", "total", "ours"): counts[0], ("train", "total", "paper"): paper[0],
                                      ("train", "per category", "ours"): counts[1],
                                      ("train", "per category", "paper"): paper[1],
                                      ("test", "total", "ours"): counts[2], ("test", "total", "paper"): paper[2],
                                      ("test", "per category", "ours"): counts[3],
                                      ("test", "per category", "paper"): paper[3]}
    table = pd.DataFrame(rows).T
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


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


def oracle_ceilings(data, strategies, scenarios, balance: bool = True) -> dict:
    """Oracle AUC of every (strategy, scenario) on the CNN's own test images: the ceiling of these data.

    The oracle (`synthetic.oracle_scores`) is a logistic regression on the generator's latent
    labels (finding kind, contrast, density), fitted on the strategy's training images and
    scored on the same class-balanced test images as the CNN (`train.test_subset`).

    Raises
    ------
    ValueError
        ``data.latent`` is None (real data have no latent labels, hence no oracle).
    """
    from companion.mammography.synthetic import oracle_scores

    if data.latent is None:
        raise ValueError("these data have no latent labels (only synthetic sets do): no oracle ceiling")
    out = {}
    for strategy in strategies:
        stages = strategy_indices(data, strategy)
        for scenario in scenarios:
            test_index, _ = test_subset(data, stages["test"], scenario, balance)
            y, proba = oracle_scores(data.latent, data.codes, stages["train"], test_index, scenario)
            out[(strategy, scenario)] = float(roc.auc(y, proba[:, 1]) if proba.shape[1] == 2
                                              else roc.pairwise_auc_summary(y, proba).mean)
    return out


def headroom_table(baseline: float, ours: float, ceiling: float | None, *, spread: float | None = None,
                   what: str = "AUC, FFDM malignant vs negative") -> pd.DataFrame:
    """The headline measure's chance baseline, our value and the oracle ceiling side by side, with the
    share of the gap closed (`metrics.comparison.gap_closed`); ``spread`` (e.g. the standard deviation over training seeds)
    is shown beside ours. A missing ceiling (real data: no latent labels) leaves the share empty.

    >>> headroom_table(0.5, 0.8, 0.9)["gap closed"].round(2).tolist()
    [0.0, 0.75, 1.0]
    """
    ceiling = np.nan if ceiling is None else float(ceiling)
    closed = gap_closed(ours, baseline, ceiling) if np.isfinite(ceiling) else np.nan
    return pd.DataFrame({"measure": [what] * 3, "value": [float(baseline), float(ours), ceiling],
                         "spread": [np.nan, np.nan if spread is None else float(spread), np.nan],
                         "gap closed": [0.0, closed, 1.0 if np.isfinite(ceiling) else np.nan]},
                        index=["baseline (chance)", "ours", "ceiling (oracle)"])


def seed_summary(runs) -> dict:
    """Test AUC of one binary (strategy, scenario) trained with several seeds on the same test images.

    Returns ``{"mean", "std" (ddof 1; 0 for one seed), "min", "max", "n_seeds", "aucs": {seed: auc},
    "n_constant"}``; constant-output runs are counted and left out of the statistics.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to summarise")
    if len({tuple(r.test_index) for r in runs}) != 1:
        raise ValueError("the runs were scored on different test images; their AUCs cannot be averaged")
    aucs = {r.seed: float(roc.auc(r.y_true, r.scores)) for r in runs if not constant_output(r.scores)}
    values = np.array(list(aucs.values()))
    if not len(values):
        return {"mean": np.nan, "std": np.nan, "min": np.nan, "max": np.nan, "n_seeds": 0, "aucs": {},
                "n_constant": len(runs)}
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max()), "n_seeds": len(values), "aucs": aucs,
            "n_constant": len(runs) - len(values)}


def constant_output(scores, tolerance: float = 1e-6) -> bool:
    """True when a model gives (nearly) the same score to every test image: its AUC means nothing.

    Parameters
    ----------
    scores : float array [N] or [N, C]
        Positive-class scores or class probabilities.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        raise ValueError("no scores to check")
    return bool(np.ptp(scores.reshape(len(scores), -1), axis=0).max() <= tolerance)


def cam_mass_inside(cams, masks) -> np.ndarray:
    """Share of each Grad-CAM map's mass inside a mask, float [B] (NaN for an all-zero map).

    Parameters
    ----------
    cams : float array [B, S, S], non-negative
    masks : bool array [B, S, S]
    """
    cams, masks = np.asarray(cams, dtype=float), np.asarray(masks, dtype=bool)
    if cams.shape != masks.shape or cams.ndim != 3:
        raise ValueError(f"cams {cams.shape} and masks {masks.shape} must both be [B, S, S]")
    total = cams.reshape(len(cams), -1).sum(1)
    inside = (cams * masks).reshape(len(cams), -1).sum(1)
    return np.where(total > 0, inside / np.maximum(total, 1e-12), np.nan)


def cam_on_breast(cams, images, background: int = 5) -> dict:
    """Share of Grad-CAM mass on the breast (uint8 pixels above ``background``) against the breast's area share.

    A model that learned shortcuts from labels, air or borders puts its evidence off the breast.
    Returns ``{"cam_share", "area_share"}`` (means over images).
    """
    breast = np.asarray(images) > background
    return {"cam_share": float(np.nanmean(cam_mass_inside(cams, breast))), "area_share": float(breast.mean())}


def cam_gathers_on_findings(cams, masks, n_random: int = 200, seed: int = 0) -> dict:
    """Does Grad-CAM mass gather inside the findings? Against maps that ignore the image.

    For every image with a finding: the share of its Grad-CAM mass inside the finding's mask,
    and the same share for ``n_random`` random maps (smooth noise of the CAM's own resolution,
    i.e. maps that know nothing of the finding; their mean share is about the mask's area share).
    A one-sided Wilcoxon signed-rank test compares the per-image shares.

    Returns
    -------
    dict with ``cam_share`` (mean), ``random_share`` (mean), ``ratio`` and ``p_value`` and ``n``.
    """
    from scipy import ndimage
    from scipy.stats import wilcoxon

    cams, masks = np.asarray(cams, dtype=float), np.asarray(masks, dtype=bool)
    keep = masks.reshape(len(masks), -1).any(1)
    cams, masks = cams[keep], masks[keep]
    if len(cams) < 2:
        raise ValueError(f"need at least 2 images with a finding mask, got {len(cams)}")
    rng = np.random.default_rng(seed)
    size = cams.shape[-1]
    noise = ndimage.gaussian_filter(rng.standard_normal((n_random, size, size)), (0, size / 12, size / 12))
    noise = np.maximum(noise, 0)
    shares = cam_mass_inside(cams, masks)
    random = np.array([np.nanmean(cam_mass_inside(noise, np.broadcast_to(m, noise.shape))) for m in masks])
    ok = np.isfinite(shares)
    diff = shares[ok] - random[ok]
    p = float(wilcoxon(diff, alternative="greater").pvalue) if np.any(diff != 0) else 1.0
    return {"cam_share": float(np.mean(shares[ok])), "random_share": float(np.mean(random[ok])),
            "ratio": float(np.mean(shares[ok]) / max(np.mean(random[ok]), 1e-12)), "p_value": p, "n": int(ok.sum())}


def cam_findings_of_run(run, data, device="cpu", n_random: int = 200, seed: int = 0) -> dict | None:
    """`cam_gathers_on_findings` for a binary run's positive test images that show a finding.

    Grad-CAM of the positive class on the model's own inputs; the finding masks come from the
    generator's latent labels (`synthetic.lesion_mask` at the input size). Returns None when the
    data have no latent labels (real data) or fewer than two such images.
    """
    from companion.mammography.data import MammogramDataset
    from companion.mammography.synthetic import lesion_mask

    if data.latent is None or run.proba.shape[1] != 2:
        return None
    size = data.images.shape[-1]
    positive = np.flatnonzero(run.y_true == 1)
    index = run.test_index[positive]
    masks = np.stack([lesion_mask(data.latent.iloc[i], size) for i in index]) if len(index) else np.zeros((0, size, size))
    keep = masks.reshape(len(masks), -1).any(1) if len(masks) else np.zeros(0, bool)
    if keep.sum() < 2:
        return None
    index, masks = index[keep], masks[keep]
    inputs = MammogramDataset(data.images[index], np.ones(len(index), np.int64), run.centre).tensors().to(device)
    cams = grad_cam(run.model, run.model.cam_layer, inputs, target=torch.ones(len(index), dtype=torch.long,
                                                                             device=inputs.device))
    return cam_gathers_on_findings(cams, masks, n_random=n_random, seed=seed)


def beyond_noise(results: pd.DataFrame, reference: str, column: str = "auc") -> pd.DataFrame:
    """Per variant: mean, std over seeds, difference from ``reference`` and whether it exceeds noise.

    ``results`` has columns ``variant``, ``seed`` and ``column``. A difference is "beyond noise"
    when it exceeds twice the standard error of a difference of two means; with one seed the
    spread is unknown and nothing is called a difference. With the same seeds for every variant,
    a paired t-test over seeds (``p_paired``) is given as well.
    """
    from scipy.stats import ttest_rel

    if reference not in set(results["variant"]):
        raise ValueError(f"reference variant {reference!r} is not among {sorted(set(results['variant']))}")
    summary = results.groupby("variant", sort=False)[column].agg(["mean", "std", "min", "max", "count"])
    ref = summary.loc[reference]
    summary["difference"] = summary["mean"] - ref["mean"]
    pooled = np.sqrt((summary["std"] ** 2 + ref["std"] ** 2) / summary["count"])
    summary["beyond noise"] = np.where(summary["count"] > 1,
                                       (summary["difference"].abs() > 2 * pooled).map({True: "yes", False: "no"}),
                                       "one seed: unknown")
    ref_runs = results[results["variant"] == reference].set_index("seed")[column]
    p_values = {}
    for variant, group in results.groupby("variant", sort=False):
        paired = group.set_index("seed")[column].to_frame("v").join(ref_runs.rename("r"), how="inner").dropna()
        p_values[variant] = (float(ttest_rel(paired["v"], paired["r"]).pvalue)
                             if variant != reference and len(paired) > 1 and np.ptp(paired["v"] - paired["r"]) > 0
                             else np.nan)
    summary["p_paired"] = pd.Series(p_values)
    summary.loc[reference, "beyond noise"] = "(reference)"
    return summary


def false_negative_protocol(interval_patient_ids, seed: int = 0) -> np.ndarray:
    """The paper's false-negative split: a random half of the interval-cancer patients (bool per image).

    Parameters
    ----------
    interval_patient_ids : array of str [N]
        Patient id of every interval-cancer image.

    Returns
    -------
    bool array [N]: True for images of the half that joins the training set; the other half is scored.
    """
    ids = np.asarray(interval_patient_ids)
    patients = np.array(sorted(set(ids.tolist())))
    if len(patients) < 2:
        raise ValueError(f"need at least 2 interval-cancer patients to split in halves, got {len(patients)}")
    rng = np.random.default_rng(seed)
    half = set(rng.choice(patients, len(patients) // 2, replace=False).tolist())
    return np.isin(ids, list(half))


def _verdict(holds):
    return None if holds is None else bool(holds)


def claims_table(summaries: dict, delong_p: dict[str, float], specificity: float,
                 called: dict[str, float] | None = None, called_half: dict[str, float] | None = None,
                 robustness: pd.DataFrame | None = None, cam: dict | None = None, *,
                 close: float = 0.05, slight: float = 0.05) -> pd.DataFrame:
    """The paper's claims, each with the paper's evidence, this run's and whether it holds here.

    Parameters
    ----------
    summaries : {(strategy, scenario): {"auc", "ci_low", "ci_high", "constant"}}
        `summarize_run` of every strategy and scenario. A constant-output model has NaN AUC and
        fails every claim that needs it (its row says so).
    delong_p : {scenario: p}
        Unadjusted DeLong p-values of strategy (i) FFDM against (iv) incremental, binary scenarios.
    specificity : float
        Specificity of the best malignant-vs-negative model at the radiologists' 86.9 % sensitivity.
    called, called_half : {scenario: share}, optional
        Share of interval-cancer images called malignant by the FFDM models trained without them
        (``called``) and with half of them in training, scored on the other half (``called_half``),
        for ``malignant_vs_negative`` and ``malignant_vs_recalled``.
    robustness : DataFrame with columns test_fraction, strategy, scenario, auc; optional
        The Fig. 5 re-runs at larger test fractions.
    cam : dict, optional
        `cam_gathers_on_findings` of the Grad-CAM maps (the book's own claim, page 06).
    close, slight : float
        "Comparable" specificity: at most ``close`` below the radiologists' 88.9 %. "Slight"
        decrease: the mean AUC change from the smallest to the largest test fraction lies in
        [-``slight``, 0].

    Returns
    -------
    DataFrame with columns claim, paper, this run, criterion, holds. ``holds`` is None when the
    claim was not tested in this run (the row says why).
    """
    from companion.mammography import STRATEGIES
    from companion.mammography.scenarios import SCENARIOS
    from companion.mammography.paper import PAPER_AUC, PAPER_DELONG_P, PAPER_FALSE_NEGATIVE, PAPER_SPECIFICITY_AT_869

    binary = [s for s in SCENARIOS if s != "triple"]
    missing = [(st, sc) for st in STRATEGIES for sc in SCENARIOS if (st, sc) not in summaries]
    if missing:
        raise ValueError(f"claims_table needs every strategy and scenario; missing {missing}")
    missing_p = [s for s in binary if s not in delong_p]
    if missing_p:
        raise ValueError(f"claims_table needs a DeLong p-value for every binary scenario; missing {missing_p}")
    auc = {key: s["auc"] for key, s in summaries.items()}
    constant = sorted(f"{st}/{sc}" for (st, sc), s in summaries.items() if s.get("constant"))
    note = f"; constant-output models: {', '.join(constant)}" if constant else ""
    paper_auc = {key: value[0] for key, value in PAPER_AUC.items()}
    rows = []

    def gt(a, b):  # NaN (constant model) never counts as larger
        return bool(np.isfinite(a) and np.isfinite(b) and a > b)

    # 1. every FFDM binary scenario separates its classes: the 95 % CI excludes 0.5
    lows = {s: summaries[("ffdm", s)].get("ci_low", np.nan) for s in binary}
    worst = min(lows, key=lambda k: lows[k] if np.isfinite(lows[k]) else -1)
    paper_lows = [PAPER_AUC[("ffdm", s)][1] for s in binary]
    rows.append({"claim": "on FFDM, every binary scenario (recalled-benign included) is separated above chance",
                 "paper": f"AUC {min(paper_auc[('ffdm', s)] for s in binary):.2f}-"
                          f"{max(paper_auc[('ffdm', s)] for s in binary):.2f}, lowest CI bound {min(paper_lows):.2f}",
                 "this run": f"lowest CI bound {lows[worst]:.2f} ({worst})",
                 "criterion": "95 % bootstrap CI above 0.5 in all five",
                 "holds": all(np.isfinite(v) and v > 0.5 for v in lows.values())})

    # 2. negative vs recalled-benign is the best-separated pair, in every strategy
    best = {st: max(binary, key=lambda s: auc[(st, s)] if np.isfinite(auc[(st, s)]) else -1) for st in STRATEGIES}
    n_best = sum(b == "recalled_vs_negative" for b in best.values())
    rows.append({"claim": "negative vs recalled-benign is the best-separated pair",
                 "paper": "highest binary AUC under all four strategies",
                 "this run": f"highest in {n_best} of {len(STRATEGIES)} strategies",
                 "criterion": "recalled-vs-negative has the highest binary AUC in every strategy",
                 "holds": n_best == len(STRATEGIES)})

    # 3. DDSM is easier than FFDM
    n_easier = sum(gt(auc[("ddsm", s)], auc[("ffdm", s)]) for s in SCENARIOS)
    rows.append({"claim": "DDSM (digitised film) is easier than FFDM",
                 "paper": f"DDSM {min(paper_auc[('ddsm', s)] for s in SCENARIOS):.2f}-"
                          f"{max(paper_auc[('ddsm', s)] for s in SCENARIOS):.2f} vs FFDM "
                          f"{min(paper_auc[('ffdm', s)] for s in SCENARIOS):.2f}-"
                          f"{max(paper_auc[('ffdm', s)] for s in SCENARIOS):.2f}",
                 "this run": f"DDSM higher in {n_easier} of {len(SCENARIOS)} scenarios" + note,
                 "criterion": "DDSM-only AUC > FFDM-only AUC in all six scenarios (different test sets: "
                              "compared as reported, not paired)",
                 "holds": n_easier == len(SCENARIOS)})

    # 4. mixed training lies between the two and beats FFDM
    n_between = sum(gt(auc[("mixed", s)], auc[("ffdm", s)]) and gt(auc[("ddsm", s)], auc[("mixed", s)])
                    for s in SCENARIOS)
    rows.append({"claim": "mixing FFDM and DDSM lands between the two and above FFDM alone",
                 "paper": "FFDM < mixed < DDSM in every scenario (Figs. 1-3)",
                 "this run": f"FFDM < mixed < DDSM in {n_between} of {len(SCENARIOS)} scenarios",
                 "criterion": "FFDM AUC < mixed AUC < DDSM AUC in all six scenarios",
                 "holds": n_between == len(SCENARIOS)})

    # 5. incremental transfer through DDSM raises every FFDM scenario ...
    gains = {s: auc[("incremental", s)] - auc[("ffdm", s)] for s in SCENARIOS}
    paper_gains = [paper_auc[("incremental", s)] - paper_auc[("ffdm", s)] for s in SCENARIOS]
    finite = [g for g in gains.values() if np.isfinite(g)]
    rows.append({"claim": "incremental transfer (ImageNet -> DDSM -> FFDM) raises every FFDM scenario",
                 "paper": f"+{min(paper_gains):.2f} to +{max(paper_gains):.2f}",
                 "this run": (f"{min(finite):+.2f} to {max(finite):+.2f}" if finite else "no finite AUC") + note,
                 "criterion": "incremental AUC > FFDM-only AUC in all six scenarios",
                 "holds": all(np.isfinite(g) and g > 0 for g in gains.values())})

    # 6. ... but no single gain is significant
    p = [delong_p[s] for s in binary]
    finite_p = [v for v in p if np.isfinite(v)]
    rows.append({"claim": "none of those gains is statistically significant",
                 "paper": f"DeLong p {min(PAPER_DELONG_P.values()):.2f}-{max(PAPER_DELONG_P.values()):.2f}",
                 "this run": f"DeLong p {min(finite_p):.2f}-{max(finite_p):.2f}" if finite_p else "no test",
                 "criterion": "unadjusted DeLong p > 0.05 in all five binary scenarios",
                 "holds": len(finite_p) == len(p) and all(v > 0.05 for v in p)})

    # 7. specificity comparable to radiologists' at their sensitivity
    rows.append({"claim": "at radiologists' 86.9 % sensitivity, specificity is comparable to theirs (88.9 %)",
                 "paper": f"{PAPER_SPECIFICITY_AT_869:.2f}",
                 "this run": f"{specificity:.2f}",
                 "criterion": f"best malignant-vs-negative model >= {RADIOLOGIST_SPECIFICITY - close:.3f}",
                 "holds": bool(np.isfinite(specificity) and specificity >= RADIOLOGIST_SPECIFICITY - close)})

    keys = ("malignant_vs_negative", "malignant_vs_recalled")
    # 8. most interval cancers (missed by radiologists) are called malignant
    row = {"claim": "most interval cancers, read negative at screening, are called malignant",
           "paper": " / ".join(f"{PAPER_FALSE_NEGATIVE[(k, 'excluded')]:.1%}" for k in keys),
           "criterion": "share above 50 % for the malignant-vs-negative and -vs-recalled models"}
    if called is None:
        row.update({"this run": "not run (no interval cancers in these data)", "holds": None})
    else:
        if any(k not in called for k in keys):
            raise ValueError(f"called needs shares for {keys}, got {sorted(called)}")
        row.update({"this run": " / ".join(f"{called[k]:.1%}" for k in keys),
                    "holds": all(called[k] > 0.5 for k in keys)})
    rows.append(row)

    # 9. putting half of them into training helps
    row = {"claim": "with 50 % of interval cancers in training, more of the others are called malignant",
           "paper": " / ".join(f"{PAPER_FALSE_NEGATIVE[(k, 'excluded')]:.1%} -> "
                               f"{PAPER_FALSE_NEGATIVE[(k, 'half_in_training')]:.1%}" for k in keys),
           "criterion": "share (held-out half) above the share without them (all), both models"}
    if called is None or called_half is None:
        row.update({"this run": "not run", "holds": None})
    else:
        row.update({"this run": " / ".join(f"{called[k]:.1%} -> {called_half[k]:.1%}" for k in keys),
                    "holds": all(called_half[k] > called[k] for k in keys)})
    rows.append(row)

    # 10. robustness: larger test sets, slight decrease
    row = {"claim": "with larger test sets (10 %, 15 %) AUCs decrease only slightly",
           "paper": "Fig. 5: 'slight decrease'",
           "criterion": f"mean AUC change from the smallest to the largest test fraction in [-{slight:.2f}, 0]"}
    if robustness is None or robustness["test_fraction"].nunique() < 2:
        row.update({"this run": "not run (one test fraction)", "holds": None})
    else:
        fractions = sorted(robustness["test_fraction"].unique())
        wide = robustness.pivot_table(index=["strategy", "scenario"], columns="test_fraction", values="auc")
        change = float((wide[fractions[-1]] - wide[fractions[0]]).mean())
        row.update({"this run": f"{change:+.3f} ({fractions[0]:g} -> {fractions[-1]:g}, {len(wide)} models)",
                    "holds": bool(np.isfinite(change) and -slight <= change <= 0)})
    rows.append(row)

    # 11. the book's own: Grad-CAM gathers on findings
    row = {"claim": "(this book, page 06) Grad-CAM maps gather on the findings",
           "paper": "open problem: 'not yet able to clearly visualize' the features",
           "criterion": "CAM mass inside the finding >= 2x that of random smooth maps, Wilcoxon p < 0.05"}
    if cam is None:
        row.update({"this run": "not run (no finding masks: real data, or no test finding)", "holds": None})
    else:
        row.update({"this run": f"{cam['cam_share']:.3f} vs random {cam['random_share']:.3f} "
                                f"(x{cam['ratio']:.1f}, p={cam['p_value']:.2g}, n={cam['n']})",
                    "holds": bool(cam["ratio"] >= 2 and cam["p_value"] < 0.05)})
    rows.append(row)
    table = pd.DataFrame(rows)
    table["holds"] = table["holds"].map(_verdict).astype(object)
    return table


def claims_counts(table: pd.DataFrame) -> dict:
    """``claims_total``, ``claims_testable`` (holds not None) and ``claims_held`` of a `claims_table`."""
    testable = table["holds"].map(lambda v: v is not None)
    return {"claims_total": int(len(table)), "claims_testable": int(testable.sum()),
            "claims_held": int((table["holds"] == True).sum())}  # noqa: E712
