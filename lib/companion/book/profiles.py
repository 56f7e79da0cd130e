"""Profiles: the one place where a chapter's parameters live.

``notebooks/<chapter>/profiles.yml`` maps each profile to parameter values::

    smoke:
      all:            # every notebook of the chapter gets these
        seed: 0
        n_studies: 60
      03-training:    # one notebook's own values (override ``all``)
        epochs: 2
    default: {...}
    full: {...}

The runner adds ``profile`` and ``device``. A notebook must declare (in its one
``parameters`` cell) every name it is given; the defaults in that cell are the
``default`` profile's values, so a notebook opened in JupyterLab runs the
default profile.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from companion.book.paths import NOTEBOOKS, PROFILES

RUNNER_PARAMETERS = ("profile", "device")


class ProfileError(ValueError):
    """A profile, notebook or parameter that does not exist."""


@dataclass(frozen=True)
class NotebookJob:
    chapter: str
    name: str  # file stem, e.g. "01-data"
    source: Path
    parameters: dict

    @property
    def key(self) -> str:
        return f"{self.chapter}/{self.name}"


def chapters() -> list[str]:
    """Chapters in book order (folders of notebooks/ that hold a profiles.yml)."""
    from companion.book.toc import chapter_order

    found = {p.parent.name for p in NOTEBOOKS.glob("*/profiles.yml")}
    ordered = [c for c in chapter_order() if c in found]
    return ordered + sorted(found - set(ordered))


def chapter_notebooks(chapter: str) -> list[Path]:
    folder = NOTEBOOKS / chapter
    if not folder.is_dir():
        raise ProfileError(f"no chapter {chapter!r}: {folder} does not exist (chapters: {', '.join(chapters())})")
    return sorted(folder.glob("*.ipynb"))


def load_profiles(chapter: str) -> dict:
    path = NOTEBOOKS / chapter / "profiles.yml"
    if not path.is_file():
        raise ProfileError(f"chapter {chapter!r} has no {path.relative_to(NOTEBOOKS.parent)}")
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    unknown = set(data) - set(PROFILES)
    if unknown:
        raise ProfileError(f"{path}: unknown profile(s) {sorted(unknown)}; allowed: {', '.join(PROFILES)}")
    return data


def declared_parameters(notebook: Path) -> dict:
    """Names and default values assigned in the notebook's single ``parameters`` cell."""
    nb = json.loads(Path(notebook).read_text())
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ProfileError(f"{notebook}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    source = "".join(cells[0]["source"])
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        values[target.id] = ast.unparse(node.value)
    return values


def resolve(chapter: str, notebook: str, profile: str, device: str = "auto") -> dict:
    """The parameters the runner injects into one notebook for one profile."""
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    profiles = load_profiles(chapter)
    if profile not in profiles:
        raise ProfileError(f"chapter {chapter!r} does not define profile {profile!r}")
    section = profiles[profile] or {}
    params = dict(section.get("all") or {})
    params.update(section.get(notebook) or {})
    params.update(profile=profile, device=device)
    return params


def plan(profile: str, chapter_names=None, notebook_names=None, device: str = "auto") -> list[NotebookJob]:
    """Every notebook to run, with its parameters, validated before anything executes."""
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    names = list(chapter_names) if chapter_names else chapters()
    jobs = []
    for chapter in names:
        notebooks = chapter_notebooks(chapter)
        if notebook_names:
            notebooks = [p for p in notebooks if p.stem in notebook_names]
        profiles = load_profiles(chapter)
        stems = {p.stem for p in chapter_notebooks(chapter)}
        section = profiles.get(profile) or {}
        stray = set(section) - stems - {"all"}
        if stray:
            raise ProfileError(f"notebooks/{chapter}/profiles.yml [{profile}] names missing notebook(s): {sorted(stray)}")
        for path in notebooks:
            params = resolve(chapter, path.stem, profile, device)
            declared = declared_parameters(path)
            undeclared = sorted(set(params) - set(declared))
            if undeclared:
                raise ProfileError(
                    f"{path.relative_to(NOTEBOOKS.parent)}: profile {profile!r} sets {undeclared}, "
                    "which its parameters cell does not declare"
                )
            jobs.append(NotebookJob(chapter, path.stem, path, params))
    if notebook_names:
        missing = set(notebook_names) - {j.name for j in jobs}
        if missing:
            raise ProfileError(f"no notebook named {sorted(missing)} in chapter(s) {names}")
    return jobs
