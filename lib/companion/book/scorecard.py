"""The reproduction scorecard: each paper's reported numbers beside ours.

Every chapter package keeps what its paper reports as data, in
``companion/<chapter>/paper.py``::

    REPORTED = [
        PaperNumber("Table 1", "BLEU-4, proposed method", 0.188,
                    ours="radiology/05-evaluation:BLEU_4"),
    ]

``ours`` names the registry entry ("<chapter>/<notebook>:<metric>") that our run
records for the same quantity, or is None where we cannot measure it. The
scorecard page joins these with the registry of one profile.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

PAPER_CHAPTERS = {
    "radiology": "CLIP-style radiology report generation",
    "mammography": "Recalled-benign mammograms",
    "crosslingual": "Zero-shot cross-lingual image retrieval",
    "eapm": "EAPM for object detection",
    "colortransfer": "Superpixel colour transfer",
}


@dataclass(frozen=True)
class PaperNumber:
    source: str             # where in the paper, e.g. "Table 1"
    quantity: str           # what it measures, in words
    value: float            # as the paper reports it
    ours: str | None = None  # "<chapter>/<notebook>:<metric>" in the registry
    note: str = ""


def reported(chapter: str) -> list[PaperNumber] | None:
    """The chapter's REPORTED list, or None when the chapter package does not exist yet."""
    try:
        module = importlib.import_module(f"companion.{chapter}.paper")
    except ModuleNotFoundError as exc:
        if exc.name in (f"companion.{chapter}", f"companion.{chapter}.paper"):
            return None
        raise
    return list(module.REPORTED)


def scorecard_rows(profile: str) -> list[dict]:
    """One row per reported number (or one placeholder row per chapter not written yet)."""
    from companion.book.registry import load_results

    results = load_results(profile)
    rows = []
    for chapter, title in PAPER_CHAPTERS.items():
        numbers = reported(chapter)
        if numbers is None:
            rows.append(dict(chapter=title, source="", quantity="chapter not written yet", paper=None,
                             ours=None, data="", profile=""))
            continue
        for n in numbers:
            ours, data, run_profile = None, "not measurable here", ""
            if n.ours:
                key, _, metric = n.ours.partition(":")
                entry = results.get(key)
                if entry is None:
                    data = f"{key} not run in profile {profile!r}"
                elif metric not in entry["metrics"]:
                    raise KeyError(f"scorecard: {key} recorded no metric {metric!r} (has {sorted(entry['metrics'])})")
                else:
                    ours, data, run_profile = entry["metrics"][metric], entry["data"], entry["profile"]
            rows.append(dict(chapter=title, source=n.source, quantity=n.quantity, paper=n.value, ours=ours,
                             data=data + (f" — {n.note}" if n.note else ""), profile=run_profile))
    return rows


HEADLINE_KEYS = ("headline_baseline", "headline_ours", "headline_ceiling")
CLAIM_KEYS = ("claims_total", "claims_testable", "claims_held")
# How the scorecard's headroom table names the registry's columns (short enough for a page width).
HEADROOM_LABELS = {"headline_baseline": "baseline", "headline_ours": "ours", "headline_ceiling": "ceiling",
                   "claims_total": "claims", "claims_testable": "testable", "claims_held": "held"}


def headroom_rows(profile: str) -> list[dict]:
    """Per chapter: the headline measure's baseline, ours and ceiling, the share of the gap closed, claim counts.

    Read from each chapter's ``05-evaluation`` record (the Measurement contract's names); a chapter that has not
    recorded them yet gets a row that says so instead of numbers.
    """
    from companion.book.registry import load_results

    results = load_results(profile)
    rows = []
    for chapter, title in PAPER_CHAPTERS.items():
        entry = results.get(f"{chapter}/05-evaluation")
        metrics = entry["metrics"] if entry else {}
        row = {"chapter": title, **{k: metrics.get(k) for k in HEADLINE_KEYS + CLAIM_KEYS}}
        base, ours, ceiling = (row[k] for k in HEADLINE_KEYS)
        row["gap closed"] = ((ours - base) / (ceiling - base)
                             if None not in (base, ours, ceiling) and ceiling != base else None)
        row["data"] = entry["data"] if entry else f"05-evaluation not run in profile {profile!r}"
        rows.append(row)
    return rows


def claims_rows(profile: str) -> list[dict]:
    """One row per claim of every chapter (from ``companion.book.claims``), chapter title first."""
    from companion.book.claims import load_claims

    stored = load_claims(profile)
    return [{"chapter": title, **row} for chapter, title in PAPER_CHAPTERS.items() for row in stored.get(chapter, [])]


def format_number(value) -> str:
    """Three significant digits, blank for a missing value (tables read as numbers, not as float reprs)."""
    if value is None or isinstance(value, str):
        return value or ""
    if value != value:  # nan
        return ""
    if abs(value) >= 1000:  # seconds, counts: whole numbers read better than 1.23e+03
        return f"{value:,.0f}"
    return f"{value:.3g}"


def styled(table, numeric=()):
    """A pandas Styler for the book: numbers right-aligned at three significant digits, text left, padded cells."""
    styler = table.style.hide(axis="index").format(format_number, subset=list(numeric))
    styler = styler.set_properties(**{"text-align": "left", "padding": "0.25em 0.75em", "vertical-align": "top"})
    if numeric:
        styler = styler.set_properties(subset=list(numeric), **{"text-align": "right"})
    return styler.set_table_styles([{"selector": "th", "props": "text-align: left; padding: 0.25em 0.75em;"}])


def reported_table(profile: str, chapter: str):
    """The chapter's reported numbers beside ours, as (table, common data line, numbered notes).

    The run description most rows share is said once (``common``); the others become numbered notes that the
    table's ``note`` column points to.
    """
    import pandas as pd

    title = PAPER_CHAPTERS[chapter]
    part = pd.DataFrame([r for r in scorecard_rows(profile) if r["chapter"] == title])
    if part.empty:
        return part, "", []
    common = part["data"].mode().iloc[0]
    notes = list(dict.fromkeys(d for d in part["data"] if d != common))
    table = pd.DataFrame({
        "source": part["source"], "quantity": part["quantity"], "paper": part["paper"], "ours": part["ours"],
        "note": [f"[{notes.index(d) + 1}]" if d in notes else "" for d in part["data"]],
    })
    return table, common, notes
