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
from companion.book.registry import load_results, load_runs, read_json, stale_records

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
PROFILE = "smoke"


def _baseline_path(key: str) -> Path:
    return BASELINES / f"{key}.json"


def load_baselines() -> dict[str, dict]:
    return {key: spec["metrics"] for key, spec in _load_specs().items()}


def _load_specs() -> dict[str, dict]:
    out = {}
    for path in sorted(BASELINES.glob("*/*.json")):
        key = f"{path.parent.name}/{path.stem}"
        spec = read_json(path)
        if not isinstance(spec, dict) or not isinstance(spec.get("metrics"), dict):
            raise ValueError(f"{path}: a baseline needs a 'metrics' object")
        out[key] = spec
    return out


def _selected(found: set, keys, chapters) -> set:
    if keys is not None:
        found &= set(keys)
    if chapters:
        found = {k for k in found if k.split("/")[0] in set(chapters)}
    return found


def compare(profile: str = PROFILE, keys=None, chapters=None) -> list[str]:
    """Differences between recorded results and baselines, one line each (empty: all match).

    A record is compared only when it comes from the latest run of its notebook, and that run
    ended well (same run id, commit, and a time inside the run, see
    `companion.book.registry.stale_reason`); otherwise the line says why it is refused. A record
    made with another torch thread count than its baseline (when the baseline says) is refused too.
    """
    results = load_results(profile)
    specs = _load_specs()
    runs = load_runs(profile)
    wanted = _selected(set(results) | set(specs) | set(runs), keys, chapters)
    stale = stale_records(profile, wanted)
    problems = [f"{c}: no baselines, results or runs for this chapter in profile {profile!r} (misspelt?)"
                for c in (chapters or ()) if not any(k.split("/")[0] == c for k in wanted)]
    for key in sorted(wanted):
        if key in stale:
            problems.append(f"{key}: refused: {stale[key]}")
            continue
        entry, spec = results.get(key), specs.get(key)
        if spec is None and entry is None:
            continue
        if entry is None:
            problems.append(f"{key}: has a baseline but recorded nothing in profile {profile!r}")
            continue
        if spec is None:
            problems.append(f"{key}: recorded {sorted(entry['metrics'])} but has no baseline (make baselines)")
            continue
        want_threads = spec.get("threads")
        got_threads = (entry.get("threads") or {}).get("torch")
        if want_threads is not None and got_threads != want_threads:
            problems.append(f"{key}: refused: ran with {got_threads} torch thread(s), the baseline was made with "
                            f"{want_threads} (run with --threads {want_threads})")
            continue
        got, want = entry["metrics"], spec["metrics"]
        for name in sorted(set(want) - set(got)):
            problems.append(f"{key}: {name} missing (baseline {want[name]['value']!r})")
        for name in sorted(set(got) - set(want)):
            problems.append(f"{key}: {name} = {got[name]!r} is new (no baseline)")
        for name in sorted(set(got) & set(want)):
            spec_m = want[name]
            expected, actual = spec_m["value"], got[name]
            rtol, atol = spec_m.get("rtol", DEFAULT_RTOL), spec_m.get("atol", DEFAULT_ATOL)
            if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
                problems.append(
                    f"{key}: {name} = {actual!r}, baseline {expected!r} "
                    f"(diff {actual - expected:+.3g}, rtol {rtol:g}, atol {atol:g})"
                )
    return problems


def update(profile: str = PROFILE, keys=None, chapters=None) -> list[Path]:
    """Write the latest results of ``profile`` as baselines; return the files written.

    Refuses (ValueError, naming each notebook and why) when any selected record is stale:
    a baseline is only ever made from the latest successful run.
    """
    results = load_results(profile)
    if not results:
        raise ValueError(f"no results recorded in profile {profile!r}: run the notebooks first")
    wanted = _selected(set(results) | set(load_runs(profile)), keys, chapters)
    missing = [c for c in (chapters or ()) if not any(k.split("/")[0] == c for k in wanted)]
    if missing:
        raise ValueError(f"no results recorded for chapter(s) {missing} in profile {profile!r}")
    stale = stale_records(profile, wanted)
    if stale:
        raise ValueError("refusing to write baselines from stale records:\n" +
                         "\n".join(f"{k}: {why}" for k, why in stale.items()))
    written = []
    for key in sorted(wanted & set(results)):
        entry = results[key]
        path = _baseline_path(key)
        old = read_json(path)["metrics"] if path.exists() else {}
        metrics = {
            name: {
                "value": value,
                "rtol": old.get(name, {}).get("rtol", DEFAULT_RTOL),
                "atol": old.get(name, {}).get("atol", DEFAULT_ATOL),
            }
            for name, value in sorted(entry["metrics"].items())
        }
        spec = {"data": entry["data"], "metrics": metrics}
        threads = (entry.get("threads") or {}).get("torch")
        if threads is not None:
            spec["threads"] = threads
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written
