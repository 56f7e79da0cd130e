"""Time and memory of pixel-level vs super-feature attention as the image grows (Sec. 3.2).

(a) pixel attention: every target pixel attends to every reference pixel; cost
    O(n² C). It is streamed (`matching.pixel_attention_colors`), so the n x n matrix
    is never stored: it stops being run when its predicted time exceeds a budget.
(b) super-features: pool over ~3·sqrt(n) superpixels, attend between them (~9n
    entries) and colour the superpixels; cost O(n C) for pooling plus O(n C) for the
    attention.
Both start from the same full-resolution feature maps, which are not timed.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import psutil
import torch

from companion.colortransfer import matching
from companion.colortransfer.data import load_image, resize_to
from companion.core.backbones import device_sync


class PeakMemory:
    """Peak extra memory during a block: CUDA allocator peak, or sampled process RSS on CPU."""

    def __init__(self, device: torch.device, interval: float = 0.01):
        self.device, self.interval = torch.device(device), interval
        self.peak_bytes = 0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return self
        self._proc = psutil.Process()
        self._base = self._proc.memory_info().rss
        self._peak = self._base
        self._stop = threading.Event()

        def sample():
            while not self._stop.is_set():
                self._peak = max(self._peak, self._proc.memory_info().rss)
                time.sleep(self.interval)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        else:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, self._proc.memory_info().rss)
            self.peak_bytes = self._peak - self._base
        return False


def _timed(fn, device):
    with PeakMemory(device) as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        device_sync(device)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return out, seconds, max(mem.peak_bytes, 0), cpu


def scaling_benchmark(sizes=(64, 128, 256, 512), *, target: str = "china", reference: str = "rocket",
                      extractor=None, tau: float = 0.02, pixel_budget_s: float = 20.0, device="cpu",
                      repeats: int = 3, chunk: int = 4096, log=None) -> pd.DataFrame:
    """Measure (a) pixel and (b) super-feature attention on square crops of side ``sizes``.

    Returns
    -------
    DataFrame with columns side, n, method ("pixel"/"superpixel"), seconds (wall, best of
    ``repeats`` for the fast super-feature step, one run for pixel attention),
    cpu_seconds (process CPU time, all threads: less sensitive to other jobs on a shared
    machine, so the slopes are fitted on it on CPU), peak_mib
    (measured growth of the process RSS or CUDA allocator peak; the CPU figure misses
    memory the allocator reuses), largest_mib (the largest intermediate matrix,
    computed: N_T x N_R for super-features, chunk x chunk for streamed pixel attention),
    n_superpixels, dense_matrix_gib (what an unstreamed n x n float32 matrix would need).
    """
    from companion.colortransfer.models import build_extractor

    device = torch.device(device)
    extractor = extractor or build_extractor("efficientnet", device=device)
    t_full, r_full = load_image(target), load_image(reference)
    rows, last_pixel = [], None
    for side in sizes:
        t_img, r_img = resize_to(t_full, (side, side)), resize_to(r_full, (side, side))
        with torch.inference_mode():
            f_t, f_r = extractor(t_img), extractor(r_img)
        n = side * side
        t_lab, r_lab = matching.superpixels(t_img), matching.superpixels(r_img)
        t_lab_d, r_lab_d = torch.from_numpy(t_lab).to(device), torch.from_numpy(r_lab).to(device)
        r_dev = torch.from_numpy(r_img).to(device)

        def superpixel_step():
            sf_t, sf_r = matching.super_features(f_t, t_lab_d), matching.super_features(f_r, r_lab_d)
            a = matching.attention_map(sf_t, sf_r, tau)
            return matching.direct_matching(a, matching.mean_colors(r_dev, r_lab_d))

        with torch.inference_mode():
            superpixel_step()  # warm-up (allocator, kernels)
            runs = [_timed(superpixel_step, device) for _ in range(repeats)]
        sec, peak, cpu = min(r[1] for r in runs), max(r[2] for r in runs), min(r[3] for r in runs)
        n_t, n_r = int(t_lab.max()) + 1, int(r_lab.max()) + 1
        rows.append(dict(side=side, n=n, method="superpixel", seconds=sec, cpu_seconds=cpu, peak_mib=peak / 2**20,
                         largest_mib=n_t * n_r * 4 / 2**20, n_superpixels=n_t, dense_matrix_gib=n * n * 4 / 2**30))
        predicted = None if last_pixel is None else last_pixel[1] * (n / last_pixel[0]) ** 2
        if predicted is None or predicted <= pixel_budget_s:
            with torch.inference_mode():
                _, sec, peak, cpu = _timed(lambda: matching.pixel_attention_colors(f_t, f_r, r_dev, tau, chunk), device)
            last_pixel = (n, sec)
            rows.append(dict(side=side, n=n, method="pixel", seconds=sec, cpu_seconds=cpu, peak_mib=peak / 2**20,
                             largest_mib=min(chunk, n) ** 2 * 4 / 2**20, n_superpixels=np.nan,
                             dense_matrix_gib=n * n * 4 / 2**30))
        if log:
            log(rows[-1])
    return pd.DataFrame(rows)


def fit_slope(table: pd.DataFrame, method: str, column: str = "cpu_seconds", min_n: int = 0) -> float:
    """Least-squares slope of log(column) against log(n) for one method (1 = linear, 2 = quadratic)."""
    sub = table[(table.method == method) & (table.n >= min_n)]
    if len(sub) < 2:
        return float("nan")
    return float(np.polyfit(np.log(sub.n), np.log(sub[column]), 1)[0])


def pipeline_timing(sides=(256, 512), *, target: str = "china", reference: str = "rocket", device="cpu",
                    repeats: int = 1, **options) -> pd.DataFrame:
    """Seconds per step of the whole `transfer` on square (side x side) pairs; best of ``repeats``."""
    from companion.colortransfer.pipeline import transfer

    t_full, r_full = load_image(target), load_image(reference)
    rows = []
    transfer(resize_to(t_full, (64, 64)), resize_to(r_full, (64, 64)), device=device, **options)  # load weights
    for side in sides:
        t_img, r_img = resize_to(t_full, (side, side)), resize_to(r_full, (side, side))
        best = None
        for _ in range(repeats):
            _, det = transfer(t_img, r_img, device=device, return_details=True, **options)
            if best is None or det["seconds"]["total"] < best["total"]:
                best = det["seconds"]
        rows.append(dict(side=side, n=side * side, **best))
    return pd.DataFrame(rows)
