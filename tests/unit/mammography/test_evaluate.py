import numpy as np
import pytest
import torch

pytest.importorskip("companion.metrics.roc")

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
    summaries = {}
    for st in STRATEGIES:
        for sc in SCENARIOS:
            a = base[sc] + (incremental_gain if st == "incremental" else 0.0)
            summaries[(st, sc)] = {"auc": a, "ci_low": a - 0.1, "ci_high": a + 0.1}
    delong = {sc: p for sc in SCENARIOS if sc != "triple"}
    return summaries, delong, spec, {"malignant_vs_negative": called, "malignant_vs_recalled": called}


def test_claims_table_holds_where_the_run_agrees_with_the_paper():
    from companion.mammography.evaluate import claims_table

    table = claims_table(*_claim_inputs())
    assert len(table) == 6 and table["holds"].all()
    assert list(table.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    assert "0.81" in table.loc[0, "paper"] and "0.66" not in table.loc[0, "paper"]  # binary FFDM range only


def test_claims_table_fails_each_claim_on_the_evidence_against_it():
    from companion.mammography.evaluate import claims_table

    summaries, delong, spec, called = _claim_inputs(incremental_gain=-0.01, p=0.01, spec=0.70, called=0.4)
    summaries[("ffdm", "malignant_vs_rest")]["ci_low"] = 0.45
    summaries[("ddsm", "malignant_vs_negative")]["auc"] = 0.99
    holds = claims_table(summaries, delong, spec, called).set_index("claim")["holds"]
    assert not holds.any(), holds
    assert "3 of 4" in claims_table(summaries, delong, spec, called).loc[1, "this run"]


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
    assert len(claims_table(*_claim_inputs()[:3])) == 5  # no interval-cancer claim without its shares
