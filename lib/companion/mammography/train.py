"""Training the scenario classifiers under the paper's four strategies.

Strategies (the paper's experiments i-iv):

``ffdm``         train and test on FFDM
``ddsm``         train and test on DDSM
``mixed``        FFDM and DDSM mixed for training and for testing
``incremental``  start from the ``ddsm`` model (itself initialised from ImageNet where a pretrained
                 backbone is used), fine-tune on FFDM, test on FFDM

One model is trained per (strategy, scenario), as in the paper: `TrainConfig` names both, and
``train(cfg, data)`` trains that one model and predicts its test set (`train_or_load` with a
checkpoint cache). Optimisation follows the paper: SGD, batch 50, momentum 0.9, weight decay 0.001,
learning rate 0.001 divided by 10 every 2,500 iterations (the profiles scale the step and the epochs to
the data size).

Outside Jupyter (``--profile`` picks notebooks/mammography/profiles.yml's values, ``default`` when
omitted; every other flag is a `TrainConfig` field or a data setting and overrides the profile)::

    python -m companion.mammography.train --profile smoke --scenario all --device cpu
    python -m companion.mammography.train --profile full --strategy incremental --manifest /data/my_manifest.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from companion.core.cache import cache_key
from companion.core.config import refuse_unknown_keys
from companion.core.device import autocast, select_device
from companion.core.seed import seed_everything
from companion.core.train import TrainResult, fit
from companion.mammography import STRATEGIES
from companion.mammography.data import (
    LABEL_CODE,
    MammogramDataset,
    balanced_indices,
    mean_image,
    patient_split,
    preprocess_manifest,
    read_manifest,
)
from companion.mammography.scenarios import SCENARIOS, check_scenario, scenario_classes, scenario_targets
from companion.mammography.losses import softmax_cross_entropy
from companion.mammography.models import build_model

# Part of every checkpoint key: bump it when a change to the training code makes checkpoints trained
# before it stale. 2: channels-last training, no deterministic-algorithms mode for EfficientNet-Lite0.
# 3: strategy, scenario and seed are part of the configuration; balanced test sets drawn with the split seed.
CACHE_VERSION = 3


@dataclass(frozen=True)
class TrainConfig:
    """Everything that changes one trained model; `key` names its checkpoint.

    Defaults are the paper's settings where it gives them (227 px, AlexNet sizes, SGD 0.001, batch 50,
    momentum 0.9, weight decay 0.001, a x0.1 step every 2,500 iterations; `paper.TRAINING`) and the
    ``full`` profile's otherwise (100 epochs: the paper gives no epoch count).
    """

    strategy: str = "ffdm"  # ffdm | ddsm | mixed | incremental (the paper's experiments i-iv)
    scenario: str = "malignant_vs_negative"  # one of data.SCENARIOS
    seed: int = 0  # weight init, batch order, the class-balancing subsample of the training set
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
    epochs: int = 100
    batch_size: int = 50
    lr: float = 0.001
    lr_step_iterations: int = 2500
    momentum: float = 0.9
    weight_decay: float = 0.001
    balance: bool = True
    flip: bool = False  # not in the paper: random vertical flips of training images (top-bottom is arbitrary)

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        check_scenario(self.scenario)

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """A configuration from notebook parameters or a profile; a key that is not a field is refused.

        An empty ``alexnet_weights`` (the profiles' way of writing "none") means random initialisation.
        """
        refuse_unknown_keys(cls, params)
        params = dict(params)
        if params.get("alexnet_weights") == "":
            params["alexnet_weights"] = None
        return cls(**params)

    def key(self) -> str:
        """A short hash of the configuration and ``CACHE_VERSION`` (names its checkpoints)."""
        # the chapter's and core's source are part of the key: a code change never reuses an old checkpoint
        return cache_key(self, "companion.mammography", "companion.core", extra={"cache_version": CACHE_VERSION},
                         length=12)


#: Profile parameters that describe the data, not the model (`chapter_data`'s arguments besides the seed).
DATA_PARAMS = ("manifest", "n_ffdm", "n_ddsm", "n_interval", "image_size", "test_fraction")


def config_params(params: dict) -> dict:
    """The `TrainConfig` fields among a profile's or a notebook's parameters (data and page knobs left out)."""
    names = {f.name for f in fields(TrainConfig)}
    return {k: v for k, v in params.items() if k in names}


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
    split_seed: int = 0  # the patient split's seed; also draws the class-balanced test subsets (`test_subset`)

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
    return MammoData(manifest, images, key, split_seed=split_seed)


def with_split(data: MammoData, test_fraction: float, split_seed: int) -> MammoData:
    """The same data and images under another patient split (the robustness analysis)."""
    manifest = data.manifest.assign(split=patient_split(data.manifest, test_fraction, split_seed))
    key = data.key.rsplit("-t", 1)[0] + f"-t{test_fraction:g}-s{split_seed}"
    return MammoData(manifest, data.images, key, data.latent, split_seed)


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


def test_subset(data: MammoData, indices: np.ndarray, scenario: str, balance: bool = True):
    """`scenario_subset` of test images, balanced with the split's seed: every model of one split and
    scenario (any training seed, the oracle) is scored on the same test images."""
    return scenario_subset(data, np.asarray(indices), scenario, balance, data.split_seed)


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
    seed: int = 0  # the training seed (`TrainConfig.seed`)

    @property
    def scores(self) -> np.ndarray:
        """Positive-class probability [N] (binary scenarios only)."""
        if self.proba.shape[1] != 2:
            raise ValueError("the triple scenario has no single score; use proba")
        return self.proba[:, 1]


def train_model(config: TrainConfig, data: MammoData, train_index: np.ndarray, *, device="auto",
                checkpoint_path=None, init_state: dict | None = None, evaluate=None,
                description: str = "train") -> tuple[nn.Module, TrainResult, np.ndarray]:
    """Train ``config.scenario``'s classifier on the images ``train_index`` (seed ``config.seed``).

    Returns the model (on ``device``), `fit`'s result and the training images' mean image
    (float [S, S]; the test inputs are centred with it). A finished checkpoint is loaded instead
    of training again.
    """
    scenario, seed = config.scenario, config.seed
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
    result = fit(model, flipping_step if config.flip else classification_step, dataset, optimizer=optimizer,
                 epochs=config.epochs, batch_size=config.batch_size, seed=seed, device=device, scheduler=scheduler,
                 scheduler_interval="iteration", evaluate=evaluate, checkpoint_path=checkpoint_path,
                 description=description)
    return model, result, dataset.centre.numpy()


def checkpoint_path(config: TrainConfig, data: MammoData, cache_dir, tag: str = "") -> Path | None:
    """Where `train_or_load` keeps ``config``'s model on ``data`` (None without a cache)."""
    if cache_dir is None:
        return None
    return Path(cache_dir) / (f"{data.key}-{config.key()}-seed{config.seed}-{config.strategy}-{config.scenario}"
                              f"{tag}.pt")


def train(config: TrainConfig, data: MammoData, *, device="auto", cache_dir=None,
          extra_train: np.ndarray | None = None, tag: str = "") -> ScenarioRun:
    """Train the model of ``config.strategy`` and ``config.scenario`` and predict its test set.

    The incremental strategy first trains (or loads) the DDSM model of the same scenario and starts
    from its weights. ``extra_train`` adds image indices to the (final-stage) training set, e.g. half of
    the interval cancers in the false-negative analysis; ``tag`` keeps such runs' checkpoints apart.
    With ``cache_dir`` a finished checkpoint is loaded instead of retraining (see `train_or_load`).
    """
    stages = strategy_indices(data, config.strategy)
    init_state = None
    if "pretrain" in stages:  # incremental transfer: the DDSM-only model is the starting point
        pre = train(replace(config, strategy="ddsm"), data, device=device, cache_dir=cache_dir)
        init_state = {k: v.detach().cpu().clone() for k, v in pre.model.state_dict().items()}
    train_index = stages["train"] if extra_train is None else np.union1d(stages["train"], extra_train)
    model, result, centre = train_model(config, data, train_index, device=device,
                                        checkpoint_path=checkpoint_path(config, data, cache_dir, tag),
                                        init_state=init_state, description=f"{config.strategy}/{config.scenario}")
    test_index, y_true = test_subset(data, stages["test"], config.scenario, config.balance)
    centre = centre if config.subtract_mean else None
    proba = predict_proba(model, MammogramDataset(data.images[test_index], y_true, centre), device)
    return ScenarioRun(config.strategy, config.scenario, model, result.history, test_index, y_true, proba,
                       result.seconds, result.samples_per_second, centre, config.seed)


def train_or_load(config: TrainConfig, data: MammoData, cache_dir, *, device="auto",
                  extra_train: np.ndarray | None = None, tag: str = "") -> ScenarioRun:
    """`train` with its checkpoint in ``cache_dir`` (named by `checkpoint_path`): a finished run with this
    configuration, data and code is loaded, not retrained."""
    return train(config, data, device=device, cache_dir=cache_dir, extra_train=extra_train, tag=tag)


def train_all(config: TrainConfig, data: MammoData, strategies=STRATEGIES, scenarios=tuple(SCENARIOS), *,
              device="auto", cache_dir=None) -> dict:
    """`train_or_load` for every (strategy, scenario); returns ``{(strategy, scenario): ScenarioRun}``."""
    return {(strategy, scenario): train_or_load(replace(config, strategy=strategy, scenario=scenario), data,
                                                cache_dir, device=device)
            for strategy in strategies for scenario in scenarios}


def train_seeds(config: TrainConfig, data: MammoData, seeds, *, device="auto", cache_dir=None) -> list[ScenarioRun]:
    """``config`` trained once per training seed (same data, split and balanced test images)."""
    return [train_or_load(replace(config, seed=int(seed)), data, cache_dir, device=device) for seed in seeds]


def predict_indices(run: ScenarioRun, data: MammoData, indices, device="auto") -> np.ndarray:
    """Class probabilities [N, C] of ``run``'s model for the images ``indices`` (e.g. interval cancers)."""
    indices = np.asarray(indices)
    dataset = MammogramDataset(data.images[indices], np.zeros(len(indices), np.int64), run.centre)
    return predict_proba(run.model, dataset, device)


def validation_callback(data: MammoData, indices, scenario: str, centre, config: TrainConfig, device="auto"):
    """``evaluate(model) -> {"val_loss", "val_auc"}`` on held-out images, for `fit`'s per-epoch history.

    ``centre`` is the training set's mean image; the triple scenario reports the pairwise-mean AUC.
    """
    from companion.metrics import roc

    indices, targets = scenario_subset(data, np.asarray(indices), scenario, config.balance, 0)
    dataset = MammogramDataset(data.images[indices], targets, centre if config.subtract_mean else None)

    def evaluate(model):
        proba = predict_proba(model, dataset, device)
        loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(targets)), targets], 1e-12, None))))
        auc = roc.auc(targets, proba[:, 1]) if proba.shape[1] == 2 else roc.pairwise_auc_summary(targets, proba).mean
        return {"val_loss": loss, "val_auc": float(auc)}

    return evaluate


