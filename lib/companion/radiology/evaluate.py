"""Generation by retrieval (Section 4.2) and its scores via `companion.metrics`.

Every test image is embedded, the most similar TRAINING report (cosine similarity) is its
generated report, and the pairs are scored with R2Gen's convention
(`companion.metrics.nlg.score_reports`). Recall@K of image↔report retrieval on the test set
uses `companion.metrics.retrieval.recall_at_k`.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from companion.metrics.comparison import gap_closed
from companion.radiology.data import ReportImageDataset, trim_padding

NLG_KEYS = ("BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "METEOR", "ROUGE_L", "CIDEr")


@torch.no_grad()
def embed(model, dataset: ReportImageDataset, batch_size: int = 64, device="cpu",
          parts: tuple[str, ...] = ("image", "text")) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Unit-length (image [N, D], report [N, D]) embeddings of every study in ``dataset``, in order.

    ``parts`` names which encoders to run; the other entry of the pair is ``None`` (retrieval
    candidates need only their report embeddings).
    """
    unknown = set(parts) - {"image", "text"}
    if unknown or not parts:
        raise ValueError(f"parts must name 'image' and/or 'text', got {parts!r}")
    model.eval()
    device = torch.device(device)
    model.to(device)
    images, texts = [], []
    for s in range(0, len(dataset), batch_size):
        sl = slice(s, s + batch_size)
        if "image" in parts:
            images.append(model.encode_image(dataset.images[sl].to(device)).float().cpu())
        if "text" in parts:
            ids, mask = trim_padding(dataset.input_ids[sl], dataset.attention_mask[sl])
            texts.append(model.encode_text(ids.to(device), mask.to(device)).float().cpu())
    return (torch.cat(images) if images else None), (torch.cat(texts) if texts else None)


def retrieve(query: torch.Tensor, candidates: torch.Tensor) -> np.ndarray:
    """Index of the most similar candidate for each query (ties: lowest index). [Q, D], [C, D] -> [Q]."""
    if query.ndim != 2 or candidates.ndim != 2 or query.shape[1] != candidates.shape[1]:
        raise ValueError(f"query [Q, D] and candidates [C, D] expected, got {tuple(query.shape)}, {tuple(candidates.shape)}")
    return (query @ candidates.T).argmax(dim=1).numpy()


def retrieved_reports(model, train: ReportImageDataset, test: ReportImageDataset, device="cpu") -> list[str]:
    """For each test image, the training report whose embedding is closest (the paper's generator)."""
    test_images, _ = embed(model, test, device=device, parts=("image",))
    _, train_texts = embed(model, train, device=device, parts=("text",))
    return [train.reports[j] for j in retrieve(test_images, train_texts)]


def random_reports(train_reports: list[str], n: int, seed: int = 0) -> list[str]:
    """Baseline: a uniformly random training report per test study."""
    rng = np.random.default_rng(seed)
    return [train_reports[j] for j in rng.integers(len(train_reports), size=n)]


def most_frequent_report_info(train_reports: list[str]) -> dict:
    """The most frequent training report, counted on R2Gen-cleaned text (what the scorers compare).

    Reports are normalised with `companion.metrics.nlg.clean_report` and whitespace-collapsed before
    counting, so two reports that differ only in case, punctuation or spacing are one. Ties are
    broken by the first occurrence in training order. Returns ``{"report": raw text of its first
    occurrence, "count": occurrences, "tied": how many distinct reports share that count,
    "distinct": distinct normalised reports, "n": training reports}``.
    """
    from companion.metrics.nlg import clean_report

    if not train_reports:
        raise ValueError("no training reports")
    keys = [" ".join(clean_report(r).split()) for r in train_reports]
    counts = Counter(keys)
    best = max(counts.values())
    first = next(i for i, k in enumerate(keys) if counts[k] == best)
    return {"report": train_reports[first], "count": best, "tied": sum(v == best for v in counts.values()),
            "distinct": len(counts), "n": len(train_reports)}


def most_frequent_report(train_reports: list[str], n: int) -> list[str]:
    """Baseline: the most frequent training report (`most_frequent_report_info`) for every test study."""
    return [most_frequent_report_info(train_reports)["report"]] * n


