"""IU X-ray in the R2Gen layout: loader, study-level splits, and a synthetic generator.

The on-disk format (R2Gen's ``iu_xray`` folder)::

    <root>/annotation.json   {"train": [...], "val": [...], "test": [...]}
    <root>/images/<id>/0.png (frontal), 1.png (lateral)

Each entry is ``{"id": str, "report": str, "image_path": [frontal, lateral], "split": str}``
with image paths relative to ``<root>/images``. The synthetic generator
(`companion.radiology.synthetic.make_synthetic`) writes exactly this layout (plus an optional
``"findings"`` list per study, which real IU X-ray lacks and the loader does not require), so
every run goes through the same loader. `load_reports` reads the index alone (the vendored real
reports in ``data/real/iu_xray`` have no images).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from companion.core.io import read_json

SPLITS = ("train", "val", "test")
#: Ratios of the paper (Section 4.1: 7:2:1) and of R2Gen (7:1:2, what Table 1's baselines used).
SPLIT_RATIOS = {"paper": (0.7, 0.2, 0.1), "r2gen": (0.7, 0.1, 0.2)}

#: Findings drawn by the generator and their per-study probability among abnormal studies.
#: Normal studies are drawn first with probability ``NORMAL_FRACTION``; the rest carry at least
#: one finding. The order mirrors IU X-ray's MeSH frequencies (granuloma, cardiomegaly and
#: degenerative spine common; pneumothorax rare).
FINDING_RATES = {
    "cardiomegaly": 0.30,
    "calcified_granuloma": 0.30,
    "degenerative_spine": 0.25,
    "pleural_effusion": 0.15,
    "consolidation": 0.12,
    "nodule": 0.08,
    "pneumothorax": 0.05,
}
FINDINGS = tuple(FINDING_RATES)
NORMAL_FRACTION = 0.4

#: The keyword labeller's vocabulary: a regular expression per finding, matched per sentence and
#: negated by a preceding "no", "without", "free of", ... (`companion.metrics.findings`). Written
#: from the real IU X-ray training reports: "granulomatous disease" counts as granuloma, airspace
#: disease / opacity, infiltrate and pneumonia as consolidation, spondylosis and osteophytes as
#: degenerative spine; "noncalcified nodule" is still a nodule mention, "nodular" too.
FINDING_PATTERNS = {
    "cardiomegaly": r"cardiomegaly|(heart|cardiac silhouette|heart size|cardiac size)\s+(is\s+|are\s+|appears\s+|remains\s+)?"
                    r"(again\s+)?((mildly|moderately|markedly|slightly|severely|minimally|borderline|stably)\s+)?"
                    r"(enlarged|large)\b|enlarged (heart|cardiac)",
    "calcified_granuloma": r"granulom",
    "pleural_effusion": r"(?<!pericardial )effusion",
    "consolidation": r"consolidat|air\s?space (disease|opacit)|pneumonia|infiltrat",
    "nodule": r"(?<!non)(?<!non-)nodul",
    "pneumothorax": r"pneumothora",
    "degenerative_spine": r"degenerative|spondylosis|osteophyt",
}
assert set(FINDING_PATTERNS) == set(FINDINGS)

_LABELLER = None


def finding_labeller():
    """The chapter's `companion.metrics.findings.KeywordLabeller` over `FINDING_PATTERNS`."""
    global _LABELLER
    if _LABELLER is None:
        from companion.metrics.findings import KeywordLabeller

        _LABELLER = KeywordLabeller(FINDING_PATTERNS)
    return _LABELLER


def label_findings(reports) -> list[frozenset[str]]:
    """The findings each report asserts, by the chapter's keyword labeller (a list of frozensets)."""
    return finding_labeller().label_all(reports)


# --------------------------------------------------------------------------- loading


@dataclass
class Study:
    """One study: its id, report, the two image paths (absolute) and, if known, its findings."""

    id: str
    report: str
    image_paths: tuple[Path, Path]
    split: str
    findings: tuple[str, ...] | None = None

    @property
    def is_normal(self) -> bool | None:
        return None if self.findings is None else len(self.findings) == 0


