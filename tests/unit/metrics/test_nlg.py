"""companion.metrics.nlg: R2Gen cleaning (quirks included), pycocoevalcap vectors, sacrebleu/nltk checks.

METEOR starts a JVM (several seconds), so the scores are computed once per module.
"""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from companion.metrics import nlg
from companion.metrics.nlg import METRIC_NAMES, clean_report, score_each_report, score_reports

VECTORS = json.loads((Path(__file__).parent / "reference" / "coco_caption.json").read_text())
REFS = [p["reference"] for p in VECTORS["raw"]]
HYPS = [p["hypothesis"] for p in VECTORS["raw"]]
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="METEOR needs java")


# --------------------------------------------------------------------------- cleaning

@pytest.mark.parametrize("raw, clean", [
    # list numbering and sentence structure
    ("1. Heart size is normal. 2. No pneumothorax.", "heart size is normal . no pneumothorax ."),
    ("The heart is normal. The lungs are clear.", "the heart is normal . the lungs are clear ."),
    ("Findings: 1. Clear lungs 2. Normal heart 3. No effusion",
     "findings clear lungs . normal heart . no effusion ."),
    # punctuation removed inside sentences: commas, parentheses, colons, quotes, slashes
    ('Lungs (bilaterally) clear, no "focal" airspace disease/consolidation; stable.',
     "lungs bilaterally clear no focal airspace diseaseconsolidation stable ."),
    ("Heart: normal. Patient's lungs: clear!", "heart normal . patients lungs clear ."),
    # de-identification tokens survive lowercased
    ("XXXX sternotomy wires. Normal XXXX.", "xxxx sternotomy wires . normal xxxx ."),
    # quirk: "1. " removed anywhere, merging words across a sentence boundary
    ("Compression deformity of T11. No effusion.", "compression deformity of t1no effusion ."),
    ("Grade 1. The heart is normal.", "grade the heart is normal ."),
    # quirk: " 2. ".." 5. " become sentence breaks and lose the digit
    ("Fracture of rib 3. Normal heart.", "fracture of rib . normal heart ."),
    # quirk: decimal points deleted
    ("Nodule measures 2.5 cm.", "nodule measures 25 cm ."),
    # quirk: hyphen kept (":-[" is a range), < = > @ removed
    ("Well-expanded lungs. Size <5 mm = stable @ follow-up.", "well-expanded lungs . size 5 mm  stable  follow-up ."),
    # quirk: empty sentences kept
    ("Normal. . Clear.", "normal .  . clear ."),
    # quirk: spaces left by removed punctuation are not collapsed
    ("Lungs ( clear )", "lungs  clear  ."),
    # quirk: ".." collapsed only three times
    ("Normal.. Clear", "normal . clear ."),
    # quirk: a newline is not a sentence break
    ("Normal.\nClear.", "normal\nclear ."),
    ("", " ."),
])
def test_clean_report_cases(raw, clean):
    assert clean_report(raw) == clean


def test_sentence_strip_set_is_r2gens_character_class():
    # R2Gen's class written as in its source; ":-\[" is a range. Ours must remove exactly the same set.
    original = re.compile("[.,?;*!%^&_+():-\\[\\]{}]")
    for code in range(0x250):
        ch = chr(code)
        assert bool(original.fullmatch(ch)) == bool(nlg._SENTENCE_STRIP.fullmatch(ch)), repr(ch)
    assert not nlg._SENTENCE_STRIP.fullmatch("-") and nlg._SENTENCE_STRIP.fullmatch("=")


def test_clean_report_rejects_non_strings():
    with pytest.raises(ValueError, match="string"):
        clean_report(None)


def test_vectors_cleaning_still_matches():
    assert [clean_report(r) for r in REFS] == VECTORS["clean_references"]
    assert [clean_report(h) for h in HYPS] == VECTORS["clean_hypotheses"]


# --------------------------------------------------------------------------- scores

@pytest.fixture(scope="module")
def meteor():
    # one METEOR (JVM) start for the whole module
    if shutil.which("java") is None:
        pytest.skip("METEOR needs java")
    with nlg._meteor_scorer() as scorer:
        yield scorer


@pytest.fixture(scope="module")
def both(meteor):
    # corpus and per-report scores of one run
    return nlg._score(REFS, HYPS, clean=True, meteor=meteor)


@pytest.fixture(scope="module")
def scores(both):
    return both[0]


@needs_java
def test_keys_and_ranges(scores):
    assert tuple(scores) == METRIC_NAMES
    assert all(isinstance(v, float) for v in scores.values())
    assert all(0 < scores[k] < 1 for k in METRIC_NAMES if k != "CIDEr")
    assert scores["BLEU_1"] > scores["BLEU_2"] > scores["BLEU_3"] > scores["BLEU_4"]


