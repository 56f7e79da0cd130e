"""ROC analysis for paper 2: AUC, DeLong variance / CI / paired test, bootstrap CIs.

Conventions (the same as R's pROC with ``direction = "<"``):

* labels are 0/1 (or booleans) with **1 = case / positive**; a **higher score means more
  likely positive**. The direction is never flipped to make an AUC exceed 0.5.
* AUC is the Mann-Whitney statistic: the probability that a random case scores above a
  random control, ties counting one half,

  .. math:: \\hat\\theta = \\frac{1}{mn}\\sum_{i=1}^{m}\\sum_{j=1}^{n}\\psi(X_i, Y_j),\\qquad
            \\psi(x, y) = [x > y] + \\tfrac12 [x = y],

  with X the m case scores and Y the n control scores.
* DeLong et al. (1988) variance from the structural components (placement values)
  :math:`V_{10}(X_i) = \\frac1n\\sum_j\\psi(X_i, Y_j)` and
  :math:`V_{01}(Y_j) = \\frac1m\\sum_i\\psi(X_i, Y_j)`:
  :math:`\\operatorname{Var}\\hat\\theta = S_{10}/m + S_{01}/n` where S are sample variances
  (denominator m-1, n-1), and the covariance of two AUCs on the same subjects likewise.
  The placement values are computed with the midrank algorithm of Sun & Xu (2014): with
  :math:`T_X, T_Y, T_Z` the midranks of the cases among the cases, of the controls among the
  controls and of everything among everything,
  :math:`V_{10}(X_i) = (T_Z(X_i) - T_X(X_i))/n` and
  :math:`V_{01}(Y_j) = 1 - (T_Z(Y_j) - T_Y(Y_j))/m`.
  Three sorts per score vector: O(N log N) time, O(N) memory, no m x n matrix.

Everything here is checked against pROC 1.18 (``roc(..., direction="<")``, ``var``, ``cov``,
``ci.auc``, ``roc.test(method="delong")``) to 1e-9 relative in the unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import norm

__all__ = [
    "AUCInterval",
    "DeLongTest",
    "PairwiseAUC",
    "adjust_pvalues",
    "auc",
    "bootstrap_aucs",
    "bootstrap_ci",
    "delong_ci",
    "delong_placements",
    "delong_test",
    "pairwise_auc_summary",
    "roc_curve",
    "specificity_at_sensitivity",
]


@dataclass(frozen=True)
class AUCInterval:
    """An AUC with its confidence interval.

    ``method`` is ``"delong"``, ``"bootstrap-stratified"`` or ``"bootstrap"``; ``variance`` is
    DeLong's variance, or the sample variance of the bootstrap AUCs.
    """

    auc: float
    low: float
    high: float
    level: float
    variance: float | None
    method: str


@dataclass(frozen=True)
class DeLongTest:
    """DeLong's test of two correlated AUCs on the same subjects.

    ``z = (auc_a - auc_b) / sqrt(var_a + var_b - 2 cov)``, ``p_value`` two-sided, and
    ``[diff_low, diff_high]`` the Wald interval of ``auc_a - auc_b`` at the requested level.
    """

    auc_a: float
    auc_b: float
    var_a: float
    var_b: float
    cov: float
    z: float
    p_value: float
    diff_low: float
    diff_high: float


@dataclass(frozen=True)
class PairwiseAUC:
    """The triple-class (multi-class) summary of paper 2: see `pairwise_auc_summary`.

    ``pairs[(a, b)]`` (a < b, class indices) is the symmetric pairwise AUC, ``mean`` their mean.
    """

    mean: float
    pairs: dict


# --------------------------------------------------------------------------- validation

def _as_labels(y_true) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise ValueError("y_true is empty")
    if y.dtype == bool:
        return y
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"labels must be 0/1 (or booleans), got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise ValueError("y_true contains NaN or inf")
    values = np.unique(y)
    if values.size > 2:
        raise ValueError(f"labels must take two values, 0 (control) and 1 (case); got {values.size} "
                         f"distinct values {values[:6].tolist()}{' ...' if values.size > 6 else ''}")
    if not np.all(np.isin(values, (0, 1))):
        raise ValueError(f"labels must be 0 (control) and 1 (case); got values {values.tolist()}")
    return y == 1


def _as_scores(scores, n: int, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {s.shape}")
    if s.shape[0] != n:
        raise ValueError(f"length mismatch: y_true has {n} entries, {name} has {s.shape[0]}")
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at index "
                         f"{int(np.flatnonzero(bad)[0])})")
    return s


def _split(y_true, *score_vectors, names=None, min_per_class: int = 1):
    """Validate and return (cases [k, m], controls [k, n]) for k score vectors."""
    y = _as_labels(y_true)
    names = names or [f"scores_{i}" for i in range(len(score_vectors))]
    s = np.stack([_as_scores(v, y.size, nm) for v, nm in zip(score_vectors, names)])
    m, n = int(y.sum()), int(y.size - y.sum())
    if m == 0 or n == 0:
        only = "controls (0)" if m == 0 else "cases (1)"
        raise ValueError(f"y_true contains only {only}: an AUC needs both cases and controls")
    if min(m, n) < min_per_class:
        raise ValueError(f"DeLong's variance needs at least {min_per_class} cases and {min_per_class} "
                         f"controls; got {m} cases and {n} controls")
    return s[:, y], s[:, ~y]


# --------------------------------------------------------------------------- midranks

def _midrank(x: np.ndarray) -> np.ndarray:
    """1-based midranks of a 1-D array (ties get the mean of their ranks), O(N log N)."""
    order = np.argsort(x)  # ties are resolved by the averaging below, so no stable sort needed
    xs = x[order]
    n = xs.size
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new_value[1:])
    starts = np.flatnonzero(new_value)
    ends = np.append(starts[1:], n)
    # a tie group occupying sorted positions start..end-1 holds ranks start+1..end
    ranks_sorted = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    out = np.empty(n, dtype=float)
    out[order] = ranks_sorted
    return out


def delong_placements(y_true, scores):
    """Sun & Xu's placement values of one score vector.

    Returns
    -------
    auc : float
    v10 : float array [m]
        For each case, the fraction of controls it beats (ties 1/2).
    v01 : float array [n]
        For each control, the fraction of cases that beat it (ties 1/2).
    """
    cases, controls = _split(y_true, scores, names=["scores"])
    v10, v01 = _placements(cases, controls)
    return float(v10[0].mean()), v10[0], v01[0]


def _placements(cases: np.ndarray, controls: np.ndarray):
    """[k, m], [k, n] scores -> V10 [k, m], V01 [k, n] (Sun & Xu 2014, eq. 11-12)."""
    k, m = cases.shape
    n = controls.shape[1]
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for r in range(k):
        tz = _midrank(np.concatenate([cases[r], controls[r]]))
        v10[r] = (tz[:m] - _midrank(cases[r])) / n
        v01[r] = 1.0 - (tz[m:] - _midrank(controls[r])) / m
    return v10, v01


def _delong_cov(cases, controls):
    """AUCs [k] and DeLong covariance matrix [k, k] of k score vectors on the same subjects."""
    v10, v01 = _placements(cases, controls)
    m, n = v10.shape[1], v01.shape[1]
    aucs = v10.mean(axis=1)
    s10 = np.atleast_2d(np.cov(v10, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, ddof=1))
    return aucs, s10 / m + s01 / n


# --------------------------------------------------------------------------- public API

def auc(y_true, scores) -> float:
    """Area under the empirical ROC curve (Mann-Whitney, ties count 1/2).

    Parameters
    ----------
    y_true : array [N] of 0/1 or bool, 1 = case
    scores : float array [N], higher = more likely a case

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    cases, controls = _split(y_true, scores, names=["scores"])
    v10, _ = _placements(cases, controls)
    return float(v10[0].mean())


