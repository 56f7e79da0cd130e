"""Pieces every chapter shares: determinism, devices, precision, training, checkpoints, caches."""

from companion.core.cache import CorruptCacheError, cache_key, cached_json, cached_npz, cached_torch, source_fingerprint
from companion.core.checkpoint import load_checkpoint, save_checkpoint
from companion.core.device import autocast, describe_device, select_device
from companion.core.seed import pin_threads, seed_everything, seeded_generator
from companion.core.train import TrainResult, fit

__all__ = [
    "CorruptCacheError",
    "cache_key",
    "cached_json",
    "cached_npz",
    "cached_torch",
    "source_fingerprint",
    "TrainResult",
    "autocast",
    "describe_device",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
    "pin_threads",
    "seed_everything",
    "seeded_generator",
    "select_device",
]
