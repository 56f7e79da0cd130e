"""Caches that cannot lie: keys that include the code, writes that are atomic, reads that detect damage.

Three rules, one helper each:

* **The key includes the code.** `cache_key(config, "companion.eapm")` hashes the configuration
  *and* the source files of the packages that produce the cached thing (`source_fingerprint`),
  so editing a loss, a model or a data generator invalidates a cached training without anyone
  bumping a version number by hand.
* **Writes are atomic.** `atomic_write_json`, `atomic_write_text`, `atomic_write_bytes`,
  `atomic_save_npz` and `atomic_torch_save` write to a temporary file in the same folder and
  ``os.replace`` it over the target, so a run killed mid-write leaves the old file or the new one,
  never half of one. `atomic_path` does the same for any other writer.
* **A damaged file is named and rebuilt.** `read_json`, `load_npz` and `load_torch` raise
  `CorruptCacheError` (a ``ValueError``) naming the file; `cached_json`, `cached_npz` and
  `cached_torch` catch it, warn with the file name, set the damaged file aside as
  ``<name>.corrupt`` and rebuild. `write_marker` / `marker_done` do the same for "done" markers.

Example::

    key = cache_key(cfg, "companion.eapm", "companion.core")
    metrics = cached_json(cache_dir("eapm") / f"eval-{key}.json", lambda: evaluate(model, data))
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import json
import os
import tempfile
import types
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = [
    "CorruptCacheError",
    "atomic_path",
    "atomic_save_npz",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cache_key",
    "cached_json",
    "cached_npz",
    "cached_torch",
    "load_npz",
    "load_torch",
    "marker_done",
    "read_json",
    "set_aside",
    "source_fingerprint",
    "write_marker",
]


class CorruptCacheError(ValueError):
    """A cache file exists but cannot be read back (truncated, malformed, wrong format); names the file."""


# --- keys --------------------------------------------------------------------------------------------


def _source_files(item) -> list[tuple[str, bytes]]:
    """(label, bytes) of the source behind ``item``: a dotted module/package name, a module, a path,
    or a function/class (its own source only)."""
    if isinstance(item, (types.FunctionType, types.MethodType, type)):
        return [(f"{item.__module__}.{item.__qualname__}", inspect.getsource(item).encode())]
    if isinstance(item, types.ModuleType):
        item = item.__name__
    if isinstance(item, str) and os.sep not in item and not item.endswith(".py"):
        spec = importlib.util.find_spec(item)
        if spec is None:
            raise ValueError(f"source_fingerprint: no module or package named {item!r}")
        if spec.submodule_search_locations:
            roots = [Path(p) for p in spec.submodule_search_locations]
        elif spec.origin and spec.origin.endswith(".py"):
            return [(item, Path(spec.origin).read_bytes())]
        else:
            raise ValueError(f"source_fingerprint: {item!r} has no Python source ({spec.origin})")
    else:
        path = Path(item)
        if path.is_file():
            return [(path.name, path.read_bytes())]
        if not path.is_dir():
            raise FileNotFoundError(f"source_fingerprint: {path} does not exist")
        roots = [path]
    out = []
    for root in roots:
        for f in sorted(root.rglob("*.py")):
            if "__pycache__" in f.parts:
                continue
            out.append((f.relative_to(root).as_posix(), f.read_bytes()))
    if not out:
        raise ValueError(f"source_fingerprint: {item!r} holds no .py files")
    return out


def source_fingerprint(*sources) -> str:
    """SHA-1 (hex) over the source code of ``sources``, in the order given.

    Each source is a dotted package or module name (``"companion.eapm"``: every ``.py`` file under
    the package, by relative path), a module object, a file or folder path, or a function or class
    (``inspect.getsource``). Comments and docstrings count too: a change anywhere in the code
    invalidates, which errs on the side of rebuilding.
    """
    if not sources:
        raise ValueError("source_fingerprint needs at least one package, module, path or function")
    digest = hashlib.sha1()
    for item in sources:
        for label, data in _source_files(item):
            digest.update(f"{label}|{len(data)}|".encode())
            digest.update(data)
    return digest.hexdigest()


def _canonical(value, where: str = "config"):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"cache_key: {where} has a non-string key {k!r}")
            out[k] = _canonical(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return repr(value)
        return value
    raise ValueError(f"cache_key: {where} is a {type(value).__name__}, which has no stable text form; "
                     "pass numbers, strings, lists, dicts or dataclasses")


def cache_key(config, *sources, extra=None, length: int = 16) -> str:
    """A hex key for a cached artefact: the configuration plus the code that produces it.

    Parameters
    ----------
    config : dataclass, dict, list or scalar
        Everything that changes the result (seeds included). Serialised as canonical JSON.
    *sources
        What `source_fingerprint` accepts: usually the chapter package and ``"companion.core"``.
        At least one is required: a key without code is what this helper exists to avoid.
    extra : optional
        More JSON-able context (e.g. a data fingerprint).
    length : int
        Hex characters kept (default 16).
    """
    if not sources:
        raise ValueError("cache_key needs the code that produces the cache (e.g. 'companion.eapm'), "
                         "so that a code change invalidates it")
    blob = json.dumps({"config": _canonical(config), "extra": _canonical(extra, "extra"),
                       "code": source_fingerprint(*sources)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:length]


# --- atomic writes -----------------------------------------------------------------------------------


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it over ``path``, on error delete it.

    The temporary name keeps the suffix of ``path`` (``x.npz`` -> ``.x.npz.<random>.tmp.npz``) so
    writers that look at the extension behave.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, indent: int | None = 1) -> Path:
    """JSON-dump ``obj`` atomically (NaN/inf are refused: they are not JSON)."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=True, allow_nan=False) + "\n")


