"""companion.metrics.roc against pROC reference vectors, a naive DeLong, scikit-learn, statsmodels."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from companion.metrics import roc

REFERENCE = json.loads((Path(__file__).parent / "reference" / "proc_delong.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}
RTOL = 1e-9


def naive_delong(y, a, b):
    """Textbook DeLong with the full m x n kernel matrix: O(m n) time and memory."""
    y = np.asarray(y).astype(bool)
    out = []
    for s in (np.asarray(a, float), np.asarray(b, float)):
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    m, n = y.sum(), (~y).sum()
    v10 = np.stack([o[1] for o in out])
    v01 = np.stack([o[2] for o in out])
    s = np.cov(v10) / m + np.cov(v01) / n
    return out[0][0], out[1][0], s


def close(actual, expected, atol=1e-15):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


# --------------------------------------------------------------------------- pROC agreement

@pytest.mark.parametrize("name", list(CASES))
def test_auc_variance_and_ci_match_proc(name):
    c = CASES[name]
    close(roc.auc(c["y"], c["a"]), c["auc_a"])
    close(roc.auc(c["y"], c["b"]), c["auc_b"])
    ci = roc.delong_ci(c["y"], c["a"])
    close(ci.variance, c["var_a"])
    close([ci.low, ci.high], c["ci95_a"])
    ci90 = roc.delong_ci(c["y"], c["a"], level=0.90)
    close([ci90.low, ci90.high], c["ci90_a"])
    assert ci.method == "delong" and ci.level == 0.95


@pytest.mark.parametrize("name", list(CASES))
def test_delong_test_matches_proc_roc_test(name):
    c = CASES[name]
    t = roc.delong_test(c["y"], c["a"], c["b"])
    close([t.auc_a, t.auc_b], [c["auc_a"], c["auc_b"]])
    close([t.var_a, t.var_b, t.cov], [c["var_a"], c["var_b"], c["cov"]])
    close(t.z, c["z"])
    close(t.p_value, c["p_value"])
    close([t.diff_low, t.diff_high], c["diff_ci95"])


def test_reference_vectors_cover_the_hard_cases():
    # guards against the vectors silently losing what they were generated for
    ys = {k: np.asarray(c["y"]) for k, c in CASES.items()}
    assert any(len(np.unique(c["a"])) < len(c["a"]) / 10 for c in CASES.values())  # heavy ties
    assert max(len(y) for y in ys.values()) >= 5000
    assert min(int(y.sum()) for y in ys.values()) <= 3
    assert any(c["auc_a"] < 0.5 for c in CASES.values())
    assert any(c["ci95_a"][1] == 1.0 for c in CASES.values())
    assert any(abs(c["z"]) > 5 for c in CASES.values())


# --------------------------------------------------------------------------- naive / sklearn

@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fast_delong_equals_naive(data):
    n = data.draw(st.integers(4, 40))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if y.sum() < 2 or (1 - y).sum() < 2:
        y[:2], y[2:4] = 1, 0
    # small integer scores: plenty of ties
    a = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), float)
    b = np.array(data.draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=n, max_size=n)))
    auc_a, auc_b, s = naive_delong(y, a, b)
    t = roc.delong_test(y, a, b)
    np.testing.assert_allclose([t.auc_a, t.auc_b], [auc_a, auc_b], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose([t.var_a, t.var_b, t.cov], [s[0, 0], s[1, 1], s[0, 1]], rtol=1e-10, atol=1e-14)


def test_auc_equals_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    s = np.round(rng.normal(size=1000) + y, 1)
    assert roc.auc(y, s) == pytest.approx(roc_auc_score(y, s), rel=1e-12)


def test_placements_average_to_auc():
    c = CASES["correlated_200"]
    a, v10, v01 = roc.delong_placements(c["y"], c["a"])
    assert v10.mean() == pytest.approx(a, rel=1e-12)
    assert v01.mean() == pytest.approx(a, rel=1e-12)


def test_auc_of_boolean_labels_and_docstring_example():
    assert roc.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc.auc(np.array([False, False, True, True]), [0.1, 0.4, 0.35, 0.8]) == 0.75


# --------------------------------------------------------------------------- properties

@settings(max_examples=50, deadline=None)
@given(st.data())
def test_auc_invariant_under_monotone_transform(data):
    n = data.draw(st.integers(2, 50))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[0], y[1] = 0, 1
    s = np.array(data.draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n)), float) / 4
    shift = data.draw(st.floats(-5, 5))
    scale = data.draw(st.floats(0.1, 10))
    for transformed in (np.exp(s), s ** 3, scale * s + shift, np.arctan(s)):
        assert roc.auc(y, transformed) == roc.auc(y, s)
    # a decreasing transform mirrors the AUC
    assert roc.auc(y, -s) == pytest.approx(1 - roc.auc(y, s), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_delong_test_antisymmetric(data):
    n = data.draw(st.integers(4, 60))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:2], y[2:4] = 0, 1
    a = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), float)
    b = np.array(data.draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n)))
    ab, ba = roc.delong_test(y, a, b), roc.delong_test(y, b, a)
    assert ab.z == -ba.z
    assert ab.p_value == pytest.approx(ba.p_value, abs=1e-15)
    assert (ab.auc_a, ab.auc_b, ab.var_a, ab.var_b) == (ba.auc_b, ba.auc_a, ba.var_b, ba.var_a)
    assert ab.cov == pytest.approx(ba.cov, rel=1e-12, abs=1e-18)
    assert ab.diff_low == pytest.approx(-ba.diff_high, abs=1e-12)


def test_identical_scorers_give_z0_p1():
    c = CASES["correlated_200"]
    t = roc.delong_test(c["y"], c["a"], c["a"])
    assert (t.z, t.p_value, t.diff_low, t.diff_high) == (0.0, 1.0, 0.0, 0.0)


# --------------------------------------------------------------------------- bootstrap

def test_bootstrap_ci_reproducible_and_close_to_delong():
    c = CASES["large_ties_5000"]
    b1 = roc.bootstrap_ci(c["y"], c["a"], n_boot=400, seed=3)
    b2 = roc.bootstrap_ci(c["y"], c["a"], n_boot=400, seed=3)
    assert b1 == b2
    reps = roc.bootstrap_aucs(c["y"], c["a"], n_boot=400, seed=3)
    assert reps.shape == (400,) and b1.variance == np.var(reps, ddof=1)
    assert (b1.low, b1.high) == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), rel=1e-12)
    assert b1.method == "bootstrap-stratified" and b1.auc == pytest.approx(c["auc_a"], rel=1e-12)
    assert b1.low < b1.auc < b1.high
    # n = 5000: the bootstrap and DeLong variances estimate the same quantity
    assert b1.variance == pytest.approx(c["var_a"], rel=0.25)
    d = roc.delong_ci(c["y"], c["a"])
    assert abs(b1.low - d.low) < 0.005 and abs(b1.high - d.high) < 0.005


def test_bootstrap_stratified_keeps_classes_unstratified_may_not():
    # perfectly separated: every stratified replicate has AUC 1
    y = np.array([0] * 5 + [1] * 5)
    s = np.arange(10.0)
    b = roc.bootstrap_ci(y, s, n_boot=200, seed=0)
    assert (b.low, b.high, b.variance) == (1.0, 1.0, 0.0)
    u = roc.bootstrap_ci(y, s, n_boot=200, seed=0, stratified=False)
    assert u.method == "bootstrap" and u.low == 1.0  # still separated, though class counts vary
    y2 = np.array([0] * 6 + [1] * 4)
    s2 = np.array([0.1, 0.9, 0.2, 0.3, 0.75, 0.4, 0.35, 0.8, 0.7, 0.6])
    assert roc.bootstrap_ci(y2, s2, n_boot=300, seed=1, stratified=False) != roc.bootstrap_ci(
        y2, s2, n_boot=300, seed=1, stratified=True)


# --------------------------------------------------------------------------- operating points, curve

def test_specificity_at_sensitivity_matches_brute_force():
    rng = np.random.default_rng(5)
    for trial in range(20):
        n = int(rng.integers(10, 80))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.normal(size=n) + y, 1)
        target = float(rng.uniform(0.05, 1.0))
        x, z = s[y == 1], s[y == 0]
        best = max(np.mean(z < t) for t in np.unique(s) if np.mean(x >= t) >= target)
        assert roc.specificity_at_sensitivity(y, s, target) == best


def test_specificity_at_paper_operating_point():
    # 1000 cases with distinct scores: 86.9 % sensitivity calls exactly the top 869 positive
    y = np.r_[np.ones(1000), np.zeros(1000)]
    s = np.r_[np.arange(1000.0), np.arange(1000.0) - 500.5]
    # threshold = the 869th highest case score = 131; controls -500.5 ... 130.5 lie below: 632
    assert roc.specificity_at_sensitivity(y, s, 0.869) == 0.632


def test_roc_curve_wraps_sklearn():
    c = CASES["small_25"]
    fpr, tpr, thr = roc.roc_curve(c["y"], c["a"])
    assert fpr[0] == 0 and tpr[-1] == 1 and fpr[-1] == 1
    assert np.trapezoid(tpr, fpr) == pytest.approx(c["auc_a"], rel=1e-12)


# --------------------------------------------------------------------------- multi-class, p-values

def test_pairwise_summary_equals_sklearn_ovo_macro():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 1.2 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p = np.round(p, 2)  # ties
    p = p / p.sum(1, keepdims=True)
    summary = roc.pairwise_auc_summary(y, p)
    assert set(summary.pairs) == {(0, 1), (0, 2), (1, 2)}
    assert summary.mean == pytest.approx(roc_auc_score(y, p, multi_class="ovo", average="macro"), rel=1e-12)
    keep = np.isin(y, (0, 1))
    assert summary.pairs[(0, 1)] == pytest.approx(
        0.5 * (roc_auc_score(y[keep] == 1, p[keep, 1]) + roc_auc_score(y[keep] == 0, p[keep, 0])), rel=1e-12)


def test_pairwise_summary_with_named_labels():
    y = np.array(["neg", "mal", "ben", "neg", "mal", "ben"])
    p = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    s = roc.pairwise_auc_summary(y, p, labels=["neg", "mal", "ben"])
    assert s.mean == 1.0 and ("neg", "mal") in s.pairs


def test_adjust_pvalues_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.20]
    # Holm: sorted 0.01*4, 0.03*3, 0.04*2, 0.20*1, made monotone
    np.testing.assert_allclose(roc.adjust_pvalues(p), [0.04, 0.09, 0.09, 0.20])
    np.testing.assert_allclose(roc.adjust_pvalues(p, method="bonferroni"), [0.04, 0.16, 0.12, 0.80])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("y, s, message", [
    ([1, 1, 1], [0.1, 0.2, 0.3], "only cases"),
    ([0, 0], [0.1, 0.2], "only controls"),
    ([0, 1, 1], [0.1, 0.2], "length mismatch"),
    ([0, 1, 1], [0.1, np.nan, 0.3], "NaN/inf"),
    ([0, 1, 1], [0.1, np.inf, 0.3], "NaN/inf"),
    ([0, 1, 2], [0.1, 0.2, 0.3], "two values"),
    ([1, 2, 2], [0.1, 0.2, 0.3], "0 \\(control\\) and 1"),
    ([], [], "empty"),
    (["a", "b"], [0.1, 0.2], "0/1"),
])
def test_bad_input_raises_value_error(y, s, message):
    for call in (lambda: roc.auc(y, s), lambda: roc.delong_ci(y, s), lambda: roc.bootstrap_ci(y, s, n_boot=10),
                 lambda: roc.specificity_at_sensitivity(y, s, 0.5), lambda: roc.delong_test(y, s, s)):
        with pytest.raises(ValueError, match=message):
            call()


def test_other_bad_arguments():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    with pytest.raises(ValueError, match="at least 2 cases"):
        roc.delong_ci([0, 0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="scores_b"):
        roc.delong_test(y, s, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="level"):
        roc.delong_ci(y, s, level=95)
    with pytest.raises(ValueError, match="sensitivity"):
        roc.specificity_at_sensitivity(y, s, 86.9)
    with pytest.raises(ValueError, match="n_boot"):
        roc.bootstrap_ci(y, s, n_boot=0)
    with pytest.raises(ValueError, match="pvalues"):
        roc.adjust_pvalues([0.5, 1.5])
    with pytest.raises(ValueError, match="length mismatch"):
        roc.pairwise_auc_summary([0, 1, 2], np.ones((4, 3)))
    with pytest.raises(ValueError, match="not in"):
        roc.pairwise_auc_summary([0, 1, 3], np.ones((3, 3)))
