"""The results registry: one call records a notebook's key numbers and how they were made.

``record("radiology/05-evaluation", {"BLEU_4": 0.131}, profile=profile, seed=seed,
data="synthetic IU X-ray, 400 studies")`` writes
``build/results/<profile>/radiology/05-evaluation.json`` and, inside a notebook,
glues every number under its own name so that the page can show it with
``{glue:text}`BLEU_4:.3f` `` instead of a copied value.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from companion.book.paths import REPO_ROOT, results_dir

_IMPORTED_AT = time.perf_counter()
# One id per kernel: the runner sets it per notebook; an interactive kernel gets its own.
_RUN_ID = os.environ.get("COMPANION_RUN_ID") or f"interactive-{os.getpid()}-{time.time():.0f}"
_VERSIONED = ("torch", "torchvision", "numpy", "scikit-learn", "scikit-image", "transformers", "papermill")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "notebooks"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _check_metrics(key: str, metrics: dict) -> dict:
    clean = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name.replace("_", "").replace("@", "").isalnum():
            raise ValueError(f"{key}: metric name {name!r} must be letters, digits, '_' or '@'")
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "item"):
            raise ValueError(f"{key}: metric {name!r} must be a number, got {type(value).__name__}")
        value = float(value.item() if hasattr(value, "item") else value)
        if not math.isfinite(value):
            raise ValueError(f"{key}: metric {name!r} is {value}; record only finite numbers")
        clean[name] = value
    return clean


INTERACTIVE = "interactive"
RECORD_PROFILE_ENV = "COMPANION_RECORD_PROFILE"


def recording_profile(profile: str) -> str:
    """Where ``record`` writes: the notebook's profile under the runner, ``interactive`` otherwise.

    A notebook re-run by hand in JupyterLab keeps its ``profile = "default"`` parameter (the data and settings
    of that profile), but its numbers must not overwrite the ones the book was built from: outside the runner
    they go to ``build/results/interactive``. ``COMPANION_RECORD_PROFILE=<name>`` chooses another place.
    """
    override = os.environ.get(RECORD_PROFILE_ENV)
    if override:
        return override
    return INTERACTIVE if _RUN_ID.startswith("interactive-") else profile


def record(
    key: str,
    metrics: dict,
    *,
    profile: str,
    seed: int | None,
    data: str,
    device: str | None = None,
    notes: str | None = None,
    glue: bool = True,
) -> Recorded:
    """Record ``metrics`` for notebook ``key`` ("<chapter>/<notebook>"); returns where they went.

    Parameters
    ----------
    metrics : dict[str, float]
        The numbers a page or the scorecard shows. Finite floats only.
    profile, seed : the run's profile and seed (from the notebook's parameters).
    data : str
        Which data produced the numbers (e.g. "synthetic, 240 patients").
    glue : bool
        Inside a notebook, also ``myst_nb.glue`` each metric under its name.
    """
    if key.count("/") != 1:
        raise ValueError(f"key must look like '<chapter>/<notebook>', got {key!r}")
    clean = _check_metrics(key, metrics)
    asked, profile = profile, recording_profile(profile)
    entry = {
        "key": key,
        "metrics": clean,
        "profile": profile,
        "parameters_profile": asked,
        "seed": seed,
        "data": data,
        "device": device,
        "determinism": _determinism(device),
        "notes": notes,
        "git_commit": git_commit(),
        "versions": _versions(),
        "threads": _threads(),
        "wall_time_s": round(time.perf_counter() - _IMPORTED_AT, 2),
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = results_dir(profile) / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = read_json(path) if path.exists() else None
    # Several cells of one notebook may record; keep earlier numbers of the same run.
    if old and old.get("run_id") == _RUN_ID:
        entry["metrics"] = {**old["metrics"], **clean}
    entry["run_id"] = _RUN_ID
    write_json_atomic(path, entry)
    if glue:
        _glue_all(clean)
    return Recorded(path=path, key=key, profile=profile, names=tuple(entry["metrics"]))


@dataclass(frozen=True)
class Recorded:
    """What ``record`` wrote; as a notebook cell's last value it reads as one line."""

    path: Path
    key: str
    profile: str
    names: tuple

    def __repr__(self) -> str:
        try:
            where = self.path.relative_to(REPO_ROOT)
        except ValueError:
            where = self.path
        line = f"recorded {len(self.names)} numbers for {self.key} (profile {self.profile!r}) in {where}"
        if self.profile == INTERACTIVE:
            line += (" (an interactive run: the book's registry is untouched; "
                     f"{RECORD_PROFILE_ENV}=default would write there)")
        return line


def _determinism(device: str | None) -> str | None:
    if device is None:
        return None
    from companion.core.seed import nondeterminism_note

    return nondeterminism_note(device)


def _glue_all(metrics: dict) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    from myst_nb import glue

    for name, value in metrics.items():
        glue(name, value, display=False)


def _threads() -> dict:
    """Thread counts the numbers were made with: what the runner asked for and what torch used."""
    torch = sys.modules.get("torch")
    requested = os.environ.get("COMPANION_THREADS")
    return {"runner": int(requested) if requested and requested.isdigit() else None,
            "torch": torch.get_num_threads() if torch is not None else None}


