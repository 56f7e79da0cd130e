import numpy as np
import pytest
import torch

from companion.mammography.evaluate import (called_malignant, compare_runs, grad_cam, holm_adjust, pairwise_aucs,
                                            summarize_run, triple_auc)
from companion.mammography.models import ModifiedAlexNet
from companion.mammography.train import ScenarioRun


def _run(strategy, y, proba, index=None):
    index = np.arange(len(y)) if index is None else index
    return ScenarioRun(strategy, "malignant_vs_negative", None, [], index, np.asarray(y), np.asarray(proba), 0.0, 0.0)


def test_triple_auc_is_pairwise_mean_and_matches_sklearn_ovo():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    logits = rng.normal(size=(90, 3)) + 1.2 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    pairs = pairwise_aucs(y, proba)
    assert set(pairs) == {(0, 1), (0, 2), (1, 2)}
    assert triple_auc(y, proba) == pytest.approx(np.mean(list(pairs.values())))
    assert triple_auc(y, proba) == pytest.approx(roc_auc_score(y, proba, multi_class="ovo"), abs=1e-12)


def test_summaries_and_delong_comparison():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 40)
    s_a = y + rng.normal(0, 1.0, 80)
    s_b = y + rng.normal(0, 0.5, 80)
    to_proba = lambda s: np.c_[1 - 1 / (1 + np.exp(-s)), 1 / (1 + np.exp(-s))]
    a, b = _run("ffdm", y, to_proba(s_a)), _run("incremental", y, to_proba(s_b))
    summary = summarize_run(a, n_boot=200, seed=0)
    assert summary["ci_low"] < summary["auc"] < summary["ci_high"]
    assert summary["n"] == 80 and summary["n_positive"] == 40
    test = compare_runs(a, b)
    assert test["auc_b"] > test["auc_a"] and 0 <= test["p_value"] <= 1
    with pytest.raises(ValueError, match="same images"):
        compare_runs(a, _run("incremental", y, to_proba(s_b), index=np.arange(1, 81)))


def test_holm_and_called_malignant():
    adjusted = holm_adjust([0.01, 0.04, 0.03])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06])
    assert called_malignant([0.2, 0.7, 0.9, 0.5]) == 0.5
    with pytest.raises(ValueError):
        called_malignant([])


def test_grad_cam_shape_range_and_target_dependence():
    torch.manual_seed(0)
    model = ModifiedAlexNet(2, width=0.1, fc_features=16, batch_norm=True)
    x = torch.randn(3, 3, 80, 80)
    cam1 = grad_cam(model, model.cam_layer, x, torch.ones(3, dtype=torch.long))
    cam0 = grad_cam(model, model.cam_layer, x, torch.zeros(3, dtype=torch.long))
    assert cam1.shape == (3, 80, 80)
    assert cam1.min() >= 0 and cam1.max() <= 1 + 1e-6
    assert not np.allclose(cam0, cam1)
    assert model.training  # restored


def _claim_inputs(incremental_gain=0.03, p=0.3, spec=0.87, called=0.7):
    from companion.mammography import STRATEGIES
    from companion.mammography.data import SCENARIOS

    base = {"recalled_vs_negative": 0.85, "recalled_vs_rest": 0.75, "malignant_vs_negative": 0.78,
            "malignant_vs_recalled": 0.72, "malignant_vs_rest": 0.70, "triple": 0.66}
    domain = {"ffdm": 0.0, "mixed": 0.03, "ddsm": 0.06, "incremental": incremental_gain}
    summaries = {}
    for st in STRATEGIES:
        for sc in SCENARIOS:
            a = base[sc] + domain[st]
            summaries[(st, sc)] = {"auc": a, "ci_low": a - 0.1, "ci_high": a + 0.1, "constant": False}
    delong = {sc: p for sc in SCENARIOS if sc != "triple"}
    return summaries, delong, spec, {"malignant_vs_negative": called, "malignant_vs_recalled": called}


def _extras(half=0.8, change=-0.01, ratio=3.0):
    import pandas as pd

    robust = pd.DataFrame({"test_fraction": [0.1, 0.1, 0.2, 0.2], "strategy": ["ffdm", "ddsm"] * 2,
                           "scenario": ["malignant_vs_negative"] * 4, "auc": [0.8, 0.9, 0.8 + change, 0.9 + change]})
    cam = {"cam_share": 0.3 * ratio / 3, "random_share": 0.1, "ratio": ratio, "p_value": 0.001, "n": 20}
    return {"malignant_vs_negative": half, "malignant_vs_recalled": half}, robust, cam


