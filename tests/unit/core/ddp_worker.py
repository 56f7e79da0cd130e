"""Launched by test_train.py under torchrun (2 gloo processes on the CPU)."""

import sys

import torch
import torch.distributed as dist

from companion.core import fit
from companion.core.distributed import init_distributed, shutdown
from companion.getting_started import ToyCNN, classification_step, make_toy_dataset

BATCH = 8


def train(batch_size: int = BATCH) -> torch.Tensor:
    torch.manual_seed(0)
    model = ToyCNN(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = make_toy_dataset(64, seed=0)  # 64 = 4 steps of 2 ranks x 8: no padding
    fit(model, classification_step, data, optimizer=optimizer, epochs=2, batch_size=batch_size, seed=0,
        device="cpu", progress=False)
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


if __name__ == "__main__":
    context = init_distributed("gloo")
    weights = train()
    gathered = [torch.zeros_like(weights) for _ in range(context.world_size)]
    dist.all_gather(gathered, weights)
    if context.is_main:
        torch.save({"world_size": context.world_size, "batch_size": BATCH,
                    "weights_rank0": gathered[0], "weights_rank1": gathered[1]}, sys.argv[1])
    shutdown()
