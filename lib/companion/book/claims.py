"""Each chapter's claims table, kept beside the registry so the scorecard can show every claim in one place.

A chapter's ``05-evaluation`` builds ``evaluate.claims_table(...)`` (columns ``claim``, ``paper``, ``this run``,
``criterion``, ``holds``) and stores it with ``record_claims("eapm", table, profile=profile)``. The file is
``build/claims/<profile>/<chapter>.json``: outside ``build/results`` so that the registry's notebook records and
the baselines never mistake it for one.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from companion.book.paths import build_dir

COLUMNS = ("claim", "paper", "this run", "criterion", "holds")


def claims_path(chapter: str, profile: str) -> Path:
    return build_dir() / "claims" / profile / f"{chapter}.json"


def _verdict(value) -> str:
    """'yes' / 'no' / the table's own words; an empty verdict (None) reads 'not testable here'."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not testable here"
    return str(value)


def record_claims(chapter: str, table, *, profile: str) -> Path:
    """Store ``table`` (a DataFrame or a list of dicts with ``COLUMNS``) as the chapter's claims of ``profile``."""
    rows = table.to_dict("records") if hasattr(table, "to_dict") else list(table)
    if not rows:
        raise ValueError(f"{chapter}: the claims table is empty")
    clean = []
    for i, row in enumerate(rows):
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ValueError(f"{chapter}: claims row {i} has no column(s) {missing} (columns: {list(COLUMNS)})")
        clean.append({c: (_verdict(row[c]) if c == "holds" else str(row[c])) for c in COLUMNS})
    from companion.book.registry import recording_profile

    path = claims_path(chapter, recording_profile(profile))  # interactive runs stay apart, as in record()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"chapter": chapter, "profile": profile, "rows": clean}, indent=1))
    os.replace(tmp, path)
    return path


def load_claims(profile: str) -> dict[str, list[dict]]:
    """Every chapter's stored claims rows of ``profile``, keyed by chapter."""
    root = build_dir() / "claims" / profile
    out = {}
    for path in sorted(root.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())["rows"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise ValueError(f"{path}: not a claims file written by record_claims ({exc}); delete it and re-run "
                             f"the chapter's 05-evaluation") from exc
    return out