def normal_template_report(train_reports: list[str]) -> str:
    """Baseline text: a constant "normal" report assembled from the training reports.

    For each structure a normal chest report covers (heart, mediastinum, lungs, pleura, bones), the
    most frequent training sentence that mentions it and asserts none of the chapter's findings
    (keyword labeller), joined in that order: the normal template a radiologist would dictate.
    """
    from companion.radiology.data import finding_labeller, report_sentences

    if not train_reports:
        raise ValueError("no training reports")
    labeller = finding_labeller()
    counts = Counter(s for r in train_reports for s in report_sentences(r))
    structures = {"heart": ("heart", "cardiac"), "mediastinum": ("mediastin",), "lungs": ("lung",),
                  "pleura": ("effusion", "pneumothora"), "bones": ("bony", "osseous", "bone")}
    used, out = set(), []
    for words in structures.values():
        for sentence, _ in counts.most_common():
            if sentence in used or labeller(sentence) or not any(w in sentence for w in words):
                continue
            out.append(sentence[0].upper() + sentence[1:] + ".")
            used.add(sentence)
            break
    return " ".join(out)


def most_frequent_finding_report(train_reports: list[str]) -> str:
    """Baseline text: a training report that asserts exactly the most frequent finding of the training
    reports (keyword labeller; ties: the finding met first), the first such report in training order
    (else the first that asserts it among others). On finding F1 this beats any normal report: it is
    right on every study with that finding."""
    from companion.radiology.data import label_findings

    if not train_reports:
        raise ValueError("no training reports")
    found = label_findings(train_reports)
    counts = Counter(f for fs in found for f in sorted(fs))
    if not counts:
        raise ValueError("no training report asserts any finding: no most frequent finding")
    top = counts.most_common(1)[0][0]
    exact = [r for r, fs in zip(train_reports, found) if fs == frozenset({top})]
    return exact[0] if exact else next(r for r, fs in zip(train_reports, found) if top in fs)


def image_blind_systems(train_reports: list[str], n: int, seed: int = 0) -> dict[str, list[str]]:
    """The four report-only baselines for ``n`` test studies: the most frequent training report, a
    constant normal report, a constant report of the most frequent finding, a random training report."""
    return {"most frequent training report": most_frequent_report(train_reports, n),
            "constant normal report": [normal_template_report(train_reports)] * n,
            "most frequent finding report": [most_frequent_finding_report(train_reports)] * n,
            "random training report": random_reports(train_reports, n, seed=seed)}


