"""Profiles, parameters cells and the notebook sources themselves."""

import json

import pytest

from companion.book import profiles
from companion.book.paths import BOOK_SOURCE, NOTEBOOKS, PROFILES
from companion.book.profiles import ProfileError, declared_parameters, plan
from companion.book.toc import toc_files

ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*/*.ipynb"))


def _write_nb(path, params_source, extra_cells=()):
    cells = [{"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": params_source,
              "outputs": [], "execution_count": None}]
    cells += [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": s, "outputs": [],
               "execution_count": None} for i, s in enumerate(extra_cells)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


@pytest.fixture
def fake_chapter(tmp_path, monkeypatch):
    root = tmp_path / "notebooks"
    (root / "demo").mkdir(parents=True)
    _write_nb(root / "demo" / "01-a.ipynb", 'profile = "default"\ndevice = "auto"\nseed = 0\nn = 10\n')
    (root / "demo" / "profiles.yml").write_text(
        "smoke:\n  all: {seed: 1, n: 2}\ndefault:\n  all: {seed: 0, n: 10}\n")
    monkeypatch.setattr(profiles, "NOTEBOOKS", root)
    return root


def test_plan_merges_all_and_notebook_sections_and_adds_runner_parameters(fake_chapter):
    (fake_chapter / "demo" / "profiles.yml").write_text(
        "smoke:\n  all: {seed: 1, n: 2}\n  01-a: {n: 5}\ndefault:\n  all: {seed: 0, n: 10}\n")
    [job] = plan("smoke", ["demo"], device="cpu")
    assert job.parameters == {"seed": 1, "n": 5, "profile": "smoke", "device": "cpu"}
    assert job.key == "demo/01-a"


def test_unknown_profile_missing_chapter_and_notebook_are_clear_errors(fake_chapter):
    with pytest.raises(ProfileError, match="unknown profile 'fast'"):
        plan("fast", ["demo"])
    with pytest.raises(ProfileError, match="does not define profile 'full'"):
        plan("full", ["demo"])
    with pytest.raises(ProfileError, match="no chapter 'nope'"):
        plan("smoke", ["nope"])
    with pytest.raises(ProfileError, match=r"no notebook named \['09-x'\]"):
        plan("smoke", ["demo"], ["09-x"])


def test_undeclared_parameter_is_an_error_before_anything_runs(fake_chapter):
    (fake_chapter / "demo" / "profiles.yml").write_text("smoke:\n  all: {seed: 1, n: 2, epochs: 3}\n")
    with pytest.raises(ProfileError, match=r"sets \['epochs'\], which its parameters cell does not declare"):
        plan("smoke", ["demo"])


def test_profile_section_naming_a_missing_notebook_is_an_error(fake_chapter):
    (fake_chapter / "demo" / "profiles.yml").write_text("smoke:\n  all: {seed: 1}\n  02-b: {n: 1}\n")
    with pytest.raises(ProfileError, match="02-b"):
        plan("smoke", ["demo"])


def test_two_parameters_cells_are_refused(tmp_path):
    path = tmp_path / "x.ipynb"
    _write_nb(path, "a = 1\n")
    nb = json.loads(path.read_text())
    nb["cells"].append(dict(nb["cells"][0], id="params-again"))
    path.write_text(json.dumps(nb))
    with pytest.raises(ProfileError, match="found 2"):
        declared_parameters(path)


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_source_is_clean_and_its_defaults_are_the_default_profile(notebook):
    nb = json.loads(notebook.read_text())
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "stored with outputs"
    declared = declared_parameters(notebook)
    for name in ("profile", "device"):
        assert name in declared, f"parameters cell must declare {name!r}"
    assert declared["profile"] == "default"
    default = profiles.resolve(notebook.parent.name, notebook.stem, "default")
    for name, value in default.items():
        if name == "device":
            continue
        assert declared.get(name) == value, f"{name}: cell says {declared.get(name)!r}, default profile {value!r}"
    # No profile-specific branches in notebooks: profiles differ by values only.
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "profile ==" not in code and "profile !=" not in code


@pytest.mark.parametrize("profile", PROFILES)
def test_every_chapter_plans_in_every_profile(profile):
    jobs = plan(profile)
    assert {j.source for j in jobs} == set(ALL_NOTEBOOKS)


def test_every_toc_entry_exists_and_every_notebook_is_in_the_toc():
    files = toc_files()
    for entry in files:
        parts = entry.split("/")
        if parts[0] == "notebooks":
            assert (NOTEBOOKS.parent / f"{entry}.ipynb").is_file(), entry
        else:
            assert any((BOOK_SOURCE / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), entry
    listed = {f for f in files if f.startswith("notebooks/")}
    for nb in ALL_NOTEBOOKS:
        assert f"notebooks/{nb.parent.name}/{nb.stem}" in listed, f"{nb} is not in book/_toc.yml"


@pytest.mark.slow
def test_runner_executes_a_copy_and_names_the_failing_cell(fake_chapter, tmp_path, monkeypatch):
    from companion.book.runner import NotebookFailed, execute

    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    source = fake_chapter / "demo" / "01-a.ipynb"
    _write_nb(source, 'profile = "default"\ndevice = "auto"\nseed = 0\nn = 10\n',
              ["total = n * 2\nprint(total)", "assert n < 3, 'n too large'"])
    before = source.read_text()
    [job] = plan("smoke", ["demo"], device="cpu")
    outcome = execute(job, kernel="python3")
    assert source.read_text() == before, "the source notebook must not be touched"
    nb = json.loads(outcome.output.read_text())
    assert outcome.output == tmp_path / "build" / "site" / "notebooks" / "demo" / "01-a.ipynb"
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "remove-cell" in injected[0]["metadata"]["tags"]
    params = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])][0]
    assert "hide-cell" in params["metadata"]["tags"] and "n = 2" in "".join(params["source"])
    assert "4" in "".join(nb["cells"][2]["outputs"][0]["text"])

    (fake_chapter / "demo" / "profiles.yml").write_text("smoke:\n  all: {seed: 1, n: 7}\n")
    [job] = plan("smoke", ["demo"], device="cpu")
    with pytest.raises(NotebookFailed, match=r"01-a.ipynb failed in profile 'smoke' at code cell 4 .*n too large"):
        execute(job, kernel="python3")
    assert job.source.name in str(list((tmp_path / "build" / "site" / "notebooks" / "demo").iterdir())[0])


def test_authoring_writes_the_same_file_twice(tmp_path):
    from companion.book.authoring import write_notebook

    script = tmp_path / "draft.py"
    script.write_text('# %% [markdown]\n# # Title\n\n# %% tags=["parameters"]\nseed = 0\n\n# %%\nprint(seed)\n')
    first, second = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    write_notebook(str(script), str(first))
    write_notebook(str(script), str(second))
    assert first.read_text() == second.read_text()
    cells = json.loads(first.read_text())["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code"]
    assert cells[1]["metadata"] == {"tags": ["parameters"]}
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in cells if c["cell_type"] == "code")


@pytest.mark.slow
def test_chapters_run_side_by_side_and_a_failing_one_is_named(fake_chapter, tmp_path, monkeypatch):
    """`run(..., jobs=2)`: chapters execute at once; one failing chapter does not stop the other, the run fails."""
    from companion.book import registry
    from companion.book.runner import NotebookFailed, run

    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    (fake_chapter / "other").mkdir()
    _write_nb(fake_chapter / "other" / "01-b.ipynb", 'profile = "default"\ndevice = "auto"\nseed = 0\n',
              ["raise ValueError('broken on purpose')"])
    (fake_chapter / "other" / "profiles.yml").write_text("smoke:\n  all: {seed: 1}\n")
    lines = []
    with pytest.raises(NotebookFailed, match=r"01-b.ipynb failed .*broken on purpose"):
        run("smoke", ["demo", "other"], device="cpu", kernel="python3", log=lines.append, jobs=2)
    assert any(line.strip().startswith("demo/01-a") for line in lines), lines
    assert any("other" in line and "FAILED" in line for line in lines), lines
    assert set(registry.load_timings("smoke")) == {"demo/01-a"}
