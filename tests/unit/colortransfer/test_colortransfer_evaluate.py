"""Measures, the method table and the ablation sweep on tiny images."""

import numpy as np
import pytest

from companion.colortransfer.data import PAIRS, load_pair, pairs
import pandas as pd

from companion.colortransfer.evaluate import (ablation_table, claims_counts, claims_table, color_measures,
                                          evaluate_pairs, headroom_table, run_method, summarise)


def test_measures_of_identical_images_are_ideal_and_of_different_ones_are_not():
    t, r = load_pair(PAIRS[2], max_side=40)
    same = color_measures(r, r, r)
    assert same["w1_lab"] == pytest.approx(0, abs=1e-9) and same["ssim_L"] == pytest.approx(1, abs=1e-9)
    diff = color_measures(t, t, r)
    assert diff["w1_lab"] > 1 and diff["swd_lab"] > 1 and diff["ciede2000"] == pytest.approx(0, abs=1e-6)


def test_evaluate_pairs_runs_every_method_and_is_deterministic():
    methods = ("reinhard", "pitie_idt", "histogram", "ours_hard_argmax", "ours")
    a, images = evaluate_pairs(pairs(1), methods, max_side=32, keep_images=True, features="handcrafted")
    b, _ = evaluate_pairs(pairs(1), methods, max_side=32, features="handcrafted")
    assert list(a.method) == list(methods)
    cols = ["w1_lab", "swd_lab", "ssim_L", "ciede2000", "colorfulness"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    assert list(summarise(a).index) == list(methods)
    assert images[(PAIRS[0].name, "ours")].shape == images[(PAIRS[0].name, "target")].shape
    with pytest.raises(ValueError, match="unknown method"):
        run_method("magic", images[(PAIRS[0].name, "target")], images[(PAIRS[0].name, "reference")])


def test_ablation_rows_and_zero_difference_at_the_paper_setting():
    table = ablation_table(pairs(1), {"tau": [0.02, 0.1]}, max_side=32, base={"features": "handcrafted"})
    assert len(table) == 2
    assert table.loc[table.value == "0.02", "diff_from_paper"].item() == 0.0
    assert table.loc[table.value == "0.1", "diff_from_paper"].item() > 0.0


def test_fast_sliced_wasserstein_equals_the_metrics_module():
    from companion.colortransfer.evaluate import sliced_wasserstein
    from companion.metrics import color as cm

    t, r = load_pair(PAIRS[0], max_side=128)
    assert sliced_wasserstein(t, r, seed=3) == pytest.approx(cm.sliced_wasserstein(t, r, seed=3), rel=1e-9)
    t, r = load_pair(PAIRS[0], max_side=32)  # under 5,000 pixels: the module's own path
    assert sliced_wasserstein(t, r) == pytest.approx(cm.sliced_wasserstein(t, r), rel=1e-12)


def test_consistency_measures_see_colour_changes_inside_flat_regions():
    from companion.colortransfer.evaluate import flat_chroma_edges, segment_chroma_spread

    flat = np.full((40, 40, 3), 0.5, np.float32)
    one_region = np.zeros((40, 40), int)
    assert segment_chroma_spread(flat, one_region) == pytest.approx(0, abs=1e-6)
    split = flat.copy()
    split[:, 20:] = (0.6, 0.4, 0.5)  # a colour step the flat target does not have
    assert segment_chroma_spread(split, one_region) > 3
    halves = np.where(np.arange(40)[None, :] < 20, 0, 1).repeat(40, 0)
    assert segment_chroma_spread(split, halves) == pytest.approx(0, abs=1e-4)  # uniform inside each region
    assert flat_chroma_edges(flat, flat) == pytest.approx(0, abs=1e-9)
    assert flat_chroma_edges(split, flat) > 0.5
    # The same colour step where the target has a luminance edge is not counted.
    edged = flat.copy()
    edged[:, 20:] = 0.9
    assert flat_chroma_edges(split, edged) < 0.1 * flat_chroma_edges(split, flat)


def test_contribution_table_rows_regrain_and_paired_tests():
    from companion.colortransfer.evaluate import ablation_summary, contribution_table, paired_test

    rows = ("ours", "deep_hard_argmax", "stats_constrained", "reinhard", "identity")
    table, images = contribution_table(pairs(2), rows, max_side=32, features="handcrafted", keep_images=True)
    assert len(table) == 2 * (2 * 4 + 1)
    ours = table[table.row == "ours"]
    assert (ours.diff_from_ours == 0).all() and set(ours.regrain) == {True, False}
    assert table[(table.row == "identity")].ssim_L.min() == pytest.approx(1.0)
    name = PAIRS[0].name
    assert not np.array_equal(images[(name, "ours", True)], images[(name, "ours", False)])
    again, _ = contribution_table(pairs(2), rows, max_side=32, features="handcrafted")
    cols = ["swd_lab", "ssim_L", "segment_chroma_spread", "flat_chroma_edges", "diff_from_ours"]
    np.testing.assert_array_equal(table[cols].to_numpy(), again[cols].to_numpy())
    summary = ablation_summary(table)
    assert ("stats_constrained", True) in summary.index and ("identity", False) in summary.index
    assert summary.loc[("reinhard", False), "ssim_L: ours better"].endswith("/2")
    with pytest.raises(ValueError, match="'ours' row"):
        contribution_table(pairs(1), ("reinhard",), max_side=32)


def test_paired_test_counts_and_wilcoxon_p():
    import pandas as pd
    from scipy.stats import wilcoxon

    from companion.colortransfer.evaluate import paired_test

    ours = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    other = [1.5, 2.5, 2.0, 5.0, 6.5, 7.0]
    table = pd.DataFrame([dict(pair=f"p{i}", row=r, regrain=True, m=v) for r, vals in (("ours", ours), ("x", other))
                          for i, v in enumerate(vals)])
    got = paired_test(table, "m", "x", True)
    d = np.subtract(other, ours)
    assert got["n"] == 6 and got["row_higher"] == 5 and got["row_lower"] == 1
    assert got["p"] == pytest.approx(wilcoxon(d).pvalue)
    assert got["mean_diff"] == pytest.approx(d.mean())


def _table(n, ours, others):
    """A contribution table where every measure of "ours" is ``ours`` and of each other row ``others[row]``."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        for row, base in [("ours", ours), *others.items()]:
            jitter = rng.uniform(0, 0.01)
            lines.append(dict(pair=f"p{i}", row=row, regrain=True, segment_chroma_spread=base + jitter,
                              flat_chroma_edges=base + jitter, colorfulness=base + jitter))
    return pd.DataFrame(lines)


def test_claims_hold_when_ours_is_lower_everywhere_and_fail_otherwise():
    rows = ("deep_hard_argmax", "stats_constrained", "reinhard", "pitie_idt")
    good = claims_table(_table(8, 1.0, {r: 2.0 for r in rows}), {"pixel": 2.1, "superpixel": 0.9})
    assert list(good.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    assert claims_counts(good) == {"claims_total": 8, "claims_testable": 7, "claims_held": 7}
    bad = claims_table(_table(8, 3.0, {r: 2.0 for r in rows}), {"pixel": 1.2, "superpixel": 1.9})
    assert claims_counts(bad)["claims_held"] == 0
    few = claims_table(_table(3, 1.0, {r: 2.0 for r in rows}))  # 3 pairs: p >= 0.125, nothing can hold
    assert claims_counts(few) == {"claims_total": 8, "claims_testable": 5, "claims_held": 0}
    with pytest.raises(ValueError, match="pitie_idt"):
        claims_table(_table(3, 1.0, {"deep_hard_argmax": 2.0}))


def test_headroom_table_picks_the_best_control_in_the_measure_direction():
    table = _table(4, 5.0, {"reinhard": 10.0, "pitie_idt": 12.0, "stats_constrained": 4.0, "identity": 1.0})
    head = headroom_table(table)
    assert list(head.index) == ["baseline", "ours", "ceiling"]
    assert list(head.row) == ["reinhard", "ours", "stats_constrained"]  # identity is not a control
    assert head.loc["ours", "share of the gap closed"] == pytest.approx((5 - 10) / (4 - 10), abs=0.01)
    assert (head.pairs == 4).all()
    fixed = headroom_table(table, ceiling="pitie_idt")
    assert np.isnan(fixed.loc["ours", "share of the gap closed"])  # a "ceiling" worse than the baseline: no gap
    with pytest.raises(ValueError, match="no better direction"):
        headroom_table(table, "colorfulness")
    with pytest.raises(ValueError, match="'reinhard'"):
        headroom_table(table[table.row != "reinhard"])
    with pytest.raises(ValueError, match="no control"):
        headroom_table(table[table.row.isin(["ours", "reinhard", "identity"])])