def train_fold(config: TrainConfig, data: MammoData, fold: int, n_folds: int = 6, *, device="auto", cache_dir=None):
    """Train on all folds but ``fold`` of the strategy's training set and validate on ``fold`` every epoch.

    The paper's internal validation: 6-fold cross-validation by patient inside the training data.
    Returns `fit`'s result (history with ``val_loss`` and ``val_auc``) and the model.
    """
    from companion.mammography.data import cv_folds

    if config.strategy == "incremental":
        raise ValueError("cross-validate the ffdm, ddsm or mixed strategy; incremental reuses ddsm")
    train_index = strategy_indices(data, config.strategy)["train"]
    folds = cv_folds(data.manifest.iloc[train_index], n_folds, config.seed)
    fit_index, val_index = train_index[folds != fold], train_index[folds == fold]
    idx, _ = scenario_subset(data, fit_index, config.scenario, config.balance, config.seed)
    centre = mean_image(data.images[idx]) if config.subtract_mean else None
    evaluate = validation_callback(data, val_index, config.scenario, centre, config, device)
    checkpoint = checkpoint_path(config, data, cache_dir, f"-fold{fold}of{n_folds}")
    model, result, _ = train_model(config, data, fit_index, device=device, checkpoint_path=checkpoint,
                                   evaluate=evaluate, description=f"{config.strategy}/{config.scenario} fold {fold}")
    return result, model


