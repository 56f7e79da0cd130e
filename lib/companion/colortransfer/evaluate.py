"""Run every method on the curated pairs and measure the results with `companion.metrics.color`.

Colour transfer has no ground truth, so each result is described by complementary
measures: distance of its colour distribution to the reference (lower = closer),
luminance structure kept from the target (SSIM, higher = more kept), and
colourfulness. None of them says whether a result looks right.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from companion.colortransfer import baselines
from companion.colortransfer.data import Pair, load_pair

METHODS = ("reinhard", "pitie_idt", "histogram", "ours_no_attention", "ours")
METHOD_LABELS = {
    "reinhard": "Reinhard 2001",
    "pitie_idt": "Pitié 2007 (IDT)",
    "histogram": "histogram matching",
    "ours_no_attention": "ours, no attention",
    "ours": "ours (attention)",
}


def run_method(method: str, target: np.ndarray, reference: np.ndarray, *, seed: int = 0, device: str = "cpu",
               **options) -> np.ndarray:
    """One method's result, (H_T, W_T, 3) float32 in [0, 1]; ``options`` go to `transfer`."""
    from companion.colortransfer.pipeline import transfer

    if method == "reinhard":
        return baselines.reinhard(target, reference)
    if method == "pitie_idt":
        return baselines.pitie_idt(target, reference, seed=seed)
    if method == "histogram":
        return baselines.histogram_matching(target, reference)
    if method == "ours":
        return transfer(target, reference, device=device, **options)
    if method == "ours_no_attention":
        return transfer(target, reference, device=device, **{**options, "attention": "hard"})
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def color_measures(result: np.ndarray, target: np.ndarray, reference: np.ndarray, seed: int = 0) -> dict:
    """The chapter's measures of one result, via `companion.metrics.color`.

    Returns
    -------
    dict: ``w1_lab`` (mean per-channel 1-D Wasserstein in Lab, result vs reference),
    ``swd_lab`` (sliced Wasserstein-2 in Lab on a seeded subsample, result vs reference),
    ``ssim_L`` (luminance SSIM, result vs target), ``ciede2000`` (mean ΔE00, result vs target) and
    ``colorfulness`` (Hasler–Süsstrunk, of the result).
    """
    from companion.metrics import color as cm

    return {
        "w1_lab": float(np.mean(list(cm.channel_wasserstein(result, reference).values()))),
        "swd_lab": cm.sliced_wasserstein(result, reference, seed=seed),
        "ssim_L": cm.ssim_luminance(result, target),
        "ciede2000": cm.mean_ciede2000(result, target),
        "colorfulness": cm.colorfulness(result),
    }


def evaluate_pairs(pairs: list[Pair], methods=METHODS, *, max_side: int = 256, seed: int = 0, device: str = "cpu",
                   keep_images: bool = False, **options):
    """Run ``methods`` on ``pairs`` and measure each result.

    Returns
    -------
    table : DataFrame, one row per (pair, method) with the measures and seconds.
    images : dict {(pair name, method): image} when ``keep_images`` (else empty).
    """
    rows, images = [], {}
    for pair in pairs:
        target, reference = load_pair(pair, max_side)
        for method in methods:
            t0 = time.perf_counter()
            out = run_method(method, target, reference, seed=seed, device=device, **options)
            seconds = time.perf_counter() - t0
            rows.append(dict(pair=pair.name, kind=pair.kind, method=method, seconds=seconds,
                             **color_measures(out, target, reference, seed)))
            if keep_images:
                images[(pair.name, method)] = out
        if keep_images:
            images[(pair.name, "target")], images[(pair.name, "reference")] = target, reference
    return pd.DataFrame(rows), images


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of each measure per method, methods in `METHODS` order."""
    cols = [c for c in ("w1_lab", "swd_lab", "ssim_L", "ciede2000", "colorfulness", "seconds") if c in table]
    g = table.groupby("method")[cols].agg(["mean", "std"])
    return g.reindex([m for m in METHODS if m in g.index])


# The knobs the paper discusses, each varied alone around the paper's settings.
ABLATIONS = {
    "tau": [0.1, 0.02, 9e-4],
    "segments_factor": [1.5, 3.0, 6.0],
    "depth": ["shallow", "deep"],
    "features": ["efficientnet", "efficientnet-random", "handcrafted"],
    "delta_s": [1.0, 10.0, 100.0],
    "delta_c": [0.01, 0.1, 1.0],
    "attention": ["soft", "hard"],
    "regrain": [True, False],
    "neighbourhood": ["adjacent", 2, "all"],
}


def ablation_table(pairs: list[Pair], ablations: dict = ABLATIONS, *, max_side: int = 256, seed: int = 0,
                   device: str = "cpu", base: dict | None = None) -> pd.DataFrame:
    """Vary one `transfer` option at a time; measure every result against its pair.

    Returns
    -------
    DataFrame, one row per (knob, value, pair) with the colour measures, seconds, and
    ``diff_from_paper``: mean absolute difference (in [0, 1] RGB) from the result at the
    paper's settings on the same pair.
    """
    from companion.colortransfer.pipeline import transfer

    base = dict(base or {})
    loaded = [(p, *load_pair(p, max_side)) for p in pairs]
    reference_results = {p.name: transfer(t, r, device=device, **base) for p, t, r in loaded}
    rows = []
    for knob, values in ablations.items():
        for value in values:
            for pair, target, reference in loaded:
                t0 = time.perf_counter()
                out = transfer(target, reference, device=device, **{**base, knob: value})
                seconds = time.perf_counter() - t0
                rows.append(dict(knob=knob, value=str(value), pair=pair.name, seconds=seconds,
                                 diff_from_paper=float(np.abs(out - reference_results[pair.name]).mean()),
                                 **color_measures(out, target, reference, seed)))
    return pd.DataFrame(rows)
