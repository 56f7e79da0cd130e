"""Execute the book's notebooks with papermill, never in place.

Each source ``notebooks/<chapter>/NN-name.ipynb`` is executed with its profile's
parameters into ``build/site/notebooks/<chapter>/NN-name.ipynb``, the folder
Jupyter Book renders. In the executed copy

* papermill's injected-parameters cell is removed from the page (tag
  ``remove-cell``) and the ``parameters`` cell is rewritten to the values that
  actually ran, collapsed (tag ``hide-cell``), so a reader sees what produced
  the page, and a downloaded copy re-runs the same;
* a failing cell stops the run with an error naming the notebook and the cell;
  the partly executed copy stays in place for inspection.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from companion.book.paths import BOOK_SOURCE, REPO_ROOT, executed_dir, results_dir, site_dir
from companion.book.profiles import NotebookJob, plan

KERNEL = "companion"


class NotebookFailed(RuntimeError):
    """A cell raised; the message names the notebook and the cell."""


@dataclass
class JobOutcome:
    key: str
    output: Path
    seconds: float


def _format_value(value) -> str:
    return repr(value)


def _present_parameters(path: Path, job: NotebookJob) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        elif "parameters" in tags:
            lines = [f"# Parameters of this run: profile {job.parameters['profile']!r} "
                     f"(notebooks/{job.chapter}/profiles.yml)"]
            lines += [f"{name} = {_format_value(value)}" for name, value in job.parameters.items()]
            cell["source"] = "\n".join(lines)
            if "hide-cell" not in tags:
                tags.append("hide-cell")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _failed_cell(path: Path) -> str:
    """Describe the first cell with an error output in a (partly) executed notebook."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return "an unknown cell"
    code_index = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        code_index += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first_line = "".join(cell["source"]).strip().splitlines()[:1]
                return f"code cell {code_index} ({first_line[0][:60] if first_line else 'empty'}): {out.get('ename')}: {out.get('evalue')}"
    return "an unknown cell"


def execute(job: NotebookJob, kernel: str = KERNEL, timeout: int | None = None) -> JobOutcome:
    """Run one notebook; raise `NotebookFailed` naming the notebook and cell on error."""
    import papermill

    output = executed_dir() / job.chapter / job.source.name
    output.parent.mkdir(parents=True, exist_ok=True)
    env_before = {k: os.environ.get(k) for k in ("COMPANION_RUN_ID", "COMPANION_PROGRESS")}
    os.environ.update(COMPANION_RUN_ID=f"{job.key}-{uuid.uuid4().hex[:8]}", COMPANION_PROGRESS="0")
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(job.source), str(output), parameters=job.parameters, kernel_name=kernel,
            cwd=str(job.source.parent), progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{_shown(job.source)} failed in profile {job.parameters['profile']!r} at "
            f"{_failed_cell(output)}\n(partly executed copy kept at {output})"
        ) from exc
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    _present_parameters(output, job)
    return JobOutcome(job.key, output, seconds)


def run(profile: str, chapters=None, notebooks=None, device: str = "auto", kernel: str = KERNEL,
        log=print) -> list[JobOutcome]:
    """Validate every job, then execute them in book order; write a timing log."""
    jobs = plan(profile, chapters, notebooks, device)
    log(f"running {len(jobs)} notebook(s) in profile {profile!r} on device {device!r}")
    outcomes = []
    timings_path = results_dir(profile) / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    for job in jobs:
        outcome = execute(job, kernel=kernel)
        outcomes.append(outcome)
        timings[job.key] = round(outcome.seconds, 1)
        timings_path.parent.mkdir(parents=True, exist_ok=True)
        timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True))
        log(f"  {job.key:45s} {outcome.seconds:7.1f} s")
    return outcomes


def assemble_site() -> Path:
    """Copy book/ (pages, bibliography, static files, toc) into build/site next to the executed notebooks."""
    site = site_dir()
    site.mkdir(parents=True, exist_ok=True)
    for item in BOOK_SOURCE.iterdir():
        target = site / item.name
        if item.is_dir():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)
    return site
