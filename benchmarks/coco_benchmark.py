"""COCO bbox evaluation: faster-coco-eval vs pycocotools on one synthetic set, in one run.

    PYTHONPATH=lib .venv/bin/python benchmarks/coco_benchmark.py [--images 5000] [--categories 10] [--repeats 2]

Builds a seeded synthetic COCO set (`companion.metrics.detection.synthetic_coco`: objects in all
three size buckets, ~5 % crowd regions, misses and false positives), then times
`coco_ap(..., backend=...)` for both backends (JSON-free, from dicts; the timing covers index
building, loadRes, evaluate, accumulate and summarize) and says whether the 12 stats are
identical. Wall-clock timings: best and median of ``--repeats`` runs, on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from importlib.metadata import version

import numpy as np

from companion.metrics.detection import coco_ap, synthetic_coco


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    gt, dets = synthetic_coco(n_images=args.images, n_categories=args.categories, seed=args.seed)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible")
    print(f"data: synthetic COCO, seed {args.seed}: {len(gt['images'])} images, {args.categories} categories, "
          f"{len(gt['annotations'])} objects ({sum(a['iscrowd'] for a in gt['annotations'])} crowd), "
          f"{len(dets)} detections")
    results, times = {}, {}
    for backend in ("faster", "pycocotools"):
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            results[backend] = coco_ap(gt, dets, backend=backend)
            runs.append(time.perf_counter() - start)
        times[backend] = runs
        print(f"{backend:>12} ({version('faster-coco-eval' if backend == 'faster' else 'pycocotools')}): "
              f"best {min(runs):.2f} s, median {np.median(runs):.2f} s over {args.repeats} runs")
    print(f"speed-up (best/best): {min(times['pycocotools']) / min(times['faster']):.1f}x")
    identical = results["faster"] == results["pycocotools"]
    print(f"stats identical: {identical}")
    if not identical:
        for k in results["faster"]:
            print(f"  {k}: faster {results['faster'][k]!r} pycocotools {results['pycocotools'][k]!r}")
    print("stats: " + ", ".join(f"{k} {v:.4f}" for k, v in results["faster"].items()))
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
