import json

from companion.book.paths import BASELINES
from companion.mammography import STRATEGIES
from companion.mammography.data import SCENARIOS
from companion.mammography.paper import PAPER_AUC, REPORTED


def test_paper_covers_every_strategy_and_scenario():
    assert set(PAPER_AUC) == {(s, c) for s in STRATEGIES for c in SCENARIOS}
    for auc, low, high, _ in PAPER_AUC.values():
        assert 0.5 < auc < 1.0
        assert (low is None) == (high is None) and (low is None or low <= auc <= high)


def test_reported_metrics_are_recorded_by_the_evaluation_notebook():
    path = BASELINES / "mammography" / "05-evaluation.json"
    recorded = set(json.loads(path.read_text())["metrics"])
    for number in REPORTED:
        key, _, metric = number.ours.partition(":")
        assert key == "mammography/05-evaluation"
        assert metric in recorded, metric
