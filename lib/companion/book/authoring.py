"""Notebook sources and their text twins.

Every notebook ``notebooks/<chapter>/NN-name.ipynb`` has a jupytext percent-script twin ``NN-name.py`` beside it,
so that a review reads text, not JSON. Edit the twin, then write the notebook from it::

    python -m companion.book.authoring notebooks/<ch>/NN-name.py notebooks/<ch>/NN-name.ipynb

or, after editing the ``.ipynb`` in JupyterLab (``notebooks/jupytext.toml`` pairs the two, so Lab's save
writes both), bring every twin up to date and check them::

    python -m companion.book.authoring sync      # bootstrap cell first, then every twin from its notebook
    python -m companion.book.authoring check     # exit 1 naming each notebook whose twin differs

Cells tagged in the script (``# %% tags=["parameters"]``) keep their tags. Cell ids are numbered by position,
so regenerating an unchanged script gives an identical file. Outputs are never written to a source.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

from companion.book.paths import NOTEBOOKS

TWIN_FORMAT = "py:percent"

# The first code cell of every notebook (tagged remove-cell: the book does not show it). Where the library is
# importable (make lab, the runner, Binder) it does nothing; on Colab or any fresh Jupyter it clones the
# repository (data/real and the notebooks' profiles come with it), installs the library with the extras a
# notebook needs beyond a scientific Python stack, and puts it on sys.path for the running kernel.
# COMPANION_SOURCE changes where it clones from (a fork, a local path in the tests).
BOOTSTRAP_TAG = "remove-cell"
BOOTSTRAP_CELL = """\
# Installs the book's library when it is missing (Colab, a fresh Jupyter); does nothing otherwise.
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

if importlib.util.find_spec("companion") is None:
    source = os.environ.get("COMPANION_SOURCE", "https://github.com/companion-book/five-papers")
    clone = Path(os.environ.get("COMPANION_CLONE_DIR", Path.home() / "companion-book"))
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", source, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{clone / 'lib'}[notebook]"], check=True)
    sys.path.insert(0, str(clone / "lib"))
    print(f"installed the companion library from {source} into {clone}")"""


def write_notebook(script: str, target: str) -> None:
    nb = jupytext.read(script)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    nbformat.write(nb, target)


def ensure_bootstrap(notebook: str | Path) -> bool:
    """Put ``BOOTSTRAP_CELL`` first among the code cells of ``notebook`` (replacing an older copy); True if changed."""
    nb = nbformat.read(notebook, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if code and nb.cells[code[0]].source == BOOTSTRAP_CELL and BOOTSTRAP_TAG in nb.cells[code[0]].metadata.get("tags", []):
        return False
    if code and nb.cells[code[0]].source.startswith(BOOTSTRAP_CELL.splitlines()[0]):
        del nb.cells[code[0]]  # an older version of the cell
    cell = nbformat.v4.new_code_cell(BOOTSTRAP_CELL, metadata={"tags": [BOOTSTRAP_TAG]})
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    for index, c in enumerate(nb.cells):
        c.id = f"cell-{index:03d}"
    nbformat.validate(nb)
    nbformat.write(nb, notebook)
    return True


def twin_path(notebook: str | Path) -> Path:
    return Path(notebook).with_suffix(".py")


def _twin_text(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    # The twin carries cells only (no jupytext header): kernel metadata lives in the .ipynb.
    nb.metadata = {"jupytext": {"notebook_metadata_filter": "-all", "cell_metadata_filter": "tags"}}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
    return jupytext.writes(nb, fmt=TWIN_FORMAT)


def _cells(nb) -> list[tuple]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def write_twin(notebook: str | Path) -> Path:
    twin = twin_path(notebook)
    twin.write_text(_twin_text(Path(notebook)))
    return twin


def twin_problem(notebook: str | Path) -> str | None:
    """Why ``notebook`` and its twin disagree (missing twin, or which cell differs), or None when in sync."""
    notebook = Path(notebook)
    twin = twin_path(notebook)
    if not twin.is_file():
        return f"{notebook}: no text twin {twin.name} (run: python -m companion.book.authoring sync)"
    mine, theirs = _cells(nbformat.read(notebook, as_version=4)), _cells(jupytext.read(twin))
    for index, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            return f"{notebook}: cell {index} differs from {twin.name} ({a[0]} cell starting {a[1][:40]!r})"
    if len(mine) != len(theirs):
        return f"{notebook}: {len(mine)} cells but {twin.name} has {len(theirs)}"
    return None


def definitions(notebook: str | Path) -> list[str]:
    """``"cell N: def name"`` for every function or class a code cell of ``notebook`` defines.

    Notebooks narrate and plot; what they compute lives in the library with unit tests (CONTRIBUTING.md), so
    a test requires this list to be empty. IPython magics are blanked before parsing.
    """
    import ast

    found = []
    for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = "class" if isinstance(node, ast.ClassDef) else "def"
                found.append(f"cell {index}: {kind} {node.name}")
    return found


def all_notebooks(root: Path = NOTEBOOKS) -> list[Path]:
    return sorted(p for p in root.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def main(argv: list[str]) -> int:
    if len(argv) == 1 and argv[0] in ("sync", "check"):
        if argv[0] == "sync":
            for notebook in all_notebooks():
                ensure_bootstrap(notebook)
                write_twin(notebook)
            print(f"wrote {len(all_notebooks())} twins")
            return 0
        problems = [p for p in map(twin_problem, all_notebooks()) if p]
        print("\n".join(problems) or f"all {len(all_notebooks())} notebooks match their twins")
        return 1 if problems else 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    write_notebook(argv[0], argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
