"""Atomic checkpoints: a run interrupted at any moment leaves either the old or the new file."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from companion.core.cache import CorruptCacheError, atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` with ``torch.save`` to a temporary file, then rename it over ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(state, f)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint`, with a clear error when it is missing or corrupt.

    Raises ``FileNotFoundError`` (missing) or `companion.core.cache.CorruptCacheError` (a
    ``ValueError``: truncated or not a checkpoint), each naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises several types for truncated files
        raise CorruptCacheError(f"checkpoint {path} could not be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise CorruptCacheError(f"checkpoint {path} holds a {type(state).__name__}, not a checkpoint dict")
    return state
