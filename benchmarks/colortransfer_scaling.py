"""Linear-cost check of the paper's central claim (Sec. 3.2), printed, not a timed test.

    PYTHONPATH=lib .venv/bin/python benchmarks/colortransfer_scaling.py --sizes 64 128 256 512 1024

(a) pixel-level attention on full-resolution features (streamed: the n x n matrix is
never stored, so it is stopped by a time budget rather than by memory), and (b) the
super-feature attention, on square resizes of a photo pair; then the whole `transfer`
at the two largest sizes. Prints time, peak extra memory and the fitted log-log slopes.
"""

import argparse

import torch

from companion.colortransfer.cost import fit_slope, pipeline_timing, scaling_benchmark
from companion.core import describe_device, select_device


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 192, 256, 384, 512, 768, 1024])
    p.add_argument("--pixel-budget", type=float, default=20.0, help="skip pixel attention predicted above this (s)")
    p.add_argument("--device", default="auto")
    p.add_argument("--features", default="efficientnet")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: best on a shared 2-core machine; 0: torch's default)")
    args = p.parse_args()
    device = select_device(args.device)
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    print("device:", describe_device(device)["name"])
    from companion.colortransfer.models import build_extractor

    table = scaling_benchmark(args.sizes, extractor=build_extractor(args.features, device=device),
                              pixel_budget_s=args.pixel_budget, device=device)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"slope pixel attention (n >= 96²)       : {fit_slope(table, 'pixel', min_n=96 * 96):.2f}  (paper: 2)")
    print(f"slope super-feature attention (n >= 256²): {fit_slope(table, 'superpixel', min_n=256 * 256):.2f}"
          "  (paper: 1)")
    sides = sorted(args.sizes)[-2:]
    timing = pipeline_timing(sides, device=device, features=args.features)
    print(timing.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if len(timing) == 2:
        print(f"time ratio for 4x the pixels: {timing.total.iloc[1] / timing.total.iloc[0]:.2f} (target <= 6)")


if __name__ == "__main__":
    main()