@needs_java
def test_scores_equal_pycocoevalcap_vectors(scores):
    for name in METRIC_NAMES:
        assert scores[name] == pytest.approx(VECTORS["corpus"][name], rel=1e-12), name


@needs_java
def test_bleu_equals_sacrebleu_without_tokenization(scores):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = VECTORS["clean_hypotheses"], VECTORS["clean_references"]
    for n in range(1, 5):
        bleu = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=n, smooth_method="none")
        # coco-caption adds 1e-9 / 1e-15 guards to every ratio: agreement to ~1e-9 relative
        assert scores[f"BLEU_{n}"] == pytest.approx(bleu.corpus_score(hyps, [refs]).score / 100, rel=1e-8)


@needs_java
def test_bleu_equals_nltk_corpus_bleu_on_the_same_tokens(scores):
    from nltk.translate.bleu_score import corpus_bleu

    hyps = [h.split() for h in VECTORS["clean_hypotheses"]]
    refs = [[r.split()] for r in VECTORS["clean_references"]]
    assert scores["BLEU_4"] == pytest.approx(corpus_bleu(refs, hyps), rel=1e-8)


def test_rouge_l_is_rouge_score_precision_recall_with_beta_1_2():
    # Given the same whitespace tokens (rouge-score's default tokenizer would drop "." and split
    # hyphens), rouge-score's rougeL has the same LCS precision and recall; coco-caption combines
    # them with beta = 1.2 instead of the F1 that rouge-score reports.
    from pycocoevalcap.rouge.rouge import Rouge
    from rouge_score import rouge_scorer

    class Whitespace:
        def tokenize(self, text):
            return text.split()

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=Whitespace())
    beta2 = 1.2 ** 2
    for ref, hyp, coco in zip(VECTORS["clean_references"], VECTORS["clean_hypotheses"], VECTORS["each"]["ROUGE_L"]):
        s = scorer.score(ref, hyp)["rougeL"]
        assert Rouge().calc_score([hyp], [ref]) == pytest.approx(coco, rel=1e-12)
        if s.precision > 0:
            f_beta = (1 + beta2) * s.precision * s.recall / (s.recall + beta2 * s.precision)
            assert f_beta == pytest.approx(coco, rel=1e-12)
            if s.precision != s.recall:
                assert s.fmeasure != pytest.approx(coco, rel=1e-6)


@needs_java
def test_per_report_scores_equal_vectors(both):
    each = both[1]
    assert set(each) == set(METRIC_NAMES) and all(len(v) == len(REFS) for v in each.values())
    for name in METRIC_NAMES:
        np.testing.assert_allclose(each[name], VECTORS["each"][name], rtol=1e-12, err_msg=name)
    # ROUGE-L and CIDEr corpus scores are means of the per-report ones; BLEU and METEOR are not
    assert both[0]["ROUGE_L"] == pytest.approx(each["ROUGE_L"].mean(), rel=1e-12)
    assert both[0]["CIDEr"] == pytest.approx(each["CIDEr"].mean(), rel=1e-12)
    assert both[0]["BLEU_4"] != pytest.approx(each["BLEU_4"].mean(), rel=1e-3)


def test_public_functions_wrap_one_run(monkeypatch):
    calls = []
    monkeypatch.setattr(nlg, "_score", lambda r, h, c: calls.append(c) or ({"x": 1.0}, {"x": np.ones(1)}))
    assert score_reports(["a"], ["b"]) == {"x": 1.0} and score_each_report(["a"], ["b"], clean=False)["x"][0] == 1
    assert calls == [True, False]


@needs_java
def test_raw_text_goes_through_the_ptb_tokenizer(monkeypatch):
    # the COCO convention (clean=False): PTB tokenizer, no R2Gen cleaning. METEOR is stubbed out
    # here to save a JVM start; the other scorers see the PTB tokens, which drop "." and ","
    monkeypatch.setattr(nlg, "_meteor", lambda gts, res: (0.0, [0.0] * len(gts)))
    raw = score_reports(REFS[:4], HYPS[:4], clean=False)
    gts, res = nlg._tokenized(REFS[:4], HYPS[:4], clean=False)
    assert "." not in " ".join(v[0] for v in gts.values()).split()
    assert "specifically no evidence of focal consolidation" in gts[3][0]
    assert tuple(raw) == METRIC_NAMES and 0 < raw["BLEU_4"] < 1


