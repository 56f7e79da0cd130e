"""Seeding and determinism.

On CPU, seeding Python, NumPy and torch and asking torch for deterministic
algorithms makes a run bit-for-bit repeatable. On CUDA some kernels (atomic adds
in scatter/index ops, cuDNN autotuning) stay nondeterministic unless
``CUBLAS_WORKSPACE_CONFIG`` is set before CUDA starts; `seed_everything` sets it
when it can and `nondeterminism_note` says what a GPU run should record.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (all devices).

    Parameters
    ----------
    seed : int
        Non-negative seed.
    deterministic : bool
        Ask torch for deterministic algorithms (``warn_only`` so that a GPU op
        without a deterministic variant warns instead of failing).
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def pin_threads(threads: int | None = None) -> int:
    """Fix torch's CPU thread count (intra-op) and return it.

    ``threads`` defaults to ``$COMPANION_THREADS`` (set by the book runner, ``--threads``), else 1
    (the runner leaves the variable unset for ``--threads 0``).
    CPU results are repeatable for a fixed seed *and* thread count, not across thread counts:
    some kernels split their sums by thread, and float addition is not associative (measured on
    the toy training of ``tests/unit/core/test_threads.py``: the first convolution's backward
    pass differs by ~1e-9 between 1 and 2 threads, the weights after two epochs by ~1e-7; the
    same count gives bit-identical weights).
    """
    if threads is None:
        text = os.environ.get("COMPANION_THREADS", "1")
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"COMPANION_THREADS={text!r} is not a positive integer")
        threads = int(text)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(int(threads))
    return int(threads)


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (for samplers and splits)."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def nondeterminism_note(device: torch.device | str) -> str:
    """One sentence, for the registry, on how repeatable a run on ``device`` is."""
    device = torch.device(device)
    if device.type == "cpu":
        return "CPU: bit-for-bit repeatable for a fixed seed and thread count."
    return (
        f"{device.type.upper()}: deterministic algorithms requested (warn_only); atomics in "
        "some kernels and bf16 autocast can change the last digits between runs."
    )
