"""Every notebook source has a jupytext text twin with the same cells (reviews read the twin)."""

import nbformat
import pytest

from companion.book.authoring import all_notebooks, definitions, twin_problem, write_notebook, write_twin


@pytest.mark.parametrize("notebook", all_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_matches_its_twin(notebook):
    assert twin_problem(notebook) is None


@pytest.mark.parametrize("notebook", all_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_notebook_defines_functions_or_classes(notebook):
    """Notebooks narrate and plot; what they compute lives in the library, with unit tests."""
    assert definitions(notebook) == []


def test_definitions_are_found_in_code_cells_only(tmp_path):
    script = tmp_path / "01-demo.py"
    script.write_text('# %% [markdown]\n# def not_code(): pass\n\n# %%\n%matplotlib inline\n'
                      'def helper():\n    class Inner:\n        pass\n')
    notebook = tmp_path / "01-demo.ipynb"
    write_notebook(str(script), str(notebook))
    assert definitions(notebook) == ["cell 1: def helper", "cell 1: class Inner"]


def test_a_twin_that_drifts_is_named_with_the_cell(tmp_path):
    script = tmp_path / "01-demo.py"
    script.write_text('# %% [markdown]\n# # Demo\n\n# %% tags=["parameters"]\nprofile = "default"\n\n# %%\nx = 1\n')
    notebook = tmp_path / "01-demo.ipynb"
    write_notebook(str(script), str(notebook))
    assert twin_problem(notebook) is None
    write_twin(notebook)  # rewriting the twin from the notebook keeps them in sync
    assert twin_problem(notebook) is None
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[2].source = "x = 2"
    nbformat.write(nb, notebook)
    assert "cell 2 differs from 01-demo.py" in twin_problem(notebook)
    nb.cells[1].metadata["tags"] = []  # losing the parameters tag is a difference too
    nb.cells[2].source = "x = 1"
    nbformat.write(nb, notebook)
    assert "cell 1 differs" in twin_problem(notebook)
    script.unlink()
    assert "no text twin" in twin_problem(notebook)


def test_lab_saves_notebooks_without_outputs():
    """`make lab` loads notebooks/jupyter_server_config.py, whose pre-save hook strips outputs."""
    from types import SimpleNamespace

    from companion.book.paths import NOTEBOOKS

    config = SimpleNamespace(ContentsManager=SimpleNamespace())
    exec((NOTEBOOKS / "jupyter_server_config.py").read_text(), {"c": config})
    model = {"type": "notebook", "content": {"cells": [
        {"cell_type": "code", "execution_count": 4, "outputs": [{"output_type": "stream", "text": "x"}], "source": ""},
        {"cell_type": "markdown", "source": "# t"}]}}
    config.ContentsManager.pre_save_hook(model=model, path="notebooks/x.ipynb")
    assert model["content"]["cells"][0]["outputs"] == [] and model["content"]["cells"][0]["execution_count"] is None
    text = {"type": "file", "content": "keep me"}
    config.ContentsManager.pre_save_hook(model=text, path="a.txt")
    assert text["content"] == "keep me"
