"""Training the scenario classifiers under the paper's four strategies.

Strategies (the paper's experiments i-iv):

``ffdm``         train and test on FFDM
``ddsm``         train and test on DDSM
``mixed``        FFDM and DDSM mixed for training and for testing
``incremental``  start from the ``ddsm`` model (itself initialised from ImageNet where a pretrained
                 backbone is used), fine-tune on FFDM, test on FFDM

One model is trained per (strategy, scenario), as in the paper. Optimisation follows the paper:
SGD, batch 50, momentum 0.9, weight decay 0.001, learning rate 0.001 divided by 10 every 2,500
iterations (profiles scale the step and the epochs to the data size).

Outside Jupyter::

    python -m companion.mammography.train --strategy incremental --scenario malignant_vs_negative \\
        --manifest /data/my_manifest.csv --input-size 227 --epochs 30 --device cuda
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from companion.core.cache import cache_key
from companion.core.device import autocast, select_device
from companion.core.seed import seed_everything
from companion.core.train import TrainResult, fit
from companion.mammography import LABELS, STRATEGIES
from companion.mammography.data import (
    LABEL_CODE,
    MammogramDataset,
    balanced_indices,
    check_scenario,
    mean_image,
    patient_split,
    preprocess_manifest,
    read_manifest,
    scenario_classes,
    scenario_targets,
)
from companion.mammography.losses import softmax_cross_entropy
from companion.mammography.models import build_model

# Part of every checkpoint key: bump it when a change to the training code makes checkpoints trained
# before it stale. 2: channels-last training, no deterministic-algorithms mode for EfficientNet-Lite0.
CACHE_VERSION = 2


@dataclass(frozen=True)
class TrainConfig:
    """Everything that changes a trained model; `key` names its checkpoint.

    Defaults are the paper's settings (227 px, AlexNet sizes, SGD 0.001 / 2,500-iteration step).
    """

    backbone: str = "alexnet"
    batch_norm: bool = False  # not in the paper; for short from-scratch CPU runs
    pretrained: bool = True  # EfficientNet-Lite0: ImageNet weights
    alexnet_weights: str | None = None  # AlexNet: local weights file (random init when None)
    width: float = 1.0
    fc_features: int = 4096
    dropout: float = 0.5
    input_size: int = 227
    equalize: bool = True
    subtract_mean: bool = True
    epochs: int = 30
    batch_size: int = 50
    lr: float = 0.001
    lr_step_iterations: int = 2500
    momentum: float = 0.9
    weight_decay: float = 0.001
    balance: bool = True
    flip: bool = False  # not in the paper: random vertical flips of training images (top-bottom is arbitrary)

    def key(self) -> str:
        """A short hash of the configuration and ``CACHE_VERSION`` (names its checkpoints)."""
        # the chapter's and core's source are part of the key: a code change never reuses an old checkpoint
        return cache_key(self, "companion.mammography", "companion.core", extra={"cache_version": CACHE_VERSION},
                         length=12)


@dataclass
class MammoData:
    """A manifest with its preprocessed images and patient-level split.

    Attributes
    ----------
    manifest : DataFrame with the manifest columns plus ``code`` (class code) and ``split``
        (train / test / interval).
    images : uint8 ndarray [N, S, S], aligned with ``manifest``.
    key : str
        Identifies the data, the split and the preprocessing (part of checkpoint names).
    """

    manifest: pd.DataFrame
    images: np.ndarray
    key: str
    latent: pd.DataFrame | None = None  # the generator's latent labels (synthetic data only), aligned rows

    def indices(self, datasets, split: str) -> np.ndarray:
        datasets = (datasets,) if isinstance(datasets, str) else tuple(datasets)
        m = self.manifest
        return np.flatnonzero(m["dataset"].isin(datasets).to_numpy() & (m["split"] == split).to_numpy())

    @property
    def codes(self) -> np.ndarray:
        return self.manifest["code"].to_numpy()


def load_data(manifest_path, input_size: int = 227, equalize: bool = True, test_fraction: float = 0.05,
              split_seed: int = 0, cache_dir=None) -> MammoData:
    """Read a manifest, preprocess every image once (cached), split by patient."""
    manifest = read_manifest(manifest_path)
    images = preprocess_manifest(manifest, input_size, equalize, cache_dir)
    manifest = manifest.assign(code=manifest["label"].map(LABEL_CODE),
                               split=patient_split(manifest, test_fraction, split_seed))
    digest = hashlib.sha1(Path(manifest_path).read_bytes()).hexdigest()[:10]
    key = f"{digest}-{input_size}px-eq{int(equalize)}-t{test_fraction:g}-s{split_seed}"
    return MammoData(manifest, images, key)


def with_split(data: MammoData, test_fraction: float, split_seed: int) -> MammoData:
    """The same data and images under another patient split (the robustness analysis)."""
    manifest = data.manifest.assign(split=patient_split(data.manifest, test_fraction, split_seed))
    key = data.key.rsplit("-t", 1)[0] + f"-t{test_fraction:g}-s{split_seed}"
    return MammoData(manifest, data.images, key, data.latent)


def strategy_indices(data: MammoData, strategy: str) -> dict[str, np.ndarray]:
    """Image indices of each stage: ``pretrain`` (incremental only), ``train`` and ``test``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "incremental":
        return {"pretrain": data.indices("ddsm", "train"), "train": data.indices("ffdm", "train"),
                "test": data.indices("ffdm", "test")}
    datasets = ("ffdm", "ddsm") if strategy == "mixed" else (strategy,)
    return {"train": data.indices(datasets, "train"), "test": data.indices(datasets, "test")}


