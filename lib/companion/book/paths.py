"""Where things live: the repository, the build folder, results and cached data.

``COMPANION_BUILD`` overrides the build folder (default ``<repo>/build``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK_SOURCE = REPO_ROOT / "book"
BASELINES = REPO_ROOT / "tests" / "baselines"
PROFILES = ("smoke", "default", "full")


def build_dir() -> Path:
    return Path(os.environ.get("COMPANION_BUILD", REPO_ROOT / "build")).resolve()


def site_dir() -> Path:
    """The assembled Jupyter Book source: book/ pages plus executed notebooks."""
    return build_dir() / "site"


def executed_dir() -> Path:
    return site_dir() / "notebooks"


def results_dir(profile: str) -> Path:
    return build_dir() / "results" / profile


def data_dir(chapter: str, profile: str | None = None) -> Path:
    """A cache folder for a chapter's generated data (one per profile when given)."""
    path = build_dir() / "data" / chapter
    return path / profile if profile else path


def cache_dir(name: str) -> Path:
    """A cache folder for derived artefacts (embeddings, checkpoints)."""
    path = build_dir() / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
