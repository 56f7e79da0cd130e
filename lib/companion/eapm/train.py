"""Training a detector with or without EAPM, in a notebook or as ``python -m companion.eapm.train``.

``python -m companion.eapm.train`` with no flags runs the ``default`` profile of
``notebooks/eapm/profiles.yml`` (page 3's settings: a CPU-sized RetinaNet on the synthetic set);
``--profile full`` is the paper's setting below; every `TrainConfig` field is also a flag.

The paper's schedule (Sec. 3.2, mmdetection 1x): SGD, momentum 0.9, weight decay 1e-4,
12 epochs, learning rate x0.1 after epochs 8 and 11 ("at the 9th and again at the 12th"),
a linear warm-up over the first 500 iterations, gradient norm clipped at 35, batch 8 (4 GPUs x 2).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch

from companion.core import fit, seed_everything, select_device
from companion.core.cache import cache_key
from companion.core.config import refuse_unknown_keys
from companion.eapm.data import CocoDetection, coco2017, collate, read_json_or_none, write_json_atomic
from companion.eapm.models import BACKBONES, build_detector, recompute_batch_norm


# Bump when a change to the losses or models changes what a configuration trains to, so that cached
# checkpoints of the old code are not reused (2: one-pass fused losses; 3: anchors matched to the
# feature strides with a P2 level, BatchNorm statistics recomputed after training; 4: channels-last
# weights and the fused AdamW step; 5: GroupNorm in the RetinaNet head towers, `head_groups`).
CACHE_VERSION = 5


@dataclass(frozen=True)
class TrainConfig:
    """Everything that changes a trained detector (the cache key is a hash of it + the seed)."""

    detector: str = "retinanet"
    mu: float | None = None
    theta: float | None = None
    reg_loss: str = "l1"
    backbone: str = "mobilenet_v3_small"
    fpn_channels: int = 64
    image_size: int = 128
    epochs: int = 12
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float = 0.005
    lr_steps: tuple[int, ...] = (8, 11)
    warmup_iters: int = 500
    weight_decay: float = 1e-4
    grad_clip: float | None = 35.0
    backbone_weights: str | None = None
    head_groups: int = 0

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """A configuration from notebook parameters or a profile; a key that is not a field is refused
        (so that a typo in profiles.yml is not silently ignored). ``lr_steps`` may be a list; a Faster
        R-CNN always uses balanced L1 (Libra R-CNN, the paper's two-stage detector)."""
        refuse_unknown_keys(cls, params)
        params = dict(params)
        if "lr_steps" in params:
            params["lr_steps"] = tuple(params["lr_steps"])
        if params.get("detector") == "faster_rcnn":
            params["reg_loss"] = "balanced_l1"
        return cls(**params)

    def key(self) -> str:
        """A short, stable hash of the configuration and ``CACHE_VERSION`` (for cache file names)."""
        # the chapter's and core's source are part of the key: a code change never reuses an old training
        return cache_key(self, "companion.eapm", "companion.core", extra={"cache_version": CACHE_VERSION}, length=10)

    def label(self) -> str:
        """How the paper's tables name this setting."""
        base = {"retinanet": "RetinaNet", "fcos": "FCOS", "faster_rcnn": "Faster R-CNN"}[self.detector]
        if self.reg_loss == "balanced_l1" or self.detector == "faster_rcnn":
            base = "Libra " + base.replace("Faster ", "")
        parts = [base]
        if self.mu is not None:
            parts.append(f"mu={self.mu:g}")
        if self.theta is not None:
            parts.append(f"theta={self.theta:g}")
        return " ".join(parts)


@dataclass
class TrainedDetector:
    model: torch.nn.Module
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float = float("nan")
    device: str = "cpu"


def _schedule(optimizer, config: TrainConfig, iters_per_epoch: int):
    steps = [s * iters_per_epoch for s in config.lr_steps]

    def factor(it: int) -> float:
        warm = 1.0 if it >= config.warmup_iters else (1 / 3 + (2 / 3) * it / max(1, config.warmup_iters))
        return warm * 0.1 ** sum(it >= s for s in steps)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def detector_for(config: TrainConfig, num_classes: int) -> torch.nn.Module:
    """The (untrained) detector ``config`` describes: the one `train` trains and a checkpoint of it loads into."""
    return build_detector(
        config.detector, num_classes, mu=config.mu, theta=config.theta, reg_loss=config.reg_loss,
        backbone=config.backbone, fpn_channels=config.fpn_channels, image_size=config.image_size,
        backbone_weights=config.backbone_weights, head_groups=config.head_groups,
    )


def detection_step(model, batch):
    """``fit`` step: torchvision detectors return their loss terms in training mode."""
    images, targets = batch
    losses = model(images, targets)
    return {"loss": sum(losses.values()), **losses}


def train(
    config: TrainConfig,
    data: CocoDetection,
    *,
    seed: int = 0,
    device: str = "auto",
    checkpoint_path: str | Path | None = None,
    progress: bool | None = None,
    val_data: CocoDetection | None = None,
    eval_every: int = 0,
) -> TrainedDetector:
    """Build and train ``config``'s detector on the training set ``data`` with `companion.core.fit`.

    When ``checkpoint_path`` holds a finished run of the same seed, it is loaded, not retrained.
    With ``val_data`` and ``eval_every`` = k > 0, the history rows of every k-th epoch (and the
    last) carry ``val_AP`` and ``val_AP50`` (BatchNorm statistics recomputed first, on a copy of the
    model, as for the final model): a learning curve. Evaluation does not change what is trained, nor
    the running statistics the checkpoint holds (page 3 evaluates those as they are).
    """
    if eval_every < 0:
        raise ValueError(f"eval_every must be >= 0, got {eval_every}")
    if config.optimizer not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {config.optimizer!r}")
    seed_everything(seed)
    dev = select_device(device)
    model = detector_for(config, data.num_classes)
    # channels-last convolutions and the fused AdamW step: together 16 % less time per step of the
    # default profile on this CPU (benchmarks/eapm_step_speed.py); deterministic like the defaults
    model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    iters = -(-len(data) // config.batch_size)
    evaluate = None
    if val_data is not None and eval_every:
        from companion.eapm.evaluate import evaluate_detector

        epoch_counter = iter(range(1, config.epochs + 1))

        def evaluate(m):
            epoch = next(epoch_counter, config.epochs)
            if epoch % eval_every and epoch != config.epochs:
                return {}
            # on a copy: the trained model (and its checkpoint) keeps the running statistics of training
            probe = copy.deepcopy(m)
            recompute_batch_norm(probe, data, batch_size=config.batch_size)
            stats = evaluate_detector(probe, val_data, device=dev)
            return {"val_AP": stats["AP"], "val_AP50": stats["AP50"]}

    result = fit(
        model, detection_step, data, optimizer=opt, epochs=config.epochs, batch_size=config.batch_size,
        seed=seed, device=dev, scheduler=_schedule(opt, config, iters), scheduler_interval="iteration",
        checkpoint_path=checkpoint_path, collate_fn=collate, grad_clip=config.grad_clip, progress=progress,
        description=config.label(), evaluate=evaluate,
    )
    # BatchNorm running statistics for the final weights (see recompute_batch_norm: with torchvision's
    # momentum 0.01 they would otherwise lag far behind a short run). Deterministic, so a run loaded
    # from its checkpoint gets the same statistics.
    recompute_batch_norm(model, data, batch_size=config.batch_size)
    trained_epochs = config.epochs - result.resumed_from_epoch
    ips = len(data) * trained_epochs / result.seconds if trained_epochs > 0 and result.seconds > 0 else float("nan")
    model.eval()
    return TrainedDetector(model, config, result.history, result.seconds, ips, str(dev))


class ChapterData(NamedTuple):
    """The chapter's data: training and validation sets, a short cache tag and the words a page uses
    to say which data produced its numbers."""

    train: CocoDetection
    val: CocoDetection
    tag: str
    description: str


def load_data(coco_root: str, n_train: int, n_val: int, image_size: int, seed: int, profile: str) -> ChapterData:
    """COCO 2017 when ``coco_root`` is set, else the synthetic set (generated once under
    ``build/data/eapm/<profile>/``); unpacks as ``train, val, tag, description``."""
    from companion.book.paths import data_dir
    from companion.eapm.synthetic import synthetic_dataset

    if coco_root:
        train_set, val_set = coco2017(coco_root, "train2017"), coco2017(coco_root, "val2017")
        return ChapterData(train_set, val_set, "coco2017",
                           f"COCO 2017 ({len(train_set)} train / {len(val_set)} val images)")
    train_set, val_set = synthetic_dataset(data_dir("eapm", profile), n_train, n_val, image_size=image_size, seed=seed)
    desc = f"synthetic COCO-format shapes, {n_train} train / {n_val} val images of {image_size} px (seed {seed})"
    return ChapterData(train_set, val_set, f"syn{n_train}-{n_val}-{image_size}-s{seed}", desc)


def checkpoint_for(config: TrainConfig, seed: int, data_tag: str, cache_dir: str | Path) -> Path:
    """Where a run of ``config`` is cached: ``<cache_dir>/<data tag>-<config hash>-seed<seed>.pt``."""
    return Path(cache_dir) / f"{data_tag}-{config.key()}-seed{seed}.pt"


def train_or_load(config: TrainConfig, data: ChapterData, cache_dir: str | Path, *, seed: int = 0,
                  device: str = "auto", eval_every: int = 0) -> dict:
    """`train` ``config`` on ``data.train`` (or reuse its cached checkpoint) and evaluate it on ``data.val``.

    The checkpoint and the evaluation are cached in ``cache_dir`` (`checkpoint_for`); a missing or
    corrupt cache is regenerated, so any notebook can run alone. ``eval_every`` > 0 adds a learning
    curve (``val_AP`` every k-th epoch) to the history of a run trained here; a cached run is
    returned as it was cached.

    Returns
    -------
    dict with ``label``, ``seed``, ``config``, ``coco`` (12 COCO numbers), ``ap_by_aspect``,
    ``detections``, ``history``, ``train_seconds``, ``images_per_second`` (NaN when the weights
    were loaded from the checkpoint) and ``device``.
    """
    from companion.eapm.evaluate import ap_by_aspect_ratio, coco_stats, predict

    ckpt = checkpoint_for(config, seed, data.tag, cache_dir)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    summary_path = ckpt.with_suffix(".eval.json")
    if ckpt.exists():
        cached = read_json_or_none(summary_path, "cached evaluation")
        if isinstance(cached, dict) and {"coco", "history"} <= set(cached):
            return cached
        if cached is not None:
            import warnings

            warnings.warn(f"cached evaluation {summary_path} lacks 'coco'/'history'; rebuilding it", RuntimeWarning)
    run = train(config, data.train, seed=seed, device=device, checkpoint_path=ckpt, progress=False,
                val_data=data.val if eval_every else None, eval_every=eval_every)
    detections = predict(run.model, data.val, device=run.device)
    out = {
        "label": config.label(), "seed": seed, "config": asdict(config),
        "coco": coco_stats(data.val, detections), "ap_by_aspect": ap_by_aspect_ratio(data.val, detections),
        "detections": detections, "history": run.history, "train_seconds": run.seconds,
        "images_per_second": run.images_per_second, "device": run.device,
    }
    write_json_atomic(summary_path, out)
    return out


def _train_or_load_job(args) -> dict:
    config, data, cache_dir, seed, device, eval_every, threads = args
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    out = train_or_load(config, data, cache_dir, seed=seed, device=device, eval_every=eval_every)
    return {**out, "wall_seconds": time.perf_counter() - t0}


def train_or_load_many(jobs: list[tuple[TrainConfig, int]], data: ChapterData, cache_dir: str | Path, *,
                       workers: int = 1, device: str = "auto", eval_every: int = 0, threads: int = 1) -> list[dict]:
    """`train_or_load` for every ``(config, seed)`` in ``jobs``, in order.

    With ``workers`` > 1 the runs that are not cached yet train side by side in that many worker
    processes (spawned; each with ``threads`` torch threads). Each run is seeded and single-threaded,
    so its numbers are those of a serial run; only the wall-clock time changes.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    args = [(config, data, cache_dir, seed, device, eval_every, threads) for config, seed in jobs]
    cached = [checkpoint_for(c, s, data.tag, cache_dir).with_suffix(".eval.json").is_file() for c, s in jobs]
    todo = [a for a, done in zip(args, cached) if not done]
    if workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_train_or_load_job, todo))
    return [train_or_load(config, data, cache_dir, seed=seed, device=device, eval_every=eval_every)
            for config, seed in jobs]


def control_config(factor: float = 1.5, **settings) -> TrainConfig:
    """The control row for "EAPM only speeds learning up": plain focal RetinaNet trained ``factor``
    times longer (epochs and learning-rate steps scaled; warm-up unchanged)."""
    if factor < 1:
        raise ValueError(f"the control trains longer, not shorter: factor must be >= 1, got {factor}")
    settings = dict(settings)
    settings["epochs"] = int(round(factor * settings.get("epochs", TrainConfig.epochs)))
    settings["lr_steps"] = [int(round(factor * s)) for s in settings.get("lr_steps", TrainConfig.lr_steps)]
    return TrainConfig.from_params(settings)


def ablation_plan(settings: dict, mus=(None, 1.5), thetas=(None, 1.0), fcos_mus=(), rcnn_thetas=(),
                  control_factor: float | None = 1.5) -> list[tuple[str, TrainConfig, object]]:
    """The (family, config, knob) rows of Tables 1 and 2 that a profile runs, plus the control row.

    Families: "RetinaNet" (mu; knob "control" = plain focal trained ``control_factor`` x longer),
    "Libra RetinaNet (mu=1.5)" (theta, balanced L1), "FCOS" (mu), "Libra R-CNN" (theta).
    """
    cfg = TrainConfig.from_params
    plan = [("RetinaNet", cfg({**settings, "mu": mu}), mu) for mu in mus]
    if control_factor:
        plan.append(("RetinaNet", control_config(control_factor, **settings), "control"))
    plan += [("Libra RetinaNet (mu=1.5)", cfg({**settings, "mu": 1.5, "reg_loss": "balanced_l1", "theta": th}), th)
             for th in thetas]
    plan += [("FCOS", cfg({**settings, "detector": "fcos", "mu": mu}), mu) for mu in fcos_mus]
    plan += [("Libra R-CNN", cfg({**settings, "detector": "faster_rcnn", "theta": th}), th) for th in rcnn_thetas]
    return plan


def _float_or_none(text: str):
    return None if text.lower() == "none" else float(text)


_CHOICES = {"detector": ("retinanet", "fcos", "faster_rcnn"), "reg_loss": ("l1", "balanced_l1"),
            "optimizer": ("sgd", "adamw"), "backbone": BACKBONES}
_HELP = {"mu": "EAPM-focal strength (none: plain focal)", "theta": "EAPM-balanced-L1 strength (none: off)",
         "backbone": "efficientnet_lite0 is ImageNet-pretrained (offline package); the others start from scratch",
         "backbone_weights": "local state dict of the classification network",
         "image_size": "short side after resizing (paper: 800)", "lr": "paper: 0.005 one-stage, 0.01 Libra R-CNN",
         "head_groups": "RetinaNet: GroupNorm groups in the head towers (0: none, the paper's head)"}
# Profile keys that are not TrainConfig fields but flags of the command line (the rest are per-notebook sweeps).
_RUN_KEYS = ("seed", "threads", "coco_root", "n_train", "n_val")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m companion.eapm.train",
        description="Train RetinaNet / FCOS / Faster R-CNN with or without EAPM and report COCO AP. "
                    "Defaults: the profile's settings (notebooks/eapm/profiles.yml, page 3); flags override them.")
    parser.add_argument("--profile", choices=("smoke", "default", "full"), default="default",
                        help="smoke: seconds; default: this CPU within minutes; full: the paper's setting "
                             "(ResNet-50-FPN, 800 px, 12 epochs; needs --coco-root and a GPU)")
    for name, value in asdict(TrainConfig()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, tuple):
            parser.add_argument(flag, type=int, nargs="*", default=list(value))
        elif name in ("mu", "theta", "grad_clip"):
            parser.add_argument(flag, type=_float_or_none, default=value, help=_HELP.get(name))
        else:
            kind = str if value is None else type(value)
            parser.add_argument(flag, type=kind, default=value, choices=_CHOICES.get(name), help=_HELP.get(name))
    parser.add_argument("--coco-root", default="", help="COCO 2017 root (train2017/, val2017/, annotations/)")
    parser.add_argument("--n-train", type=int, default=200, help="synthetic training images when --coco-root is not given")
    parser.add_argument("--n-val", type=int, default=50, help="synthetic validation images")
    parser.add_argument("--data-dir", default="build/data/eapm/cli")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 (bf16 autocast on CUDA)")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--out", default=None, help="write the run summary JSON here")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default; 1 is fastest on a CPU shared with other jobs)")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    known, _ = parser.parse_known_args(argv)
    from companion.book.profiles import resolve

    params = resolve("eapm", "03-training", known.profile)
    parser.set_defaults(**{k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__ or k in _RUN_KEYS})
    args = parser.parse_args(argv)
    if args.threads < 0:
        parser.error(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig.from_params({k: getattr(args, k) for k in TrainConfig.__dataclass_fields__})
    if args.coco_root:
        train_data, val_data = coco2017(args.coco_root, "train2017"), coco2017(args.coco_root, "val2017")
    else:
        from companion.eapm.synthetic import synthetic_dataset

        train_data, val_data = synthetic_dataset(args.data_dir, args.n_train, args.n_val, image_size=config.image_size,
                                                 seed=args.seed)
    t0 = time.perf_counter()
    run = train(config, train_data, seed=args.seed, device=args.device, checkpoint_path=args.checkpoint)
    from companion.eapm.evaluate import evaluate_detector

    stats = evaluate_detector(run.model, val_data, device=run.device)
    summary = {"profile": args.profile, "config": asdict(config), "seed": args.seed, "device": run.device,
               "train_seconds": run.seconds, "images_per_second": run.images_per_second,
               "wall_seconds": time.perf_counter() - t0, "history": run.history, "coco": stats}
    print(json.dumps({k: summary[k] for k in ("profile", "device", "images_per_second", "coco")}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
