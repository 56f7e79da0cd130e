"""Report-generation scores for paper 1, in the R2Gen evaluation convention.

Radiology report generation papers on IU X-ray (R2Gen and those that compare with it, such as
paper 1's Table 1) clean every report with R2Gen's ``clean_report_iu_xray`` and score the
cleaned, whitespace-tokenised strings with the coco-caption scorers (``pycocoevalcap``):

=========  ==========================================================================
BLEU_1..4  corpus-level BLEU (clipped n-gram precisions pooled over the corpus, geometric
           mean, brevity penalty with the closest reference length); Papineni et al. 2002
METEOR     METEOR 1.5 (``meteor-1.5.jar`` via Java, ``-l en -norm``; exact, stem, synonym and
           paraphrase matches); Denkowski & Lavie 2014. The corpus score is METEOR's own
           aggregate over all segments, not the mean of per-report scores
ROUGE_L    LCS-based F-measure with beta = 1.2, averaged over reports; Lin 2004
CIDEr      CIDEr-D (tf-idf n-gram cosine with clipping and a Gaussian length penalty,
           sigma = 6, x10), idf from the references being scored; Vedantam et al. 2015
=========  ==========================================================================

SPICE is not computed: pycocoevalcap's SPICE needs Stanford CoreNLP models that it downloads
at first use, and nothing can be downloaded here. We do not substitute anything for it.

With ``clean=True`` (the R2Gen convention) the PTB tokenizer is *not* applied: the cleaned
reports are already lower-case and punctuation-free, and R2Gen passes them to the scorers as
whitespace tokens joined by single spaces (`scored_text`); an empty hypothesis stays empty. With ``clean=False`` the raw strings go through coco-caption's PTB tokenizer (Java),
the COCO-captioning convention.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager

import numpy as np

__all__ = ["clean_report", "scored_text", "WhitespaceTokenizer", "score_reports", "score_each_report", "score_systems", "METRIC_NAMES", "JAVA_PACKAGE"]

METRIC_NAMES = ("BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "METEOR", "ROUGE_L", "CIDEr")
JAVA_PACKAGE = "openjdk-17-jre-headless"

# R2Gen strips each sentence with re.sub('[.,?;*!%^&_+():-\[\]{}]', '', ...). Inside that
# character class ":-\[" is a *range* from ':' (0x3A) to '[' (0x5B), so it removes
# ':;<=>?@', 'A'-'Z' and '[' and NOT the hyphen. Written out, the same set is:
_SENTENCE_STRIP = re.compile(r"[.,?;*!%^&_+()\]{}:;<=>?@A-Z\[]")


def clean_report(text: str) -> str:
    """R2Gen's IU X-ray report cleaning, reproduced character for character.

    Steps (R2Gen ``Tokenizer.clean_report_iu_xray``):

    1. replace ``".."`` by ``"."`` three times (not until none is left);
    2. delete every ``"1. "``; replace ``". 2. "`` ... ``". 5. "`` by ``". "``, then
       ``" 2. "`` ... ``" 5. "`` by ``". "`` (list numbering of up to five findings);
    3. strip, lowercase, split on ``". "``;
    4. in each sentence remove ``" / \\ '``, strip, lowercase, then delete the characters of
       ``[.,?;*!%^&_+():-\\[\\]{}]`` (see the quirk about ``:-[`` below);
    5. join the sentences with ``" . "`` and append ``" ."``.

    Quirks kept on purpose, because the published numbers were computed with them:

    * ``"1. "`` is deleted anywhere, not only as numbering: ``"T11. No effusion"`` becomes
      ``"t1no effusion ."`` and ``"grade 1. The"`` loses its sentence boundary.
    * ``" 2. "`` to ``" 5. "`` anywhere become sentence breaks and the digit is lost:
      ``"rib 3. Normal"`` -> ``"rib . normal ."``.
    * Every ``"."`` inside a sentence is deleted, so decimals merge: ``"2.5 cm"`` -> ``"25 cm"``.
    * The hyphen is kept (``":-["`` in the class is a range), while ``< = > @`` are removed.
    * Empty sentences are kept (R2Gen's filter compares a string with ``[]``, which is always
      unequal), so ``"normal. . clear."`` gives ``"normal .  . clear ."``.
    * Spaces left where punctuation was removed are not collapsed (``"a ( b )"`` -> ``"a  b "``).
      The scorers never see them: `scored_text` re-joins the whitespace tokens with single
      spaces, as R2Gen's tokenizer/decoder round trip does (pycocoevalcap's ROUGE-L would count
      the empty string between two spaces as a token).
    * Only three ``".."`` passes, as in R2Gen (runs of nine or more dots leave ``".."``); we found
      no input where this changes the result, because step 4 deletes every dot anyway.
    * Newlines are not treated as sentence breaks, and ``"."`` followed by a newline does not
      split.
    * Any input, even ``""``, ends with ``" ."``.

    Examples
    --------
    >>> clean_report("1. Heart size is normal. 2. No pneumothorax.")
    'heart size is normal . no pneumothorax .'
    """
    if not isinstance(text, str):
        raise ValueError(f"a report must be a string, got {type(text).__name__}")
    for _ in range(3):
        text = text.replace("..", ".")
    text = text.replace("1. ", "")
    for digit in "2345":
        text = text.replace(f". {digit}. ", ". ")
    for digit in "2345":
        text = text.replace(f" {digit}. ", ". ")
    sentences = text.strip().lower().split(". ")
    cleaned = []
    for sentence in sentences:
        for ch in ('"', "/", "\\", "'"):
            sentence = sentence.replace(ch, "")
        cleaned.append(_SENTENCE_STRIP.sub("", sentence.strip().lower()))
    return " . ".join(cleaned) + " ."


class WhitespaceTokenizer:
    """A ``rouge_score`` tokenizer that splits on whitespace and keeps every token (``.`` included).

    ``rouge_score``'s default tokenizer drops punctuation and splits hyphenated words, so on R2Gen-cleaned
    reports it scores other tokens than coco-caption does; with this one the two see the same tokens
    (``rouge_scorer.RougeScorer(["rougeL"], tokenizer=WhitespaceTokenizer())``).

    >>> WhitespaceTokenizer().tokenize("no focal consolidation . heart size normal .")
    ['no', 'focal', 'consolidation', '.', 'heart', 'size', 'normal', '.']
    """

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def _check_pairs(references, hypotheses, clean: bool):
    if isinstance(references, str) or isinstance(hypotheses, str):
        raise ValueError("references and hypotheses must be sequences of strings, not one string")
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(f"length mismatch: {len(references)} references but {len(hypotheses)} hypotheses "
                         "(one reference per hypothesis)")
    if not references:
        raise ValueError("no reports to score: references and hypotheses are empty")
    for name, seq in (("references", references), ("hypotheses", hypotheses)):
        for i, text in enumerate(seq):
            if not isinstance(text, str):
                raise ValueError(f"{name}[{i}] is a {type(text).__name__}, not a string")
            if not clean and not text.strip():
                raise ValueError(f"{name}[{i}] is empty; the scorers are undefined on an empty report")
    return references, hypotheses


def _require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("METEOR (and the PTB tokenizer) need a Java runtime, and `java` is not on PATH: "
                           f"install it, e.g. `apt-get install {JAVA_PACKAGE}` (Java 8 or newer)")
    return java


def scored_text(report: str, hypothesis: bool = False) -> str:
    """The string the scorers see for ``report`` in R2Gen's convention (``clean=True``).

    R2Gen scores token sequences: it splits the cleaned report on whitespace and the decoder
    joins the tokens with one space. So do we: ``" ".join(clean_report(report).split())``.
    Without this, the double spaces that `clean_report` can leave (``"normal ."`` ->
    ``"normal  ."``) reach pycocoevalcap's ROUGE-L, which splits on ``" "`` and counts the
    empty string as a token: an empty hypothesis then "matched" that token and the final ``"."``
    and scored ROUGE-L 0.459 against a four-word reference.

    A hypothesis with no text at all is scored as an empty token sequence (what R2Gen's decoder
    gives for an empty generation), not as the ``"."`` that `clean_report` would make of it:
    an empty report gets no credit from any metric.
    """
    if hypothesis and not report.strip():
        return ""
    return " ".join(clean_report(report).split())


def _tokenized(references, hypotheses, clean: bool):
    if clean:
        gts = {i: [scored_text(r)] for i, r in enumerate(references)}
        res = {i: [scored_text(h, hypothesis=True)] for i, h in enumerate(hypotheses)}
        return gts, res
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    _require_java()
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": r}] for i, r in enumerate(references)})
    res = tok.tokenize({i: [{"caption": h}] for i, h in enumerate(hypotheses)})
    return gts, res


@contextmanager
def _meteor_scorer():
    """One METEOR JVM for the duration of the block, stopped at its end."""
    from pycocoevalcap.meteor.meteor import Meteor

    _require_java()
    scorer = Meteor()
    try:
        yield scorer
    finally:
        # stop the JVM now instead of whenever the scorer is garbage-collected
        scorer.meteor_p.stdin.close()
        scorer.meteor_p.kill()
        scorer.meteor_p.wait()


def _meteor(gts, res, scorer=None):
    if scorer is None:
        with _meteor_scorer() as own:
            return _meteor(gts, res, own)
    # METEOR reads one line per segment: a newline inside a report would desynchronise it
    flat_gts = {k: [" ".join(v[0].split())] for k, v in gts.items()}
    flat_res = {k: [" ".join(v[0].split())] for k, v in res.items()}
    # each EVAL line is scored on its own segments: several calls on one JVM are independent
    return scorer.compute_score(flat_gts, flat_res)


def _score(references, hypotheses, clean: bool, meteor=None):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    references, hypotheses = _check_pairs(references, hypotheses, clean)
    gts, res = _tokenized(references, hypotheses, clean)
    corpus, each = {}, {}
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    for n in range(4):
        corpus[f"BLEU_{n + 1}"] = float(bleu[n])
        each[f"BLEU_{n + 1}"] = np.asarray(bleu_each[n], dtype=float)
    meteor, meteor_each = _meteor(gts, res) if meteor is None else _meteor(gts, res, meteor)
    corpus["METEOR"], each["METEOR"] = float(meteor), np.asarray(meteor_each, dtype=float)
    rouge, rouge_each = Rouge().compute_score(gts, res)
    corpus["ROUGE_L"], each["ROUGE_L"] = float(rouge), np.asarray(rouge_each, dtype=float)
    cider, cider_each = Cider().compute_score(gts, res)
    corpus["CIDEr"], each["CIDEr"] = float(cider), np.asarray(cider_each, dtype=float)
    return corpus, each


def score_reports(references, hypotheses, clean: bool = True) -> dict:
    """Corpus-level BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of generated reports.

    Parameters
    ----------
    references : sequence of N str
        One ground-truth report per study.
    hypotheses : sequence of N str
        The generated report of each study, in the same order.
    clean : bool
        Apply `clean_report` to both sides and skip the PTB tokenizer (R2Gen's convention). With
        ``False`` the raw text goes through coco-caption's PTB tokenizer instead.

    Returns
    -------
    dict with keys ``BLEU_1, BLEU_2, BLEU_3, BLEU_4, METEOR, ROUGE_L, CIDEr`` (floats; CIDEr is
    on its usual 0-10 scale, the others in [0, 1]).

    Raises
    ------
    ValueError
        Different lengths, no reports, non-strings (or an empty report with ``clean=False``).
    RuntimeError
        ``java`` is not installed (METEOR runs ``meteor-1.5.jar``); the message names the package.

    Notes
    -----
    METEOR starts a JVM (a few seconds): score a whole test set in one call rather than one
    report at a time; `score_systems` gives corpus and per-report scores of several systems
    from one JVM. CIDEr's idf comes from the references passed in, so CIDEr of a subset is not
    the subset of a larger run's CIDEr.
    """
    return _score(references, hypotheses, clean)[0]


def score_each_report(references, hypotheses, clean: bool = True) -> dict:
    """Per-report scores from the same run as `score_reports`: ``{metric: float array [N]}``.

    The BLEU entries are coco-caption's sentence-level BLEU (its tiny-constant smoothing); their
    mean is *not* the corpus BLEU. METEOR, ROUGE-L and CIDEr are the per-segment scores whose
    aggregate (METEOR) or mean (ROUGE-L, CIDEr) `score_reports` returns. CIDEr's idf still
    comes from all N references.
    """
    return _score(references, hypotheses, clean)[1]


def score_systems(references, systems, clean: bool = True) -> dict:
    """Corpus and per-report scores of several systems against the same references, one JVM.

    Parameters
    ----------
    references : sequence of N str
        One ground-truth report per study.
    systems : mapping of name -> sequence of N str
        The generated reports of each system, in the order of ``references``.
    clean : bool
        As in `score_reports`.

    Returns
    -------
    ``{name: (corpus, each)}``: ``corpus`` is what `score_reports` returns for that system and
    ``each`` what `score_each_report` returns, from a single METEOR process (started once, a few
    seconds) instead of one per call. Each system is scored on its own, so CIDEr's idf comes from
    the N references for every system, exactly as in separate calls.
    """
    if isinstance(systems, str) or not hasattr(systems, "items"):
        raise ValueError("systems must be a mapping of name -> reports")
    if not systems:
        raise ValueError("no systems to score")
    for name, hypotheses in systems.items():  # every input checked before the JVM starts
        try:
            _check_pairs(references, hypotheses, clean)
        except ValueError as exc:
            raise ValueError(f"system {name!r}: {exc}") from None
    with _meteor_scorer() as meteor:
        return {name: _score(references, hypotheses, clean, meteor) for name, hypotheses in systems.items()}