def atomic_save_npz(path, compressed: bool = False, **arrays) -> Path:
    """``np.savez`` (or ``savez_compressed``) atomically; ``path`` is used as given (no ``.npz`` added)."""
    if not arrays:
        raise ValueError(f"atomic_save_npz({path}): no arrays to save")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(f, **arrays)
    return Path(path)


def atomic_torch_save(path, obj) -> Path:
    """``torch.save`` atomically (the same as `companion.core.checkpoint.save_checkpoint`)."""
    import torch

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
    return Path(path)


# --- reads that detect damage --------------------------------------------------------------------------


def _missing(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")


def read_json(path):
    """Parse a JSON cache file; a truncated or malformed one raises `CorruptCacheError` naming it."""
    path = Path(path)
    _missing(path, "JSON file")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptCacheError(f"{path} is not valid JSON (truncated or damaged: {exc})") from exc


def load_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read eagerly (no pickles); damage raises `CorruptCacheError`."""
    path = Path(path)
    _missing(path, "array file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as exc:
        raise CorruptCacheError(f"{path} is not a readable .npz file (truncated or damaged: "
                                f"{type(exc).__name__}: {exc})") from exc


def load_torch(path, map_location="cpu"):
    """``torch.load`` of a cache file; damage raises `CorruptCacheError` naming it."""
    import torch

    path = Path(path)
    _missing(path, "torch file")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError... for damaged files
        raise CorruptCacheError(f"{path} could not be read ({type(exc).__name__}: {exc})") from exc


def set_aside(path, reason: str) -> Path:
    """Rename a damaged file to ``<name>.corrupt`` (kept as evidence) and warn, naming it."""
    path = Path(path)
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
    except FileNotFoundError:  # another process (a DDP rank) set it aside first
        pass
    warnings.warn(f"{reason}; moved it to {aside.name} and rebuilding", RuntimeWarning, stacklevel=3)
    return aside


def _cached(path, build: Callable[[], Any], load, save):
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except CorruptCacheError as exc:
            set_aside(path, str(exc))
    value = build()
    save(path, value)
    return value


def cached_json(path, build: Callable[[], Any]):
    """The JSON at ``path``, or ``build()`` written there atomically; a damaged file is named and rebuilt."""
    return _cached(path, build, read_json, atomic_write_json)


def cached_npz(path, build: Callable[[], dict]) -> dict[str, np.ndarray]:
    """Arrays at ``path``, or ``build()`` (a dict of arrays) saved there atomically; damage is named and rebuilt."""

    def save(p, arrays):
        if not isinstance(arrays, dict):
            raise ValueError(f"cached_npz({p}): build() must return a dict of arrays, got {type(arrays).__name__}")
        atomic_save_npz(p, **arrays)

    return _cached(path, lambda: {k: np.asarray(v) for k, v in build().items()}, load_npz, save)


def cached_torch(path, build: Callable[[], Any], map_location="cpu"):
    """A ``torch.load``-able object at ``path``, or ``build()`` saved there atomically; damage is named and rebuilt."""
    return _cached(path, build, lambda p: load_torch(p, map_location), atomic_torch_save)


# --- "done" markers -----------------------------------------------------------------------------------


def write_marker(path, **info) -> Path:
    """Write a "done" marker atomically: JSON ``{"done": true, **info}``."""
    return atomic_write_json(path, {"done": True, **info})


def marker_done(path, **expected) -> bool:
    """True when ``path`` is a complete marker written by `write_marker` whose fields match ``expected``.

    A missing marker is False. A damaged one (not JSON, no ``"done": true``) is set aside with a
    warning naming it, and is False, so the work it guards is redone.
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        info = read_json(path)
        if not isinstance(info, dict) or info.get("done") is not True:
            raise CorruptCacheError(f"{path} is not a completion marker (no \"done\": true)")
    except CorruptCacheError as exc:
        set_aside(path, str(exc))
        return False
    return all(info.get(k) == v for k, v in expected.items())