def load_annotation(root: str | Path, check_images: bool = True, skip_unreadable: bool = False) -> dict[str, list[Study]]:
    """Read ``<root>/annotation.json`` into ``{"train"|"val"|"test": [Study, ...]}``.

    Parameters
    ----------
    root : path
        The dataset folder (holding ``annotation.json`` and ``images/``).
    check_images : bool
        Open every image once to make sure it exists and decodes.
    skip_unreadable : bool
        With ``True`` a study whose image is missing or unreadable is dropped and counted (the
        count and the first ids are in the warning); with ``False`` (default) it raises.

    Raises
    ------
    FileNotFoundError
        The folder or ``annotation.json`` does not exist; an image is missing (unless skipped).
    ValueError
        Malformed JSON, a missing split or key, a duplicate id, an empty report, an
        unreadable image (unless skipped).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"IU X-ray folder {root} does not exist")
    index = root / "annotation.json"
    if not index.is_file():
        raise FileNotFoundError(f"{index} not found: expected R2Gen's annotation.json in {root}")
    raw = read_json(index)
    if not isinstance(raw, dict) or not all(s in raw for s in SPLITS):
        raise ValueError(f"{index} must be an object with keys {SPLITS}, got {type(raw).__name__} "
                         f"with keys {sorted(raw) if isinstance(raw, dict) else '-'}")
    out: dict[str, list[Study]] = {}
    seen: set[str] = set()
    bad: list[str] = []
    for split in SPLITS:
        if not isinstance(raw[split], list):
            raise ValueError(f"{index}: split {split!r} must be a list of studies")
        studies = []
        for i, entry in enumerate(raw[split]):
            where = f"{index}: {split}[{i}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where} is not an object")
            missing = [k for k in ("id", "report", "image_path") if k not in entry]
            if missing:
                raise ValueError(f"{where} lacks key(s) {missing}")
            sid = str(entry["id"])
            if sid in seen:
                raise ValueError(f"{where}: duplicate study id {sid!r}")
            seen.add(sid)
            if not isinstance(entry["report"], str) or not entry["report"].strip():
                raise ValueError(f"{where} (id {sid}): empty or non-string report")
            paths = entry["image_path"]
            if not isinstance(paths, list) or len(paths) < 1:
                raise ValueError(f"{where} (id {sid}): image_path must be a list [frontal, lateral]")
            paths = [root / "images" / p for p in paths]
            if len(paths) == 1:  # a handful of IU studies have one view: reuse it for both
                paths = paths * 2
            if check_images:
                problem = _image_problem(paths)
                if problem is not None:
                    if not skip_unreadable:
                        kind, message = problem
                        raise kind(f"{where} (id {sid}): {message}")
                    bad.append(sid)
                    continue
            findings = entry.get("findings")
            studies.append(Study(sid, entry["report"], (paths[0], paths[1]), split,
                                 tuple(findings) if findings is not None else None))
        out[split] = studies
    if bad:
        import warnings

        warnings.warn(f"{root}: skipped {len(bad)} studies with missing/unreadable images "
                      f"(first: {bad[:5]})", stacklevel=2)
    return out


def load_reports(root: str | Path) -> dict[str, list[Study]]:
    """Read only the index ``<root>/annotation.json``: reports and ids, no image is opened or required.

    This is how the chapter reads the vendored real IU X-ray text (``data/real/iu_xray``, which
    has no images): the same validation of the index as `load_annotation` (missing folder or
    file, malformed JSON, missing split or key, duplicate id, empty report), while image paths
    are kept as written and never checked. Use `load_annotation` for anything that needs pixels.
    """
    return load_annotation(root, check_images=False)


def real_reports_root() -> Path:
    """``data/real/iu_xray`` of this checkout: the real IU X-ray reports (no images) vendored with their terms."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "real" / "iu_xray"
        if (candidate / "annotation.json").is_file():
            return candidate
    raise FileNotFoundError(f"data/real/iu_xray/annotation.json not found above {here}: the real IU X-ray "
                            "reports are vendored in the repository's data/real/iu_xray folder")


