"""A synthetic IU X-ray in R2Gen's layout: phantom radiographs and reports made of real IU X-ray sentences.

What each study contains, and why
---------------------------------
* **Findings** are drawn per study: normal with probability `NORMAL_FRACTION`, otherwise at
  least one of the seven findings of `FINDING_RATES` (granuloma, cardiomegaly and degenerative
  spine common, pneumothorax rare, as in IU X-ray's MeSH labels).
* **Images**: a frontal and a lateral chest phantom (lungs, ribs, heart, mediastinum, spine,
  diaphragm) with each finding drawn where its sentence puts it (`draw_frontal`, `draw_lateral`).
* **Reports are built from real IU X-ray sentences** (the vendored training reports,
  ``data/real/iu_xray``), so the text has IU X-ray's phrasing, length and repetition:

  - a normal study's report is a whole real *normal* training report (one in which the keyword
    labeller finds none of the seven findings and no other abnormality word), drawn with its
    real frequency, so the same normal reports recur as they do in IU X-ray;
  - an abnormal study starts from such a normal report, drops the sentences that would
    contradict its findings (a negated mention of the finding, or the normal statement of the
    structure it changes), and inserts, for each finding, a real training sentence that asserts
    exactly that finding (labeller), drawn with its real frequency. Side and lung zone of the
    drawing follow the words of that sentence.

  Every generated report is checked: the keyword labeller reads back exactly the drawn findings
  (the generator resamples a sentence until it does), so the labeller's F1 against the truth is 1
  by construction and finding-level scores measure the retrieval, not the labeller.

This is a model, not IU X-ray: real abnormal reports mention findings outside the vocabulary and
mix findings in one sentence; here each finding has its own sentence and no other abnormality
appears. `oracle_reports` is the ceiling of retrieval on this data: it knows each test study's
true findings and retrieves a training report with the same finding set.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from companion.radiology.data import (FINDING_RATES, FINDINGS, NORMAL_FRACTION, SPLIT_RATIOS, finding_labeller,
                                      load_reports, real_reports_root, split_by_study)

#: A finding sentence containing any of these is not used: it names another abnormality, negates or
#: hedges, or compares with a prior study (the synthetic study has none).
OTHER_ABNORMALITY = re.compile(
    r"opacit|atelecta|hernia|scar|emphysema|hyperinfla|hyperexpan|tortuous|surg|sternotomy|clip|"
    r"fractur|edema|\bmass|prominen|interstitial|chronic|copd|deformit|elevat|blunt|catheter|pacemaker|"
    r"wire|stent|postoperative|low lung volume|cabg|ectatic|aortic|kyphos|scolios|"
    r"thicken|fibros|lesion|densit|nipple|\bport\b|tube|shunt|cholecyst|ectomy|"
    r"\bnot\b|\bno\b|resolv|remov|smaller|decreas|could|\bmay\b|might|possibl|probabl|question|cannot|\bvs\b|"
    r"versus|\bor\b|clear|pericardial|previous|compar|unchanged|again|redemonstrat|interval|decubitus",
    re.IGNORECASE)
#: A normal report must not use these (they make sense only with a prior study or a finding).
_NOT_NORMAL = re.compile(r"opacit|atelecta|hernia|scar|emphysema|hyperinfla|hyperexpan|tortuous|calcif|surg|"
                         r"sternotomy|clip|fractur|edema\b(?! or)|prominen|chronic|copd|deformit|elevat|blunt|"
                         r"catheter|pacemaker|wire|stent|postoperative|low lung volume|cabg|ectatic|kyphos|scolios|"
                         r"thicken|fibros|lesion|densit|nipple|\bport\b|tube|shunt|cholecyst|ectomy",
                         re.IGNORECASE)
#: For each finding, words of a normal sentence that the finding contradicts (dropped when present).
_CONTRADICTS = {
    "cardiomegaly": r"heart|cardiac|cardio",
    "pleural_effusion": r"effusion|costophrenic",
    "pneumothorax": r"pneumothora",
    "consolidation": r"consolidat|airspace|air space|pneumonia|infiltrat|lungs? (are|is) clear|clear lungs|lungs clear",
    "nodule": r"nodul|mass",
    "calcified_granuloma": r"granulom",
    "degenerative_spine": r"degenerative|spondylosis|osseous|bony|bone|skeletal",
}


def _sentences(report: str) -> list[str]:
    return finding_labeller().sentences(report)


def sentence_pools(reports: list[str] | None = None) -> dict:
    """Normal reports and per-finding sentences from ``reports`` (default: the real IU X-ray
    training reports, read once per process), with counts.

    Returns ``{"normal": [(report, count), ...], "<finding>": [(sentence, count), ...], ...}``; a
    normal report is one where the labeller finds nothing and no other abnormality is named
    (`_NOT_NORMAL`); a finding sentence is one the labeller reads as asserting exactly that
    finding and nothing else, of at most 20 words, without `OTHER_ABNORMALITY` words (other
    abnormalities, negation, hedging, comparison with a prior study).
    """
    if reports is None:
        return _real_pools()
    return _pools(list(reports))


@functools.lru_cache(maxsize=1)
def _real_pools() -> dict:
    return _pools([s.report for s in load_reports(real_reports_root())["train"]])


def _pools(reports: list[str]) -> dict:
    labeller = finding_labeller()
    normal = Counter()
    first: dict[str, str] = {}
    per_finding = {f: Counter() for f in FINDINGS}
    for report in reports:
        key = " ".join(report.split())
        if not labeller(report) and not _NOT_NORMAL.search(report):
            normal[key] += 1
            first.setdefault(key, key)
        for sentence in _sentences(report):
            found = labeller(sentence)
            if len(found) == 1 and len(sentence.split()) <= 20:
                other = OTHER_ABNORMALITY.sub("", sentence) != sentence
                finding = next(iter(found))
                if not other:
                    per_finding[finding][sentence] += 1
    pools = {"normal": sorted(normal.items(), key=lambda kv: (-kv[1], kv[0]))}
    for f, c in per_finding.items():
        if not c:
            raise ValueError(f"no real sentence asserts {f!r} alone: cannot build synthetic reports")
        pools[f] = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
    if not pools["normal"]:
        raise ValueError("no normal report in the real reports")
    return pools


def _draw(pool, rng):
    counts = np.array([c for _, c in pool], dtype=float)
    return pool[rng.choice(len(pool), p=counts / counts.sum())][0]


def _where(sentence: str, rng: np.random.Generator) -> dict:
    """Side and zone a finding sentence names (random where it names none)."""
    text = sentence.lower()
    right, left = "right" in text, "left" in text
    side = "right" if right and not left else "left" if left and not right else ["right", "left"][rng.integers(2)]
    if re.search(r"upper|apex|apical|apices", text):
        zone = "upper lobe"
    elif re.search(r"base|basilar|lower|inferior", text):
        zone = "base"
    elif re.search(r"mid|middle|lingula|hil", text):
        zone = "midlung"
    else:
        zone = ["base", "upper lobe", "midlung"][rng.integers(3)]
    return {"side": side, "zone": zone}


def compose_report(findings: list[str], pools: dict, rng: np.random.Generator) -> tuple[str, dict[str, dict]]:
    """A report for ``findings`` from real sentences, and where each finding is (side, zone).

    Returns ``(report, {finding: {"side", "zone"}})``; the keyword labeller reads back exactly
    ``findings`` from the report (resampled until it does, at most 50 tries, else ValueError).
    """
    labeller = finding_labeller()
    want = frozenset(findings)
    for _ in range(50):
        base = _sentences(_draw(pools["normal"], rng))
        if findings:
            pattern = re.compile("|".join(_CONTRADICTS[f] for f in findings), re.IGNORECASE)
            base = [s for s in base if not pattern.search(s)]
        where, added = {}, []
        for f in findings:
            sentence = _draw(pools[f], rng)
            where[f] = _where(sentence, rng)
            added.append(sentence if sentence.endswith(".") else sentence + ".")
        sentences = list(base)
        for sentence in added:  # findings go in at random places among the normal statements
            sentences.insert(int(rng.integers(len(sentences) + 1)), sentence)
        report = " ".join(sentences)
        if labeller(report) == want:
            return report, where
    raise ValueError(f"could not compose a report the labeller reads as {sorted(want)} in 50 tries")


def sample_findings(rng: np.random.Generator) -> dict[str, dict]:
    """Findings of one study: ``{}`` with probability NORMAL_FRACTION, else at least one finding."""
    if rng.random() < NORMAL_FRACTION:
        return {}
    while True:
        chosen = {}
        for name, rate in FINDING_RATES.items():
            if rng.random() < rate:
                chosen[name] = {"side": ["right", "left"][rng.integers(2)],
                                "zone": ["base", "upper lobe", "midlung"][rng.integers(3)]}
        if "pneumothorax" in chosen and "pleural_effusion" in chosen:
            del chosen["pleural_effusion"]  # both replace the pleura sentence; keep the rarer one
        if chosen:
            return chosen


def _ellipse(yy, xx, cy, cx, ry, rx):
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def draw_frontal(findings: dict[str, dict], size: int, rng: np.random.Generator) -> np.ndarray:
    """A PA chest phantom [size, size] in [0, 1]: bright = dense (bone, heart, fluid), dark = air."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.full((size, size), 0.55, np.float32)  # soft tissue
    jitter = rng.normal(0, 0.015, 4)
    lung_r = _ellipse(yy, xx, 0.47 + jitter[0], 0.32, 0.30, 0.14)
    lung_l = _ellipse(yy, xx, 0.47 + jitter[1], 0.68, 0.30, 0.14)
    lungs = lung_r | lung_l
    img[lungs] = 0.18
    # ribs: bright bands across the lungs
    for k in range(6):
        y0 = 0.22 + 0.085 * k + jitter[2] * 0.5
        band = np.abs(yy - (y0 + 0.08 * (xx - 0.5) ** 2 * 4)) < 0.012
        img[band & lungs] += 0.12
    # mediastinum and spine
    img[np.abs(xx - 0.5) < 0.055 + 0.01 * (yy < 0.35)] = 0.7
    spine = np.abs(xx - 0.5) < 0.025
    img[spine] = 0.8
    # heart: bright ellipse at the lower mediastinum, shifted left (patient's left is image right)
    heart_scale = 1.45 if "cardiomegaly" in findings else 1.0
    heart = _ellipse(yy, xx, 0.63, 0.55, 0.11 * heart_scale ** 0.6, 0.11 * heart_scale)
    img[heart] = 0.75
    # diaphragm: dense below the domes
    dome = 0.78 + 0.05 * np.cos((xx - 0.32) * 9) * (xx < 0.5) + 0.05 * np.cos((xx - 0.68) * 9) * (xx >= 0.5)
    img[yy > dome] = 0.72

    def side_x(where):
        return 0.32 if where["side"] == "right" else 0.68  # radiological convention: right on the left

    def zone_y(where):
        return {"base": 0.62, "upper lobe": 0.32, "midlung": 0.47}[where["zone"]]

    if "pleural_effusion" in findings:
        cx = side_x(findings["pleural_effusion"])
        level = 0.64 + rng.uniform(-0.03, 0.03)
        # fluid with a meniscus rising towards the chest wall, blunting the costophrenic angle
        meniscus = level - 0.06 * np.abs(xx - cx) / 0.14
        fluid = (yy > meniscus) & (np.abs(xx - cx) < 0.17) & (yy < 0.85)
        img[fluid] = np.maximum(img[fluid], 0.68)
    if "calcified_granuloma" in findings:
        w = findings["calcified_granuloma"]
        img[_ellipse(yy, xx, zone_y(w) + rng.uniform(-.03, .03), side_x(w) + rng.uniform(-.04, .04), .018, .018)] = 0.98
    if "nodule" in findings:
        w = findings["nodule"]
        img[_ellipse(yy, xx, zone_y(w) + rng.uniform(-.03, .03), side_x(w) + rng.uniform(-.04, .04), .04, .04)] = 0.62
    if "consolidation" in findings:
        w = findings["consolidation"]
        cy, cx = zone_y(w), side_x(w)
        patch = _ellipse(yy, xx, cy, cx, 0.09, 0.08) & lungs
        mottle = rng.uniform(0.45, 0.65, size=img.shape).astype(np.float32)
        img[patch] = np.maximum(img[patch], mottle[patch])
    if "pneumothorax" in findings:
        cx = side_x(findings["pneumothorax"])
        lateral = np.sign(cx - 0.5)
        # collapsed lung edge: the outer rim of the lung is black (no markings) with a thin pleural line
        edge = cx + lateral * 0.06
        rim = lungs & (lateral * (xx - edge) > 0) & (yy < 0.55)
        img[rim] = 0.03
        img[lungs & (np.abs(xx - edge) < 0.006) & (yy < 0.55)] = 0.5
    if "degenerative_spine" in findings:
        for k in range(5):
            y0 = 0.25 + 0.1 * k + rng.uniform(-.02, .02)
            for sx in (0.47, 0.53):
                img[_ellipse(yy, xx, y0, sx + (sx - 0.5) * 0.6, 0.012, 0.02)] = 0.97
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def draw_lateral(findings: dict[str, dict], size: int, rng: np.random.Generator) -> np.ndarray:
    """A lateral phantom: one lung field, heart anterior, spine posterior, findings projected."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.full((size, size), 0.55, np.float32)
    lung = _ellipse(yy, xx, 0.47, 0.5, 0.32, 0.28)
    img[lung] = 0.22
    img[np.abs(xx - 0.82) < 0.04] = 0.8  # spine, posterior
    scale = 1.4 if "cardiomegaly" in findings else 1.0
    img[_ellipse(yy, xx, 0.62, 0.33, 0.12 * scale ** 0.6, 0.12 * scale)] = 0.72
    img[yy > 0.8 - 0.04 * (xx - 0.5)] = 0.72
    if "pleural_effusion" in findings:
        img[(yy > 0.72) & (xx > 0.6) & (xx < 0.8)] = 0.68  # posterior costophrenic sulcus
    if "calcified_granuloma" in findings:
        img[_ellipse(yy, xx, 0.5 + rng.uniform(-.1, .1), 0.55 + rng.uniform(-.1, .1), .018, .018)] = 0.98
    if "nodule" in findings:
        img[_ellipse(yy, xx, 0.45 + rng.uniform(-.1, .1), 0.55, .04, .04)] = 0.62
    if "consolidation" in findings:
        patch = _ellipse(yy, xx, 0.55, 0.55, 0.1, 0.1) & lung
        img[patch] = np.maximum(img[patch], 0.5)
    if "degenerative_spine" in findings:
        for k in range(5):
            img[_ellipse(yy, xx, 0.25 + 0.1 * k, 0.78, 0.012, 0.02)] = 0.97
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)




def make_synthetic(root: str | Path, n_studies: int, image_size: int = 128, seed: int = 0,
                   split: str = "r2gen") -> Path:
    """Write a synthetic IU X-ray (R2Gen layout) with ``n_studies`` studies under ``root``.

    Deterministic in ``seed``. If ``root/annotation.json`` already exists with the same
    generator settings (stored in ``root/generator.json``) nothing is rewritten.

    Parameters
    ----------
    root : path
        Output folder (created).
    n_studies : int
        Number of studies; each gets a frontal and a lateral PNG of ``image_size`` pixels.
    split : {"r2gen", "paper"}
        Ratios of the split written into annotation.json (by study id, seeded): R2Gen's 7:1:2
        (default, the split of Table 1's baselines, and it gives a larger test set) or the
        paper's 7:2:1.

    Returns
    -------
    Path to ``root``.
    """
    if n_studies < 3:
        raise ValueError(f"n_studies must be >= 3, got {n_studies}")
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 pixels, got {image_size}")
    if split not in SPLIT_RATIOS:
        raise ValueError(f"split must be one of {sorted(SPLIT_RATIOS)}, got {split!r}")
    root = Path(root)
    settings = {"n_studies": n_studies, "image_size": image_size, "seed": seed, "split": split, "version": 3}
    stamp = root / "generator.json"
    if stamp.is_file() and (root / "annotation.json").is_file() and json.loads(stamp.read_text()) == settings:
        return root
    pools = sentence_pools()
    rng = np.random.default_rng(seed)
    entries = {}
    for i in range(n_studies):
        sid = f"CXR{i + 1}_IM-{1000 + i}"
        drawn = sample_findings(rng)
        names = [f for f in FINDINGS if f in drawn]
        report, where = compose_report(names, pools, rng)
        folder = root / "images" / sid
        folder.mkdir(parents=True, exist_ok=True)
        for view, draw in ((0, draw_frontal), (1, draw_lateral)):
            Image.fromarray((draw(where, image_size, rng) * 255).astype(np.uint8)).save(folder / f"{view}.png")
        entries[sid] = {"id": sid, "report": report, "image_path": [f"{sid}/0.png", f"{sid}/1.png"],
                        "findings": sorted(names)}
    assignment = split_by_study(entries, SPLIT_RATIOS[split], seed)
    annotation = {s: [dict(entries[i], split=s) for i in ids] for s, ids in assignment.items()}
    (root / "annotation.json").write_text(json.dumps(annotation, indent=1))
    stamp.write_text(json.dumps(settings))
    return root


def oracle_reports(test_findings: list, train_findings: list, train_reports: list[str],
                   seed: int = 0) -> tuple[list[str], int]:
    """The ceiling of retrieval: for each test study, a training report with the same finding set.

    Knows the true findings of every study (the generator's labels). Among training studies with
    exactly the test study's set one is drawn at random (``seed``); where none exists, one with
    the largest Jaccard overlap is drawn. Returns ``(reports, n_without_exact_match)``.
    """
    if len(train_findings) != len(train_reports) or not train_reports:
        raise ValueError(f"{len(train_findings)} training finding sets for {len(train_reports)} reports")
    rng = np.random.default_rng(seed)
    train_sets = [frozenset(f) for f in train_findings]
    by_set: dict[frozenset, list[int]] = {}
    for j, s in enumerate(train_sets):
        by_set.setdefault(s, []).append(j)
    out, missing = [], 0
    for f in test_findings:
        target = frozenset(f)
        candidates = by_set.get(target)
        if not candidates:
            missing += 1
            overlap = [len(target & s) / max(len(target | s), 1) for s in train_sets]
            best = max(overlap)
            candidates = [j for j, o in enumerate(overlap) if o == best]
        out.append(train_reports[candidates[int(rng.integers(len(candidates)))]])
    return out, missing
