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
    entry = {
        "key": key,
        "metrics": clean,
        "profile": profile,
        "seed": seed,
        "data": data,
        "device": device,
        "determinism": _determinism(device),
        "notes": notes,
        "git_commit": git_commit(),
        "versions": _versions(),
        "wall_time_s": round(time.perf_counter() - _IMPORTED_AT, 2),
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = results_dir(profile) / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else None
    # Several cells of one notebook may record; keep earlier numbers of the same run.
    if old and old.get("run_id") == _RUN_ID:
        entry["metrics"] = {**old["metrics"], **clean}
    entry["run_id"] = _RUN_ID
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entry, indent=1, sort_keys=True))
    os.replace(tmp, path)
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
        return f"recorded {len(self.names)} numbers for {self.key} (profile {self.profile!r}) in {where}"


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


def load_results(profile: str) -> dict[str, dict]:
    """Every recorded entry of ``profile``, keyed by "<chapter>/<notebook>"."""
    root = results_dir(profile)
    out = {}
    for path in sorted(root.glob("*/*.json")):
        entry = json.loads(path.read_text())
        out[entry["key"]] = entry
    return out


def load_timings(profile: str) -> dict[str, float]:
    """Wall-clock seconds of each notebook's last execution by the runner in ``profile``."""
    path = results_dir(profile) / "timings.json"
    return json.loads(path.read_text()) if path.exists() else {}