def cross_validate(config: TrainConfig, data: MammoData, n_folds: int = 6, *, device="auto",
                   cache_dir=None) -> pd.DataFrame:
    """All ``n_folds`` folds of `train_fold` (the paper's 6-fold internal validation), one row per fold.

    Columns: ``fold``, ``val_auc`` and ``val_loss`` after the last epoch, ``best_val_auc`` (over
    epochs) and ``best_epoch``. Cached folds are loaded, not retrained.
    """
    rows = []
    for fold in range(n_folds):
        result, _ = train_fold(config, data, fold, n_folds, device=device, cache_dir=cache_dir)
        history = pd.DataFrame(result.history)
        best = int(history["val_auc"].idxmax())
        rows.append({"fold": fold, "val_auc": float(history["val_auc"].iloc[-1]),
                     "val_loss": float(history["val_loss"].iloc[-1]),
                     "best_val_auc": float(history["val_auc"].iloc[best]), "best_epoch": int(history["epoch"].iloc[best])})
    return pd.DataFrame(rows).set_index("fold")


def chapter_data(profile: str, seed: int, *, manifest: str = "", n_ffdm: int, n_ddsm: int, n_interval: int,
                 image_size: int, input_size: int, equalize: bool = True, test_fraction: float = 0.05):
    """The data a notebook runs on: the user's manifest, or the synthetic set (generated when absent).

    Returns ``(MammoData, description)``; the description names the data for `record`.
    """
    from companion.book.paths import data_dir
    from companion.mammography.synthetic import make_synthetic, read_latent

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