def flip_vertical(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip each image of a batch [B, C, H, W] top-to-bottom with probability 1/2 (the augmentation).

    A mammogram's top and bottom carry no label information (CC views are symmetric about the
    nipple line, MLO views keep the muscle at the chest wall), so the flip keeps the class.
    """
    flip = torch.rand(images.shape[0], generator=generator, device=images.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-2), images)


def classification_step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    images, targets = batch
    logits = model(images.contiguous(memory_format=torch.channels_last))
    return {"loss": softmax_cross_entropy(logits, targets),
            "accuracy": (logits.argmax(1) == targets).float().mean()}


def flipping_step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    """`classification_step` on randomly flipped images (`flip_vertical`; torch's seeded generator)."""
    images, targets = batch
    return classification_step(model, (flip_vertical(images) if model.training else images, targets))


@torch.no_grad()
def predict_proba(model: nn.Module, dataset: MammogramDataset, device="cpu", batch_size: int = 100) -> np.ndarray:
    """Softmax probabilities, float64 [N, C]."""
    device = select_device(device)
    model.to(device).eval()
    inputs = dataset.tensors()
    out = []
    for start in range(0, len(dataset), batch_size):
        with autocast(device):
            batch = inputs[start: start + batch_size].to(device)
            logits = model(batch.contiguous(memory_format=torch.channels_last))
        out.append(torch.softmax(logits.float(), 1).cpu().double())
    return torch.cat(out).numpy() if out else np.zeros((0, 2))


def scenario_subset(data: MammoData, indices: np.ndarray, scenario: str, balance: bool, seed: int):
    """Indices and targets of one scenario inside ``indices`` (class-balanced when asked)."""
    keep, targets = scenario_targets(data.codes[indices], scenario)
    indices = indices[keep]
    if balance and len(np.unique(targets)) > 1:
        chosen = balanced_indices(targets, seed)
        indices, targets = indices[chosen], targets[chosen]
    return indices, targets


def make_dataset(data: MammoData, indices, targets, centre_from, config: TrainConfig) -> MammogramDataset:
    centre = mean_image(data.images[centre_from]) if config.subtract_mean else None
    return MammogramDataset(data.images[indices], targets, centre)


@dataclass
class ScenarioRun:
    """One trained (strategy, scenario) model and its test predictions."""

    strategy: str
    scenario: str
    model: nn.Module
    history: list
    test_index: np.ndarray  # positions in data.manifest
    y_true: np.ndarray  # [N] scenario targets (0/1, or 0/1/2 for the triple scenario)
    proba: np.ndarray  # [N, C]
    seconds: float
    samples_per_second: float
    centre: np.ndarray | None = None  # the training mean image [S, S] inputs are centred with

    @property
    def scores(self) -> np.ndarray:
        """Positive-class probability [N] (binary scenarios only)."""
        if self.proba.shape[1] != 2:
            raise ValueError("the triple scenario has no single score; use proba")
        return self.proba[:, 1]


def train_model(data: MammoData, scenario: str, train_index: np.ndarray, config: TrainConfig, *, seed: int = 0,
                device="auto", checkpoint_path=None, init_state: dict | None = None, evaluate=None,
                description: str = "train") -> tuple[nn.Module, TrainResult, np.ndarray]:
    """Train one scenario classifier on the images ``train_index``.

    Returns the model (on ``device``), `fit`'s result and the training images' mean image
    (float [S, S]; the test inputs are centred with it). A finished checkpoint is loaded instead
    of training again.
    """
    check_scenario(scenario)
    # torch's deterministic mode picks a slow kernel for EfficientNet's depthwise convolutions on
    # the CPU (measured here: 222 vs 60 ms per 96-px image and step); the CPU runs stay repeatable
    # without it (the smoke baselines check this), so it is switched off for that backbone only.
    deterministic = config.backbone != "efficientnet_lite0"
    seed_everything(seed, deterministic=deterministic)
    if not deterministic:
        torch.use_deterministic_algorithms(False)
    indices, targets = scenario_subset(data, np.asarray(train_index), scenario, config.balance, seed)
    if len(np.unique(targets)) < scenario_classes(scenario):
        raise ValueError(f"{scenario}: the training set lacks a class (targets {np.unique(targets).tolist()})")
    dataset = make_dataset(data, indices, targets, indices, config)
    model = build_model(config.backbone, scenario_classes(scenario), width=config.width,
                        fc_features=config.fc_features, batch_norm=config.batch_norm, dropout=config.dropout,
                        pretrained=config.pretrained,
                        weights_path=config.alexnet_weights)
    if init_state is not None:
        model.load_state_dict(init_state)
    # Channels-last (NHWC) layout: EfficientNet-Lite0's depthwise convolutions train about 30 % faster on
    # this CPU (default profile, 96 px: 58 -> 73 images/s), AlexNet the same within noise; CUDA's tensor
    # cores prefer it too. Same weights, same state dict; the inputs follow in `classification_step`.
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step_iterations, gamma=0.1)
    result = fit(model, flipping_step if config.flip else classification_step, dataset, optimizer=optimizer, epochs=config.epochs,
                 batch_size=config.batch_size, seed=seed, device=device, scheduler=scheduler,
                 scheduler_interval="iteration", evaluate=evaluate, checkpoint_path=checkpoint_path,
                 description=description)
    return model, result, dataset.centre.numpy()


