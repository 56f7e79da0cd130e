"""Measures, the method table and the ablation sweep on tiny images."""

import numpy as np
import pytest

from companion.colortransfer.data import PAIRS, load_pair, pairs
from companion.colortransfer.evaluate import ablation_table, color_measures, evaluate_pairs, run_method, summarise


def test_measures_of_identical_images_are_ideal_and_of_different_ones_are_not():
    t, r = load_pair(PAIRS[2], max_side=40)
    same = color_measures(r, r, r)
    assert same["w1_lab"] == pytest.approx(0, abs=1e-9) and same["ssim_L"] == pytest.approx(1, abs=1e-9)
    diff = color_measures(t, t, r)
    assert diff["w1_lab"] > 1 and diff["swd_lab"] > 1 and diff["ciede2000"] == pytest.approx(0, abs=1e-6)


def test_evaluate_pairs_runs_every_method_and_is_deterministic():
    methods = ("reinhard", "pitie_idt", "histogram", "ours_no_attention", "ours")
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
