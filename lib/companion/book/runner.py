"""Execute the book's notebooks with papermill, never in place.

Each source ``notebooks/<chapter>/NN-name.ipynb`` is executed with its profile's
parameters into ``build/site/notebooks/<chapter>/NN-name.ipynb``, the folder
Jupyter Book renders. In the executed copy

* papermill's injected-parameters cell is removed from the page (tag
  ``remove-cell``) and the ``parameters`` cell is rewritten to the values that
  actually ran, collapsed (tag ``hide-cell``), so a reader sees what produced
  the page, and a downloaded copy re-runs the same;
* every way a run can fail (a cell raises, the kernel dies, a cell runs past
  ``cell_timeout`` seconds, the kernel does not start) stops the run with a
  `NotebookFailed` naming the notebook and the cell it reached; the partly
  executed copy stays in place for inspection (saved after every cell), with
  the cell that was running marked.

Before a notebook runs, its previous registry record is set aside as stale
(`companion.book.registry.begin_run`); ``build/results/<profile>/runs/`` logs how each run ended, so
that `companion.book.baselines` accepts only numbers of the latest, successful run.

Every kernel gets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` (and ``COMPANION_THREADS``)
set to ``threads`` (default 1): CPU numbers depend on the thread count, and the
baselines are made with one thread. ``threads=0`` leaves the thread count to torch (e.g. for
a paper-scale run on a GPU machine); the registry records the count torch used either way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from companion.book import registry
from companion.book.paths import BOOK_SOURCE, REPO_ROOT, executed_dir, results_dir, site_dir
from companion.book.profiles import NotebookJob, ProfileError, plan

KERNEL = "companion"
# Seconds one cell may run before the run is stopped: generous, for training cells.
DEFAULT_CELL_TIMEOUT = {"smoke": 900, "default": 4 * 3600, "full": 48 * 3600}
CELL_TIMEOUT_ENV = "COMPANION_CELL_TIMEOUT"
THREADS_ENV = "COMPANION_THREADS"
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", THREADS_ENV)
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class NotebookFailed(RuntimeError):
    """A notebook run failed (cell error, dead kernel, timeout...); the message names the notebook and cell."""


@dataclass
class JobOutcome:
    key: str
    output: Path
    seconds: float
    run_id: str = ""


def check_device(device: str) -> str:
    """``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``; anything else is a ProfileError."""
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ProfileError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N (e.g. cuda:0) or mps")
    return device


def cell_timeout_for(profile: str, cell_timeout: float | None = None) -> float | None:
    """Seconds per cell: ``cell_timeout`` if given, else $COMPANION_CELL_TIMEOUT, else the profile's default.

    0 (or a negative value) means no limit.
    """
    if cell_timeout is None:
        text = os.environ.get(CELL_TIMEOUT_ENV, "").strip()
        if text:
            try:
                cell_timeout = float(text)
            except ValueError:
                raise ProfileError(f"{CELL_TIMEOUT_ENV}={text!r} is not a number of seconds") from None
        else:
            cell_timeout = DEFAULT_CELL_TIMEOUT.get(profile, DEFAULT_CELL_TIMEOUT["default"])
    return None if cell_timeout <= 0 else float(cell_timeout)


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


def _describe(cell: dict, code_index: int) -> str:
    first_line = "".join(cell.get("source", "")).strip().splitlines()[:1]
    return f"code cell {code_index} ({first_line[0][:60] if first_line else 'empty'})"


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
                return f"{_describe(cell, code_index)}: {out.get('ename')}: {out.get('evalue')}"
    return "an unknown cell"


def _mark_reached_cell(path: Path, ename: str, evalue: str) -> str:
    """In a copy stopped by a dead kernel or a timeout, find the cell that was running and mark it.

    papermill stamps ``metadata.papermill.start_time`` on each cell it starts; the last one
    stamped is the cell the kernel was in. It gets an error output (so the page shows what
    happened) and the status "failed"; the cells after it are set back to "pending".
    """
    if not path.is_file():
        return "start-up (no cell ran)"
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return "an unknown cell (the partly executed copy is unreadable)"
    reached, reached_index, code_index = None, 0, 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        code_index += 1
        if (cell.get("metadata", {}).get("papermill") or {}).get("start_time"):
            reached, reached_index = cell, code_index
        elif reached is not None:
            cell["metadata"]["papermill"]["status"] = "pending"
    if reached is None:
        return "start-up (no cell ran)"
    reached.setdefault("outputs", []).append(
        {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]})
    reached["metadata"]["papermill"].update(status="failed", exception=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return _describe(reached, reached_index)


def _failure_message(job: NotebookJob, output: Path, exc: BaseException, timeout: float | None) -> str:
    import nbclient.exceptions as nbx
    import papermill

    where = f"{_shown(job.source)} failed in profile {job.parameters['profile']!r}"
    if isinstance(exc, papermill.PapermillExecutionError):
        what = f"at {_failed_cell(output)}"
    elif isinstance(exc, nbx.CellTimeoutError):
        limit = f"{timeout:g} s" if timeout else "its time limit"
        cell = _mark_reached_cell(output, "CellTimeoutError",
                                  f"stopped by the runner: the cell ran longer than {limit} (--cell-timeout)")
        what = (f"at {cell}: the cell ran longer than the {limit} cell timeout "
                f"(raise it with --cell-timeout SECONDS or ${CELL_TIMEOUT_ENV})")
    elif isinstance(exc, nbx.DeadKernelError):
        cell = _mark_reached_cell(output, "DeadKernelError", "the kernel died while running this cell")
        what = (f"at {cell}: the kernel died (killed: out of memory? a crash in native code?) "
                "with no Python traceback")
    elif isinstance(exc, KeyboardInterrupt):
        cell = _mark_reached_cell(output, "KeyboardInterrupt", "interrupted while running this cell")
        what = f"at {cell}: interrupted"
    else:
        cell = _mark_reached_cell(output, type(exc).__name__, str(exc)[:500])
        what = f"at {cell}: {type(exc).__name__}: {exc}"
    kept = f"partly executed copy kept at {_shown(output)}" if output.is_file() else "no executed copy was written"
    return f"{where} {what}\n({kept})"


def execute(job: NotebookJob, kernel: str = KERNEL, timeout: float | None = None, threads: int = 1) -> JobOutcome:
    """Run one notebook; raise `NotebookFailed` naming the notebook and cell on any failure.

    ``timeout`` is the per-cell limit in seconds (None: no limit). ``threads`` is exported to
    the kernel as OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS and COMPANION_THREADS
    (0: none of them is set, torch chooses).
    """
    import papermill

    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ProfileError(f"threads must be a non-negative integer (0: torch's default), got {threads!r}")
    profile = job.parameters["profile"]
    output = executed_dir() / job.chapter / job.source.name
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)  # never leave the previous run's page looking like this run's
    run_id = f"{job.key}-{uuid.uuid4().hex[:8]}"
    registry.begin_run(profile, job.key, run_id, threads=threads or None, device=job.parameters.get("device"),
                       cell_timeout_s=timeout, output=_shown(output))
    env = {"COMPANION_RUN_ID": run_id, "COMPANION_PROGRESS": "0",
           **{k: str(threads) if threads else None for k in _THREAD_VARS}}
    env_before = {k: os.environ.get(k) for k in env}
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(job.source), str(output), parameters=job.parameters, kernel_name=kernel,
            cwd=str(job.source.parent), progress_bar=False,
            # saved after every cell (and every 30 s of a long one): a dead kernel or a timeout
            # leaves the partly executed copy, not nothing
            request_save_on_cell_execute=True,
            execution_timeout=timeout,
            # the kernel's own start-up notices (ipykernel 7 warns that a local kernel talks over TCP) are not
            # the notebook's output; errors still print
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except BaseException as exc:
        message = _failure_message(job, output, exc, timeout)
        registry.end_run(profile, job.key, run_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                         message)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise NotebookFailed(message) from exc
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    _present_parameters(output, job)
    registry.end_run(profile, job.key, run_id, "ok")
    return JobOutcome(job.key, output, seconds, run_id)


def _run_chapter(jobs, kernel, timeout, threads, on_done=None) -> tuple[list[JobOutcome], str | None, str | None]:
    """One chapter's notebooks in order; stops at its first failure.

    Returns the outcomes, and the failing notebook's key and message (None, None when all ran). ``on_done`` is
    called after each notebook when this runs in the runner's own process.
    """
    outcomes = []
    for job in jobs:
        try:
            outcome = execute(job, kernel=kernel, timeout=timeout, threads=threads)
        except NotebookFailed as exc:
            return outcomes, job.key, str(exc)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes, None, None


# Pages that read other chapters' results run after every chapter has finished.
_RUNS_LAST = ("scorecard", "course")


def run(profile: str, chapters=None, notebooks=None, device: str = "auto", kernel: str = KERNEL,
        log=print, cell_timeout: float | None = None, threads: int = 1, jobs: int = 1,
        strip_solutions: bool = False) -> list[JobOutcome]:
    """Validate every job, then execute them in book order; write a timing log.

    ``strip_solutions``: execute the students' copies instead (`companion.book.teaching`: every cell tagged
    ``solution`` removed), in a build folder of their own (``build/student``: its own registry, caches and
    executed copies, so the book's numbers are untouched); the unexecuted copies to hand out are written to
    ``build/student/handouts/<chapter>/``.

    A chapter stops at its first failing notebook (`NotebookFailed`); the notebooks after it do not run. With
    ``jobs`` = 1 the run stops there; with ``jobs`` > 1 that many chapters run at once in worker processes
    (each chapter's notebooks in order, each kernel pinned to ``threads``, so the numbers are those of a
    serial run), the other chapters finish, and the run then fails naming every failure.
    """
    check_device(device)
    timeout = cell_timeout_for(profile, cell_timeout)
    planned = plan(profile, chapters, notebooks, device)
    if not strip_solutions:
        return _execute_plan(planned, profile, device, kernel, log, timeout, threads, jobs)
    from dataclasses import replace

    from companion.book import teaching
    from companion.book.paths import build_dir

    student_build = build_dir() / "student"
    written = teaching.write_handouts([job.source for job in planned], out=student_build / "handouts")
    copies = {(path.parent.name, path.name): path for path, _ in written}
    log(f"students' copies: {len(written)} notebook(s), {sum(n for _, n in written)} solution cell(s) removed, "
        f"in {_shown(student_build / 'handouts')}/")
    planned = [replace(job, source=copies[job.chapter, job.source.name]) for job in planned]
    previous = os.environ.get("COMPANION_BUILD")
    os.environ["COMPANION_BUILD"] = str(student_build)  # kernels and worker processes inherit it
    try:
        return _execute_plan(planned, profile, device, kernel, log, timeout, threads, jobs)
    finally:
        if previous is None:
            os.environ.pop("COMPANION_BUILD", None)
        else:
            os.environ["COMPANION_BUILD"] = previous


def _execute_plan(planned, profile, device, kernel, log, timeout, threads, jobs) -> list[JobOutcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    groups: dict[str, list] = {}
    for job in planned:
        groups.setdefault(job.chapter, []).append(job)
    limit = f"{timeout:g} s per cell" if timeout else "no cell time limit"
    pinned = f"{threads} thread{'s' if threads != 1 else ''}" if threads else "torch's default thread count"
    at_once = f", {jobs} chapters at a time" if jobs > 1 else ""
    log(f"running {len(planned)} notebook(s) in profile {profile!r} on device {device!r}{at_once} "
        f"({pinned} per kernel, {limit})")
    timings_path = results_dir(profile) / "timings.json"
    timings = registry.load_timings(profile)
    outcomes, failures = [], []

    def done(outcome):  # only this process writes the timing log
        outcomes.append(outcome)
        timings[outcome.key] = round(outcome.seconds, 1)
        registry.write_json_atomic(timings_path, timings)
        log(f"  {outcome.key:45s} {outcome.seconds:7.1f} s")

    def finished(result, reported=False):
        ran, failed_key, message = result
        if not reported:
            for outcome in ran:
                done(outcome)
        if failed_key:
            log(f"  {failed_key:45s} FAILED")
            failures.append(message)

    first = [c for c in groups if c not in _RUNS_LAST]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_chapter, groups[c], kernel, timeout, threads) for c in first]
            for future in as_completed(futures):
                finished(future.result())
    else:
        for chapter in first:
            finished(_run_chapter(groups[chapter], kernel, timeout, threads, on_done=done), reported=True)
            if failures:
                break
    for chapter in (c for c in groups if c in _RUNS_LAST):
        if failures:
            break
        finished(_run_chapter(groups[chapter], kernel, timeout, threads, on_done=done), reported=True)

    chapters_run = sorted(groups)
    folders = chapters_run[0] if len(chapters_run) == 1 else "{" + ",".join(chapters_run) + "}"
    log(f"executed notebooks: {_shown(executed_dir())}/{folders}/; "
        f"results: {_shown(results_dir(profile))}/ (run log in {registry.RUNS_DIR}/)")
    if failures:
        raise NotebookFailed("\n".join(failures))
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
