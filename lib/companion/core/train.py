"""A small, readable training loop shared by every chapter.

What it does, and why each piece is there:

* the chapter supplies ``step(model, batch) -> loss`` (or a dict holding
  ``"loss"`` and any other scalars to log), so batches of any shape work;
* every epoch reseeds the global RNG from ``(seed, epoch)`` and shuffles with a
  `DistributedSampler` seeded the same way, so epoch *e* sees the same order and
  the same dropout masks whether the run started at epoch 0 or resumed at *e*;
* after every epoch the model, optimiser, scheduler and history are written
  atomically; ``resume=True`` continues from that file, and an interrupted run
  that is resumed ends with the same weights as one that never stopped;
  ``checkpoint_trainable_only=True`` leaves frozen parameters (e.g. a frozen
  pretrained encoder) out of the file and stores a fingerprint of them instead,
  so resuming refuses a model whose frozen weights are not the ones trained with;
* under ``torchrun`` the model is wrapped in DDP and each rank trains on its
  shard; epoch metrics are averaged over ranks and only rank 0 writes;
* on CUDA the forward pass runs under bf16 autocast (``precision="auto"``).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from companion.core.cache import CorruptCacheError, set_aside
from companion.core.checkpoint import load_checkpoint, save_checkpoint
from companion.core.device import autocast, resolved_precision, select_device
from companion.core.progress import progress_enabled
from companion.core.distributed import current_context, device_for, mean_across_ranks

StepFn = Callable[[torch.nn.Module, Any], "torch.Tensor | dict[str, torch.Tensor]"]


@dataclass
class TrainResult:
    """What `fit` returns: the per-epoch history and how the run went."""

    history: list[dict] = field(default_factory=list)
    resumed_from_epoch: int = 0
    seconds: float = 0.0
    samples_seen: int = 0
    precision: str = "fp32"
    device: str = "cpu"

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.seconds if self.seconds > 0 else math.nan

    def column(self, key: str) -> list[float]:
        """One metric over epochs, e.g. ``result.column("train_loss")``."""
        return [row[key] for row in self.history if key in row]


def _move(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _move(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [_move(v, device) for v in batch]
        return type(batch)(moved) if isinstance(batch, list) else tuple(moved)
    return batch


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def fit(
    model: torch.nn.Module,
    step: StepFn,
    train_data: Dataset,
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    precision: str = "auto",
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    evaluate: Callable[[torch.nn.Module], dict] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = True,
    collate_fn: Callable | None = None,
    num_workers: int = 0,
    drop_last: bool = False,
    grad_clip: float | None = None,
    progress: bool | None = None,
    description: str = "train",
    checkpoint_trainable_only: bool = False,
) -> TrainResult:
    """Train ``model`` for ``epochs`` epochs and return its history.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` here; wrapped in DDP when a process group is up.
    step : callable
        ``step(model, batch)`` returns the loss tensor, or a dict with key
        ``"loss"`` plus other scalar tensors to average over the epoch.
    train_data : Dataset
        Map-style dataset; `fit` builds the loader (seeded per epoch).
    optimizer : torch.optim.Optimizer
        Built by the caller on ``model.parameters()``.
    epochs, batch_size : int
        Total epochs (a resumed run counts from the checkpoint) and per-rank batch.
    seed : int
        Seeds shuffling and the per-epoch RNG; stored in the checkpoint and
        checked on resume.
    scheduler : LR scheduler, optional
        Stepped once per epoch or per iteration (``scheduler_interval``).
    evaluate : callable, optional
        ``evaluate(model) -> dict`` run after each epoch (in eval mode, no grad);
        its entries join the history row.
    checkpoint_path : path, optional
        Written atomically after every epoch by rank 0.
    resume : bool
        Continue from ``checkpoint_path`` when it exists. A checkpoint that cannot be read
        (truncated, damaged) is renamed ``<name>.corrupt`` with a warning naming it, and
        training starts from epoch 0.
    checkpoint_trainable_only : bool
        Write only the parameters with ``requires_grad`` (and every buffer). The frozen
        ones are fingerprinted (SHA-1 of their bytes); resuming (with or without this flag)
        needs a model built with the same frozen weights and the same parameters frozen,
        else it raises.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1 (got {epochs}, {batch_size})")
    if scheduler_interval not in ("epoch", "iteration"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'iteration', got {scheduler_interval!r}")
    if len(train_data) == 0:
        raise ValueError("train_data is empty: nothing to train on")

    context = current_context()
    device = device_for(context, select_device(device))
    model.to(device)
    precision = resolved_precision(device, precision)

    result = TrainResult(precision=precision, device=str(device))
    checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
    frozen = _frozen_names(model) if checkpoint_trainable_only and checkpoint_path is not None else set()
    frozen_print = _fingerprint(model, frozen) if frozen else None
    start_epoch = 0
    if checkpoint_path is not None and resume:
        start_epoch = _resume(checkpoint_path, model, optimizer, scheduler, seed, device, result)

    train_model: torch.nn.Module = model
    if context.enabled:
        device_ids = [device.index] if device.type == "cuda" else None
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    sampler = DistributedSampler(
        train_data, num_replicas=context.world_size, rank=context.rank, shuffle=True, seed=seed, drop_last=drop_last
    )
    loader = DataLoader(
        train_data,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=device.type == "cuda",
        persistent_workers=num_workers > 0,
    )
    show = progress_enabled(progress) and context.is_main

    t0 = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        torch.manual_seed(seed * 100_003 + epoch)
        sampler.set_epoch(epoch)
        if show:
            from tqdm.auto import tqdm

            batches = tqdm(loader, desc=f"{description} {epoch + 1}/{epochs}", leave=False)
        else:
            batches = loader
        sums, n_batches = _train_epoch(train_model, model, step, batches, optimizer, scheduler, scheduler_interval,
                                       grad_clip, device, precision, result, f"{description}: epoch {epoch + 1}")
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()

        row: dict[str, float] = {"epoch": epoch + 1}
        for k, v in sums.items():
            row[f"train_{k}"] = mean_across_ranks(v / max(n_batches, 1), device)
        row["lr"] = optimizer.param_groups[0]["lr"]
        if evaluate is not None:
            model.eval()
            with torch.no_grad(), autocast(device, precision):
                row.update({k: float(v) for k, v in evaluate(model).items()})
        result.history.append(row)

        if checkpoint_path is not None and context.is_main:
            save_checkpoint(
                checkpoint_path,
                {
                    "model": _model_state(_unwrap(train_model), frozen),
                    "frozen": {"names": sorted(frozen), "sha1": frozen_print} if frozen else None,
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "epoch": epoch + 1,
                    "history": result.history,
                    "seed": seed,
                },
            )
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    result.seconds = time.perf_counter() - t0
    return result


def _resume(checkpoint_path: Path, model, optimizer, scheduler, seed: int, device, result: TrainResult) -> int:
    """Load ``checkpoint_path`` into the model, optimiser and scheduler when it exists; return the epoch to start at.

    A checkpoint that cannot be read is set aside as ``<name>.corrupt`` (with a warning) and training starts at
    epoch 0; one written with another seed raises.
    """
    if not checkpoint_path.exists():
        return 0
    try:
        state = load_checkpoint(checkpoint_path, map_location=device)
    except CorruptCacheError as exc:
        set_aside(checkpoint_path, str(exc))
        return 0
    if state.get("seed") != seed:
        raise ValueError(
            f"checkpoint {checkpoint_path} was written with seed {state.get('seed')}, "
            f"this run uses seed {seed}: delete it or pass resume=False"
        )
    _load_model_state(model, state, checkpoint_path)
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    result.history = list(state["history"])
    result.resumed_from_epoch = int(state["epoch"])
    return result.resumed_from_epoch


def _train_epoch(train_model, model, step, batches, optimizer, scheduler, scheduler_interval, grad_clip, device,
                 precision, result: TrainResult, where: str) -> tuple[dict[str, float], int]:
    """One pass over ``batches``: forward under autocast, backward, clip, step; returns the summed losses and count.

    ``train_model`` is what runs the forward pass (the DDP wrapper when there is one), ``model`` whose
    parameters are clipped. A non-finite loss raises FloatingPointError naming ``where``.
    """
    train_model.train()
    sums: dict[str, float] = {}
    n_batches = 0
    for batch in batches:
        batch = _move(batch, device)
        with autocast(device, precision):
            out = step(train_model, batch)
        losses = out if isinstance(out, dict) else {"loss": out}
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{where}: loss became {loss.item()}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None and scheduler_interval == "iteration":
            scheduler.step()
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n_batches += 1
        result.samples_seen += _batch_len(batch)
    return sums, n_batches


def _frozen_names(model: torch.nn.Module) -> set[str]:
    """State-dict names of the parameters that do not require gradients (tied names included)."""
    return {name for name, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}


def _fingerprint(model: torch.nn.Module, names: set[str]) -> str:
    """SHA-1 over the names, dtypes, shapes and bytes of the named parameters, in name order."""
    params = dict(model.named_parameters(remove_duplicate=False))
    digest = hashlib.sha1()
    for name in sorted(names):
        t = params[name].detach().contiguous().cpu()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _model_state(model: torch.nn.Module, frozen: set[str]) -> dict:
    state = model.state_dict()
    return {k: v for k, v in state.items() if k not in frozen} if frozen else state


def _load_model_state(model: torch.nn.Module, state: dict, path: Path) -> None:
    saved = state.get("frozen")
    if saved is None:
        # a complete state dict (written without checkpoint_trainable_only): load it all
        model.load_state_dict(state["model"])
        return
    # the file lacks the frozen weights: the model must already hold the very ones it was trained with
    frozen = _frozen_names(model)
    if set(saved["names"]) != frozen:
        raise ValueError(
            f"checkpoint {path} left out {len(saved['names'])} frozen parameters, not the {len(frozen)} frozen "
            "in this model: resuming needs the same parameters frozen"
        )
    frozen_print = _fingerprint(model, frozen)
    if saved["sha1"] != frozen_print:
        raise ValueError(
            f"checkpoint {path} was trained with other frozen weights (fingerprint {saved['sha1'][:12]}, "
            f"this model {frozen_print[:12]}): rebuild the model from the same pretrained weights"
        )
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    if set(missing) != frozen or unexpected:
        raise ValueError(f"checkpoint {path} does not match the model: missing {sorted(set(missing) - frozen)}, "
                         f"unexpected {sorted(unexpected)}")


def _batch_len(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, dict):
        return _batch_len(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_len(batch[0])
    return 0