def delong_ci(y_true, scores, level: float = 0.95) -> AUCInterval:
    """AUC with DeLong's (1988) variance and the Wald interval ``auc ± z sd``, clipped to [0, 1].

    Needs at least two cases and two controls. Equal to pROC's ``ci.auc(roc, method="delong")``.
    """
    _check_level(level)
    cases, controls = _split(y_true, scores, names=["scores"], min_per_class=2)
    aucs, s = _delong_cov(cases, controls)
    a, var = float(aucs[0]), float(s[0, 0])
    half = norm.ppf(0.5 + level / 2) * np.sqrt(max(var, 0.0))
    return AUCInterval(auc=a, low=float(max(a - half, 0.0)), high=float(min(a + half, 1.0)),
                       level=level, variance=var, method="delong")


def delong_test(y_true, scores_a, scores_b, *, level: float = 0.95) -> DeLongTest:
    """DeLong's test for two correlated ROC curves (two scorers, the same subjects).

    Two-sided p-value from ``z = (auc_a - auc_b) / sd``. When both AUCs are equal and the
    difference has zero variance (e.g. identical scores), ``z = 0`` and ``p = 1`` as in pROC.

    Parameters
    ----------
    y_true : array [N] of 0/1, 1 = case
    scores_a, scores_b : float arrays [N]
    level : confidence level of ``[diff_low, diff_high]`` for ``auc_a - auc_b``.
    """
    _check_level(level)
    cases, controls = _split(y_true, scores_a, scores_b, names=["scores_a", "scores_b"], min_per_class=2)
    aucs, s = _delong_cov(cases, controls)
    diff = float(aucs[0] - aucs[1])
    var_diff = max(float(s[0, 0] + s[1, 1] - 2 * s[0, 1]), 0.0)  # round-off can make it -1e-18
    sd = np.sqrt(var_diff)
    if sd == 0.0:
        z = 0.0 if diff == 0.0 else float(np.copysign(np.inf, diff))
    else:
        z = diff / sd
    p = float(2 * norm.sf(abs(z)))
    half = norm.ppf(0.5 + level / 2) * sd
    return DeLongTest(auc_a=float(aucs[0]), auc_b=float(aucs[1]), var_a=float(s[0, 0]), var_b=float(s[1, 1]),
                      cov=float(s[0, 1]), z=float(z), p_value=p, diff_low=float(diff - half),
                      diff_high=float(diff + half))


