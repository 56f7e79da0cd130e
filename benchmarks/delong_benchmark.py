"""DeLong's paired test: the fast midrank implementation vs a naive O(m n) one.

    PYTHONPATH=lib .venv/bin/python benchmarks/delong_benchmark.py [--n-large 1000000] [--n-naive 20000]

Prints the time of `companion.metrics.roc.delong_test` on n = 1,000,000 scores (two correlated
scorers, ~30 % cases) and, at n = 20,000, the speed ratio against the textbook implementation
that builds the m x n kernel matrix psi(X_i, Y_j) (in row blocks, so memory stays bounded).
Wall-clock timings: best and median of several repeats, on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from companion.metrics.roc import delong_test


def naive_delong(y, a, b, block=2000):
    """AUCs, variances and covariance from the full kernel matrix: O(m n) time."""
    y = np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    v10 = np.empty((2, m))
    v01 = np.zeros((2, n))
    for r, s in enumerate((np.asarray(a, float), np.asarray(b, float))):
        x, z = s[y], s[~y]
        for start in range(0, m, block):
            xb = x[start:start + block, None]
            psi = (xb > z[None, :]) + 0.5 * (xb == z[None, :])
            v10[r, start:start + block] = psi.mean(axis=1)
            v01[r] += psi.sum(axis=0)
    v01 /= m
    s = np.cov(v10) / m + np.cov(v01) / n
    return v10.mean(axis=1), s


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    latent = rng.normal(size=n) + 0.8 * y
    a = latent + rng.normal(scale=0.8, size=n)
    b = np.round(latent + rng.normal(scale=1.2, size=n), 2)  # rounded: ties as in real scores
    return y, a, b


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-large", type=int, default=1_000_000)
    parser.add_argument("--n-naive", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"numpy {np.__version__}")

    y, a, b = make_data(args.n_large)
    delong_test(y, a, b)  # warm-up (imports, page faults)
    res, best, med = timed(lambda: delong_test(y, a, b), args.repeats)
    print(f"fast DeLong test, n = {args.n_large:,} ({int(y.sum()):,} cases): best {best:.3f} s, "
          f"median {med:.3f} s  (z = {res.z:.3f}, AUCs {res.auc_a:.4f} / {res.auc_b:.4f})")

    y, a, b = make_data(args.n_naive, seed=1)
    res, fast_best, fast_med = timed(lambda: delong_test(y, a, b), args.repeats)
    (aucs, s), naive_best, naive_med = timed(lambda: naive_delong(y, a, b), 2)
    agree = np.allclose([res.auc_a, res.auc_b, res.var_a, res.var_b, res.cov],
                        [aucs[0], aucs[1], s[0, 0], s[1, 1], s[0, 1]], rtol=1e-9, atol=0)
    print(f"n = {args.n_naive:,} ({int(y.sum()):,} cases x {int((1 - y).sum()):,} controls): "
          f"fast best {fast_best * 1e3:.1f} ms, naive best {naive_best:.2f} s, "
          f"ratio {naive_best / fast_best:,.0f}x; results agree to 1e-9: {agree}")


if __name__ == "__main__":
    main()