def test_claims_table_holds_where_the_run_agrees_with_the_paper():
    from companion.mammography.evaluate import claims_counts, claims_table

    table = claims_table(*_claim_inputs(), *_extras())
    assert len(table) == 11 and table["holds"].all(), table
    assert list(table.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    assert "0.81" in table.loc[0, "paper"] and "0.66" not in table.loc[0, "paper"]  # binary FFDM range only
    assert claims_counts(table) == {"claims_total": 11, "claims_testable": 11, "claims_held": 11}


def test_claims_table_fails_each_claim_on_the_evidence_against_it():
    from companion.mammography.evaluate import claims_table

    summaries, delong, spec, called = _claim_inputs(incremental_gain=-0.01, p=0.01, spec=0.70, called=0.4)
    summaries[("ffdm", "malignant_vs_rest")]["ci_low"] = 0.45
    summaries[("ddsm", "malignant_vs_negative")]["auc"] = 0.99
    summaries[("ddsm", "triple")]["auc"] = 0.5  # DDSM below FFDM and below mixed in one scenario
    holds = claims_table(summaries, delong, spec, called, *_extras(half=0.3, change=-0.2, ratio=1.1))
    holds = holds.set_index("claim")["holds"]
    assert not holds.any(), holds
    assert "3 of 4" in claims_table(summaries, delong, spec, called).loc[1, "this run"]


def test_claims_table_reports_constant_models_and_untested_claims():
    from companion.mammography.evaluate import claims_counts, claims_table

    summaries, delong, spec, _ = _claim_inputs()
    summaries[("ddsm", "malignant_vs_negative")] = {"auc": float("nan"), "ci_low": float("nan"),
                                                    "ci_high": float("nan"), "constant": True}
    table = claims_table(summaries, delong, spec)
    assert "constant-output models: ddsm/malignant_vs_negative" in table.loc[2, "this run"]
    assert table.loc[2, "holds"] is False  # a constant model is never "easier"
    counts = claims_counts(table)
    assert counts["claims_total"] == 11 and counts["claims_testable"] == 7  # 4 rows not run


def test_claims_table_names_missing_inputs():
    from companion.mammography.evaluate import claims_table

    summaries, delong, spec, called = _claim_inputs()
    del summaries[("mixed", "triple")]
    with pytest.raises(ValueError, match="missing.*mixed"):
        claims_table(summaries, delong, spec, called)
    summaries, delong, spec, called = _claim_inputs()
    del delong["malignant_vs_rest"]
    with pytest.raises(ValueError, match="DeLong.*malignant_vs_rest"):
        claims_table(summaries, delong, spec, called)


def test_constant_output_is_detected_and_never_scored():
    from types import SimpleNamespace

    from companion.mammography.evaluate import constant_output, summarize_run

    assert constant_output(np.full((5, 2), 0.5)) and not constant_output(np.array([0.1, 0.2]))
    run = SimpleNamespace(proba=np.tile([0.4, 0.6], (6, 1)), y_true=np.array([0, 1] * 3))
    summary = summarize_run(run, n_boot=50)
    assert summary["constant"] and np.isnan(summary["auc"]) and np.isnan(summary["ci_low"])
    run = SimpleNamespace(proba=np.column_stack([1 - np.linspace(0, 1, 6), np.linspace(0, 1, 6)]),
                          y_true=np.array([0, 0, 0, 1, 1, 1]), scores=np.linspace(0, 1, 6))
    assert summarize_run(run, n_boot=50)["auc"] == 1.0
    with pytest.raises(ValueError):
        constant_output(np.array([]))


def test_cam_metrics_against_random_maps():
    from companion.mammography.evaluate import cam_gathers_on_findings, cam_mass_inside, cam_on_breast

    masks = np.zeros((6, 32, 32), bool)
    for i in range(6):
        masks[i, 4 + 4 * i: 10 + 4 * i, 10:16] = True
    on_target = masks.astype(float) + 0.01
    result = cam_gathers_on_findings(on_target, masks, n_random=50)
    assert result["cam_share"] > 0.7 and result["random_share"] < 0.15 and result["p_value"] < 0.05
    flat = np.ones((6, 32, 32))
    result = cam_gathers_on_findings(flat, masks, n_random=50)
    assert 0.5 < result["ratio"] < 2.0 and result["p_value"] > 0.05  # a map that ignores the image is not "on findings"
    np.testing.assert_allclose(cam_mass_inside(flat, masks), 36 / 1024)
    images = np.zeros((6, 32, 32), np.uint8)
    images[:, :, :16] = 200
    assert cam_on_breast(flat, images) == {"cam_share": 0.5, "area_share": 0.5}
    with pytest.raises(ValueError, match="at least 2"):
        cam_gathers_on_findings(flat[:1], masks[:1])
    with pytest.raises(ValueError, match="must both be"):
        cam_mass_inside(flat, masks[:, :16])


def test_beyond_noise_and_false_negative_split():
    import pandas as pd

    from companion.mammography.evaluate import beyond_noise, false_negative_protocol

    results = pd.DataFrame({"variant": ["ref"] * 3 + ["better"] * 3 + ["same"] * 3, "seed": [0, 1, 2] * 3,
                            "auc": [0.70, 0.71, 0.69, 0.90, 0.92, 0.88, 0.70, 0.72, 0.69]})
    table = beyond_noise(results, "ref")
    assert table.loc["better", "beyond noise"] == "yes" and table.loc["same", "beyond noise"] == "no"
    assert table.loc["ref", "beyond noise"] == "(reference)" and table.loc["better", "p_paired"] < 0.01
    one = beyond_noise(results[results["seed"] == 0], "ref")
    assert one.loc["better", "beyond noise"] == "one seed: unknown"
    with pytest.raises(ValueError, match="reference"):
        beyond_noise(results, "missing")
    ids = np.array(["a", "a", "b", "b", "c", "d"])
    half = false_negative_protocol(ids, seed=0)
    assert len(set(ids[half])) == 2 and half[0] == half[1] and half[2] == half[3]  # whole patients
    np.testing.assert_array_equal(half, false_negative_protocol(ids, seed=0))
    with pytest.raises(ValueError, match="at least 2"):
        false_negative_protocol(np.array(["a", "a"]))


def test_table1_layout_counts_our_balanced_sets_beside_the_paper(tiny_data):
    from companion.mammography.evaluate import table1_layout
    from companion.mammography.train import scenario_subset, strategy_indices

    table = table1_layout(tiny_data)
    assert table.shape == (8, 8)
    _, targets = scenario_subset(tiny_data, strategy_indices(tiny_data, "ffdm")["test"], "malignant_vs_negative", True, 0)
    assert table.loc[("ffdm", "others"), ("test", "total", "ours")] == len(targets)
    assert table.loc[("ffdm", "others"), ("test", "per category", "ours")] * 2 == len(targets)
    assert table.loc[("mixed", "negative vs recalled-benign"), ("train", "total", "paper")] == 8322


def test_headroom_table_and_gap_closed():
    from companion.mammography.evaluate import gap_closed, headroom_table

    table = headroom_table(0.5, 0.77, 0.98, spread=0.03)
    assert list(table.index) == ["baseline (chance)", "ours", "ceiling (oracle)"]
    assert table.loc["ours", "gap closed"] == pytest.approx((0.77 - 0.5) / (0.98 - 0.5))
    assert table.loc["ours", "spread"] == 0.03 and table["value"].tolist() == [0.5, 0.77, 0.98]
    assert np.isnan(gap_closed(0.6, 0.5, 0.5))  # no gap to close
    assert np.isnan(headroom_table(0.5, 0.7, None).loc["ours", "gap closed"])  # real data: no oracle


def test_seed_summary_averages_seeds_on_the_same_test_images():
    from companion.mammography.evaluate import seed_summary

    y = np.array([0, 0, 0, 1, 1, 1])
    perfect = _run("ffdm", y, np.c_[1 - y, y].astype(float))
    half = _run("ffdm", y, np.c_[np.ones(6) - [.2, .6, .4, .5, .3, .7], [.2, .6, .4, .5, .3, .7]])
    half.seed = 1
    flat = _run("ffdm", y, np.full((6, 2), 0.5))
    flat.seed = 2
    out = seed_summary([perfect, half, flat])
    assert out["aucs"] == {0: 1.0, 1: pytest.approx(6 / 9)} and out["n_constant"] == 1
    assert out["mean"] == pytest.approx((1 + 6 / 9) / 2) and out["std"] > 0 and out["n_seeds"] == 2
    with pytest.raises(ValueError, match="different test images"):
        seed_summary([perfect, _run("ffdm", y, perfect.proba, index=np.arange(6) + 1)])