def run_scenario(data: MammoData, strategy: str, scenario: str, config: TrainConfig, *, seed: int = 0,
                 device="auto", cache_dir=None, extra_train: np.ndarray | None = None, tag: str = "") -> ScenarioRun:
    """Train (or load) the model of one strategy and scenario and predict its test set.

    ``extra_train`` adds image indices to the (final-stage) training set, e.g. half of the
    interval cancers in the false-negative analysis; ``tag`` keeps such runs' checkpoints apart.
    """
    stages = strategy_indices(data, strategy)

    def checkpoint(name):
        if cache_dir is None:
            return None
        return Path(cache_dir) / f"{data.key}-{config.key()}-seed{seed}-{name}-{scenario}{tag}.pt"

    init_state = None
    if "pretrain" in stages:  # incremental transfer: the DDSM-only model is the starting point
        pre = run_scenario(data, "ddsm", scenario, config, seed=seed, device=device, cache_dir=cache_dir)
        init_state = {k: v.detach().cpu().clone() for k, v in pre.model.state_dict().items()}
    train_index = stages["train"] if extra_train is None else np.union1d(stages["train"], extra_train)
    model, result, centre = train_model(data, scenario, train_index, config, seed=seed, device=device,
                                        checkpoint_path=checkpoint(strategy), init_state=init_state,
                                        description=f"{strategy}/{scenario}")
    test_index, y_true = scenario_subset(data, stages["test"], scenario, config.balance, seed)
    dataset = MammogramDataset(data.images[test_index], y_true, centre if config.subtract_mean else None)
    proba = predict_proba(model, dataset, device)
    return ScenarioRun(strategy, scenario, model, result.history, test_index, y_true, proba, result.seconds,
                       result.samples_per_second, centre if config.subtract_mean else None)


