"""The first cell of every notebook installs the library where it is missing (Colab, a fresh Jupyter)."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from companion.book.authoring import BOOTSTRAP_CELL, BOOTSTRAP_TAG, all_notebooks
from companion.book.paths import REPO_ROOT


@pytest.mark.parametrize("notebook", all_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_starts_with_the_bootstrap_cell(notebook):
    code = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert code[0].source == BOOTSTRAP_CELL, "first code cell is not companion.book.authoring.BOOTSTRAP_CELL"
    assert BOOTSTRAP_TAG in code[0].metadata.get("tags", [])


@pytest.mark.slow
def test_a_notebook_runs_in_a_fresh_environment_without_the_library(tmp_path):
    """A venv that sees the project's dependencies but not `companion`: the cell clones and installs it."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the repository's git history to clone from")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    fresh_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies, without the editable install of companion (a .pth inside a plain path entry is not run).
    Path(fresh_site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(tmp_path), COMPANION_SOURCE=str(REPO_ROOT), COMPANION_CLONE_DIR=str(tmp_path / "clone"),
               PIP_NO_BUILD_ISOLATION="0")
    probe = subprocess.run([python, "-c", "import importlib.util; print(importlib.util.find_spec('companion'))"],
                           capture_output=True, text=True, env=env, check=True)
    assert probe.stdout.strip() == "None", "the fresh venv can already import companion: the test proves nothing"

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BOOTSTRAP_CELL),
                nbformat.v4.new_code_cell("import companion.metrics.roc as roc\nfrom companion.book.paths import REPO_ROOT\n"
                                          "print(REPO_ROOT, roc.auc([0, 1, 1], [0.1, 0.9, 0.8]))")]
    path = tmp_path / "fresh.ipynb"
    nbformat.write(nb, path)
    runner = ("import nbformat, nbclient, sys; nb = nbformat.read(sys.argv[1], as_version=4); "
              "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3').execute(); "
              "nbformat.write(nb, sys.argv[1])")
    subprocess.run([python, "-c", runner, str(path)], env=env, check=True, capture_output=True, text=True)
    outputs = [o.get("text", "") for c in nbformat.read(path, as_version=4).cells for o in c.outputs]
    assert any("installed the companion library" in o for o in outputs), outputs
    assert any(str(tmp_path / "clone") in o and "1.0" in o for o in outputs), outputs


def test_ensure_bootstrap_inserts_once_and_replaces_an_older_copy(tmp_path):
    from companion.book.authoring import ensure_bootstrap, write_notebook

    script = tmp_path / "01-demo.py"
    script.write_text('# %% [markdown]\n# # Demo\n\n# %% tags=["parameters"]\nprofile = "default"\n')
    notebook = tmp_path / "01-demo.ipynb"
    write_notebook(str(script), str(notebook))
    assert ensure_bootstrap(notebook) is True
    assert ensure_bootstrap(notebook) is False
    cells = nbformat.read(notebook, as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[1].source == BOOTSTRAP_CELL and "parameters" in cells[2].metadata["tags"]
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].source = BOOTSTRAP_CELL.splitlines()[0] + "\nprint('old version')"
    nbformat.write(nb, notebook)
    assert ensure_bootstrap(notebook) is True
    assert [c.source for c in nbformat.read(notebook, as_version=4).cells].count(BOOTSTRAP_CELL) == 1
