"""EAPM's overhead per training step versus the plain losses (printed, not a timed test).

    PYTHONPATH=lib python benchmarks/eapm_overhead.py [--device cuda] [--image-size 512] [--repeats 10]

Two measurements:
1. the classification loss alone on a RetinaNet-sized logit tensor (anchors x 80 classes), focal
   vs EAPM-focal, forward + backward;
2. a whole RetinaNet training step (forward, loss, backward) with mu=None vs mu=1.5 and
   balanced L1 with theta=None vs 1.0, interleaved and summarised by the median.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from companion.core import select_device
from companion.eapm.losses import eapm_balanced_l1_loss, eapm_focal_loss
from companion.eapm.models import build_detector


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loss_only(device, n_anchors: int, n_classes: int, repeats: int):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(n_anchors, n_classes, generator=g).to(device).requires_grad_(True)
    targets = (torch.rand(n_anchors, n_classes, generator=g) < 0.001).float().to(device)
    deltas = torch.randn(2000, 4, generator=g).to(device).requires_grad_(True)
    tdeltas = torch.randn(2000, 4, generator=g).to(device)
    times = {"focal": [], "eapm_focal": [], "balanced_l1": [], "eapm_balanced_l1": []}
    for _ in range(repeats):
        for name, fn in (("focal", lambda: eapm_focal_loss(logits, targets, mu=None)),
                         ("eapm_focal", lambda: eapm_focal_loss(logits, targets, mu=1.5)),
                         ("balanced_l1", lambda: eapm_balanced_l1_loss(deltas, tdeltas, theta=None)),
                         ("eapm_balanced_l1", lambda: eapm_balanced_l1_loss(deltas, tdeltas, theta=1.0))):
            _sync(device)
            t = time.perf_counter()
            fn().backward()
            _sync(device)
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def train_step(device, image_size: int, batch: int, repeats: int, backbone: str):
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(3, image_size, image_size, generator=g).to(device) for _ in range(batch)]
    targets = []
    for _ in range(batch):
        xy = torch.rand(6, 2, generator=g) * image_size * 0.6
        wh = torch.rand(6, 2, generator=g) * image_size * 0.3 + 8
        targets.append({"boxes": torch.cat([xy, xy + wh], 1).to(device),
                        "labels": torch.randint(1, 81, (6,), generator=g).to(device)})
    models = {}
    for name, kw in (("plain", dict(mu=None, reg_loss="balanced_l1", theta=None)),
                     ("eapm", dict(mu=1.5, reg_loss="balanced_l1", theta=1.0))):
        torch.manual_seed(0)
        models[name] = build_detector("retinanet", 81, backbone=backbone, image_size=image_size,
                                      fpn_channels=256 if backbone == "resnet50" else 64, **kw).to(device).train()
    times = {k: [] for k in models}
    for r in range(repeats + 1):
        for name, model in models.items():
            _sync(device)
            t = time.perf_counter()
            sum(model(images, targets).values()).backward()
            _sync(device)
            if r:  # the first round warms up
                times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backbone", default="mobilenet_v3_small")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    n_anchors = 9 * sum((args.image_size // s) ** 2 for s in (8, 16, 32, 64, 128))
    lo = loss_only(device, n_anchors, 80, args.repeats * 4)
    print(f"device {device}; loss only ({n_anchors} anchors x 80 classes; 2000 positive box deltas), median s:")
    for k, v in lo.items():
        print(f"  {k:18s} {v * 1e3:8.3f} ms")
    st = train_step(device, args.image_size, args.batch, args.repeats, args.backbone)
    over = (st["eapm"] - st["plain"]) / st["plain"]
    print(f"RetinaNet training step ({args.backbone}, {args.batch} x {args.image_size} px), median s: "
          f"plain {st['plain']:.4f}, EAPM {st['eapm']:.4f}, overhead {100 * over:+.2f} %")


if __name__ == "__main__":
    main()
