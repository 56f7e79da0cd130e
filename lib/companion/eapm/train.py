"""Training a detector with or without EAPM, in a notebook or as ``python -m companion.eapm.train``.

The paper's schedule (Sec. 3.2, mmdetection 1x): SGD, momentum 0.9, weight decay 1e-4,
12 epochs, learning rate x0.1 after epochs 8 and 11 ("at the 9th and again at the 12th"),
a linear warm-up over the first 500 iterations, gradient norm clipped at 35, batch 8 (4 GPUs x 2).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from companion.core import fit, seed_everything, select_device
from companion.core.cache import cache_key
from companion.eapm.data import (CocoDetection, coco2017, collate, read_json_or_none, synthetic_dataset,
                                 write_json_atomic)
from companion.eapm.models import BACKBONES, build_detector, recompute_batch_norm


# Bump when a change to the losses or models changes what a configuration trains to, so that cached
# checkpoints of the old code are not reused (2: one-pass fused losses; 3: anchors matched to the
# feature strides with a P2 level, BatchNorm statistics recomputed after training).
CACHE_VERSION = 3


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


def detection_step(model, batch):
    """``fit`` step: torchvision detectors return their loss terms in training mode."""
    images, targets = batch
    losses = model(images, targets)
    return {"loss": sum(losses.values()), **losses}


def train_detector(
    config: TrainConfig,
    train_data: CocoDetection,
    *,
    seed: int = 0,
    device: str = "auto",
    checkpoint_path: str | Path | None = None,
    progress: bool | None = None,
    val_data: CocoDetection | None = None,
    eval_every: int = 0,
) -> TrainedDetector:
    """Build and train ``config``'s detector on ``train_data`` with `companion.core.fit`.

    When ``checkpoint_path`` holds a finished run of the same seed, it is loaded, not retrained.
    With ``val_data`` and ``eval_every`` = k > 0, the history rows of every k-th epoch (and the
    last) carry ``val_AP`` and ``val_AP50`` (BatchNorm statistics recomputed first, as for the
    final model): a learning curve. Evaluation does not change what is trained.
    """
    if eval_every < 0:
        raise ValueError(f"eval_every must be >= 0, got {eval_every}")
    if config.optimizer not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {config.optimizer!r}")
    seed_everything(seed)
    dev = select_device(device)
    model = build_detector(
        config.detector, train_data.num_classes, mu=config.mu, theta=config.theta, reg_loss=config.reg_loss,
        backbone=config.backbone, fpn_channels=config.fpn_channels, image_size=config.image_size,
        backbone_weights=config.backbone_weights,
    )
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    iters = -(-len(train_data) // config.batch_size)
    evaluate = None
    if val_data is not None and eval_every:
        from companion.eapm.evaluate import evaluate_detector

        epoch_counter = iter(range(1, config.epochs + 1))

        def evaluate(m):
            epoch = next(epoch_counter, config.epochs)
            if epoch % eval_every and epoch != config.epochs:
                return {}
            recompute_batch_norm(m, train_data, batch_size=config.batch_size)
            stats = evaluate_detector(m, val_data, device=dev)
            return {"val_AP": stats["AP"], "val_AP50": stats["AP50"]}

    result = fit(
        model, detection_step, train_data, optimizer=opt, epochs=config.epochs, batch_size=config.batch_size,
        seed=seed, device=dev, scheduler=_schedule(opt, config, iters), scheduler_interval="iteration",
        checkpoint_path=checkpoint_path, collate_fn=collate, grad_clip=config.grad_clip, progress=progress,
        description=config.label(), evaluate=evaluate,
    )
    # BatchNorm running statistics for the final weights (see recompute_batch_norm: with torchvision's
    # momentum 0.01 they would otherwise lag far behind a short run). Deterministic, so a run loaded
    # from its checkpoint gets the same statistics.
    recompute_batch_norm(model, train_data, batch_size=config.batch_size)
    trained_epochs = config.epochs - result.resumed_from_epoch
    ips = len(train_data) * trained_epochs / result.seconds if trained_epochs > 0 and result.seconds > 0 else float("nan")
    model.eval()
    return TrainedDetector(model, config, result.history, result.seconds, ips, str(dev))


def checkpoint_for(config: TrainConfig, seed: int, profile: str, data_tag: str) -> Path:
    """Where a run of ``config`` is cached: keyed by profile, data, seed and the config hash."""
    from companion.book.paths import cache_dir

    return cache_dir("eapm") / f"{profile}-{data_tag}-{config.key()}-seed{seed}.pt"


def _float_or_none(text: str):
    return None if text.lower() == "none" else float(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.eapm.train",
        description="Train RetinaNet / FCOS / Faster R-CNN with or without EAPM and report COCO AP.")
    parser.add_argument("--detector", choices=("retinanet", "fcos", "faster_rcnn"), default="retinanet")
    parser.add_argument("--mu", type=_float_or_none, default=None, help="EAPM-focal strength (None: plain focal)")
    parser.add_argument("--theta", type=_float_or_none, default=None, help="EAPM-balanced-L1 strength")
    parser.add_argument("--reg-loss", choices=("l1", "balanced_l1"), default="l1")
    parser.add_argument("--backbone", choices=BACKBONES, default="resnet50",
                        help="efficientnet_lite0 is ImageNet-pretrained (offline package); the others start from scratch")
    parser.add_argument("--backbone-weights", default=None, help="local state dict of the classification network")
    parser.add_argument("--fpn-channels", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=800, help="short side after resizing (paper: 800)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    parser.add_argument("--lr", type=float, default=0.005, help="paper: 0.005 one-stage, 0.01 Libra R-CNN")
    parser.add_argument("--lr-steps", type=int, nargs="*", default=[8, 11])
    parser.add_argument("--warmup-iters", type=int, default=500)
    parser.add_argument("--coco-root", default=None, help="COCO 2017 root (train2017/, val2017/, annotations/)")
    parser.add_argument("--synthetic", type=int, nargs=2, metavar=("N_TRAIN", "N_VAL"), default=(200, 50),
                        help="synthetic set size when --coco-root is not given")
    parser.add_argument("--data-dir", default="build/data/eapm/cli")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 (bf16 autocast on CUDA)")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--out", default=None, help="write the run summary JSON here")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default; 1 is fastest on a CPU shared with other jobs)")
    args = parser.parse_args(argv)
    if args.threads < 0:
        parser.error(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)

    config = TrainConfig(
        detector=args.detector, mu=args.mu, theta=args.theta, reg_loss=args.reg_loss, backbone=args.backbone,
        fpn_channels=args.fpn_channels, image_size=args.image_size, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, lr_steps=tuple(args.lr_steps), warmup_iters=args.warmup_iters,
        backbone_weights=args.backbone_weights,
    )
    if args.coco_root:
        train_data, val_data = coco2017(args.coco_root, "train2017"), coco2017(args.coco_root, "val2017")
    else:
        train_data, val_data = synthetic_dataset(args.data_dir, *args.synthetic, image_size=args.image_size, seed=args.seed)
    t0 = time.perf_counter()
    run = train_detector(config, train_data, seed=args.seed, device=args.device, checkpoint_path=args.checkpoint)
    from companion.eapm.evaluate import evaluate_detector

    stats = evaluate_detector(run.model, val_data, device=run.device)
    summary = {"config": asdict(config), "seed": args.seed, "device": run.device, "train_seconds": run.seconds,
               "images_per_second": run.images_per_second, "wall_seconds": time.perf_counter() - t0,
               "history": run.history, "coco": stats}
    print(json.dumps({k: summary[k] for k in ("device", "images_per_second", "coco")}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1))
    return 0



def run_setting(config: TrainConfig, train_data, val_data, *, seed: int, profile: str, data_tag: str,
                device: str = "auto") -> dict:
    """Train ``config`` (or reuse its cached checkpoint) and evaluate it on ``val_data``.

    The checkpoint and the evaluation are cached under ``cache_dir("eapm")`` keyed by profile,
    data, seed and the config hash; a missing cache is regenerated, so any notebook can run alone.

    Returns
    -------
    dict with ``label``, ``seed``, ``coco`` (12 COCO numbers), ``ap_by_aspect``, ``detections``,
    ``history``, ``train_seconds`` and ``images_per_second`` (NaN when loaded from cache).
    """
    from companion.eapm.evaluate import ap_by_aspect_ratio, coco_stats, predict

    ckpt = checkpoint_for(config, seed, profile, data_tag)
    summary_path = ckpt.with_suffix(".eval.json")
    if ckpt.exists():
        cached = read_json_or_none(summary_path, "cached evaluation")
        if isinstance(cached, dict) and {"coco", "history"} <= set(cached):
            return cached
        if cached is not None:
            import warnings

            warnings.warn(f"cached evaluation {summary_path} lacks 'coco'/'history'; rebuilding it", RuntimeWarning)
    run = train_detector(config, train_data, seed=seed, device=device, checkpoint_path=ckpt, progress=False)
    detections = predict(run.model, val_data, device=run.device)
    out = {
        "label": config.label(), "seed": seed, "config": asdict(config),
        "coco": coco_stats(val_data, detections), "ap_by_aspect": ap_by_aspect_ratio(val_data, detections),
        "detections": detections, "history": run.history, "train_seconds": run.seconds,
        "images_per_second": run.images_per_second, "device": run.device,
    }
    write_json_atomic(summary_path, out)
    return out


def make_config(*, detector: str = "retinanet", mu=None, theta=None, reg_loss: str = "l1", **settings) -> TrainConfig:
    """A TrainConfig from a notebook's profile settings plus the EAPM knobs of one table row.

    ``settings`` may carry any TrainConfig field (``lr_steps`` as a list is accepted); unknown
    keys raise ValueError so that a typo in profiles.yml is not silently ignored.
    """
    fields = set(TrainConfig.__dataclass_fields__)
    unknown = set(settings) - fields
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; known: {sorted(fields)}")
    if "lr_steps" in settings:
        settings["lr_steps"] = tuple(settings["lr_steps"])
    if detector == "faster_rcnn":
        reg_loss = "balanced_l1"
    return TrainConfig(detector=detector, mu=mu, theta=theta, reg_loss=reg_loss, **settings)


def control_config(factor: float = 1.5, **settings) -> TrainConfig:
    """The control row for "EAPM only speeds learning up": plain focal RetinaNet trained ``factor``
    times longer (epochs and learning-rate steps scaled; warm-up unchanged)."""
    if factor < 1:
        raise ValueError(f"the control trains longer, not shorter: factor must be >= 1, got {factor}")
    settings = dict(settings)
    settings["epochs"] = int(round(factor * settings.get("epochs", TrainConfig.epochs)))
    settings["lr_steps"] = [int(round(factor * s)) for s in settings.get("lr_steps", TrainConfig.lr_steps)]
    return make_config(**settings)


def ablation_plan(settings: dict, mus=(None, 1.5), thetas=(None, 1.0), fcos_mus=(), rcnn_thetas=(),
                  control_factor: float | None = 1.5) -> list[tuple[str, TrainConfig, object]]:
    """The (family, config, knob) rows of Tables 1 and 2 that a profile runs, plus the control row.

    Families: "RetinaNet" (mu; knob "control" = plain focal trained ``control_factor`` x longer),
    "Libra RetinaNet (mu=1.5)" (theta, balanced L1), "FCOS" (mu), "Libra R-CNN" (theta).
    """
    plan = [("RetinaNet", make_config(mu=mu, **settings), mu) for mu in mus]
    if control_factor:
        plan.append(("RetinaNet", control_config(control_factor, **settings), "control"))
    plan += [("Libra RetinaNet (mu=1.5)", make_config(mu=1.5, reg_loss="balanced_l1", theta=th, **settings), th)
             for th in thetas]
    plan += [("FCOS", make_config(detector="fcos", mu=mu, **settings), mu) for mu in fcos_mus]
    plan += [("Libra R-CNN", make_config(detector="faster_rcnn", theta=th, **settings), th) for th in rcnn_thetas]
    return plan


def load_data(coco_root: str, n_train: int, n_val: int, image_size: int, seed: int, profile: str):
    """The chapter's data: COCO 2017 when ``coco_root`` is set, else the synthetic set (cached).

    Returns
    -------
    (train, val, tag, description): two CocoDetection sets, a short cache tag, and the words a
    page uses to say which data produced its numbers.
    """
    from companion.book.paths import data_dir

    if coco_root:
        train, val = coco2017(coco_root, "train2017"), coco2017(coco_root, "val2017")
        return train, val, "coco2017", f"COCO 2017 ({len(train)} train / {len(val)} val images)"
    train, val = synthetic_dataset(data_dir("eapm", profile), n_train, n_val, image_size=image_size, seed=seed)
    desc = f"synthetic COCO-format shapes, {n_train} train / {n_val} val images of {image_size} px (seed {seed})"
    return train, val, f"syn{n_train}-{n_val}-{image_size}-s{seed}", desc


if __name__ == "__main__":
    raise SystemExit(main())
