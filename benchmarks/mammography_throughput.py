"""Does data loading keep up with training? Images/s of the cached-tensor loader vs a training step.

    PYTHONPATH=lib python benchmarks/mammography_throughput.py --device auto --input-size 227

Decoding and resampling happen once (`preprocess_manifest` caches a uint8 stack); per batch the
loader only centres, scales and replicates channels. The script prints both rates, fp32 and
(on CUDA) bf16 training, for the paper's AlexNet at the given input size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from companion.core import autocast, describe_device, select_device
from companion.mammography.data import MammogramDataset, mean_image
from companion.mammography.synthetic import make_synthetic
from companion.mammography.models import build_model
from companion.mammography.train import load_data


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--input-size", type=int, default=227)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--fc-features", type=int, default=4096)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--patients", type=int, default=60)
    args = p.parse_args(argv)
    device = select_device(args.device)
    root = Path(tempfile.mkdtemp(prefix="mammo-bench-"))
    t0 = time.perf_counter()
    manifest = make_synthetic(root, n_ffdm=args.patients, n_ddsm=args.patients, n_interval=2,
                                      image_size=max(256, args.input_size), seed=0)
    data = load_data(manifest, args.input_size, cache_dir=root / "cache")
    print(f"generate + decode + preprocess {len(data.manifest)} images once: {time.perf_counter() - t0:.1f} s")
    dataset = MammogramDataset(data.images, data.codes, mean_image(data.images))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    t0, n = time.perf_counter(), 0
    for _ in range(3):
        for x, _ in loader:
            n += len(x)
    print(f"loader: {n / (time.perf_counter() - t0):,.0f} images/s (batch {args.batch_size}, one process)")
    model = build_model("alexnet", 3, width=args.width, fc_features=args.fc_features).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=0.001)
    x = torch.randn(args.batch_size, 3, args.input_size, args.input_size, device=device)
    y = torch.randint(0, 3, (args.batch_size,), device=device)
    for precision in ("fp32", "bf16") if device.type == "cuda" else ("fp32",):
        for i in range(args.steps + 2):
            if i == 2:  # two warm-up steps
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            with autocast(device, precision):
                loss = torch.nn.functional.cross_entropy(model(x).float(), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = args.steps * args.batch_size / (time.perf_counter() - t0)
        print(f"train step ({precision}, {args.input_size} px, width {args.width}): {rate:,.0f} images/s")
    print("device:", describe_device(device)["name"] if "name" in describe_device(device) else device)


if __name__ == "__main__":
    main()