@needs_java
def test_score_systems_starts_one_jvm_and_equals_separate_runs(monkeypatch, both):
    import pycocoevalcap.meteor.meteor as meteor_module

    starts = []

    class Counting(meteor_module.Meteor):
        def __init__(self):
            starts.append(1)
            super().__init__()

    monkeypatch.setattr(meteor_module, "Meteor", Counting)
    # "other" is scored first on the same JVM: the reference vectors must still come out for "vectors"
    other = [HYPS[0]] * len(REFS)
    out = nlg.score_systems(REFS, {"other": other, "vectors": HYPS})
    assert len(starts) == 1 and list(out) == ["other", "vectors"]
    corpus, each = out["vectors"]
    for name in METRIC_NAMES:
        assert corpus[name] == pytest.approx(VECTORS["corpus"][name], rel=1e-12), name
        np.testing.assert_allclose(each[name], VECTORS["each"][name], rtol=1e-12, err_msg=name)
    other_corpus, other_each = out["other"]
    assert other_corpus["METEOR"] != pytest.approx(corpus["METEOR"], rel=1e-3)
    # hypothesis 0 against reference 0 is the same pair in both systems (and CIDEr's idf comes
    # from the same references): the same per-report scores
    for name in METRIC_NAMES:
        assert other_each[name][0] == pytest.approx(each[name][0], rel=1e-12), name
    assert len(starts) == 1


def test_score_systems_checks_every_system_before_starting_java(monkeypatch):
    monkeypatch.setattr(nlg, "_meteor_scorer", lambda: pytest.fail("the JVM must not start on bad input"))
    with pytest.raises(ValueError, match="system 'b'.*length mismatch"):
        nlg.score_systems(["a ."], {"a": ["a ."], "b": ["a .", "b ."]})
    with pytest.raises(ValueError, match="mapping"):
        nlg.score_systems(["a ."], ["a ."])
    with pytest.raises(ValueError, match="no systems"):
        nlg.score_systems(["a ."], {})


# --------------------------------------------------------------------------- bad input

def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="length mismatch"):
        score_reports(["a b ."], ["a b .", "c ."])
    with pytest.raises(ValueError, match="empty"):
        score_reports([], [])
    with pytest.raises(ValueError, match="one string"):
        score_reports("a b", "a b")
    with pytest.raises(ValueError, match=r"hypotheses\[1\]"):
        score_reports(["a", "b"], ["a", None])
    with pytest.raises(ValueError, match=r"references\[0\] is empty"):
        score_reports([" "], ["a"], clean=False)


def test_missing_java_names_the_package(monkeypatch):
    monkeypatch.setattr(nlg.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="openjdk-17-jre-headless"):
        score_reports(REFS[:2], HYPS[:2])


# --------------------------------------------------------------------------- spacing (ROUGE-L quirk)

QUIRK_REF = "The heart is normal ."   # a space before the full stop: clean_report leaves "normal  ."


def test_scored_text_joins_tokens_with_single_spaces_and_keeps_an_empty_hypothesis_empty():
    assert clean_report(QUIRK_REF) == "the heart is normal  ."
    assert nlg.scored_text(QUIRK_REF) == "the heart is normal ."
    assert nlg.scored_text("Lungs ( clear )") == "lungs clear ."
    assert nlg.scored_text("Normal. . Clear.") == "normal . . clear ."
    assert nlg.scored_text("") == "."                     # a reference is cleaned as R2Gen cleans it
    assert nlg.scored_text("  ", hypothesis=True) == ""   # an empty generation has no tokens
    for ref in VECTORS["clean_references"]:               # no effect where there was no double space
        assert nlg.scored_text(ref) == ref


def test_the_quirk_itself_in_pycocoevalcap():
    """What the double space did: pycocoevalcap's ROUGE-L splits on " " and counts the empty token."""
    from pycocoevalcap.rouge.rouge import Rouge

    before = Rouge().calc_score([clean_report("")], [clean_report(QUIRK_REF)])
    assert before == pytest.approx(0.4586, abs=1e-4)      # an empty hypothesis "matched" '' and '.'
    assert Rouge().calc_score([nlg.scored_text("", hypothesis=True)], [nlg.scored_text(QUIRK_REF)]) == 0.0


@needs_java
def test_rouge_l_of_an_empty_and_a_normal_hypothesis_equals_pycocoevalcap_on_single_spaced_tokens(meteor):
    from pycocoevalcap.rouge.rouge import Rouge

    refs = [QUIRK_REF, QUIRK_REF, "Lungs are clear. No effusion ."]
    hyps = ["", "Heart is normal.", "The lungs are clear. No effusion."]
    each = nlg._score(refs, hyps, True, meteor)[1]          # what score_each_report returns
    tokens_ref = ["the heart is normal .", "the heart is normal .", "lungs are clear . no effusion ."]
    tokens_hyp = ["", "heart is normal .", "the lungs are clear . no effusion ."]
    expected = [Rouge().calc_score([h], [r]) for h, r in zip(tokens_hyp, tokens_ref)]
    np.testing.assert_allclose(each["ROUGE_L"], expected, rtol=1e-12)
    assert expected[0] == 0.0 and 0 < expected[1] < 1 and 0 < expected[2] < 1
    # an empty report gets no credit from any metric
    assert all(each[name][0] == 0.0 for name in METRIC_NAMES), {n: each[n][0] for n in METRIC_NAMES}
