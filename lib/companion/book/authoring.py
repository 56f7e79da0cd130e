"""Write a notebook source from a jupytext percent script, with clean metadata and no outputs.

    python -m companion.book.authoring draft.py notebooks/<chapter>/NN-name.ipynb

Cells tagged in the script (``# %% tags=["parameters"]``) keep their tags. Cell ids are
numbered by position, so regenerating an unchanged script gives an identical file.
"""

from __future__ import annotations

import sys

import jupytext
import nbformat


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


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    write_notebook(sys.argv[1], sys.argv[2])
