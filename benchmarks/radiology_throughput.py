"""Training and inference images/s of the modified vs the plain DenseNet121 (chapter 1, Table 3).

    PYTHONPATH=lib python benchmarks/radiology_throughput.py --device cpu --image-size 128 --batch-size 8
    PYTHONPATH=lib python benchmarks/radiology_throughput.py --device cuda --image-size 312 --batch-size 32

Training = forward + symmetric contrastive loss + backward + AdamW step; inference = forward
under no_grad. On CUDA both run with bf16 autocast and channels_last (the training setting),
and again in fp32 for comparison (``--precision`` picks one). Random images: the network is
measured, not data loading. The device, thread count and the 1-minute load average are printed
with the numbers, since a shared CPU makes them vary.
"""

from __future__ import annotations

import argparse
import os

import pandas as pd
import torch

from companion.core import describe_device, select_device
from companion.radiology.models import DENSENET_TRUNKS, VISION_KINDS
from companion.radiology.throughput import compare_vision_encoders


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--image-size", type=int, default=312, help="square input side in pixels (paper: 312)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--trunk", default="densenet121", choices=sorted(DENSENET_TRUNKS))
    p.add_argument("--kinds", nargs="+", default=["modified", "plain"], choices=VISION_KINDS)
    p.add_argument("--steps", type=int, default=5, help="timed steps (after --warmup untimed ones)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32", "both"],
                   help="auto: bf16 on CUDA, fp32 on CPU; both: bf16 and fp32 (CUDA)")
    args = p.parse_args(argv)
    device = select_device(args.device)
    precisions = {"auto": ["auto"], "both": ["bf16", "fp32"]}.get(args.precision, [args.precision])
    if args.precision == "auto" and device.type == "cuda":
        precisions = ["bf16", "fp32"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device: {describe_device(device)['name']}; torch {torch.__version__}; "
          f"{torch.get_num_threads()} threads; load average (1 min) {load:.2f}")
    tables = []
    for precision in precisions:
        tables.append(compare_vision_encoders(args.kinds, trunk=args.trunk, image_size=args.image_size,
                                              batch_size=args.batch_size, device=device, steps=args.steps,
                                              warmup=args.warmup, precision=precision))
    table = pd.concat(tables).reset_index()
    shown = table[["kind", "trunk", "image_size", "batch_size", "precision", "channels_last", "params",
                   "train_images_per_s", "infer_images_per_s"]]
    with pd.option_context("display.width", 160, "display.float_format", "{:,.2f}".format):
        print(shown.to_string(index=False))
    if hasattr(os, "getloadavg"):
        print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    return table


if __name__ == "__main__":
    main()
