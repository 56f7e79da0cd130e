import numpy as np
import pytest

from companion.metrics.findings import KeywordLabeller, bootstrap_finding_scores, finding_scores

VOCAB = {"effusion": r"effusion", "pneumothorax": r"pneumothora", "nodule": r"(?<!non)nodul"}


def test_labeller_negation_scope_and_hedging():
    lab = KeywordLabeller(VOCAB)
    assert lab("Small left effusion. No pneumothorax.") == {"effusion"}
    assert lab("No pneumothorax or pleural effusion.") == frozenset()
    assert lab("There is no pneumothorax, but there is a small effusion.") == {"effusion"}
    assert lab("The left pneumothorax has resolved.") == frozenset()
    assert lab("Bony overlap could obscure a small nodule.") == {"nodule"}  # hedged: present
    assert lab("No change in the right upper lobe nodule.") == {"nodule"}  # "no change" is not a negation
    assert lab("No noncalcified nodule.") == frozenset()
    assert lab("Lungs clear.Small effusion.") == {"effusion"}  # missing space after the full stop
    with pytest.raises(ValueError):
        lab(None)
    with pytest.raises(ValueError, match="vocabulary"):
        KeywordLabeller({})
    with pytest.raises(ValueError, match="invalid pattern"):
        KeywordLabeller({"x": "("})


def test_finding_scores_by_hand():
    findings = list(VOCAB)
    truth = [{"effusion"}, set(), {"nodule", "pneumothorax"}, set()]
    pred = [{"effusion"}, {"nodule"}, {"nodule"}, set()]
    s = finding_scores(truth, pred, findings)
    # tp = 2 (effusion, nodule), predicted 3, true 3
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert s["exact_match"] == pytest.approx(2 / 4) and s["normal_agreement"] == pytest.approx(3 / 4)
    # per finding F1: effusion 1, pneumothorax 0, nodule 2*1/(2+1)
    assert s["macro_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)


def test_never_naming_a_finding_scores_zero_and_perfect_scores_one():
    truth = [{"effusion"}, set(), {"nodule"}]
    none = finding_scores(truth, [set()] * 3, list(VOCAB))
    assert none["f1"] == none["precision"] == none["recall"] == 0.0 and none["normal_agreement"] == pytest.approx(1 / 3)
    perfect = finding_scores(truth, truth, list(VOCAB))
    assert perfect["f1"] == perfect["exact_match"] == perfect["normal_agreement"] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="not in the vocabulary"):
        finding_scores([{"mass"}], [set()], list(VOCAB))
    with pytest.raises(ValueError, match="2 true sets"):
        finding_scores([set(), set()], [set()], list(VOCAB))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_finding_scores([set()], [set()], list(VOCAB), n_boot=0)


def test_bootstrap_intervals_bracket_the_value_and_are_seeded():
    rng = np.random.default_rng(0)
    names = list(VOCAB)
    truth = [set(np.array(names)[rng.random(3) < 0.3]) for _ in range(200)]
    pred = [t if rng.random() < 0.7 else set() for t in truth]
    a = bootstrap_finding_scores(truth, pred, names, n_boot=300, seed=1)
    b = bootstrap_finding_scores(truth, pred, names, n_boot=300, seed=1)
    assert a == b
    for value, low, high in a.values():
        assert low <= value <= high
    assert a["precision"][0] == 1.0 and a["recall"][2] < 1.0
