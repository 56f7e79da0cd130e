"""Exercises, their solutions, and student copies of the notebooks.

Exercises are sphinx-exercise directives in markdown cells::

    ```{exercise} Predict, then run: what does tau do?
    :label: colortransfer-ex-tau
    ```

A solution is either one markdown cell (```` ```{solution} colortransfer-ex-tau ````) or, when it is code, a
``{solution-start}`` markdown cell, code cells, and a ``{solution-end}`` markdown cell. Every cell of a
solution carries the cell tag ``solution`` and nothing else does; `check_notebook` enforces that (a solution
cell without the tag would stay in the students' copies), and `strip_solutions` drops the tagged cells.

``python -m companion.book student`` writes the students' copies (``build/student/handouts/<chapter>/``);
``python -m companion.book run --profile smoke --strip-solutions`` also executes them, in a build folder of
their own (``build/student``), which shows that no later cell needs a solution's variables.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from companion.book.paths import NOTEBOOKS, build_dir

SOLUTION_TAG = "solution"
# an opening fence of backticks or colons, then the directive name and its argument
_DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{(exercise|solution|solution-start|solution-end)\}[ \t]*(.*)$", re.M)
_LABEL = re.compile(r"^:label:[ \t]*(\S+)[ \t]*$", re.M)


@dataclass
class Exercise:
    label: str
    title: str
    notebook: str
    solution: str = ""  # "text", "code" or "" (none found)


@dataclass
class Report:
    """What `check_notebook` found in one notebook."""

    notebook: str
    exercises: list[Exercise] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def code_solutions(self) -> int:
        return sum(e.solution == "code" for e in self.exercises)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _directives(cell) -> list[tuple[str, str, str]]:
    """(name, argument, the cell's :label:) of every exercise/solution directive in a markdown cell."""
    if cell.get("cell_type") != "markdown":
        return []
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else text
    label = _LABEL.search(text)
    return [(m.group(1), m.group(2).strip(), label.group(1) if label else "") for m in _DIRECTIVE.finditer(text)]


def check_notebook(nb, name: str) -> Report:
    """Exercises and solutions of ``nb`` (a notebook dict or nbformat node), and every way they are malformed.

    Problems: an exercise without a ``:label:``, a label used twice, a solution for a label this notebook does not
    define, an exercise with no solution or with two, a ``{solution-start}`` without its ``{solution-end}`` (or the
    other way round), a solution cell without the ``solution`` tag, and a tagged cell outside every solution.
    """
    report = Report(name)
    by_label: dict[str, Exercise] = {}
    solutions: list[tuple[str, str, int]] = []  # (label, kind, cell index)
    open_start: tuple[str, int] | None = None  # label and cell index of an unclosed {solution-start}
    code_inside = False
    for index, cell in enumerate(nb["cells"]):
        where = f"{name}, cell {index}"
        tagged = SOLUTION_TAG in _tags(cell)
        found = _directives(cell)
        in_solution = open_start is not None
        for directive, argument, label in found:
            if directive == "exercise":
                if not label:
                    report.problems.append(f"{where}: exercise {argument!r} has no :label:")
                elif label in by_label:
                    report.problems.append(f"{where}: exercise label {label!r} is used twice")
                else:
                    by_label[label] = Exercise(label, argument, name)
            elif directive == "solution":
                solutions.append((argument, "text", index))
                in_solution = True
            elif directive == "solution-start":
                if open_start is not None:
                    report.problems.append(f"{where}: {{solution-start}} {argument!r} opened inside the solution "
                                           f"of {open_start[0]!r} (cell {open_start[1]})")
                open_start, code_inside, in_solution = (argument, index), False, True
            else:  # solution-end
                if open_start is None:
                    report.problems.append(f"{where}: {{solution-end}} without a {{solution-start}}")
                else:
                    solutions.append((open_start[0], "code" if code_inside else "text", open_start[1]))
                    open_start = None
                in_solution = True
        if open_start is not None and cell.get("cell_type") == "code":
            code_inside = True
        if in_solution and not tagged:
            report.problems.append(f"{where}: part of a solution but not tagged {SOLUTION_TAG!r} "
                                   "(it would stay in the students' copies)")
        if tagged and not in_solution:
            report.problems.append(f"{where}: tagged {SOLUTION_TAG!r} but not inside a solution")
    if open_start is not None:
        report.problems.append(f"{name}: {{solution-start}} {open_start[0]!r} (cell {open_start[1]}) is never ended")
    for label, kind, index in solutions:
        exercise = by_label.get(label)
        if exercise is None:
            report.problems.append(f"{name}, cell {index}: solution for {label!r}, which no exercise here defines")
        elif exercise.solution:
            report.problems.append(f"{name}, cell {index}: a second solution for {label!r}")
        else:
            exercise.solution = kind
    for exercise in by_label.values():
        if not exercise.solution:
            report.problems.append(f"{name}: exercise {exercise.label!r} has no solution")
    report.exercises = list(by_label.values())
    return report


def strip_solutions(nb):
    """A copy of ``nb`` without the cells tagged ``solution``; returns (copy, number of cells removed)."""
    out = copy.deepcopy(nb)
    kept = [c for c in out["cells"] if SOLUTION_TAG not in _tags(c)]
    removed = len(out["cells"]) - len(kept)
    out["cells"] = kept
    return out, removed


def chapter_notebooks(chapters=None) -> list[Path]:
    """The source notebooks of ``chapters`` (default: every folder of notebooks/), in file order."""
    folders = sorted(p for p in NOTEBOOKS.iterdir() if p.is_dir() and not p.name.startswith("."))
    if chapters:
        unknown = set(chapters) - {p.name for p in folders}
        if unknown:
            raise ValueError(f"no notebook folder for chapter(s) {sorted(unknown)} in {NOTEBOOKS}")
        folders = [p for p in folders if p.name in chapters]
    return [nb for folder in folders for nb in sorted(folder.glob("*.ipynb"))]


def check_book(chapters=None) -> list[Report]:
    """`check_notebook` for every source notebook; labels must also be unique across the book."""
    reports, seen = [], {}
    for path in chapter_notebooks(chapters):
        name = f"{path.parent.name}/{path.name}"
        report = check_notebook(nbformat.read(path, as_version=4), name)
        for exercise in report.exercises:
            if exercise.label in seen:
                report.problems.append(f"{name}: exercise label {exercise.label!r} is also used in "
                                       f"{seen[exercise.label]} (labels are book-wide)")
            seen.setdefault(exercise.label, name)
        reports.append(report)
    return reports


def handouts_dir() -> Path:
    return build_dir() / "student" / "handouts"


def write_handouts(notebooks, out: Path | None = None) -> list[tuple[Path, int]]:
    """Write students' copies of ``notebooks`` (paths ``.../<chapter>/NN-name.ipynb``) to ``out/<chapter>/``.

    Returns (path written, solution cells removed) per notebook. A notebook whose exercises are malformed is
    refused (ValueError naming it): a solution cell without its tag would be handed out.
    """
    out = Path(out) if out is not None else handouts_dir()
    written = []
    for path in map(Path, notebooks):
        nb = nbformat.read(path, as_version=4)
        problems = check_notebook(nb, f"{path.parent.name}/{path.name}").problems
        if problems:
            raise ValueError("refusing to write a student copy:\n" + "\n".join(problems))
        student, removed = strip_solutions(nb)
        target = out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student, target)
        written.append((target, removed))
    return written


