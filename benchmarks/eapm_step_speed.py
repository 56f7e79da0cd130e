"""Time per training step of the chapter's CPU RetinaNet, for the choices behind the `default` profile.

    PYTHONPATH=lib python benchmarks/eapm_step_speed.py [--rounds 3] [--steps 10] [--threads 1]

Variants (one process, interleaved over rounds so that a change of machine load hits all of them):
FPN width 64 or 32, AdamW's per-tensor step or its fused step, contiguous (NCHW) or channels-last
weights. Each variant trains the same synthetic batches of 8 images at 96 px from the same
initialisation; the median seconds per step over rounds is printed with the ratio to the first variant.
The load average is printed too: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from companion.eapm.data import collate
from companion.eapm.models import build_detector
from companion.eapm.synthetic import synthetic_dataset
from companion.eapm.train import detection_step

VARIANTS = {  # name -> (fpn_channels, fused AdamW, channels_last)
    "FPN 64, AdamW, NCHW (before)": (64, False, False),
    "FPN 32, AdamW, NCHW": (32, False, False),
    "FPN 32, fused AdamW, NCHW": (32, True, False),
    "FPN 32, fused AdamW, channels-last (default profile)": (32, True, True),
}


def seconds_per_step(batches, num_classes, fpn, fused, channels_last, steps):
    torch.manual_seed(0)
    model = build_detector("retinanet", num_classes, backbone="mobilenet_v3_small", fpn_channels=fpn, image_size=96)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused)

    def step(batch):
        loss = detection_step(model, batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    for batch in batches[:2]:  # warm-up
        step(batch)
    t0 = time.perf_counter()
    for i in range(steps):
        step(batches[2 + i % (len(batches) - 2)])
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        train, _ = synthetic_dataset(tmp, 96, 8, image_size=96, seed=0)
        batches = [collate([train[8 * i + j] for j in range(8)]) for i in range(12)]
        times = {name: [] for name in VARIANTS}
        for _ in range(args.rounds):
            for name, variant in VARIANTS.items():
                times[name].append(seconds_per_step(batches, train.num_classes, *variant, args.steps))
    first = statistics.median(next(iter(times.values())))
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}, "
          f"{args.rounds} rounds x {args.steps} steps of batch 8 at 96 px")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:55s} {med:.4f} s/step  ratio {med / first:.2f}")


if __name__ == "__main__":
    main()