def write_json_atomic(path: Path, obj) -> Path:
    """Write ``obj`` as JSON to a temporary file next to ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_json(path: Path):
    """Parse a JSON file; a truncated or malformed one is a ValueError naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete it and re-run the notebook that wrote it") from exc


def load_results(profile: str) -> dict[str, dict]:
    """Every recorded entry of ``profile``, keyed by "<chapter>/<notebook>"."""
    root = results_dir(profile)
    out = {}
    for path in sorted(root.glob("*/*.json")):
        entry = read_json(path)
        out[entry["key"]] = entry
    return out


def load_timings(profile: str) -> dict[str, float]:
    """Wall-clock seconds of each notebook's last execution by the runner in ``profile``."""
    path = results_dir(profile) / "timings.json"
    return read_json(path) if path.exists() else {}


# --- runs: which execution of each notebook is the latest, and how it ended -------------------------

RUNS_DIR = "runs"  # build/results/<profile>/runs/<chapter>/<notebook>.json, one file per notebook


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _run_path(profile: str, key: str) -> Path:
    return results_dir(profile) / RUNS_DIR / f"{key}.json"


def load_runs(profile: str) -> dict[str, dict]:
    """The runner's log of the latest run of each notebook in ``profile`` (``build/results/<profile>/runs/``).

    One file per notebook, so that runners working on different chapters at once never
    overwrite each other's entries.
    """
    out = {}
    for path in sorted((results_dir(profile) / RUNS_DIR).glob("*/*.json")):
        out[f"{path.parent.name}/{path.stem}"] = read_json(path)
    return out


def begin_run(profile: str, key: str, run_id: str, **details) -> dict:
    """Mark the start of a run of notebook ``key``: its previous record becomes stale before anything executes.

    The old ``<key>.json`` is renamed to ``<key>.json.stale`` (kept for inspection, never read as a
    result), and ``runs/<key>.json`` notes the run id, the commit and the start time with status
    "running".
    """
    path = results_dir(profile) / f"{key}.json"
    if path.exists():
        os.replace(path, path.with_name(path.name + ".stale"))
    entry = {"run_id": run_id, "status": "running", "started_at": _now(), "finished_at": None,
             "git_commit": git_commit(), "error": None, **details}
    write_json_atomic(_run_path(profile, key), entry)
    return entry


def end_run(profile: str, key: str, run_id: str, status: str, error: str | None = None) -> dict:
    """Close the run ``run_id`` of ``key`` with ``status`` ("ok", "failed" or "interrupted")."""
    if status not in ("ok", "failed", "interrupted"):
        raise ValueError(f"status must be ok, failed or interrupted, got {status!r}")
    path = _run_path(profile, key)
    entry = read_json(path) if path.exists() else None
    if entry is None or entry["run_id"] != run_id:
        raise ValueError(f"{key}: run {run_id} was never begun in profile {profile!r} (or another run replaced it)")
    entry.update(status=status, finished_at=_now(), error=error)
    write_json_atomic(path, entry)
    return entry


def _parse_time(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def stale_reason(profile: str, key: str, entry: dict | None, run: dict | None) -> str | None:
    """Why the record ``entry`` of ``key`` is not a result of the latest completed run ``run`` (None: it is)."""
    if run is None:
        if entry is None:
            return None
        return (f"record made outside the runner (run id {entry.get('run_id')!r}): no run of this notebook is "
                f"logged in {RUNS_DIR}/ of profile {profile!r}; run it with `python -m companion.book run`")
    rid = run["run_id"]
    if run["status"] != "ok":
        what = {"running": "has not finished (still running, or the runner itself died)",
                "failed": "failed", "interrupted": "was interrupted"}.get(run["status"], run["status"])
        detail = f": {run['error'].splitlines()[0]}" if run.get("error") else ""
        return f"its latest run {rid} (started {run['started_at']}) {what}{detail}; nothing from it is accepted"
    if entry is None:
        return None
    if entry.get("run_id") != rid:
        return f"record is from run {entry.get('run_id')!r}, not from the latest run {rid!r}"
    if entry.get("git_commit") != run.get("git_commit"):
        return (f"record was made at commit {entry.get('git_commit')!r}, but the run {rid} started at "
                f"{run.get('git_commit')!r}")
    recorded, start, end = (_parse_time(entry.get("recorded_at")), _parse_time(run.get("started_at")),
                            _parse_time(run.get("finished_at")))
    if recorded is None or start is None or end is None or not start <= recorded <= end:
        return (f"record time {entry.get('recorded_at')!r} is not within run {rid} "
                f"({run.get('started_at')} .. {run.get('finished_at')})")
    return None


def stale_records(profile: str, keys=None) -> dict[str, str]:
    """``{key: reason}`` for every notebook whose record (or latest run) cannot be trusted as current."""
    results, runs = load_results(profile), load_runs(profile)
    wanted = set(results) | set(runs)
    if keys is not None:
        wanted &= set(keys)
    out = {}
    for key in sorted(wanted):
        reason = stale_reason(profile, key, results.get(key), runs.get(key))
        if reason:
            out[key] = reason
    return out