SCORE_COLUMNS = ("finding_f1", "finding_precision", "finding_recall", "exact_match", "normal_agreement",
                 "BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "METEOR", "ROUGE_L")


def score_table(references: list[str], systems: dict[str, list[str]], n_boot: int = 1000, seed: int = 0,
                level: float = 0.95, true_findings: list | None = None) -> "pandas.DataFrame":
    """Every system on one test set: clinical measures and text overlap, with bootstrap intervals.

    Clinical measures (`companion.metrics.findings`): the keyword labeller's findings of each
    generated report against ``true_findings`` (default: the labeller's findings of the
    reference reports); micro F1/precision/recall over study x finding pairs, exact set and
    normal/abnormal agreement. Text overlap: CORPUS BLEU-1..4 (one definition everywhere: the
    corpus BLEU of Table 1, intervals by resampling the per-report n-gram counts), corpus METEOR
    (METEOR's own aggregate; no interval, it would need the jar per resample) and ROUGE-L (the
    mean per-report score, which is its corpus value). One METEOR process scores every system.
    All intervals are percentile intervals over the same ``n_boot`` resamples of test studies.

    Returns a DataFrame indexed by system with the columns of `SCORE_COLUMNS` and, for every
    column except METEOR, ``<column>_low`` / ``<column>_high``.
    """
    import pandas as pd

    from companion.metrics.findings import bootstrap_finding_scores
    from companion.metrics.nlg import score_systems
    from companion.radiology.data import FINDINGS, label_findings

    n = len(references)
    if true_findings is None:
        true_findings = label_findings(references)
    if len(true_findings) != n:
        raise ValueError(f"{len(true_findings)} true finding sets for {n} references")
    scored = score_systems(list(references), systems)
    resamples = np.random.default_rng(seed).integers(n, size=(n_boot, n))
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = {}
    for name, hyps in systems.items():
        corpus, each = scored[name]
        row = {}
        clinical = bootstrap_finding_scores(true_findings, label_findings(hyps), FINDINGS, n_boot=n_boot, seed=seed,
                                            level=level)
        for key, col in (("f1", "finding_f1"), ("precision", "finding_precision"), ("recall", "finding_recall"),
                         ("exact_match", "exact_match"), ("normal_agreement", "normal_agreement")):
            row[col], row[f"{col}_low"], row[f"{col}_high"] = clinical[key]
        stats = bleu_statistics(references, hyps)
        point = corpus_bleu(stats)
        reps = corpus_bleu(stats[resamples])
        for k in range(4):
            row[f"BLEU_{k + 1}"] = float(point[k])
            row[f"BLEU_{k + 1}_low"], row[f"BLEU_{k + 1}_high"] = map(float, np.quantile(reps[:, k], q))
        row["METEOR"] = corpus["METEOR"]
        rouge = np.asarray(each["ROUGE_L"], float)
        row["ROUGE_L"] = float(rouge.mean())
        row["ROUGE_L_low"], row["ROUGE_L_high"] = map(float, np.quantile(rouge[resamples].mean(1), q))
        rows[name] = row
    table = pd.DataFrame(rows).T
    table.attrs.update(truth=[frozenset(t) for t in true_findings], n_boot=n_boot, seed=seed, level=level,
                       findings={name: label_findings(h) for name, h in systems.items()})
    return table


def paired_f1_difference(scores, a: str, b: str) -> tuple[float, float, float]:
    """Finding F1 of system ``a`` minus system ``b`` on the test set of ``scores`` (a `score_table`),
    with a paired percentile bootstrap interval (the same resampled studies for both systems)."""
    from companion.metrics.findings import finding_scores
    from companion.radiology.data import FINDINGS

    truth, found = scores.attrs["truth"], scores.attrs["findings"]
    n, level = len(truth), scores.attrs["level"]
    point = finding_scores(truth, found[a], FINDINGS)["f1"] - finding_scores(truth, found[b], FINDINGS)["f1"]
    resamples = np.random.default_rng(scores.attrs["seed"]).integers(n, size=(scores.attrs["n_boot"], n))
    diffs = []
    for r in resamples:
        t = [truth[i] for i in r]
        diffs.append(finding_scores(t, [found[a][i] for i in r], FINDINGS)["f1"]
                     - finding_scores(t, [found[b][i] for i in r], FINDINGS)["f1"])
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return float(point), float(low), float(high)


def headroom_table(scores, ours: str, baselines: list[str], ceiling: str | None = None,
                   measure: str = "finding_f1", also=("exact_match", "normal_agreement", "BLEU_4", "ROUGE_L")):
    """Baseline, model and ceiling of the headline measure (and a few others), with intervals.

    The baseline row is the best of ``baselines`` by ``measure``; ``gap closed`` is
    (ours − baseline) / (ceiling − baseline) for each measure (NaN without a ceiling or a gap).
    The DataFrame's ``attrs`` hold ``best_baseline`` and ``gap_closed`` (of ``measure``).
    """
    import pandas as pd

    if not baselines:
        raise ValueError("no baselines")
    best = max(baselines, key=lambda name: float(scores.loc[name, measure]))
    rows = {f"best image-blind: {best}": best, f"ours: {ours}": ours}
    if ceiling is not None:
        rows[f"ceiling: {ceiling}"] = ceiling
    cols = (measure, *also)
    table = {}
    for label, name in rows.items():
        table[label] = {c: f"{float(scores.loc[name, c]):.3f} ({float(scores.loc[name, c + '_low']):.3f}-"
                           f"{float(scores.loc[name, c + '_high']):.3f})" for c in cols}
    gaps = {}
    for c in cols:
        lo, me = float(scores.loc[best, c]), float(scores.loc[ours, c])
        hi = float(scores.loc[ceiling, c]) if ceiling is not None else float("nan")
        gaps[c] = gap_closed(me, lo, hi)  # NaN without a ceiling, or where it is not above the baseline
    table["gap closed"] = {c: f"{gaps[c]:.2f}" for c in cols}
    out = pd.DataFrame(table).T
    out.attrs.update(best_baseline=best, gap_closed=gaps[measure])
    return out


def claims_table(scores, real_scores, profile: str, ours: str = "proposed (retrieval)", ablation: dict | None = None,
                 alpha: float = 0.05):
    """The paper's claims that this chapter can test, with the paper's evidence, ours and the verdict.

    Parameters
    ----------
    scores : DataFrame from `score_table` on the synthetic test split (model, image-blind systems).
    real_scores : DataFrame from `score_table` of the image-blind systems on the REAL test reports.
    profile : the profile whose page-4 registry entry holds the ablation verdicts (``claim_*``).
    ablation : optional dict of those metrics (default: read from the registry of ``profile``).

    ``holds`` is True/False when a run decided it, "not testable here" when the data cannot test it,
    and "not run in this profile" when page 4 did not run that ablation.
    """
    import pandas as pd

    from companion.radiology.paper import TABLE1

    rows = []
    blind = [n for n in scores.index if n not in (ours,) and not n.startswith("oracle")]
    best = max(blind, key=lambda n: float(scores.loc[n, "finding_f1"]))
    diff, low, high = paired_f1_difference(scores, ours, best)
    rows.append({"claim": "the CLIP retrieval model reports the findings of the image (the premise of Table 1)",
                 "paper": "Table 1: best BLEU/ROUGE/METEOR among report generators",
                 "this run": f"finding F1 {float(scores.loc[ours, 'finding_f1']):.3f} vs {float(scores.loc[best, 'finding_f1']):.3f} "
                             f"({best}); difference {diff:.3f}, paired 95 % interval {low:.3f} to {high:.3f}",
                 "criterion": "finding F1 above the best image-blind system's, paired bootstrap interval of the "
                              "difference above 0 (synthetic test split)",
                 "holds": bool(low > 0)})
    paper = dict(zip(("BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "ROUGE_L", "METEOR"), TABLE1["Proposed method"]))
    real_best = {m: max(real_scores.index, key=lambda n: float(real_scores.loc[n, m])) for m in ("BLEU_1", "ROUGE_L", "METEOR")}
    upper = {m: float(real_scores.loc[n, f"{m}_high"]) if f"{m}_high" in real_scores else float(real_scores.loc[n, m])
             for m, n in real_best.items()}
    rows.append({"claim": "Table 1's scores are above what a system that ignores the image reaches on IU X-ray",
                 "paper": f"BLEU-1 {paper['BLEU_1']:.2f}, ROUGE-L {paper['ROUGE_L']:.2f}, METEOR {paper['METEOR']:.2f}",
                 "this run": ", ".join(f"{m} best image-blind {float(real_scores.loc[n, m]):.3f} ({n}; upper bound "
                                       f"{upper[m]:.3f})" for m, n in real_best.items()),
                 "criterion": "each paper score above the best image-blind system's upper 95 % bound (METEOR: its "
                              "corpus value) on the real IU X-ray test reports",
                 "holds": bool(all(paper[m] > upper[m] for m in upper))})
    rows.append({"claim": "state-of-the-art BLEU-1 / ROUGE-L / METEOR on IU X-ray (Table 1)",
                 "paper": f"{paper['BLEU_1']:.2f} / {paper['ROUGE_L']:.2f} / {paper['METEOR']:.2f}",
                 "this run": "no IU X-ray image ships with the book (reports only)",
                 "criterion": "needs the real images", "holds": "not testable here"})
    if ablation is None:
        from companion.book.registry import load_results

        ablation = load_results(profile).get("radiology/04-ablations", {}).get("metrics", {})
    for key, claim, paper_text in ABLATION_CLAIMS:
        value = ablation.get(f"claim_{key}")
        value = value.get("value") if isinstance(value, dict) else value
        rows.append({"claim": claim, "paper": paper_text,
                     "this run": "page 4 of this profile" if value is not None else "-",
                     "criterion": "see page 4's claims table",
                     "holds": bool(value) if value is not None and value == value else "not run in this profile"})
    return pd.DataFrame(rows, columns=["claim", "paper", "this run", "criterion", "holds"])


#: Page 4's claims as recorded in its registry entry (``claim_<key>`` = 1.0 / 0.0 / NaN when undecided).
ABLATION_CLAIMS = (
    ("modified_beats_plain", "the modified vision encoder beats plain DenseNet121 (Table 3)", "Table 3"),
    ("frozen_does_not_converge", "a frozen BERT without prompts does not converge (Section V)", "\"did not converge\""),
    ("finetune_overfits", "fine-tuning all of BERT overfits, where prompts do not (Section V)", "\"overfit\""),
    ("prompts_beat_finetune", "soft prompts generalise better than fine-tuning all of BERT (Section V)",
     "\"better generalization\""),
    ("limited_data", "the method works with limited data (abstract, Section I)", "\"limited data\""),
)


def table1(ours: dict[str, dict], paper: dict | None = None) -> "pandas.DataFrame":
    """Table 1 in the paper's layout: the paper's rows (`paper.TABLE1`) above ours.

    ``ours`` maps a row label to a dict with some of ``BLEU_1..4, ROUGE_L, METEOR`` (and optional
    ``<metric>_low`` / ``<metric>_high``, shown as "value (low-high)"). Columns in the paper's order.
    """
    import pandas as pd

    from companion.radiology.paper import METRIC_NAMES, TABLE1

    paper = TABLE1 if paper is None else paper
    rows = {f"paper: {k}": {m: (f"{v:.2f}" if v is not None else "-") for m, v in zip(METRIC_NAMES, vals)}
            for k, vals in paper.items()}
    for label, scores in ours.items():
        cells = {}
        for m in METRIC_NAMES:
            if m not in scores or scores[m] is None:
                cells[m] = "-"
            elif f"{m}_low" in scores:
                cells[m] = f"{float(scores[m]):.3f} ({float(scores[f'{m}_low']):.3f}-{float(scores[f'{m}_high']):.3f})"
            else:
                cells[m] = f"{float(scores[m]):.3f}"
        rows[label] = cells
    table = pd.DataFrame(rows).T[list(METRIC_NAMES)]
    table.columns = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "METEOR"]
    return table


def recall_image_text(image: torch.Tensor, text: torch.Tensor, reports: list[str] | None = None,
                      ks=(1, 5, 10)) -> dict[str, float]:
    """Recall@K for image→report and report→image on matched pairs (row i ↔ row i).

    With ``reports`` given, reports that are word-for-word identical count as relevant to each
    other's images (IU X-ray has many identical normal reports; ranking one copy above another
    is not an error). Keys ``i2t_R@k`` and ``t2i_R@k``.
    """
    from companion.metrics.retrieval import recall_at_k

    sim = (image @ text.T).numpy()
    n = sim.shape[0]
    ks = tuple(k for k in ks if k <= n) or (1,)
    out = {}
    if reports is None:
        relevant = list(range(n))
    else:
        groups: dict[str, set] = {}
        for j, r in enumerate(reports):
            groups.setdefault(r, set()).add(j)
        relevant = [groups[r] for r in reports]
    for name, s in (("i2t", sim), ("t2i", sim.T)):
        for k, v in recall_at_k(s, relevant, ks=ks).items():
            out[f"{name}_R@{k}"] = float(v)
    return out


def per_report_means(references: list[str], systems: dict[str, list[str]], n_boot: int = 0, seed: int = 0,
                     level: float = 0.95, scored: dict | None = None) -> "pandas.DataFrame":
    """Mean per-report scores of many systems, scored with one METEOR JVM (`score_systems`).

    ROUGE-L and CIDEr means equal their corpus values; BLEU is the mean sentence BLEU and METEOR
    the mean segment score (both differ from the corpus numbers of `score_reports`, which the
    paper's Table 1 uses). With ``n_boot > 0`` test studies are resampled (the same resamples for
    every system) to give ``<metric>_low`` / ``<metric>_high`` percentile intervals at ``level``.
    ``scored`` passes in the result of ``score_systems(references, systems)`` when the caller
    already has it (its corpus scores too), so METEOR runs once per page.

    Returns
    -------
    DataFrame indexed by system, columns ``BLEU_1 .. CIDEr`` (+ interval columns).
    """
    import pandas as pd

    from companion.metrics.nlg import score_systems

    n = len(references)
    names = list(systems)
    for name in names:
        if len(systems[name]) != n:
            raise ValueError(f"system {name!r} has {len(systems[name])} reports for {n} references")
    if scored is None:
        scored = score_systems(list(references), systems)
    missing = [name for name in names if name not in scored]
    if missing:
        raise ValueError(f"scored has no entry for {missing}")
    resamples = np.random.default_rng(seed).integers(n, size=(n_boot, n)) if n_boot > 0 else None
    rows = {}
    for name in names:
        row = {}
        each = scored[name][1]
        for k in NLG_KEYS:
            per = np.asarray(each[k], dtype=float)
            if len(per) != n:
                raise ValueError(f"scored[{name!r}] has {len(per)} {k} scores for {n} references")
            row[k] = float(per.mean())
            if resamples is not None:
                row[f"{k}_low"], row[f"{k}_high"] = np.quantile(per[resamples].mean(axis=1),
                                                                [(1 - level) / 2, (1 + level) / 2])
        rows[name] = row
    return pd.DataFrame(rows).T


def bleu_statistics(references: list[str], hypotheses: list[str]) -> np.ndarray:
    """Per-report BLEU sufficient statistics, after R2Gen's cleaning (`companion.metrics.nlg.clean_report`).

    Returns [N, 10] float: hypothesis length, reference length, n-gram guesses (n = 1..4) and
    clipped n-gram matches (n = 1..4). Corpus BLEU of any subset or resample of the studies is a
    function of the column sums (`corpus_bleu`), which makes bootstrapping it cheap.
    """
    from pycocoevalcap.bleu.bleu_scorer import cook_refs, cook_test

    from companion.metrics.nlg import clean_report

    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"need as many hypotheses as references (and at least one), got "
                         f"{len(references)} and {len(hypotheses)}")
    rows = []
    for ref, hyp in zip(references, hypotheses):
        comps = cook_test(clean_report(hyp), cook_refs([clean_report(ref)]), eff="closest")
        rows.append([comps["testlen"], comps["reflen"], *comps["guess"], *comps["correct"]])
    return np.asarray(rows, dtype=float)


def corpus_bleu(statistics: np.ndarray) -> np.ndarray:
    """Corpus BLEU-1..4 from summed `bleu_statistics` ([..., N, 10] -> [..., 4]).

    coco-caption's formula: the geometric mean of clipped n-gram precisions (with its tiny/small
    constants) times the brevity penalty ``exp(1 - r/c)`` when the hypotheses are shorter.
    """
    total = statistics.sum(axis=-2)
    testlen, reflen, guess, correct = total[..., 0], total[..., 1], total[..., 2:6], total[..., 6:10]
    precision = (correct + 1e-15) / (guess + 1e-9)
    bleu = np.cumprod(precision, axis=-1) ** (1.0 / np.arange(1, 5))
    ratio = (testlen + 1e-15) / (reflen + 1e-9)
    penalty = np.where(ratio < 1, np.exp(1 - 1 / np.maximum(ratio, 1e-300)), 1.0)
    return bleu * penalty[..., None]


def corpus_bleu_intervals(references: list[str], hypotheses: list[str], n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of CORPUS BLEU-1..4 over test studies.

    Resamples are drawn as in `per_report_means` (same ``seed`` and size: the same resamples),
    so the BLEU intervals and the per-report intervals of a table describe the same replicates.
    Returns ``{"BLEU_1": (low, high), ...}``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    stats = bleu_statistics(references, hypotheses)
    n = len(stats)
    resamples = np.random.default_rng(seed).integers(n, size=(n_boot, n))
    replicates = corpus_bleu(stats[resamples])  # [n_boot, 4]
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return {f"BLEU_{k + 1}": (float(low[k]), float(high[k])) for k in range(4)}


def finding_agreement(test_findings: list, retrieved_findings: list) -> dict[str, float]:
    """How often the retrieved study's normal/abnormal status (and exact finding set) matches the truth."""
    t = [tuple(sorted(f)) for f in test_findings]
    r = [tuple(sorted(f)) for f in retrieved_findings]
    return {"normal_abnormal_agreement": float(np.mean([(len(a) == 0) == (len(b) == 0) for a, b in zip(t, r)])),
            "exact_findings_agreement": float(np.mean([a == b for a, b in zip(t, r)]))}


def run_retrieval(model, datasets: dict, device="cpu") -> dict:
    """Embed train and test, retrieve a training report for every test image.

    Returns a dict with ``retrieved`` (reports), ``retrieved_index`` [N_test], and the
    embeddings ``test_image``, ``test_text`` [N_test, D], ``train_text`` [N_train, D].
    """
    train, test = datasets["train"], datasets["test"]
    test_image, test_text = embed(model, test, device=device)
    _, train_text = embed(model, train, device=device, parts=("text",))  # candidates: reports only
    idx = retrieve(test_image, train_text)
    return {"retrieved": [train.reports[j] for j in idx], "retrieved_index": idx, "test_image": test_image,
            "test_text": test_text, "train_text": train_text}


def _paired_run_bootstrap(findings: dict, truth: list, a: str, b: str, n_boot: int, seed: int, level: float):
    """Percentile interval of mean-over-seeds finding F1 of run ``a`` minus run ``b``, resampling test studies."""
    from companion.metrics.findings import _indicator, _scores_from_indicators
    from companion.radiology.data import FINDINGS

    seeds = sorted({s for (r, s) in findings if r == a} & {s for (r, s) in findings if r == b})
    if not seeds:
        raise ValueError(f"runs {a!r} and {b!r} share no seed in findings")
    t = _indicator(truth, FINDINGS)
    pa = [_indicator(findings[a, s], FINDINGS) for s in seeds]
    pb = [_indicator(findings[b, s], FINDINGS) for s in seeds]
    resamples = np.random.default_rng(seed).integers(len(truth), size=(n_boot, len(truth)))
    diffs = [np.mean([_scores_from_indicators(t[r], x[r])["f1"] - _scores_from_indicators(t[r], y[r])["f1"]
                      for x, y in zip(pa, pb)]) for r in resamples]
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def ablation_claims(table, alpha: float = 0.05, baseline_f1: float | None = None, ceiling_f1: float | None = None,
                    findings: dict | None = None, truth: list | None = None, n_boot: int = 1000, seed: int = 0,
                    chance_loss: float | None = None):
    """The paper's ablation claims (Table 3, Section V, the limited-data claim), tested on per-seed runs.

    Parameters
    ----------
    table : DataFrame
        One row per (run, seed) with columns ``run``, ``seed``, ``finding_f1`` (test finding F1 of
        retrieval), ``final_train_loss`` and ``final_val_loss``; ``run`` names the ablation
        ("proposed", "plain", "frozen", "finetune", "data_25", ...). A claim whose runs are absent
        is left out.
    alpha : float
        Level of the paired t-test across seeds for "beats".
    baseline_f1, ceiling_f1 : float, optional
        Finding F1 of the best image-blind system and of the oracle on the same test split; the
        limited-data claim needs both.
    findings, truth : optional
        ``{(run, seed): [finding set per test study]}`` and the true sets. With them, modified vs
        plain is also tested by a paired bootstrap over test studies (the seed-averaged F1
        difference on ``n_boot`` resamples of the studies), which has power with one seed; the
        claim then holds when that interval lies above 0 (and, with 2+ seeds, the t-test agrees).
    chance_loss : float, optional
        The contrastive loss of an untrained model, ln(batch size). With it, "does not converge"
        means the frozen run's training loss stays within 10 % of chance in every seed; without
        it, that its final training loss is above the prompt-tuned model's (a weaker reading).

    Returns a DataFrame with columns claim, paper, this run, criterion, holds, key (the registry
    name of the verdict). The criteria are ours and written out: the paper states these claims in
    words ("did not converge", "overfit", "limited data").
    """
    import pandas as pd
    from scipy.stats import ttest_rel

    from companion.radiology.paper import TABLE3

    need = {"run", "seed", "finding_f1", "final_train_loss", "final_val_loss"}
    if not need <= set(table.columns):
        raise ValueError(f"ablation table lacks columns {sorted(need - set(table.columns))}")
    runs = {name: group.set_index("seed") for name, group in table.groupby("run")}
    if "proposed" not in runs:
        raise ValueError("ablation table has no 'proposed' run to compare against")
    base = runs["proposed"]

    def paired(name, column, against="proposed"):
        ref, other = runs[against], runs[name]
        seeds = sorted(set(ref.index) & set(other.index))
        if not seeds:
            raise ValueError(f"runs {against!r} and {name!r} share no seed")
        return ref.loc[seeds, column].to_numpy(float), other.loc[seeds, column].to_numpy(float)

    def beats(a, b):
        """(text, criterion, holds) for "run a has the higher test finding F1 than run b"."""
        x, y = paired(b, "finding_f1", against=a)
        p = ttest_rel(x, y).pvalue if len(x) > 1 and np.any(x != y) else float("nan")
        per_seed = ", ".join(f"{u:.3f} vs {v:.3f}" for u, v in zip(x, y))
        text = (f"test finding F1 {x.mean():.3f} vs {y.mean():.3f} (mean of {len(x)} seed(s); per seed {per_seed})"
                + (f"; paired t-test over seeds p = {p:.2g}" if not math.isnan(p) else "; no t-test (one seed)"))
        criterion = f"mean finding F1 over seeds higher and paired t-test p < {alpha:g} (needs 2+ seeds)"
        holds = bool(x.mean() > y.mean() and p < alpha)
        if findings is not None and truth is not None:
            low, high = _paired_run_bootstrap(findings, truth, a, b, n_boot, seed, 1 - alpha)
            text += f"; paired bootstrap over {len(truth)} test studies: difference {low:.3f} to {high:.3f}"
            criterion = (f"{100 * (1 - alpha):.0f} % paired bootstrap interval (same resampled test studies, "
                         f"seed-averaged finding F1) of the difference above 0, and higher in every seed"
                         + (f", and paired t-test over seeds p < {alpha:g}" if len(x) > 2 else ""))
            holds = bool(low > 0 and np.all(x > y) and (len(x) < 3 or p < alpha))
        return text, criterion, holds

    rows = []
    if "plain" in runs:
        text, criterion, holds = beats("proposed", "plain")
        rows.append({"claim": "the modified vision encoder beats plain DenseNet121 (Table 3)", "key": "modified_beats_plain",
                     "paper": f"BLEU-4 {TABLE3['Proposed method'][3]:.2f} vs {TABLE3['DenseNet'][3]:.2f}",
                     "this run": text.replace("test finding F1", "modified vs plain: test finding F1"),
                     "criterion": criterion + " (equal budgets: same trunk, data, epochs and selection)",
                     "holds": holds})
    frozen_run = next((n for n in ("frozen", "frozen_25") if n in runs), None)
    if frozen_run is not None:
        against = "proposed" if frozen_run == "frozen" else "data_25"
        ours, frozen = paired(frozen_run, "final_train_loss", against=against) if against in runs else \
            (np.array([float("nan")]), runs[frozen_run]["final_train_loss"].to_numpy(float))
        if chance_loss is not None:
            rows.append({"claim": "a frozen BERT without prompts does not converge (Section V)",
                         "key": "frozen_does_not_converge", "paper": "\"did not converge\"",
                         "this run": f"{frozen_run}: training loss {frozen.mean():.2f} per seed "
                                     f"{', '.join(f'{v:.2f}' for v in frozen)} (prompts: {np.nanmean(ours):.2f}; "
                                     f"chance ln B = {chance_loss:.2f})",
                         "criterion": "training loss within 10 % of chance (above 0.9 ln B) in every seed",
                         "holds": bool(np.all(frozen > 0.9 * chance_loss))})
        else:
            rows.append({"claim": "a frozen BERT without prompts does not converge (Section V)",
                         "key": "frozen_does_not_converge", "paper": "\"did not converge\"",
                         "this run": f"final training loss {frozen.mean():.2f} vs {np.nanmean(ours):.2f} (prompts)",
                         "criterion": "final training loss above the prompt-tuned model's in every seed",
                         "holds": bool(np.all(frozen > ours))})
    tuned = next(((f, p) for f, p in (("finetune_25", "data_25"), ("finetune", "proposed")) if f in runs and p in runs),
                 None)
    if tuned is not None:
        ft, prompt = tuned
        ours_tr, ft_tr = paired(ft, "final_train_loss", against=prompt)
        ours_va, ft_va = paired(ft, "final_val_loss", against=prompt)
        gap_ours, gap_ft = ours_va - ours_tr, ft_va - ft_tr
        rows.append({"claim": "fine-tuning all of BERT overfits, where prompts do not (Section V)", "key": "finetune_overfits",
                     "paper": "\"overfit\"",
                     "this run": f"{ft} vs {prompt}: validation - training loss {gap_ft.mean():.2f} vs {gap_ours.mean():.2f} "
                                 f"(prompts; mean of {len(gap_ft)} seed(s))",
                     "criterion": "larger validation-training loss gap than the prompt-tuned model's on the same data, "
                                  "in every seed",
                     "holds": bool(np.all(gap_ft > gap_ours))})
        text, criterion, holds = beats(prompt, ft)
        rows.append({"claim": "soft prompts generalise better than fine-tuning all of BERT (Section V)",
                     "key": "prompts_beat_finetune", "paper": "\"better generalization\"",
                     "this run": f"{prompt} vs {ft}: " + text, "criterion": criterion + " (same training studies)",
                     "holds": holds})
    limited = sorted((n for n in runs if n.startswith("data_") and n.split("_")[1].isdigit()), key=lambda n: int(n.split("_")[1]))
    if limited and baseline_f1 is not None and ceiling_f1 is not None:
        smallest = limited[0]
        f1 = runs[smallest]["finding_f1"].to_numpy(float)
        closed = (f1.mean() - baseline_f1) / (ceiling_f1 - baseline_f1) if ceiling_f1 != baseline_f1 else float("nan")
        sweep = "; ".join(f"{n.split('_')[1]} %: {runs[n]['finding_f1'].mean():.3f}" for n in limited)
        rows.append({"claim": "the method works with limited data (abstract, Section I)", "key": "limited_data",
                     "paper": "\"limited data\" (no experiment)",
                     "this run": f"sweep (test finding F1, mean over seeds) {sweep}; 100 %: {base['finding_f1'].mean():.3f}. "
                                 f"{smallest.split('_')[1]} % of training studies: test finding F1 {f1.mean():.3f} "
                                 f"({len(f1)} seed(s)); image-blind {baseline_f1:.3f}, oracle {ceiling_f1:.3f}: "
                                 f"{closed:.2f} of the gap closed",
                     "criterion": "with the smallest data fraction the model still closes at least half of the gap "
                                  "from the best image-blind system to the oracle (mean over seeds)",
                     "holds": bool(closed >= 0.5)})
    return pd.DataFrame(rows, columns=["claim", "paper", "this run", "criterion", "holds", "key"])