def _image_problem(paths) -> tuple[type, str] | None:
    for p in paths:
        if not p.is_file():
            return FileNotFoundError, f"image {p} is missing"
        try:
            with Image.open(p) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            return ValueError, f"image {p} is unreadable ({exc.__class__.__name__})"
    return None


def split_by_study(ids, ratios=SPLIT_RATIOS["paper"], seed: int = 0) -> dict[str, list[str]]:
    """Assign study ids to train/val/test in ``ratios`` with a seeded permutation.

    The unit is the study (both views of a study stay together). Ids are sorted first so the
    result depends only on the set of ids and the seed.

    Returns
    -------
    dict ``{"train"|"val"|"test": [id, ...]}``, disjoint, covering every id.
    """
    ids = sorted(set(map(str, ids)))
    if len(ids) < 3:
        raise ValueError(f"need at least 3 studies to split, got {len(ids)}")
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not np.isclose(sum(ratios), 1.0):
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = int(round(ratios[0] * len(ids)))
    n_val = int(round(ratios[1] * len(ids)))
    cut = [n_train, n_train + n_val]
    parts = np.split(order, cut)
    return {s: [ids[i] for i in sorted(p)] for s, p in zip(SPLITS, parts)}


def resplit(studies: dict[str, list[Study]], split: str = "paper", seed: int = 0) -> dict[str, list[Study]]:
    """Re-split all studies by study id: ``"paper"`` (7:2:1), ``"r2gen"`` (7:1:2) or ``"file"`` (as given)."""
    if split == "file":
        return studies
    if split not in SPLIT_RATIOS:
        raise ValueError(f"split must be 'paper', 'r2gen' or 'file', got {split!r}")
    every = {s.id: s for part in studies.values() for s in part}
    assignment = split_by_study(every, SPLIT_RATIOS[split], seed)
    return {name: [_with_split(every[i], name) for i in ids] for name, ids in assignment.items()}


def _with_split(s: Study, split: str) -> Study:
    return Study(s.id, s.report, s.image_paths, split, s.findings)


# --------------------------------------------------------------------------- torch dataset


def load_image(path: Path, size: int) -> torch.Tensor:
    """A grey radiograph as a float tensor [3, size, size] in [0, 1] (grey copied to RGB)."""
    with Image.open(path) as im:
        im = im.convert("L")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(a)[None].expand(3, -1, -1).contiguous()


class ReportImageDataset(torch.utils.data.Dataset):
    """Frontal image + tokenised report per study, images decoded once and kept in memory.

    Tokenisation is cached here (the frozen text encoder still runs every step, because the
    prompts change). Items are dicts ``{"image": [3, S, S], "input_ids": [L], "attention_mask": [L],
    "index": int}``.
    """

    def __init__(self, studies: list[Study], tokenizer, image_size: int, max_length: int = 64, view: int = 0):
        if not studies:
            raise ValueError("ReportImageDataset: no studies")
        self.studies = list(studies)
        self.images = torch.stack([load_image(s.image_paths[view], image_size) for s in self.studies])
        tok = tokenizer([s.report for s in self.studies], padding="max_length", truncation=True,
                        max_length=max_length, return_tensors="pt")
        self.input_ids = tok["input_ids"]
        self.attention_mask = tok["attention_mask"]

    def __len__(self) -> int:
        return len(self.studies)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "input_ids": self.input_ids[i],
                "attention_mask": self.attention_mask[i], "index": i}

    @property
    def reports(self) -> list[str]:
        return [s.report for s in self.studies]

    def with_images(self, images: torch.Tensor) -> "ReportImageDataset":
        """The same studies and tokens with ``images`` in place of the decoded images (e.g. a frozen
        trunk's feature maps [N, C, h, w]); one row per study."""
        if len(images) != len(self.studies):
            raise ValueError(f"with_images: {len(images)} rows for {len(self.studies)} studies")
        out = object.__new__(ReportImageDataset)
        out.studies, out.input_ids, out.attention_mask = self.studies, self.input_ids, self.attention_mask
        out.images = images
        return out

    def select(self, indices) -> "ReportImageDataset":
        """The studies at ``indices`` (in that order), sharing nothing mutable with this dataset."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        if len(idx) == 0 or int(idx.min()) < 0 or int(idx.max()) >= len(self.studies):
            raise ValueError(f"select: indices must be non-empty and within 0..{len(self.studies) - 1}")
        out = object.__new__(ReportImageDataset)
        out.studies = [self.studies[i] for i in idx.tolist()]
        out.images, out.input_ids, out.attention_mask = self.images[idx], self.input_ids[idx], self.attention_mask[idx]
        return out

    def head(self, n: int) -> "ReportImageDataset":
        """The first ``n`` studies, sharing this dataset's decoded images and tokens (no copy)."""
        if not 1 <= n:
            raise ValueError(f"n must be >= 1, got {n}")
        out = object.__new__(ReportImageDataset)
        out.studies = self.studies[:n]
        out.images, out.input_ids, out.attention_mask = self.images[:n], self.input_ids[:n], self.attention_mask[:n]
        return out


