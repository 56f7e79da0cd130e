"""Exercises and solutions: malformed ones are named, students' copies lose exactly the solution cells."""

import json

import nbformat
import numpy as np
import pytest

from companion.book import baselines, profiles, registry
from companion.book.runner import run
from companion.book.scorecard import PAPER_CHAPTERS
from companion.book.teaching import SOLUTION_TAG, check_book, check_notebook, strip_solutions, write_handouts

from .test_runner_failures import LIB

EXERCISE = "```{exercise} Predict, then run\n:label: demo-ex-a\n\nWhat happens?\n```"
TEXT_SOLUTION = "```{solution} demo-ex-a\n:class: dropdown\n\nThis.\n```"


def md(text, tagged=False):
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": [SOLUTION_TAG]} if tagged else {})


def code(text, tagged=False):
    return nbformat.v4.new_code_cell(text, metadata={"tags": [SOLUTION_TAG]} if tagged else {})


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def code_solution(label="demo-ex-a", tagged=(True, True, True)):
    return [md(f"```{{solution-start}} {label}\n:class: dropdown\n```", tagged[0]), code("x = 1", tagged[1]),
            md("```{solution-end}\n```", tagged[2])]


def test_a_well_formed_notebook_counts_its_exercises_and_code_solutions():
    nb = notebook(md("# Title"), code("y = 2"), md(EXERCISE), md(TEXT_SOLUTION, True),
                  md(EXERCISE.replace("demo-ex-a", "demo-ex-b")), *code_solution("demo-ex-b"), code("y + 1"))
    report = check_notebook(nb, "demo/01.ipynb")
    assert report.problems == []
    assert [(e.label, e.solution) for e in report.exercises] == [("demo-ex-a", "text"), ("demo-ex-b", "code")]
    assert report.exercises[0].title == "Predict, then run"
    assert report.code_solutions == 1


@pytest.mark.parametrize("cells, expected", [
    ([md(EXERCISE), md(TEXT_SOLUTION)], "cell 1: part of a solution but not tagged"),
    ([md(EXERCISE), *code_solution(tagged=(True, False, True))], "cell 2: part of a solution but not tagged"),
    ([md(EXERCISE), md(TEXT_SOLUTION, True), code("z = 0", True)], "cell 2: tagged 'solution' but not inside"),
    ([md(EXERCISE)], "exercise 'demo-ex-a' has no solution"),
    ([md(TEXT_SOLUTION, True)], "solution for 'demo-ex-a', which no exercise here defines"),
    ([md(EXERCISE), *code_solution()[:2]], "is never ended"),
    ([md(EXERCISE), md(TEXT_SOLUTION, True), md(TEXT_SOLUTION, True)], "a second solution for 'demo-ex-a'"),
    ([md(EXERCISE), md(EXERCISE), md(TEXT_SOLUTION, True)], "label 'demo-ex-a' is used twice"),
    ([md("```{exercise} No label\n\ntext\n```")], "has no :label:"),
    ([md("```{solution-end}\n```", True)], "without a {solution-start}"),
])
def test_malformed_exercises_are_named(cells, expected):
    problems = check_notebook(notebook(*cells), "demo/01.ipynb").problems
    assert any(expected in p for p in problems), problems


def test_strip_solutions_removes_the_tagged_cells_only():
    nb = notebook(md(EXERCISE), md(TEXT_SOLUTION, True), code("a = 1"), *code_solution("demo-ex-b"))
    student, removed = strip_solutions(nb)
    assert removed == 4
    assert [c.source for c in student.cells] == [EXERCISE, "a = 1"]
    assert len(nb.cells) == 6  # the original is untouched


