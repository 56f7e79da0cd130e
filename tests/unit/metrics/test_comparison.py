"""Paired comparisons over seeds and the share of the gap closed, against scipy and by hand."""

import numpy as np
import pytest
from scipy import stats

from companion.metrics.comparison import gap_closed, paired_difference, seeds_needed


def test_paired_difference_matches_scipy_and_the_t_interval():
    a = np.array([0.31, 0.35, 0.29, 0.36, 0.33])
    b = np.array([0.28, 0.30, 0.30, 0.31, 0.29])
    out = paired_difference(a, b)
    d = a - b
    assert out["diff"] == pytest.approx(d.mean()) and out["n"] == 5
    assert out["p"] == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    assert paired_difference(a, b, alternative="two-sided")["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    lo, hi = stats.t.interval(0.95, 4, loc=d.mean(), scale=stats.sem(d))
    assert (out["lo"], out["hi"]) == pytest.approx((lo, hi))
    assert paired_difference(b, a)["p"] > 0.5  # one-sided the other way


def test_seeds_needed_grows_as_the_effect_shrinks():
    assert seeds_needed(0.05, 0.05) == 7.0  # ((1.645 + 0.842) * 1)^2 = 6.18 -> 7
    assert seeds_needed(0.025, 0.05) == 25.0
    assert np.isnan(seeds_needed(0.0, 0.05)) and np.isnan(seeds_needed(0.1, 0.0))


def test_edge_cases_are_explicit():
    one = paired_difference([0.4], [0.3])
    assert one["diff"] == pytest.approx(0.1) and np.isnan(one["p"]) and np.isnan(one["lo"])
    same = paired_difference([0.4, 0.5], [0.3, 0.4])  # constant difference: no spread
    assert same["p"] == 0.0 and same["lo"] == pytest.approx(0.1) and same["hi"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="alternative"):
        paired_difference([1, 2], [1, 2], alternative="bigger")


def test_gap_closed():
    assert gap_closed(0.5, 0.5, 1.0) == 0.0 and gap_closed(1.0, 0.5, 1.0) == 1.0
    assert gap_closed(0.6, 0.2, 0.6) == pytest.approx(1.0)
    assert np.isnan(gap_closed(0.6, 0.7, 0.7)) and np.isnan(gap_closed(0.6, 0.7, 0.5))
    assert gap_closed(5.0, 10.0, 0.0, higher_is_better=False) == pytest.approx(0.5)  # lower is better
    assert gap_closed(12.0, 10.0, 6.0, higher_is_better=False) == pytest.approx(-0.5)  # worse than the baseline
    assert np.isnan(gap_closed(5.0, 10.0, 12.0, higher_is_better=False))
