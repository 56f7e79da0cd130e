"""Caches that cannot lie: code in the key, atomic writes, damaged files named and rebuilt."""

import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from companion.core.cache import (
    CorruptCacheError, atomic_save_npz, atomic_write_json, cache_key, cached_json, cached_npz, cached_torch,
    load_npz, load_torch, marker_done, read_json, source_fingerprint, write_marker,
)
from companion.core.checkpoint import load_checkpoint, save_checkpoint
from companion.getting_started import ToyCNN, classification_step, make_toy_dataset
from companion.core.train import fit


@dataclass
class _Cfg:
    lr: float = 0.1
    epochs: int = 2


@pytest.fixture
def package(tmp_path, monkeypatch):
    """An importable package ``cachetoy`` with a loss module, on sys.path for this test only."""
    root = tmp_path / "src" / "cachetoy"
    (root / "__pycache__").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "losses.py").write_text("def loss(x):\n    return x ** 2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    yield root
    sys.modules.pop("cachetoy", None)


def test_key_changes_with_the_code_and_the_config_and_nothing_else(package):
    k = cache_key(_Cfg(), "cachetoy")
    assert k == cache_key(_Cfg(), "cachetoy") == cache_key({"lr": 0.1, "epochs": 2}, "cachetoy")
    assert cache_key(_Cfg(lr=0.2), "cachetoy") != k
    assert cache_key(_Cfg(), "cachetoy", extra={"data": "abc"}) != k
    (package / "__pycache__" / "losses.cpython.pyc").write_bytes(b"\x00junk")   # not source
    assert cache_key(_Cfg(), "cachetoy") == k
    (package / "losses.py").write_text("def loss(x):\n    return abs(x)\n")    # a changed loss
    assert cache_key(_Cfg(), "cachetoy") != k
    (package / "losses.py").write_text("def loss(x):\n    return x ** 2\n")
    assert cache_key(_Cfg(), "cachetoy") == k
    (package / "models.py").write_text("W = 1\n")                               # a new module
    assert cache_key(_Cfg(), "cachetoy") != k
    # the fingerprint of a package, a folder path and a function
    assert source_fingerprint("cachetoy") == source_fingerprint(package)
    assert source_fingerprint(_Cfg) != source_fingerprint(test_key_changes_with_the_code_and_the_config_and_nothing_else)


def test_key_refuses_what_it_cannot_hash_stably(package):
    with pytest.raises(ValueError, match="needs the code"):
        cache_key(_Cfg())
    with pytest.raises(ValueError, match=r"config.fn is a builtin_function_or_method"):
        cache_key({"fn": print}, "cachetoy")
    with pytest.raises(ValueError, match="no module or package named 'no_such_pkg_xyz'"):
        cache_key(_Cfg(), "no_such_pkg_xyz")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        source_fingerprint(package / "nowhere")


@pytest.mark.parametrize("kind", ["json", "npz", "torch"])
def test_a_truncated_cache_is_named_set_aside_and_rebuilt(tmp_path, kind):
    path = tmp_path / f"c.{kind}"
    builds = []
    value = {"a": [1.0, 2.0]} if kind == "json" else {"a": np.arange(4.0)}
    fn = {"json": cached_json, "npz": cached_npz, "torch": cached_torch}[kind]

    def build():
        builds.append(1)
        return value

    def same(x):
        return np.array_equal(np.asarray(x["a"]), np.asarray(value["a"]))

    assert same(fn(path, build)) and len(builds) == 1
    assert same(fn(path, build)) and len(builds) == 1       # read back, not rebuilt
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    loader = {"json": read_json, "npz": load_npz, "torch": load_torch}[kind]
    with pytest.raises(CorruptCacheError, match=rf"c\.{kind}"):
        loader(path)
    with pytest.warns(RuntimeWarning, match=rf"c\.{kind} .*moved it to c\.{kind}\.corrupt and rebuilding"):
        assert same(fn(path, build))
    assert len(builds) == 2
    assert (tmp_path / f"c.{kind}.corrupt").is_file()         # the evidence is kept
    assert same(loader(path)) if kind != "json" else loader(path) == value
    with pytest.raises(FileNotFoundError, match="missing"):
        loader(tmp_path / "missing")


def test_an_empty_or_wrong_format_file_is_corrupt_too(tmp_path):
    (tmp_path / "e.json").write_bytes(b"")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "t.npz").write_text("not a zip")
    for name, loader in (("e.json", read_json), ("b.json", read_json), ("t.npz", load_npz)):
        with pytest.raises(CorruptCacheError, match=name):
            loader(tmp_path / name)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"v": 1})
    with pytest.raises(ValueError):
        atomic_write_json(path, {"v": float("nan")})         # json refuses NaN half-way
    with pytest.raises(ValueError, match="no arrays"):
        atomic_save_npz(tmp_path / "y.npz")
    with pytest.raises(TypeError):
        cached_json(path.with_name("z.json"), lambda: {"v": object()})
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_done_markers(tmp_path):
    marker = tmp_path / "done.json"
    assert not marker_done(marker)
    write_marker(marker, key="abc", n=3)
    assert marker_done(marker) and marker_done(marker, key="abc") and not marker_done(marker, key="other")
    marker.write_text('{"done": tr')
    with pytest.warns(RuntimeWarning, match="done.json is not valid JSON"):
        assert not marker_done(marker)
    assert not marker.exists() and (tmp_path / "done.json.corrupt").exists()
    marker.write_text("{}")
    with pytest.warns(RuntimeWarning, match="not a completion marker"):
        assert not marker_done(marker)


def test_checkpoint_uses_the_same_checks(tmp_path):
    path = save_checkpoint(tmp_path / "ok.pt", {"a": torch.ones(3)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.pt"]
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CorruptCacheError, match="list.pt holds a list"):
        load_checkpoint(tmp_path / "list.pt")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CorruptCacheError, match="checkpoint .*ok.pt could not be read"):
        load_checkpoint(path)


def _fit(checkpoint, epochs):
    torch.manual_seed(0)
    model = ToyCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    result = fit(model, classification_step, make_toy_dataset(32, seed=0), optimizer=opt, epochs=epochs,
                 batch_size=16, seed=0, device="cpu", checkpoint_path=checkpoint, progress=False)
    return model, result


def test_fit_with_a_damaged_checkpoint_names_it_and_trains_from_scratch(tmp_path):
    fresh, fresh_result = _fit(tmp_path / "fresh.pt", 2)
    _fit(tmp_path / "run.pt", 1)
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match=r"run.pt could not be read.*moved it to run.pt.corrupt"):
        model, result = _fit(ckpt, 2)
    assert result.resumed_from_epoch == 0 and result.history == fresh_result.history
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))
    assert (tmp_path / "run.pt.corrupt").is_file() and load_checkpoint(ckpt)["epoch"] == 2
