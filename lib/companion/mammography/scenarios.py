"""The paper's six classification scenarios: which manifest labels each scores as positive and negative.

The paper trains one model per scenario (Results): five binary ones and the triple classification
negative / recalled-benign / malignant. Kept apart from `data` (loading) and `train` (fitting) because
the data page, the training code, the oracle and the claims all read them.
"""

from __future__ import annotations

import numpy as np

from companion.mammography import LABELS

LABEL_CODE = {name: code for code, name in enumerate(LABELS)}  # manifest label -> class code

# name -> (classes scored as positive, classes scored as negative); the triple scenario has None.
SCENARIOS = {
    "malignant_vs_rest": (("malignant",), ("recalled_benign", "negative")),
    "malignant_vs_negative": (("malignant",), ("negative",)),
    "malignant_vs_recalled": (("malignant",), ("recalled_benign",)),
    "recalled_vs_negative": (("recalled_benign",), ("negative",)),
    "recalled_vs_rest": (("recalled_benign",), ("malignant", "negative")),
    "triple": None,
}
SCENARIO_TITLES = {
    "malignant_vs_rest": "malignant vs recalled-benign + negative",
    "malignant_vs_negative": "malignant vs negative",
    "malignant_vs_recalled": "malignant vs recalled-benign",
    "recalled_vs_negative": "negative vs recalled-benign",
    "recalled_vs_rest": "recalled-benign vs malignant + negative",
    "triple": "malignant vs negative vs recalled-benign",
}


def check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    return scenario


def scenario_targets(labels, scenario: str) -> tuple[np.ndarray, np.ndarray]:
    """Map class codes to one scenario's targets.

    Parameters
    ----------
    labels : array-like of int, shape [N]
        Class codes (0 negative, 1 recalled-benign, 2 malignant).
    scenario : str
        A key of `SCENARIOS`.

    Returns
    -------
    keep : bool ndarray [N]
        Images that take part in the scenario (e.g. no recalled-benign in malignant vs negative).
    target : int64 ndarray [keep.sum()]
        1 for the positive class(es) and 0 for the others; for ``"triple"`` the class codes.
    """
    check_scenario(scenario)
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(LABELS)):
        raise ValueError(f"class codes must lie in 0..{len(LABELS) - 1}, got {sorted(set(labels.tolist()))}")
    if SCENARIOS[scenario] is None:
        return np.ones(len(labels), bool), labels.astype(np.int64)
    positive, negative = SCENARIOS[scenario]
    pos_codes = [LABEL_CODE[c] for c in positive]
    neg_codes = [LABEL_CODE[c] for c in negative]
    keep = np.isin(labels, pos_codes + neg_codes)
    return keep, np.isin(labels[keep], pos_codes).astype(np.int64)


def scenario_classes(scenario: str) -> int:
    """Number of output classes of a scenario's model (2, or 3 for the triple classification)."""
    return 3 if SCENARIOS[check_scenario(scenario)] is None else 2