def predict_indices(run: ScenarioRun, data: MammoData, indices, device="auto") -> np.ndarray:
    """Class probabilities [N, C] of ``run``'s model for the images ``indices`` (e.g. interval cancers)."""
    indices = np.asarray(indices)
    dataset = MammogramDataset(data.images[indices], np.zeros(len(indices), np.int64), run.centre)
    return predict_proba(run.model, dataset, device)


def run_all(data: MammoData, strategies, scenarios, config: TrainConfig, *, seed: int = 0, device="auto",
            cache_dir=None) -> dict:
    """`run_scenario` for every (strategy, scenario); returns ``{(strategy, scenario): ScenarioRun}``."""
    return {(strategy, scenario): run_scenario(data, strategy, scenario, config, seed=seed, device=device,
                                               cache_dir=cache_dir)
            for strategy in strategies for scenario in scenarios}


def validation_callback(data: MammoData, indices, scenario: str, centre, config: TrainConfig, device="auto"):
    """``evaluate(model) -> {"val_loss", "val_auc"}`` on held-out images, for `fit`'s per-epoch history.

    ``centre`` is the training set's mean image; the triple scenario reports the pairwise-mean AUC.
    """
    from companion.mammography.evaluate import triple_auc
    from companion.metrics import roc

    indices, targets = scenario_subset(data, np.asarray(indices), scenario, config.balance, 0)
    dataset = MammogramDataset(data.images[indices], targets, centre if config.subtract_mean else None)

    def evaluate(model):
        proba = predict_proba(model, dataset, device)
        loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(targets)), targets], 1e-12, None))))
        auc = roc.auc(targets, proba[:, 1]) if proba.shape[1] == 2 else triple_auc(targets, proba)
        return {"val_loss": loss, "val_auc": float(auc)}

    return evaluate


def train_fold(data: MammoData, strategy: str, scenario: str, config: TrainConfig, fold: int, n_folds: int = 6, *,
               seed: int = 0, device="auto", cache_dir=None):
    """Train on all folds but ``fold`` of the strategy's training set and validate on ``fold`` every epoch.

    The paper's internal validation: 6-fold cross-validation by patient inside the training data.
    Returns `fit`'s result (history with ``val_loss`` and ``val_auc``) and the model.
    """
    from companion.mammography.data import cv_folds

    if strategy == "incremental":
        raise ValueError("cross-validate the ffdm, ddsm or mixed strategy; incremental reuses ddsm")
    train_index = strategy_indices(data, strategy)["train"]
    folds = cv_folds(data.manifest.iloc[train_index], n_folds, seed)
    fit_index, val_index = train_index[folds != fold], train_index[folds == fold]
    idx, _ = scenario_subset(data, fit_index, scenario, config.balance, seed)
    centre = mean_image(data.images[idx]) if config.subtract_mean else None
    evaluate = validation_callback(data, val_index, scenario, centre, config, device)
    checkpoint = None if cache_dir is None else (
        Path(cache_dir) / f"{data.key}-{config.key()}-seed{seed}-{strategy}-{scenario}-fold{fold}of{n_folds}.pt")
    model, result, _ = train_model(data, scenario, fit_index, config, seed=seed, device=device,
                                   checkpoint_path=checkpoint, evaluate=evaluate,
                                   description=f"{strategy}/{scenario} fold {fold}")
    return result, model


