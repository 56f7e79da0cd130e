"""EAPM's overhead per training step versus the plain losses, for RetinaNet, FCOS and Faster R-CNN.

    PYTHONPATH=lib python benchmarks/eapm_overhead.py [--device cuda] [--rounds 15] [--threads 1] [--json out.json]

Two measurements, both printed (and written as JSON with ``--json``):

1. the losses alone on COCO-sized tensors (anchors x 80 classes for the focal term, 2000 positive
   box deltas for balanced L1), plain vs EAPM, forward + backward;
2. whole training steps (forward, loss, backward; no optimiser step, so that the two models keep
   identical weights and hence identical anchor matching) of two detectors that differ only in the
   loss: RetinaNet (Libra: balanced L1) mu/theta None vs 1.5/1.0, FCOS mu None vs 1.5, Faster R-CNN
   (Libra: balanced L1) theta None vs 1.0. Plain and EAPM steps alternate within each round (the order
   flips every round); the overhead is the median over rounds of the paired ratio EAPM/plain - 1,
   with the interquartile range of that ratio as its noise. A second estimate times only the
   loss calls inside the same steps (where plain and EAPM differ) and divides their difference by
   the plain step time. On a CPU the clock is the process's
   CPU time (``time.process_time``), not wall time: on a machine shared with other jobs wall-clock
   steps vary by tens of per cent with the scheduler; use ``--threads 1`` there as well.

Two configurations by default: ``chapter`` (the CPU profiles' MobileNetV3-small FPN-32 at 96 px, GroupNorm heads,
batch 8, 4 foreground classes: what the notebooks run) and ``coco`` (ResNet-50 FPN-256, 80 classes,
batch 2 at ``--coco-size`` px: the paper's architecture at a CPU-affordable image size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from companion.core import select_device
from companion.eapm.losses import eapm_balanced_l1_loss, eapm_focal_loss
from companion.eapm import models as detection_models
from companion.eapm.models import build_detector

PAIRS = {  # detector -> (plain kwargs, EAPM kwargs)
    "retinanet": (dict(mu=None, reg_loss="balanced_l1", theta=None), dict(mu=1.5, reg_loss="balanced_l1", theta=1.0)),
    "fcos": (dict(mu=None), dict(mu=1.5)),
    "faster_rcnn": (dict(theta=None), dict(theta=1.0)),
}
CONFIGS = {
    "chapter": dict(backbone="mobilenet_v3_small", fpn_channels=32, image_size=96, batch=8, num_classes=5, head_groups=8),
    "coco": dict(backbone="resnet50", fpn_channels=256, image_size=256, batch=2, num_classes=81, head_groups=0),
}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(device):
    """CUDA: wall clock. CPU: this process's CPU time, which does not count the time the scheduler
    gives to other jobs on a shared machine (wall-clock steps there vary by +-40 %)."""
    return time.perf_counter if device.type == "cuda" else time.process_time


def _quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], q[1], q[2]


def loss_only(device, n_anchors: int, n_classes: int, rounds: int):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(n_anchors, n_classes, generator=g).to(device).requires_grad_(True)
    targets = (torch.rand(n_anchors, n_classes, generator=g) < 0.001).float().to(device)
    deltas = torch.randn(2000, 4, generator=g).to(device).requires_grad_(True)
    tdeltas = torch.randn(2000, 4, generator=g).to(device)
    fns = {"focal": lambda: eapm_focal_loss(logits, targets, mu=None),
           "eapm_focal": lambda: eapm_focal_loss(logits, targets, mu=1.5),
           "balanced_l1": lambda: eapm_balanced_l1_loss(deltas, tdeltas, theta=None),
           "eapm_balanced_l1": lambda: eapm_balanced_l1_loss(deltas, tdeltas, theta=1.0)}
    times = {k: [] for k in fns}
    clock = _clock(device)
    # each plain/EAPM pair is timed in its own loop, alternating: the big focal tensors' allocation
    # and freeing would otherwise land in the small regression timings
    for pair in (("focal", "eapm_focal"), ("balanced_l1", "eapm_balanced_l1")):
        for r in range(rounds):
            for name in (pair if r % 2 else pair[::-1]):
                logits.grad = deltas.grad = None
                _sync(device)
                t = clock()
                fns[name]().backward()
                _sync(device)
                times[name].append(clock() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def _batch(device, image_size: int, batch: int, num_classes: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, image_size, image_size, generator=g).to(device) for _ in range(batch)]
    targets = []
    for _ in range(batch):
        xy = torch.rand(6, 2, generator=g) * image_size * 0.6
        wh = torch.rand(6, 2, generator=g) * image_size * 0.3 + image_size / 16
        wh[0, 0] *= 3  # one long thin object per image
        targets.append({"boxes": torch.cat([xy, (xy + wh).clamp(max=image_size - 1)], 1).to(device),
                        "labels": torch.randint(1, num_classes, (6,), generator=g).to(device)})
    return images, targets


def train_step_overhead(device, detector: str, rounds: int, backbone: str, fpn_channels: int,
                        image_size: int, batch: int, num_classes: int, head_groups: int = 0):
    images, targets = _batch(device, image_size, batch, num_classes)
    models = []
    for kw in PAIRS[detector]:
        torch.manual_seed(0)  # identical initial weights: the two models differ only in the loss
        models.append(build_detector(detector, num_classes, backbone=backbone, image_size=image_size,
                                     fpn_channels=fpn_channels, head_groups=head_groups, **kw).to(device).train())

    clock = _clock(device)
    in_loss = [0.0]  # time spent inside our loss functions during the current step

    def timed(fn):
        def wrapper(*a, **kw):
            _sync(device)
            t = clock()
            out = fn(*a, **kw)
            _sync(device)
            in_loss[0] += clock() - t
            return out
        return wrapper

    def step(model):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # Faster R-CNN samples RoIs at random: the same sample for both models
        in_loss[0] = 0.0
        _sync(device)
        t = clock()
        sum(model(images, targets).values()).backward()
        _sync(device)
        return clock() - t, in_loss[0]

    originals = {name: getattr(detection_models, name) for name in ("eapm_focal_loss", "eapm_balanced_l1_loss")}
    plain, eapm, ratios, loss_plain, loss_eapm = [], [], [], [], []
    try:
        for name, fn in originals.items():
            setattr(detection_models, name, timed(fn))
        for r in range(rounds + 1):
            order = (0, 1) if r % 2 else (1, 0)
            got = {i: step(models[i]) for i in order}
            if r:  # round 0 warms up both
                plain.append(got[0][0])
                eapm.append(got[1][0])
                ratios.append(got[1][0] / got[0][0])
                loss_plain.append(got[0][1])
                loss_eapm.append(got[1][1])
    finally:
        for name, fn in originals.items():
            setattr(detection_models, name, fn)
    q1, med, q3 = _quartiles(ratios)
    plain_s = statistics.median(plain)
    # The loss forward is where plain and EAPM differ (their backward is the same one multiply), so
    # (EAPM loss time - plain loss time) / plain step time is a second, much less noisy estimate.
    accounted = (statistics.median(loss_eapm) - statistics.median(loss_plain)) / plain_s
    return {"plain_s": plain_s, "eapm_s": statistics.median(eapm),
            "overhead_pct": 100 * (med - 1), "overhead_iqr_pct": [100 * (q1 - 1), 100 * (q3 - 1)],
            "loss_plain_ms": 1e3 * statistics.median(loss_plain), "loss_eapm_ms": 1e3 * statistics.median(loss_eapm),
            "overhead_in_loss_pct": 100 * accounted, "rounds": rounds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=15, help="paired rounds per detector (after 1 warm-up)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--detectors", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--coco-size", type=int, default=256, help="image size of the 'coco' configuration")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (1 is the steadiest on a CPU shared with other jobs)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    CONFIGS["coco"]["image_size"] = args.coco_size
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result = {"device": str(device), "machine": machine,
              "clock": "wall" if device.type == "cuda" else "process CPU time", "torch": torch.__version__, "load_before": load,
              "loss_only": {}, "train_step": {}}
    size = CONFIGS["coco"]["image_size"]
    n_anchors = 9 * sum((size // s) ** 2 for s in (8, 16, 32, 64, 128))
    lo = loss_only(device, n_anchors, 80, 4 * args.rounds)
    result["loss_only"] = {k: v * 1e3 for k, v in lo.items()}
    print(f"device {device} ({machine}); clock: {result['clock']}; load average {load}")
    print(f"losses alone ({n_anchors} anchors x 80 classes; 2000 positive box deltas), forward + backward, median ms:")
    for k, v in lo.items():
        print(f"  {k:18s} {v * 1e3:8.3f}")
    for cfg in args.configs:
        c = CONFIGS[cfg]
        print(f"training step, '{cfg}' configuration: {c['backbone']} FPN-{c['fpn_channels']}, "
              f"{c['batch']} x {c['image_size']} px, {c['num_classes'] - 1} classes")
        for det in args.detectors:
            st = train_step_overhead(device, det, args.rounds, c["backbone"], c["fpn_channels"], c["image_size"],
                                     c["batch"], c["num_classes"], c["head_groups"])
            result["train_step"][f"{cfg}/{det}"] = st
            lo_q, hi_q = st["overhead_iqr_pct"]
            print(f"  {det:12s} step: plain {st['plain_s'] * 1e3:8.1f} ms, EAPM {st['eapm_s'] * 1e3:8.1f} ms, "
                  f"overhead {st['overhead_pct']:+.2f} % (IQR {lo_q:+.2f} .. {hi_q:+.2f} %); "
                  f"loss calls {st['loss_plain_ms']:.2f} -> {st['loss_eapm_ms']:.2f} ms = "
                  f"{st['overhead_in_loss_pct']:+.2f} % of the step")
    result["load_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"load average after: {result['load_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
