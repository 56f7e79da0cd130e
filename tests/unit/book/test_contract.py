"""The chapter contract (DESIGN.md): every chapter package has the same modules and public names."""

import ast
import contextlib
import importlib
import io
from pathlib import Path

import pytest

from companion.book.scorecard import PAPER_CHAPTERS

CHAPTERS = list(PAPER_CHAPTERS)
MODULES = ("data", "synthetic", "models", "train", "evaluate", "figures", "paper")
NAMES = {
    "synthetic": ("make_synthetic",),
    "train": ("TrainConfig", "train", "train_or_load", "main"),
    "evaluate": ("claims_table", "headroom_table"),
    "paper": ("REPORTED",),
}
# Deviations the contract allows, each explained in the chapter package's docstring (the word must appear there).
DEVIATIONS = {("colortransfer", "synthetic"): "synthetic"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_the_contract_modules_and_names(chapter):
    package = importlib.import_module(f"companion.{chapter}")
    missing = []
    for module in MODULES:
        try:
            mod = importlib.import_module(f"companion.{chapter}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"companion.{chapter}.{module}":
                raise
            word = DEVIATIONS.get((chapter, module))
            if word is None or word not in (package.__doc__ or ""):
                missing.append(module)
            continue
        missing += [f"{module}.{name}" for name in NAMES.get(module, ()) if not hasattr(mod, name)]
    assert not missing, f"companion.{chapter} lacks {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_train_config_refuses_unknown_keys(chapter):
    train = importlib.import_module(f"companion.{chapter}.train")
    with pytest.raises((TypeError, ValueError), match="no_such_knob"):
        train.TrainConfig.from_params({"no_such_knob": 1})


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_train_cli_offers_the_profiles(chapter):
    train = importlib.import_module(f"companion.{chapter}.train")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        train.main(["--help"])
    assert stop.value.code == 0
    text = out.getvalue()
    assert "--profile" in text and all(p in text for p in ("smoke", "default", "full")), text


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_chapter_imports_another_chapter(chapter):
    package = Path(importlib.import_module(f"companion.{chapter}").__file__).parent
    others = {f"companion.{c}" for c in CHAPTERS if c != chapter}
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not any(name == o or name.startswith(o + ".") for o in others), f"{path.name} imports {name}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_import_cycle_inside_a_chapter(chapter):
    """Module A imports B (at the top or inside a function) and B imports A: a cycle, hidden or not."""
    package = Path(importlib.import_module(f"companion.{chapter}").__file__).parent
    prefix = f"companion.{chapter}."
    graph = {}
    for path in package.glob("*.py"):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            targets |= {n[len(prefix):].split(".")[0] for n in names if n.startswith(prefix)}
        graph[path.stem] = targets - {path.stem}

    def reaches(start, goal, seen):
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph.get(start, ()))

    cycles = sorted((a, b) for a in graph for b in graph[a] if reaches(b, a, {b}))
    assert not cycles, f"companion.{chapter}: import cycles {cycles}"