PROFILES = ("smoke", "default", "full")
_DATA_FLAGS = {"manifest": (str, "manifest CSV (real data); empty: a synthetic set is generated under --out"),
               "n_ffdm": (int, "synthetic FFDM patients (no --manifest)"),
               "n_ddsm": (int, "synthetic DDSM patients (no --manifest)"),
               "n_interval": (int, "synthetic FFDM interval-cancer patients (no --manifest)"),
               "image_size": (int, "synthetic image size in pixels (no --manifest)"),
               "test_fraction": (float, "share of patients in the test set")}
_CHOICES = {"strategy": STRATEGIES, "scenario": tuple(SCENARIOS) + ("all",), "backbone": ("alexnet", "efficientnet_lite0")}


def _parser() -> argparse.ArgumentParser:
    """The CLI: ``--profile`` plus one flag per `TrainConfig` field and per data setting (`DATA_PARAMS`)."""
    p = argparse.ArgumentParser(prog="python -m companion.mammography.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--profile", choices=PROFILES, default="default",
                   help="start from page 3's parameters of this profile (notebooks/mammography/profiles.yml); "
                        "explicit flags override them")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(TrainConfig, f.name)
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                           help=f"default: the profile's value, else {default}")
        else:
            kind = str if f.name == "alexnet_weights" else type(default)
            p.add_argument(flag, type=kind, default=None, choices=_CHOICES.get(f.name),
                           help=("'all': every scenario; " if f.name == "scenario" else "")
                           + f"default: the profile's value, else {default}")
    for name, (kind, text) in _DATA_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None, help=text)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--out", default="build/mammography-cli", help="checkpoints, cached data and results.json")
    return p


def profile_params(profile: str) -> dict:
    """Page 3's parameters of ``profile`` as `TrainConfig` fields and data settings (``train_scenario``
    becomes ``scenario``)."""
    from companion.book.profiles import resolve

    params = resolve("mammography", "03-training", profile)
    if "train_scenario" in params:
        params["scenario"] = params.pop("train_scenario")
    return {k: v for k, v in params.items() if k in DATA_PARAMS or k in {f.name for f in fields(TrainConfig)}}


def main(argv=None) -> dict:
    """Train (or load) one strategy's model for one scenario, or all six, and print their test AUCs."""
    from companion.mammography.synthetic import make_synthetic
    from companion.metrics import roc

    args = vars(_parser().parse_args(argv))
    params = profile_params(args["profile"])
    params.update({k: v for k, v in args.items() if v is not None and k not in ("profile", "device", "out")})
    scenario = params.pop("scenario", "malignant_vs_negative")
    data_args = {k: params.pop(k) for k in DATA_PARAMS if k in params}
    config = TrainConfig.from_params({**params, "scenario": "malignant_vs_negative"})
    out = Path(args["out"])
    manifest = data_args.get("manifest") or make_synthetic(
        out / "synthetic", data_args["n_ffdm"], data_args["n_ddsm"], n_interval=data_args["n_interval"],
        image_size=data_args["image_size"], seed=config.seed)
    data = load_data(manifest, config.input_size, config.equalize, data_args["test_fraction"], config.seed,
                     out / "cache")
    scenarios = list(SCENARIOS) if scenario == "all" else [check_scenario(scenario)]
    results = {}
    for name in scenarios:
        run = train_or_load(replace(config, scenario=name), data, out / "checkpoints", device=args["device"])
        if run.proba.shape[1] == 2:  # AUC with the stratified bootstrap CI (evaluate.summarize_run's)
            ci = roc.bootstrap_ci(run.y_true, run.scores, n_boot=1000, stratified=True, seed=config.seed)
            results[name] = {"auc": float(roc.auc(run.y_true, run.scores)), "ci_low": float(ci.low),
                             "ci_high": float(ci.high)}
        else:  # the triple scenario: mean pairwise AUC
            results[name] = {"auc": float(roc.pairwise_auc_summary(run.y_true, run.proba).mean)}
        results[name].update(n=int(len(run.y_true)), images_per_second=run.samples_per_second)
        print(json.dumps({name: results[name]}))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"profile": args["profile"], "config": asdict(config),
                                                  "scenarios": scenarios, "data": data_args,
                                                  "device": str(select_device(args["device"])),
                                                  "results": results}, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
