"""Clinical correctness of generated reports: a keyword labeller and finding-level scores.

Report-generation papers score text overlap (BLEU, METEOR, ROUGE-L, see `companion.metrics.nlg`).
Text overlap rewards the phrasing shared by all reports ("the lungs are clear") and barely
notices a missed finding. The clinical-efficacy measures of later work (CheXpert-labelled
precision/recall/F1 in R2Gen's successors) label the findings mentioned in the generated and the
reference report and compare the two label sets. This module does that with a small, explicit
labeller:

* `KeywordLabeller` splits a report into sentences and marks finding *f* present when a sentence
  matches *f*'s regular expression and no negation cue ("no", "without", "free of", "not", ...)
  precedes the match in that sentence (a NegEx-style rule restricted to one sentence). Hedged
  mentions ("could obscure a nodule") count as present; "but", "however", ... end a negation's
  scope; a few cues after the finding negate it too ("has resolved", "not seen"). The vocabulary (finding -> pattern) is
  the caller's: each chapter passes its own.
* `finding_scores` compares predicted and true finding sets: micro-averaged precision, recall
  and F1 over (study, finding) pairs, macro F1 over findings, exact set agreement and
  normal/abnormal agreement (normal = empty set).
* `bootstrap_finding_scores` gives percentile intervals by resampling studies.

Conventions (written out because they change numbers): a precision with no predicted positive
is 0 (a system that never names a finding has precision 0, recall 0, F1 0), and so is a recall
with no true positive; macro F1 averages only findings present in the truth or the predictions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["KeywordLabeller", "finding_scores", "bootstrap_finding_scores", "NEGATION_CUES", "POST_NEGATION_CUES", "TERMINATION_CUES", "SCORE_NAMES"]

#: Words that negate a finding named later in the same sentence.
NEGATION_CUES = (r"\bno\b(?!\s+(?:interval\s+|significant\s+)?change)", r"\bnot\b", r"\bwithout\b", r"\bfree of\b", r"\bclear of\b", r"\bnegative for\b",
                 r"\bno evidence\b", r"\bresolved\b", r"\bresolution of\b", r"\bnor\b", r"\bneither\b",
                 r"\brule out\b")
#: Words that negate a finding named EARLIER in the same sentence ("the pneumothorax has resolved").
POST_NEGATION_CUES = (r"\bresolved\b", r"\bresolution\b", r"\bnot (?:definitely |clearly )?(?:seen|identified|visualized|"
                      r"present|demonstrated|evident)\b", r"\bremoved\b", r"\bexcluded\b")
#: Words after which an earlier negation no longer applies ("no effusion, but a small nodule").
TERMINATION_CUES = (r"\bbut\b", r"\bhowever\b", r"\balthough\b", r"\bexcept\b", r"\bapart from\b")
SCORE_NAMES = ("precision", "recall", "f1", "macro_f1", "exact_match", "normal_agreement")
_SENTENCE_END = re.compile(r"(?<=[.;])\s+|(?<=\.)(?=[A-Z])|\n+")


class KeywordLabeller:
    """Label the findings a report asserts, from a vocabulary of regular expressions.

    Parameters
    ----------
    vocabulary : mapping finding name -> regular expression (str)
        Matched case-insensitively against each sentence.
    negations : sequence of regular expressions
        A match of any of these *before* the finding's match, in the same sentence, negates it.
    terminations : sequence of regular expressions
        A negation followed by one of these ("but", "however", ...) stops applying.
    post_negations : sequence of regular expressions
        A match of any of these *after* the finding, in the same sentence (up to a termination
        cue), negates it ("the pneumothorax has resolved").

    Examples
    --------
    >>> lab = KeywordLabeller({"effusion": r"effusion", "pneumothorax": r"pneumothora"})
    >>> sorted(lab("Small left effusion. No pneumothorax."))
    ['effusion']
    """

    def __init__(self, vocabulary: Mapping[str, str], negations: Sequence[str] = NEGATION_CUES,
                 terminations: Sequence[str] = TERMINATION_CUES, post_negations: Sequence[str] = POST_NEGATION_CUES):
        if not vocabulary:
            raise ValueError("vocabulary is empty: give at least one finding -> pattern")
        self.findings = tuple(vocabulary)
        try:
            self.patterns = {k: re.compile(v, re.IGNORECASE) for k, v in vocabulary.items()}
            self.negation = re.compile("|".join(negations), re.IGNORECASE) if negations else None
            self.termination = re.compile("|".join(terminations), re.IGNORECASE) if terminations else None
            self.post_negation = re.compile("|".join(post_negations), re.IGNORECASE) if post_negations else None
        except re.error as exc:
            raise ValueError(f"invalid pattern in vocabulary or negations: {exc}") from exc

    def sentences(self, report: str) -> list[str]:
        if not isinstance(report, str):
            raise ValueError(f"a report must be a string, got {type(report).__name__}")
        return [s.strip() for s in _SENTENCE_END.split(report) if s.strip()]

    def sentence_findings(self, sentence: str) -> tuple[set[str], set[str]]:
        """(asserted, negated) findings of one sentence."""
        asserted, negated = set(), set()
        for name, pattern in self.patterns.items():
            for match in pattern.finditer(sentence):
                before = sentence[: match.start()]
                if self.termination is not None:
                    stops = list(self.termination.finditer(before))
                    if stops:
                        before = before[stops[-1].end():]
                after = sentence[match.end():]
                if self.termination is not None:
                    stop = self.termination.search(after)
                    if stop:
                        after = after[: stop.start()]
                if (self.negation is not None and self.negation.search(before)) or (
                        self.post_negation is not None and self.post_negation.search(after)):
                    negated.add(name)
                else:
                    asserted.add(name)
        return asserted, negated - asserted

    def __call__(self, report: str) -> frozenset[str]:
        """The set of findings asserted anywhere in ``report``."""
        found: set[str] = set()
        for sentence in self.sentences(report):
            found |= self.sentence_findings(sentence)[0]
        return frozenset(found)

    def label_all(self, reports: Iterable[str]) -> list[frozenset[str]]:
        return [self(r) for r in reports]


def _indicator(sets: Sequence[Iterable[str]], findings: Sequence[str]) -> np.ndarray:
    index = {f: j for j, f in enumerate(findings)}
    out = np.zeros((len(sets), len(findings)), dtype=bool)
    for i, s in enumerate(sets):
        for f in s:
            if f not in index:
                raise ValueError(f"finding {f!r} (study {i}) is not in the vocabulary {list(findings)}")
            out[i, index[f]] = True
    return out


def _scores_from_indicators(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = float((truth & pred).sum())
    n_pred, n_true = float(pred.sum()), float(truth.sum())
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_tp = (truth & pred).sum(0)
    per_pred, per_true = pred.sum(0), truth.sum(0)
    seen = (per_pred + per_true) > 0
    macro = float(np.mean(2 * per_tp[seen] / (per_pred[seen] + per_true[seen]))) if seen.any() else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "macro_f1": macro,
            "exact_match": float(np.mean(np.all(truth == pred, axis=1))),
            "normal_agreement": float(np.mean(truth.any(1) == pred.any(1)))}


def finding_scores(true_sets: Sequence[Iterable[str]], predicted_sets: Sequence[Iterable[str]],
                   findings: Sequence[str]) -> dict[str, float]:
    """Finding-level agreement of predicted and true finding sets (one set per study).

    Returns ``precision``, ``recall``, ``f1`` (micro over study x finding pairs), ``macro_f1``
    (mean of per-finding F1 over findings that occur in truth or prediction), ``exact_match``
    (fraction of studies whose sets are equal) and ``normal_agreement`` (fraction whose
    "any finding" status agrees).
    """
    if len(true_sets) != len(predicted_sets):
        raise ValueError(f"{len(true_sets)} true sets but {len(predicted_sets)} predicted sets")
    if not true_sets:
        raise ValueError("no studies to score")
    return _scores_from_indicators(_indicator(true_sets, findings), _indicator(predicted_sets, findings))


def bootstrap_finding_scores(true_sets, predicted_sets, findings, n_boot: int = 1000, seed: int = 0,
                             level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """``{score: (value, low, high)}``: `finding_scores` with percentile bootstrap intervals over studies.

    The resamples depend only on ``seed`` and the number of studies, so two systems scored on the
    same test set with the same seed share their resamples (paired intervals).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if len(true_sets) != len(predicted_sets) or not true_sets:
        raise ValueError(f"need as many predicted as true sets (and at least one), got "
                         f"{len(true_sets)} and {len(predicted_sets)}")
    truth, pred = _indicator(true_sets, findings), _indicator(predicted_sets, findings)
    point = _scores_from_indicators(truth, pred)
    resamples = np.random.default_rng(seed).integers(len(truth), size=(n_boot, len(truth)))
    reps = [_scores_from_indicators(truth[r], pred[r]) for r in resamples]
    lo, hi = (1 - level) / 2, (1 + level) / 2
    return {k: (point[k], float(np.quantile([r[k] for r in reps], lo)), float(np.quantile([r[k] for r in reps], hi)))
            for k in SCORE_NAMES}
