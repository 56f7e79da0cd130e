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