def finding_table(studies: list[Study]) -> dict[str, int]:
    """Counts of each finding (and of normal studies) in ``studies`` that carry findings."""
    counts = Counter()
    for s in studies:
        if s.findings is None:
            continue
        counts["normal" if not s.findings else "abnormal"] += 1
        counts.update(s.findings)
    return {k: counts.get(k, 0) for k in ("normal", "abnormal", *FINDINGS)}


def primary_finding(study: Study) -> str:
    """A single label for colouring plots: 'normal', the rarest finding present, or 'unknown'."""
    if study.findings is None:
        return "unknown"
    if not study.findings:
        return "normal"
    return min(study.findings, key=lambda f: FINDING_RATES[f])


# --------------------------------------------------------------------------- report text statistics


def report_sentences(report: str) -> list[str]:
    """The sentences of a report after R2Gen's cleaning (`companion.metrics.nlg.clean_report`), non-empty."""
    from companion.metrics.nlg import clean_report

    return [" ".join(s.split()).rstrip(" .") for s in clean_report(report).split(" . ") if s.strip(" .")]


def report_statistics(reports: list[str]) -> dict[str, float]:
    """Length, vocabulary, repetition and the labeller's normal fraction of a list of reports.

    Words and the vocabulary are counted on R2Gen-cleaned text (what the scorers see); a report
    is "normal" when the keyword labeller finds none of the chapter's seven findings in it (real
    reports also name findings outside that vocabulary, e.g. hiatal hernia or atelectasis, so
    this is an upper bound of the truly normal fraction). Two reports are the same when their
    cleaned texts are equal.
    """
    from companion.metrics.nlg import clean_report

    if not reports:
        raise ValueError("no reports")
    cleaned = [" ".join(clean_report(r).replace(" .", " ").split()) for r in reports]
    words = np.array([len(c.split()) for c in cleaned])
    counts = Counter(cleaned)
    labels = label_findings(reports)
    return {"reports": len(reports), "mean_words": float(words.mean()), "median_words": float(np.median(words)),
            "vocabulary": len({w for c in cleaned for w in c.split()}),
            "distinct_reports": len(counts),
            "repeated_fraction": float(sum(n for n in counts.values() if n > 1) / len(reports)),
            "top_report_count": counts.most_common(1)[0][1],
            "normal_fraction": float(np.mean([not x for x in labels])),
            "mean_sentences": float(np.mean([len(report_sentences(r)) for r in reports]))}


def sentence_frequencies(reports: list[str], top: int = 10) -> list[tuple[str, int, float]]:
    """The ``top`` most frequent cleaned sentences: (sentence, count, fraction of reports containing it)."""
    per_report = Counter(s for r in reports for s in set(report_sentences(r)))
    total = Counter(s for r in reports for s in report_sentences(r))
    return [(s, n, per_report[s] / len(reports)) for s, n in total.most_common(top)]


def trim_padding(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop the padding columns that no report of the batch uses (right padding; BERT's output at the
    kept positions is unchanged, since padded keys are masked)."""
    n = max(int(attention_mask.sum(1).max()), 1)
    return input_ids[:, :n], attention_mask[:, :n]
