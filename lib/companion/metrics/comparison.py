"""Comparing two configurations run over the same seeds, and placing a score between a baseline and a ceiling.

Every chapter compares runs over seeds (a loss against another, an ablation against the full method) and places
its headline number between a trivial baseline and a ceiling (DESIGN.md, "Measurement contract"); these are the
shared definitions.

>>> out = paired_difference([0.30, 0.34, 0.31], [0.28, 0.30, 0.30])
>>> round(out["diff"], 3), out["n"]
(0.023, 3)
>>> gap_closed(0.75, baseline=0.5, ceiling=1.0)
0.5
"""

from __future__ import annotations

import numpy as np


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = 0.80) -> float:
    """Pairs a one-sided paired test at level ``alpha`` needs to detect ``effect`` with ``power``.

    Normal approximation: n = ((z_{1-alpha} + z_{power}) * sd / effect)^2, at least 2. NaN when the effect or the
    spread is zero (nothing to detect, or no noise to beat).
    """
    from scipy import stats

    if not (sd > 0 and effect != 0):
        return float("nan")
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return float(max(2, np.ceil((z * sd / abs(effect)) ** 2)))


def paired_difference(a, b, level: float = 0.95, alternative: str = "greater") -> dict:
    """Paired comparison of ``a`` and ``b``, the scores of two configurations over the same seeds (``a - b``).

    Returns ``diff`` (mean difference), ``sd`` (its spread over seeds), ``lo``/``hi`` (t interval at ``level``),
    ``p`` (paired t-test; ``alternative`` "greater": a > b, "less", or "two-sided"), ``n`` (pairs) and
    ``seeds to resolve`` (`seeds_needed` at 5 % and 80 % power for the observed effect and spread). With one
    pair everything but ``diff`` and ``n`` is NaN; with identical pairs the interval is the point and p is 0 or
    1 by the sign of the difference (two-sided: 1 when it is 0).
    """
    from scipy import stats

    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative must be 'greater', 'less' or 'two-sided', got {alternative!r}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired scores must be two equal-length 1-D sequences, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired scores must be finite")
    d = a - b
    out = {"diff": float(d.mean()), "sd": np.nan, "lo": np.nan, "hi": np.nan, "p": np.nan, "n": len(d),
           "seeds to resolve": np.nan}
    if len(d) < 2:
        return out
    sd = 0.0 if np.allclose(d, d[0], rtol=1e-12, atol=1e-12) else float(d.std(ddof=1))  # rounding is no spread
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * sd / np.sqrt(len(d))
    out.update(sd=sd, lo=float(d.mean() - half), hi=float(d.mean() + half),
               **{"seeds to resolve": seeds_needed(float(d.mean()), sd)})
    if sd > 0:
        out["p"] = float(stats.ttest_rel(a, b, alternative=alternative).pvalue)
    else:
        sign = {"greater": d.mean() > 0, "less": d.mean() < 0, "two-sided": d.mean() != 0}[alternative]
        out["p"] = 0.0 if sign else 1.0
    return out


def gap_closed(ours: float, baseline: float, ceiling: float, higher_is_better: bool = True) -> float:
    """Share of the gap from ``baseline`` to ``ceiling`` that ``ours`` closes: (ours − baseline) / (ceiling − baseline).

    0 is no better than the baseline, 1 is the ceiling, a negative value is worse than the baseline. For a
    lower-is-better measure (``higher_is_better=False``) the ceiling lies below the baseline. NaN when the ceiling
    is not better than the baseline (there is no gap to close: a data set the baseline already solves, or a
    ceiling that was not measured).
    """
    gap = (ceiling - baseline) if higher_is_better else (baseline - ceiling)
    if not gap > 0:
        return float("nan")
    return float((ours - baseline) / (ceiling - baseline))