def cross_validate(data: MammoData, strategy: str, scenario: str, config: TrainConfig, n_folds: int = 6, *,
                   seed: int = 0, device="auto", cache_dir=None) -> pd.DataFrame:
    """All ``n_folds`` folds of `train_fold` (the paper's 6-fold internal validation), one row per fold.

    Columns: ``fold``, ``val_auc`` and ``val_loss`` after the last epoch, ``best_val_auc`` (over
    epochs) and ``best_epoch``. Cached folds are loaded, not retrained.
    """
    rows = []
    for fold in range(n_folds):
        result, _ = train_fold(data, strategy, scenario, config, fold, n_folds, seed=seed, device=device,
                               cache_dir=cache_dir)
        history = pd.DataFrame(result.history)
        best = int(history["val_auc"].idxmax())
        rows.append({"fold": fold, "val_auc": float(history["val_auc"].iloc[-1]),
                     "val_loss": float(history["val_loss"].iloc[-1]),
                     "best_val_auc": float(history["val_auc"].iloc[best]), "best_epoch": int(history["epoch"].iloc[best])})
    return pd.DataFrame(rows).set_index("fold")


def book_config(*, backbone: str, batch_norm: bool, alexnet_weights: str, width: float, fc_features: int,
                dropout: float, input_size: int, epochs: int, batch_size: int, lr: float,
                lr_step_iterations: int, flip: bool = False) -> TrainConfig:
    """The `TrainConfig` of a notebook's parameters (an empty ``alexnet_weights`` means random init)."""
    return TrainConfig(backbone=backbone, batch_norm=batch_norm, alexnet_weights=alexnet_weights or None,
                       width=width, fc_features=fc_features, dropout=dropout, input_size=input_size, epochs=epochs,
                       batch_size=batch_size, lr=lr, lr_step_iterations=lr_step_iterations,
                       flip=flip)


def book_data(profile: str, seed: int, *, manifest: str = "", n_ffdm: int, n_ddsm: int, n_interval: int,
              image_size: int, input_size: int, equalize: bool = True, test_fraction: float = 0.05):
    """The data a notebook runs on: the user's manifest, or the synthetic set (generated when absent).

    Returns ``(MammoData, description)``; the description names the data for `record`.
    """
    from companion.book.paths import data_dir
    from companion.mammography.synthetic import make_synthetic

    root = data_dir("mammography", profile)
    if manifest:
        path, description = Path(manifest), f"manifest {manifest}"
    else:
        path = make_synthetic(root / f"synthetic-seed{seed}", n_ffdm=n_ffdm, n_ddsm=n_ddsm,
                                      n_interval=n_interval, image_size=image_size, seed=seed)
        description = (f"synthetic phantoms: {n_ffdm} FFDM + {n_ddsm} DDSM patients, {n_interval} interval "
                       f"cancers, {image_size} px, resampled to {input_size} px")
    data = load_data(path, input_size, equalize, test_fraction, seed, root / "cache")
    if not manifest:
        from companion.mammography.synthetic import read_latent

        data.latent = read_latent(data.manifest, path.parent / "latent.csv")
    return data, description


ABLATION_KEYS = {"profile config": "reference", "no histogram equalisation": "no_equalisation",
                 "no mean subtraction": "no_mean_subtraction", "AlexNet as in the paper (no BatchNorm)": "alexnet_no_bn",
                 "EfficientNet-Lite0, ImageNet": "lite0_imagenet", "EfficientNet-Lite0, random init": "lite0_scratch"}
"""The ablation page's variants and the short names its registry metrics use."""