# --- the course: sessions, their notebooks and exercises, and how long each notebook runs ---------------

# One session per paper plus the evaluation toolkit; each names the notebook folders it uses.
SESSIONS = (
    ("0. Set-up and the evaluation toolkit", ("getting-started", "toolkit")),
    ("1. Radiology report generation", ("radiology",)),
    ("2. Recalled-benign mammograms", ("mammography",)),
    ("3. Cross-lingual image retrieval", ("crosslingual",)),
    ("4. EAPM for object detection", ("eapm",)),
    ("5. Superpixel colour transfer", ("colortransfer",)),
)


def course_table():
    """One row per notebook of every session: exercises, code solutions, and seconds in ``smoke`` and ``default``.

    Seconds come from this build's timing logs (`registry.load_timings`); a profile the build has not run shows
    NaN. ``attrs["sources"]`` names the profiles that have a log.
    """
    import pandas as pd

    from companion.book.registry import load_timings

    logs = {name: load_timings(name) for name in ("smoke", "default")}
    rows = []
    for session, folders in SESSIONS:
        for path in chapter_notebooks(folders):
            report = check_notebook(nbformat.read(path, as_version=4), f"{path.parent.name}/{path.name}")
            key = f"{path.parent.name}/{path.stem}"
            row = {"session": session, "notebook": key, "exercises": len(report.exercises),
                   "code solutions": report.code_solutions}
            for name, unit, scale in (("smoke", "s", 1), ("default", "min", 60)):
                row[f"{name} ({unit})"] = round(logs[name][key] / scale, 1) if key in logs[name] else float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["sources"] = [name for name, log in logs.items() if log]
    return table


def course_summary(table):
    """Per session of a `course_table`: notebooks, exercises, code solutions and total run time per profile."""
    totals = table.groupby("session", sort=False).agg(
        notebooks=("notebook", "size"), exercises=("exercises", "sum"), **{"code solutions": ("code solutions", "sum")},
        **{col: (col, lambda x: x.sum(min_count=len(x))) for col in table.columns if col.endswith(")")})
    return totals.rename(columns={"default (min)": "default, total (min)", "smoke (s)": "smoke, total (s)"})


def exercise_table(folders=None):
    """Every exercise of the notebooks in ``folders`` (default: the sessions' folders, in course order): notebook,
    label, title, kind of solution."""
    import pandas as pd

    folders = folders or [folder for _, names in SESSIONS for folder in names]
    rows = []
    for path in (nb for folder in folders for nb in chapter_notebooks([folder])):
        report = check_notebook(nbformat.read(path, as_version=4), f"{path.parent.name}/{path.name}")
        rows += [{"notebook": f"{path.parent.name}/{path.stem}", "label": e.label, "exercise": e.title,
                  "solution": e.solution} for e in report.exercises]
    return pd.DataFrame(rows, columns=["notebook", "label", "exercise", "solution"])
