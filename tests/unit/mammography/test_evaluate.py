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
