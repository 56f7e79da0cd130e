# JupyterLab started by `make lab` reads this file: a notebook saved from Lab is written without outputs, so
# outputs never land in the tracked sources (the book's pages show the runner's executed copies instead).
# jupytext (notebooks/jupytext.toml) writes the paired text twin on the same save.
import sys


def strip_outputs(model, path, **kwargs):
    """Pre-save hook: clear code cells' outputs and execution counts of a notebook before it is written."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


print("companion: notebooks are saved without outputs (notebooks/jupyter_server_config.py)", file=sys.stderr)
c.ContentsManager.pre_save_hook = strip_outputs  # noqa: F821 (c is the config object Jupyter provides)