def ablation_variants(data: MammoData, data_no_eq: MammoData, config: TrainConfig) -> dict:
    """The knobs the paper names, as ``{variant name: (data, TrainConfig)}`` (keys of `ABLATION_KEYS`).

    Each variant changes one thing against ``config``: no histogram equalisation (``data_no_eq``,
    the same manifest preprocessed without it), no mean subtraction, the paper's AlexNet without
    the CPU profiles' BatchNorm, and EfficientNet-Lite0 with ImageNet or random weights (the
    offline stand-in for the paper's ImageNet pretraining, and its "modern CNN" future work).
    """
    if data_no_eq.key == data.key:
        raise ValueError("data_no_eq must be preprocessed without histogram equalisation (same key as data)")
    variants = {
        "profile config": (data, config),
        "no histogram equalisation": (data_no_eq, replace(config, equalize=False)),
        "no mean subtraction": (data, replace(config, subtract_mean=False)),
        "AlexNet as in the paper (no BatchNorm)": (data, replace(config, backbone="alexnet", batch_norm=False)),
        "EfficientNet-Lite0, ImageNet": (data, replace(config, backbone="efficientnet_lite0", pretrained=True)),
        "EfficientNet-Lite0, random init": (data, replace(config, backbone="efficientnet_lite0", pretrained=False)),
    }
    assert set(variants) == set(ABLATION_KEYS)
    return variants


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m companion.mammography.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--manifest", help="manifest CSV; without it a synthetic set is generated under --out")
    p.add_argument("--strategy", choices=STRATEGIES, default="ffdm")
    p.add_argument("--scenario", default="malignant_vs_negative", help="one of the six scenarios or 'all'")
    p.add_argument("--backbone", choices=("alexnet", "efficientnet_lite0"), default="alexnet")
    p.add_argument("--alexnet-weights", help="local AlexNet state dict (random init without it)")
    p.add_argument("--no-pretrained", action="store_true", help="EfficientNet-Lite0 from random weights")
    p.add_argument("--batch-norm", action="store_true", help="BatchNorm after each conv (not in the paper)")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--fc-features", type=int, default=4096)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--input-size", type=int, default=227)
    p.add_argument("--no-equalize", action="store_true")
    p.add_argument("--no-mean-subtraction", action="store_true")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--lr-step-iterations", type=int, default=2500)
    p.add_argument("--test-fraction", type=float, default=0.05)
    p.add_argument("--synthetic-ffdm", type=int, default=1303, help="synthetic FFDM patients (no --manifest)")
    p.add_argument("--synthetic-ddsm", type=int, default=2412, help="synthetic DDSM patients (no --manifest)")
    p.add_argument("--synthetic-size", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--out", default="build/mammography-cli", help="checkpoints, cached data and results.json")
    return p


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)
    from companion.mammography.data import SCENARIOS
    from companion.mammography.synthetic import make_synthetic
    from companion.mammography.evaluate import summarize_run

    out = Path(args.out)
    manifest = args.manifest or make_synthetic(out / "synthetic", args.synthetic_ffdm, args.synthetic_ddsm,
                                                       n_interval=max(1, args.synthetic_ffdm * 34 // 1303),
                                                       image_size=args.synthetic_size, seed=args.seed)
    config = TrainConfig(backbone=args.backbone, pretrained=not args.no_pretrained,
                         alexnet_weights=args.alexnet_weights, batch_norm=args.batch_norm, width=args.width,
                         fc_features=args.fc_features, dropout=args.dropout,
                         input_size=args.input_size, equalize=not args.no_equalize,
                         subtract_mean=not args.no_mean_subtraction, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, lr_step_iterations=args.lr_step_iterations)
    data = load_data(manifest, config.input_size, config.equalize, args.test_fraction, args.seed, out / "cache")
    scenarios = list(SCENARIOS) if args.scenario == "all" else [check_scenario(args.scenario)]
    results = {}
    for scenario in scenarios:
        run = run_scenario(data, args.strategy, scenario, config, seed=args.seed, device=args.device,
                           cache_dir=out / "checkpoints")
        results[scenario] = summarize_run(run, n_boot=1000, seed=args.seed)
        results[scenario]["images_per_second"] = run.samples_per_second
        print(json.dumps({scenario: results[scenario]}))
    (out / "results.json").write_text(json.dumps({"config": asdict(config), "strategy": args.strategy,
                                                  "device": str(select_device(args.device)),
                                                  "results": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
