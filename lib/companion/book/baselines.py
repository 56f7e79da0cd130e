"""Regression baselines: the smoke profile's numbers, committed with explicit tolerances.

``tests/baselines/<chapter>/<notebook>.json`` holds, per metric, the value and the
tolerance it is compared with::

    {"metrics": {"test_auc": {"value": 0.8125, "rtol": 1e-06, "atol": 1e-09}}}

`compare` lists every difference as a readable line; `update` rewrites the values
from the latest results (keeping any tolerance someone loosened on purpose):

    python -m companion.book baselines --update      # or: make baselines
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from companion.book.paths import BASELINES
from companion.book.registry import load_results

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
PROFILE = "smoke"


def _baseline_path(key: str) -> Path:
    return BASELINES / f"{key}.json"


def load_baselines() -> dict[str, dict]:
    out = {}
    for path in sorted(BASELINES.glob("*/*.json")):
        key = f"{path.parent.name}/{path.stem}"
        out[key] = json.loads(path.read_text())["metrics"]
    return out


def compare(profile: str = PROFILE, keys=None) -> list[str]:
    """Differences between recorded results and baselines, one line each (empty: all match)."""
    results = load_results(profile)
    baselines = load_baselines()
    if keys is not None:
        results = {k: v for k, v in results.items() if k in keys}
        baselines = {k: v for k, v in baselines.items() if k in keys}
    problems = []
    for key in sorted(set(baselines) - set(results)):
        problems.append(f"{key}: has a baseline but recorded nothing in profile {profile!r}")
    for key in sorted(set(results) - set(baselines)):
        problems.append(f"{key}: recorded {sorted(results[key]['metrics'])} but has no baseline (make baselines)")
    for key in sorted(set(results) & set(baselines)):
        got, want = results[key]["metrics"], baselines[key]
        for name in sorted(set(want) - set(got)):
            problems.append(f"{key}: {name} missing (baseline {want[name]['value']!r})")
        for name in sorted(set(got) - set(want)):
            problems.append(f"{key}: {name} = {got[name]!r} is new (no baseline)")
        for name in sorted(set(got) & set(want)):
            spec = want[name]
            expected, actual = spec["value"], got[name]
            rtol, atol = spec.get("rtol", DEFAULT_RTOL), spec.get("atol", DEFAULT_ATOL)
            if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
                problems.append(
                    f"{key}: {name} = {actual!r}, baseline {expected!r} "
                    f"(diff {actual - expected:+.3g}, rtol {rtol:g}, atol {atol:g})"
                )
    return problems


def update(profile: str = PROFILE, keys=None) -> list[Path]:
    """Write the latest results of ``profile`` as baselines; return the files written."""
    results = load_results(profile)
    if not results:
        raise ValueError(f"no results recorded in profile {profile!r}: run the notebooks first")
    written = []
    for key, entry in results.items():
        if keys is not None and key not in keys:
            continue
        path = _baseline_path(key)
        old = json.loads(path.read_text())["metrics"] if path.exists() else {}
        metrics = {
            name: {
                "value": value,
                "rtol": old.get(name, {}).get("rtol", DEFAULT_RTOL),
                "atol": old.get(name, {}).get("atol", DEFAULT_ATOL),
            }
            for name, value in sorted(entry["metrics"].items())
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data": entry["data"], "metrics": metrics}, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written