def test_a_malformed_notebook_is_never_handed_out(tmp_path):
    source = tmp_path / "demo" / "01-a.ipynb"
    source.parent.mkdir()
    nbformat.write(notebook(md(EXERCISE), md(TEXT_SOLUTION)), source)  # the solution is not tagged
    with pytest.raises(ValueError, match="01-a.ipynb, cell 1: part of a solution"):
        write_handouts([source], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_books_exercises_are_well_formed_and_labels_unique():
    problems = [p for report in check_book() for p in report.problems]
    assert problems == []


def _tagged(path):
    return [c for c in json.loads(path.read_text())["cells"] if SOLUTION_TAG in c.get("metadata", {}).get("tags", [])]


def test_strip_solutions_run_executes_the_students_copies_apart_from_the_book(tmp_path, monkeypatch):
    root = tmp_path / "notebooks" / "demo"
    root.mkdir(parents=True)
    (root / "profiles.yml").write_text("smoke:\n  all: {seed: 1}\ndefault:\n  all: {seed: 0}\n")
    marker = tmp_path / "solution-ran"
    start, _, end = code_solution()
    nb = notebook(code('profile = "default"\ndevice = "auto"\nseed = 0'), md(EXERCISE), start,
                  code(f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')", True), end,
                  code("print('after the solution')"))
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "01-a.ipynb")
    monkeypatch.setattr(profiles, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(baselines, "BASELINES", tmp_path / "baselines")
    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("PYTHONPATH", str(LIB))
    lines = []
    [outcome] = run("smoke", ["demo"], device="cpu", kernel="python3", log=lines.append, strip_solutions=True)

    student = tmp_path / "build" / "student"
    assert outcome.output == student / "site" / "notebooks" / "demo" / "01-a.ipynb"
    assert _tagged(outcome.output) == [] and not marker.exists()
    assert "after the solution" in outcome.output.read_text()
    handout = student / "handouts" / "demo" / "01-a.ipynb"
    assert _tagged(handout) == [] and len(nbformat.read(handout, 4).cells) == 3
    assert any("3 solution cell(s) removed" in line for line in lines), lines
    assert not (tmp_path / "build" / "site").exists() and not registry.load_timings("smoke")
    assert (student / "results" / "smoke" / "timings.json").is_file()
    assert _tagged(root / "01-a.ipynb")  # the source keeps its solutions


def test_course_table_takes_times_from_the_builds_timing_logs(tmp_path, monkeypatch):
    from companion.book.teaching import SESSIONS, course_summary, course_table

    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    assert course_table().attrs["sources"] == []
    registry.write_json_atomic(registry.results_dir("smoke") / "timings.json", {"eapm/01-data": 12.0})
    registry.write_json_atomic(registry.results_dir("default") / "timings.json", {"eapm/01-data": 300.0})
    table = course_table()
    assert table.attrs["sources"] == ["smoke", "default"]
    row = table.set_index("notebook").loc["eapm/01-data"]
    assert row["smoke (s)"] == 12.0 and row["default (min)"] == 5.0
    assert np.isnan(table.set_index("notebook").loc["eapm/02-model"]["default (min)"])
    assert set(table["session"]) == {s for s, _ in SESSIONS}
    summary = course_summary(table).loc["4. EAPM for object detection"]
    assert summary["notebooks"] == 6 and np.isnan(summary["smoke, total (s)"])  # 5 of 6 notebooks have no time


@pytest.mark.parametrize("chapter", list(PAPER_CHAPTERS))
def test_every_paper_chapter_has_exercises_of_each_kind_with_code_solutions(chapter):
    reports = check_book([chapter])
    exercises = [e for r in reports for e in r.exercises]
    assert len(exercises) >= 5, f"{chapter}: {len(exercises)} exercises (at least 5)"
    assert sum(e.solution == "code" for e in exercises) >= 2, f"{chapter}: fewer than 2 code solutions"
    assert sum(1 for r in reports if r.exercises) >= 3, f"{chapter}: exercises in fewer than 3 notebooks"


def test_exercise_table_lists_every_exercise_in_course_order():
    from companion.book.teaching import SESSIONS, exercise_table

    table = exercise_table()
    assert len(table) == sum(len(r.exercises) for r in check_book())
    order = [folder for _, folders in SESSIONS for folder in folders]
    chapters = table["notebook"].str.split("/").str[0]
    positions = [order.index(c) for c in chapters]
    assert positions == sorted(positions)
