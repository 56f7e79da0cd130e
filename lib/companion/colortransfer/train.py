"""The chapter's "training": the paper trains nothing, so this runs the method and its ablation.

    python -m companion.colortransfer.train --profile default --device cpu
    python -m companion.colortransfer.train --profile smoke --max-side 128 --features handcrafted

reads ``notebooks/colortransfer/profiles.yml`` (the ``05-evaluation`` settings of the
profile; each `TrainConfig` field has a flag that overrides it), runs every row of
`evaluate.CONTRIBUTION_ROWS` on the photo pairs with and without the regrain
(`train`, which calls `evaluate.contribution_table`), and prints the ablation table, the
claims table and what the run cost. `train_or_load` caches the table under ``--out``
keyed by the configuration and the pairs, so the ablation and evaluation notebooks share
one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from companion.core.cache import cache_key
from companion.core.config import refuse_unknown_keys

# Bump when a change to the pipeline or the measures makes cached tables stale.
CACHE_VERSION = 1


@dataclass(frozen=True)
class TrainConfig:
    """What one run of the contribution ablation depends on (names as in profiles.yml)."""

    max_side: int = 256
    contribution_pairs: int = 12
    features: str = "efficientnet"
    seed: int = 0
    cpu_threads: int = 1
    regrain_smoothness: float = 30.0

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """Build from a dict of profile parameters; unknown keys raise ValueError naming them."""
        refuse_unknown_keys(cls, params)
        from companion.colortransfer.data import PAIRS

        config = cls(**params)
        if not 1 <= config.contribution_pairs <= len(PAIRS):
            raise ValueError(f"contribution_pairs must be between 1 and {len(PAIRS)}, got {config.contribution_pairs}")
        return config

    def key(self) -> str:
        # the chapter's and core's source are part of the key: a code change never reuses an old run
        return cache_key(self, "companion.colortransfer", "companion.core", extra={"version": CACHE_VERSION},
                         length=12)


@dataclass
class Run:
    """A finished run: the per-(pair, row, regrain) table and what it cost."""

    table: pd.DataFrame
    seconds: float
    load_average: tuple
    device: str
    cached: bool

    @property
    def seconds_per_pair(self) -> float:
        return self.seconds / self.table.pair.nunique()


def train(config: TrainConfig, data=None, *, device: str = "cpu", log=None) -> Run:
    """The chapter's "training": run the whole method and its contribution ablation once, and time it.

    The paper learns nothing (the CNN is a fixed ImageNet network and every other step is a
    closed-form computation per image pair), so there are no weights to fit. What a run of the
    chapter produces, and what it costs, is the table of `evaluate.contribution_table`: every
    row of `evaluate.CONTRIBUTION_ROWS` (ours, the exact Eq. 4, the hard argmax, the
    colour-statistics and Giraud-like rows, Reinhard, Pitié's IDT, the identity) on each photo
    pair, with and without the regrain, measured. This function runs it (never cached; see
    `train_or_load`) with ``config.cpu_threads`` torch threads.

    Parameters
    ----------
    config : TrainConfig
        Image size (``max_side``), number of curated pairs, CNN features, seed, threads and
        the regrain's smoothness.
    data : list of `data.Pair`, optional
        Default: the first ``config.contribution_pairs`` curated pairs (`data.pairs`).
    device : torch device for features, attention and fusion (SLIC, the baselines and the
        regrain run on the CPU).
    log : callable, optional
        Called with one line per finished pair.

    Returns
    -------
    Run: the table, the wall-clock seconds of the whole run, the load average when it started,
    the device, and ``cached=False``.
    """
    import torch

    from companion.colortransfer.data import pairs
    from companion.colortransfer.evaluate import contribution_table
    from companion.core import select_device

    data = list(data) if data is not None else pairs(config.contribution_pairs)
    if not data:
        raise ValueError("train needs at least one photo pair")
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    dev = select_device(device)
    load = os.getloadavg()
    t0 = time.perf_counter()
    table, _ = contribution_table(data, max_side=config.max_side, seed=config.seed, device=dev,
                                  features=config.features, regrain_smoothness=config.regrain_smoothness, log=log)
    return Run(table, time.perf_counter() - t0, load, str(dev), False)


def train_or_load(config: TrainConfig, data=None, cache_dir=None, *, device: str = "cpu", log=None) -> Run:
    """`train`, or its table loaded from ``cache_dir`` when this configuration and these pairs already ran.

    Parameters
    ----------
    config : TrainConfig
    data : list of `data.Pair`, optional
        Default: the first ``config.contribution_pairs`` curated pairs.
    cache_dir : path, optional
        Where the table is kept (``contribution-<config key>-<pairs hash>.pkl``); None: never cached.
    device : torch device for features, attention and fusion.
    """
    from companion.colortransfer.data import pairs

    data = list(data) if data is not None else pairs(config.contribution_pairs)
    names = [p.name for p in data]
    path = None
    if cache_dir is not None:
        tag = hashlib.sha256(json.dumps(names).encode()).hexdigest()[:8]
        path = Path(cache_dir) / f"contribution-{config.key()}-{tag}.pkl"
        if path.is_file():
            stored = pd.read_pickle(path)
            return Run(stored["table"], stored["seconds"], tuple(stored["load_average"]), stored["device"], True)
    run = train(config, data, device=device, log=log)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pd.to_pickle({"table": run.table, "seconds": run.seconds, "load_average": list(run.load_average),
                      "device": run.device}, tmp)
        tmp.replace(path)
    return run


def profile_config(profile: str, notebook: str = "05-evaluation") -> TrainConfig:
    """The TrainConfig of ``profile`` as the ``notebook`` of profiles.yml sets it."""
    from companion.book.profiles import resolve

    params = resolve("colortransfer", notebook, profile)
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig.from_params({k: v for k, v in params.items() if k in known})


def main(argv=None) -> dict:
    """The command line: ``--profile`` picks the settings, every `TrainConfig` field can be overridden by its flag."""
    p = argparse.ArgumentParser(prog="python -m companion.colortransfer.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="default", choices=["smoke", "default", "full"],
                   help="settings from notebooks/colortransfer/profiles.yml (05-evaluation); the flags below "
                        "override them (default: %(default)s, the CPU-sized run)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--out", type=Path, default=None,
                   help="cache folder (default build/cache/colortransfer-<profile>)")
    p.add_argument("--no-cache", action="store_true", help="run even when a cached table exists")
    for f in fields(TrainConfig):
        p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=None,
                       help=f"default: the profile's value ({f.default!r} when the profile does not set it)")
    args = p.parse_args(argv)
    from companion.book.paths import cache_dir
    from companion.colortransfer.evaluate import ablation_summary, claims_table

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    config = TrainConfig.from_params({**asdict(profile_config(args.profile)), **overrides})
    out = None if args.no_cache else (args.out or cache_dir(f"colortransfer-{args.profile}"))
    run = train_or_load(config, cache_dir=out, device=args.device, log=print)
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(ablation_summary(run.table).round(3).to_string())
        print(claims_table(run.table).to_string(index=False))
    info = {"config": asdict(config), "device": run.device, "seconds": run.seconds,
            "seconds_per_pair": run.seconds_per_pair, "load_average_at_start": list(run.load_average),
            "cached": run.cached}
    print(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    main()
