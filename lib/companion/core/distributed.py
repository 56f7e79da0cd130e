"""torch.distributed support for `torchrun` launches.

``torchrun --nproc_per_node N -m companion.<chapter>.train ...`` sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; `init_distributed` reads them, starts the
process group (NCCL on CUDA, gloo on CPU) and `fit` then wraps the model in
DistributedDataParallel and shards every epoch with a DistributedSampler.
A plain ``python -m`` launch is a world of size one and needs none of this.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def current_context() -> DistributedContext:
    """The context of an initialised process group, or a world of one."""
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistributedContext()


def init_distributed(backend: str | None = None) -> DistributedContext:
    """Start the process group when launched by torchrun; a no-op otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return current_context()


def device_for(context: DistributedContext, device: torch.device) -> torch.device:
    """Each rank takes its own GPU; CPU ranks share the CPU."""
    if device.type == "cuda" and context.enabled:
        return torch.device("cuda", context.local_rank)
    return device


def mean_across_ranks(value: float, device: torch.device) -> float:
    """Average a Python float over all ranks (identity in a world of one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item() / dist.get_world_size())


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