def bootstrap_aucs(y_true, scores, n_boot: int = 2000, stratified: bool = True, seed=None) -> np.ndarray:
    """The ``n_boot`` bootstrap AUCs behind `bootstrap_ci` (same seed, same replicates).

    Stratified resampling draws m cases from the cases and n controls from the controls, with
    replacement, so every replicate keeps the original class balance. Unstratified resampling
    draws N subjects; replicates that happen to contain one class only are redrawn.

    Returns
    -------
    float array [n_boot]
    """
    if int(n_boot) != n_boot or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot}")
    n_boot = int(n_boot)
    cases, controls = _split(y_true, scores, names=["scores"])
    x, y = cases[0], controls[0]
    m, n = x.size, y.size
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    # chunk so a replicate matrix stays around 8 MB whatever N is
    chunk = max(1, int(1_000_000 // (m + n)))
    if stratified:
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            bx = x[rng.integers(0, m, size=(b, m))]
            by = y[rng.integers(0, n, size=(b, n))]
            boot[start:start + b] = _auc_rows(bx, by)
    else:
        scores_all = np.concatenate([x, y])
        labels_all = np.concatenate([np.ones(m, bool), np.zeros(n, bool)])
        done = 0
        while done < n_boot:
            idx = rng.integers(0, m + n, size=m + n)
            lab = labels_all[idx]
            mb = int(lab.sum())
            if mb == 0 or mb == m + n:
                continue
            s = scores_all[idx]
            boot[done] = _auc_rows(s[lab][None], s[~lab][None])[0]
            done += 1
    return boot


def bootstrap_ci(y_true, scores, n_boot: int = 2000, level: float = 0.95, stratified: bool = True,
                 seed=None) -> AUCInterval:
    """Percentile bootstrap CI of the AUC (the paper's CIs; pROC's ``ci.auc(method="bootstrap")``).

    Resampling as in `bootstrap_aucs` (stratified by default: cases and controls separately).
    Percentiles use linear interpolation (R's and numpy's default, type 7).

    Parameters
    ----------
    n_boot : number of replicates
    seed : int, numpy Generator or None. The same seed gives the same interval.

    Returns
    -------
    AUCInterval with the AUC of the original data and ``variance`` the sample variance of the
    bootstrap AUCs.
    """
    _check_level(level)
    boot = bootstrap_aucs(y_true, scores, n_boot=n_boot, stratified=stratified, seed=seed)
    theta = auc(y_true, scores)
    alpha = 1.0 - level
    low, high = np.quantile(boot, [alpha / 2, 1.0 - alpha / 2])
    return AUCInterval(auc=theta, low=float(low), high=float(high), level=level,
                       variance=float(np.var(boot, ddof=1)),
                       method="bootstrap-stratified" if stratified else "bootstrap")


def _auc_rows(cases: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """AUC of each row of [b, m] cases / [b, n] controls via ranks of the pooled row."""
    from scipy.stats import rankdata

    m, n = cases.shape[1], controls.shape[1]
    ranks = rankdata(np.concatenate([cases, controls], axis=1), axis=1)
    return (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)


def roc_curve(y_true, scores):
    """Empirical ROC curve for plotting: ``(fpr, tpr, thresholds)``.

    A thin wrapper of :func:`sklearn.metrics.roc_curve` with ``drop_intermediate=False`` after our
    input validation; a point is "positive" when ``score >= threshold``.
    """
    from sklearn.metrics import roc_curve as _sk_roc_curve

    y = _as_labels(y_true)
    s = _as_scores(scores, y.size)
    _split(y, s, names=["scores"])
    return _sk_roc_curve(y.astype(int), s, drop_intermediate=False)


def specificity_at_sensitivity(y_true, scores, sensitivity: float) -> float:
    """Specificity of the best threshold whose sensitivity is at least ``sensitivity``.

    Thresholds are the observed scores; a subject is called positive when ``score >= t``. Among
    all thresholds with sensitivity >= the target, the highest (hence the most specific) is
    taken, so the achieved sensitivity can exceed the target when case scores are sparse
    (paper 2 compares with the radiologists' 86.9 % sensitivity this way). No interpolation.

    Returns
    -------
    float, the specificity in [0, 1].
    """
    if not 0.0 < float(sensitivity) <= 1.0:
        raise ValueError(f"sensitivity must lie in (0, 1], got {sensitivity}")
    cases, controls = _split(y_true, scores, names=["scores"])
    x = np.sort(cases[0])[::-1]
    # calling the top k cases positive needs t <= x[k-1]; the smallest k with k/m >= target
    m = x.size
    k = int(np.ceil(float(sensitivity) * m - 1e-12))
    k = min(max(k, 1), m)
    threshold = x[k - 1]
    return float(np.mean(controls[0] < threshold))


def pairwise_auc_summary(y_true_multiclass, prob_matrix, labels=None) -> PairwiseAUC:
    """Paper 2's triple-class summary: the mean over class pairs of a pairwise AUC.

    For each unordered pair of classes (a, b), only the subjects of classes a and b are kept and
    the pair's AUC is the **symmetric** one of Hand & Till (2001),

    .. math:: A(a, b) = \\tfrac12\\,[\\mathrm{AUC}(b \\text{ vs } a \\text{ by } p_b)
                                     + \\mathrm{AUC}(a \\text{ vs } b \\text{ by } p_a)],

    and the summary is the unweighted mean of A over the C(C-1)/2 pairs. This equals
    scikit-learn's ``roc_auc_score(y, P, multi_class="ovo", average="macro")`` (checked in the
    tests). The paper says only "an ROC curve for each binary-class combination and then ...
    the average of the AUCs"; the symmetric version is chosen because it does not depend on
    which class of a pair is called positive.

    Parameters
    ----------
    y_true_multiclass : int array [N] with values in ``labels``
    prob_matrix : float array [N, C], column c = score of ``labels[c]``
    labels : sequence of C class values (default 0..C-1)
    """
    y = np.asarray(y_true_multiclass)
    p = np.asarray(prob_matrix, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"prob_matrix must be [N, C], got shape {p.shape}")
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(f"length mismatch: y_true has shape {y.shape}, prob_matrix {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("prob_matrix contains NaN or inf")
    labels = list(range(p.shape[1])) if labels is None else list(labels)
    if len(labels) != p.shape[1] or p.shape[1] < 2:
        raise ValueError(f"need one column per class and at least 2 classes; got {p.shape[1]} columns "
                         f"for labels {labels}")
    unknown = set(np.unique(y).tolist()) - set(labels)
    if unknown:
        raise ValueError(f"y_true contains labels {sorted(unknown)} not in {labels}")
    pairs = {}
    for (ia, a), (ib, b) in combinations(enumerate(labels), 2):
        keep = (y == a) | (y == b)
        if not (np.any(y == a) and np.any(y == b)):
            raise ValueError(f"class pair ({a}, {b}) needs subjects of both classes")
        is_b = (y[keep] == b).astype(int)
        pairs[(a, b)] = 0.5 * (auc(is_b, p[keep, ib]) + auc(1 - is_b, p[keep, ia]))
    return PairwiseAUC(mean=float(np.mean(list(pairs.values()))), pairs=pairs)


def adjust_pvalues(pvalues, method: str = "holm") -> np.ndarray:
    """Multiple-comparison adjustment of a family of p-values (statsmodels ``multipletests``).

    ``method`` is any statsmodels name: "holm" (default), "bonferroni", "fdr_bh", ...
    Returns the adjusted p-values in the input order.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pvalues must be a non-empty 1-D sequence, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues must be finite numbers in [0, 1]")
    return multipletests(p, method=method)[1]


def _check_level(level: float) -> None:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
