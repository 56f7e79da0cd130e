"""Features in, trained text→image MLP out; also a command line.

``python -m companion.crosslingual.train --help``

The pipeline: (1) a dataset folder in the COCO + XTD10 layout (synthetic by
default, or the real data with ``--coco``/``--xtd10``); (2) frozen text and image
embeddings, cached on disk by model + data hash (`features`); (3) the MLP trained
on English captions only with M3L or PATR and in-batch hardest negatives, through
`companion.core.fit` (bf16 autocast on CUDA); (4) zero-shot Recall@K per language
(`evaluate`). `TrainConfig` holds every knob of a run; ``--profile`` starts from
the training page's parameters in ``notebooks/crosslingual/profiles.yml``.
"""

from __future__ import annotations

import argparse
import copy
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from companion.core import fit, seed_everything
from companion.core.cache import source_fingerprint
from companion.core.config import refuse_unknown_keys
from companion.crosslingual.data import check_images_exist, dataset_fingerprint, load_coco_captions, load_xtd10
from companion.crosslingual.evaluate import nonenglish_mean, recall_table
from companion.crosslingual.features import Features, embed_dataset, synthetic_features
from companion.crosslingual.losses import (eta_for_features, hardest_negatives, m3l_loss, patr_loss, random_negatives,
                                           same_caption)
from companion.crosslingual.models import build_mlp, feature_scale, map_texts
from companion.metrics.retrieval import recall_at_k

# Part of every checkpoint key: bump it when a change to the training code (losses, negative mining,
# initialisation) makes checkpoints trained before it stale. 2: captions shared by two images are no
# longer negatives of each other. 3: the text encoder is a TrainConfig field.
CACHE_VERSION = 3


@dataclass
class TrainConfig:
    """Every knob of one training run; defaults are the paper's (Section 3), i.e. the ``full`` profile.

    The CPU-sized values the book runs with are in ``notebooks/crosslingual/profiles.yml``
    (``default``: Adam lr 3e-4, beta1 0.9, 20 epochs).
    """

    encoder: str = "muse"          # text encoder: muse | e5 | a sentence-transformers id
    loss: str = "m3l"              # m3l | patr
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    beta1: float = 0.99
    rho: float = 4.0
    alpha1: float = 0.5
    alpha2: float = 1.0
    eta: float | None = None       # absolute PATR margin; None -> eta_factor × feature scale
    eta_factor: float = 1.0
    negatives: str = "hard"        # or "random"
    n_blocks: int = 3
    scale_output: bool = True      # output × RMS norm of the training image features (False: the paper's net)
    init_bias: bool = True         # last layer's bias starts at the mean image feature (False: PyTorch's default)
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """A configuration from notebook parameters or a profile section; a key that is not a field is refused."""
        refuse_unknown_keys(cls, params)
        return cls(**params)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` applied (unknown keys refused, as in `from_params`)."""
        return TrainConfig.from_params({**asdict(self), **changes})

    def key(self) -> str:
        # the chapter's and core's source are part of the key: a code change never reuses an old training
        return json.dumps({**asdict(self), "code": source_fingerprint("companion.crosslingual", "companion.core")},
                          sort_keys=True)


def make_step(cfg: TrainConfig, eta: float | None):
    """The `fit` step: map captions, mine negatives in the batch, apply the loss.

    Negatives come from other images whose caption is not word for word the
    anchor's (`losses.same_caption`).
    """
    if cfg.loss not in ("m3l", "patr"):
        raise ValueError(f"loss must be 'm3l' or 'patr', got {cfg.loss!r}")
    if cfg.negatives not in ("hard", "random"):
        raise ValueError(f"negatives must be 'hard' or 'random', got {cfg.negatives!r}")

    def step(model, batch):
        text, image, ids = batch
        mapped = model(text)
        twins = same_caption(text)
        if cfg.negatives == "hard":
            neg = hardest_negatives(mapped.detach(), image, ids, exclude=twins)
        else:
            neg = random_negatives(ids, exclude=twins)
        mapped, image = mapped.float(), image.float()
        if cfg.loss == "m3l":
            return m3l_loss(mapped, image, image[neg], mapped[neg], cfg.rho, cfg.alpha1, cfg.alpha2)
        return patr_loss(mapped, image, image[neg], eta)

    return step


def init_output_bias(model: torch.nn.Module, image: np.ndarray) -> None:
    """Set the last linear layer's bias so that the untrained output sits at the mean image feature.

    Pooled CNN features share a large common component (on the synthetic data
    the mean feature carries about two thirds of their energy). With PyTorch's
    default bias the untrained outputs sit far from every image and close to one
    another, so the distance ratios of M3L start at 10^3 or more and the first
    epochs go into moving the whole cloud; about a sixth of the output units also
    end up dead behind the final ReLU. Starting at the mean (divided by the
    fixed ``output_scale``; positive for non-negative features, so no output
    unit starts dead) leaves the optimiser only the image-specific part to learn.
    """
    mean = torch.as_tensor(np.asarray(image, np.float32).mean(axis=0))
    last = model.blocks[-1][0]
    if mean.shape != last.bias.shape:
        raise ValueError(f"image features have {mean.numel()} dims, the network outputs {last.bias.numel()}")
    with torch.no_grad():
        last.bias.copy_(mean / model.output_scale)


def train_mapping(text: np.ndarray, image: np.ndarray, image_ids: np.ndarray, cfg: TrainConfig, *,
                  device: str = "auto", checkpoint_path: str | Path | None = None, evaluate=None,
                  progress: bool | None = None):
    """Train the MLP mapping ``text`` [N, Dt] onto ``image`` [N, Di]; returns ``(model, TrainResult, eta)``."""
    if not (len(text) == len(image) == len(image_ids)):
        raise ValueError(f"text, image and image_ids differ in length: {len(text)}, {len(image)}, {len(image_ids)}")
    seed_everything(cfg.seed)
    eta = None
    if cfg.loss == "patr":
        eta = cfg.eta if cfg.eta is not None else eta_for_features(torch.from_numpy(image), cfg.eta_factor,
                                                                  seed=cfg.seed)
    scale = feature_scale(image) if cfg.scale_output else 1.0
    model = build_mlp(text.shape[1], image.shape[1], cfg.n_blocks, output_scale=scale)
    if cfg.init_bias:
        init_output_bias(model, image)
    # fused: one kernel over all parameters (the per-tensor loop was a third of a CPU step)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999), fused=True)
    data = TensorDataset(torch.from_numpy(text), torch.from_numpy(image), torch.from_numpy(image_ids))
    result = fit(model, make_step(cfg, eta), data, optimizer=optimizer, epochs=cfg.epochs,
                 batch_size=cfg.batch_size, seed=cfg.seed, device=device, checkpoint_path=checkpoint_path,
                 drop_last=len(data) > cfg.batch_size, evaluate=evaluate, progress=progress,
                 description=f"{cfg.loss}")
    model.eval()
    return model, result, eta


def train(cfg: TrainConfig, data: Features, *, device: str = "auto", checkpoint_path: str | Path | None = None,
          progress: bool | None = None):
    """Train the MLP on ``data``'s English training captions embedded by ``cfg.encoder``.

    Returns ``(model, TrainResult, eta)`` (``eta``: PATR's margin, None for M3L). With
    ``checkpoint_path`` training resumes from (or reloads) that file.
    """
    if cfg.encoder not in data.train_text:
        why = data.skipped.get(cfg.encoder, "not among the encoders the features were computed with")
        raise ValueError(f"no training embeddings for encoder {cfg.encoder!r}: {why}; have {data.encoders}")
    return train_mapping(data.train_text[cfg.encoder], data.train_image, data.train_ids, cfg, device=device,
                         checkpoint_path=checkpoint_path, progress=progress)


def checkpoint_for(cfg: TrainConfig, data: Features, cache_dir: str | Path, kind: str = "mlp") -> Path:
    """Checkpoint path keyed by the training config (encoder and seed included), the data's fingerprint
    and `CACHE_VERSION`."""
    key = dataset_fingerprint([f"rev{CACHE_VERSION}", kind, cfg.key(), *data.train.captions,
                               *data.test.image_names])
    return Path(cache_dir) / f"{kind}-{cfg.encoder}-{cfg.loss}-{key}.pt"


def train_or_load(cfg: TrainConfig, data: Features, cache_dir: str | Path, *, device: str = "auto",
                  progress: bool | None = None):
    """`train` with a keyed checkpoint in ``cache_dir``: a finished run is reloaded, not retrained.

    `companion.core.fit` resumes from the checkpoint; when it already holds
    ``cfg.epochs`` epochs no epoch runs and the stored history is returned.
    """
    path = checkpoint_for(cfg, data, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return train(cfg, data, device=device, checkpoint_path=path, progress=progress)


def ablation_score(cfg: TrainConfig, data: Features, cache_dir: str | Path, *,
                   device: str = "auto") -> dict[str, float]:
    """Train (or reload) one configuration and score it: ``{"R@10 en", "R@10 non-en mean"}`` on the test set."""
    model, _, _ = train_or_load(cfg, data, cache_dir, device=device, progress=False)
    r10 = recall_table(model, data.test_text[cfg.encoder], data.test_image).loc["R@10"]
    return {"R@10 en": float(r10["en"]), "R@10 non-en mean": nonenglish_mean(r10)}


# ----------------------------------------------------------------------------- equal budgets, early stopping
def split_by_image(image_ids: np.ndarray, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, val)``: a seeded ``val_fraction`` of the distinct images, with all their captions.

    Raises ValueError if the fraction leaves no image on either side.
    """
    image_ids = np.asarray(image_ids)
    unique = np.unique(image_ids)
    n_val = int(round(val_fraction * len(unique)))
    if not 0 < n_val < len(unique):
        raise ValueError(f"val_fraction {val_fraction} of {len(unique)} images leaves an empty split")
    val_images = np.random.default_rng(seed).choice(unique, n_val, replace=False)
    is_val = np.isin(image_ids, val_images)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def validation_recall(model: torch.nn.Module, text: np.ndarray, image: np.ndarray, image_ids: np.ndarray,
                      k: int = 1) -> float:
    """English caption→image Recall@k on a validation split: each caption against the split's distinct images."""
    ids, first = np.unique(np.asarray(image_ids), return_index=True)
    row_of = {int(i): r for r, i in enumerate(ids)}
    mapped = torch.from_numpy(map_texts(model, text)).double()
    sim = -torch.cdist(mapped, torch.from_numpy(image[first]).double()).pow(2)
    return recall_at_k(sim.numpy(), [row_of[int(i)] for i in image_ids], ks=(k,))[k]


@dataclass
class EarlyStopped:
    """A model trained for ``cfg.epochs`` epochs at most and kept at its best validation epoch."""

    model: torch.nn.Module
    history: list[dict]          # per epoch run: epoch, steps, val_R@1
    best_epoch: int              # 1-based
    steps_per_epoch: int
    eta: float | None
    n_train_rows: int
    n_val_images: int

    @property
    def best_steps(self) -> int:
        return self.best_epoch * self.steps_per_epoch


class _StopTraining(Exception):
    """Raised by the per-epoch evaluation of `train_early_stopped` once patience runs out."""


def train_early_stopped(text: np.ndarray, image: np.ndarray, image_ids: np.ndarray, cfg: TrainConfig, *,
                        val_fraction: float = 0.15, split_seed: int = 0, patience: int | None = None,
                        cache_path: str | Path | None = None, device: str = "auto") -> EarlyStopped:
    """Train on English captions with a validation split of the training images; keep the best epoch.

    A seeded ``val_fraction`` of the training images (`split_by_image`, the same
    for every loss and seed: ``split_seed``) is held out. After each of at most
    ``cfg.epochs`` epochs the English caption→image Recall@1 on it is measured
    (`validation_recall`; Recall@10 over a validation set half the test set's size
    saturates near 1 within a few epochs and stops telling epochs apart) and the
    weights of the best epoch are kept (the earliest on ties). Every configuration thus gets the same budget, and each stops where
    its own validation score peaks; no non-English caption is used for the choice.
    With ``patience`` training stops once that many epochs pass without a new best.
    With ``cache_path`` the best weights and the history are stored and reloaded.
    """
    tr, va = split_by_image(image_ids, val_fraction, split_seed)
    n_val_images = len(np.unique(image_ids[va]))
    scale = feature_scale(image[tr]) if cfg.scale_output else 1.0
    batch = min(cfg.batch_size, len(tr))
    steps_per_epoch = len(tr) // batch if len(tr) > cfg.batch_size else 1
    if cache_path is not None and Path(cache_path).is_file():
        state = torch.load(cache_path, map_location="cpu", weights_only=False)
        model = build_mlp(text.shape[1], image.shape[1], cfg.n_blocks, output_scale=scale)
        model.load_state_dict(state["model"])
        model.eval()
        return EarlyStopped(model, state["history"], state["best_epoch"], steps_per_epoch, state["eta"], len(tr),
                            n_val_images)
    best = {"score": -1.0, "epoch": 0, "state": None, "model": None}
    history: list[dict] = []

    def evaluate(model):
        epoch = len(history) + 1
        score = validation_recall(model, text[va], image[va], image_ids[va])
        history.append({"epoch": epoch, "steps": epoch * steps_per_epoch, "val_R@1": score})
        if score > best["score"]:
            best.update(score=score, epoch=epoch, state=copy.deepcopy(model.state_dict()), model=model)
        if patience is not None and epoch - best["epoch"] >= patience:
            raise _StopTraining
        return {"val_R@1": score}

    eta = None
    try:
        _, _, eta = train_mapping(text[tr], image[tr], image_ids[tr], cfg, device=device, evaluate=evaluate,
                                  progress=False)
    except _StopTraining:
        pass
    if cfg.loss == "patr" and eta is None:  # stopped early: the margin train_mapping derived, computed again
        eta = cfg.eta if cfg.eta is not None else eta_for_features(torch.from_numpy(image[tr]), cfg.eta_factor,
                                                                  seed=cfg.seed)
    model = best["model"]
    model.load_state_dict(best["state"])
    model.eval()
    if cache_path is not None:
        Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "history": history, "best_epoch": best["epoch"], "eta": eta},
                   cache_path)
    return EarlyStopped(model, history, best["epoch"], steps_per_epoch, eta, len(tr), n_val_images)


def early_stopped_path(cfg: TrainConfig, data: Features, cache_dir: str | Path, *, val_fraction: float = 0.15,
                       split_seed: int = 0, patience: int | None = None) -> Path:
    """Where `early_stopped_or_load` keeps a run: keyed by config, split, patience and data."""
    return checkpoint_for(cfg, data, cache_dir, kind=f"mlp-es-{val_fraction}-{split_seed}-{patience}")


def early_stopped_or_load(cfg: TrainConfig, data: Features, cache_dir: str | Path, *, val_fraction: float = 0.15,
                          split_seed: int = 0, patience: int | None = None, device: str = "auto") -> EarlyStopped:
    """`train_early_stopped` on a dataset's English training captions (``cfg.encoder``), cached in ``cache_dir``."""
    path = early_stopped_path(cfg, data, cache_dir, val_fraction=val_fraction, split_seed=split_seed,
                              patience=patience)
    return train_early_stopped(data.train_text[cfg.encoder], data.train_image, data.train_ids, cfg,
                               val_fraction=val_fraction, split_seed=split_seed, patience=patience, cache_path=path,
                               device=device)


def _early_stopped_worker(args) -> None:
    text, image, ids, cfg, kw, threads = args
    torch.set_num_threads(threads)
    train_early_stopped(text, image, ids, cfg, **kw)


def early_stopped_runs(cfgs: list[TrainConfig], data: Features, cache_dir: str | Path, *, val_fraction: float = 0.15,
                       split_seed: int = 0, patience: int | None = None, device: str = "auto",
                       workers: int = 1) -> list[EarlyStopped]:
    """`early_stopped_or_load` for each configuration, in order; the runs not cached yet train in ``workers``
    processes at once (CPU only).

    Each worker process uses this process's torch thread count, and a run depends
    only on its configuration, so the numbers are those of a serial run (tested);
    with 2 workers on 2 free cores the wall time halves. Trained runs are written to
    the cache by the workers and read back here.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    kw = dict(val_fraction=val_fraction, split_seed=split_seed, patience=patience)
    paths = [early_stopped_path(cfg, data, cache_dir, **kw) for cfg in cfgs]
    todo = [(cfg, path) for cfg, path in zip(cfgs, paths) if not path.is_file()]
    if workers > 1 and len(todo) > 1 and str(device) in ("cpu", "auto") and not torch.cuda.is_available():
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        threads = torch.get_num_threads()
        jobs = [(data.train_text[cfg.encoder], data.train_image, data.train_ids, cfg,
                 {**kw, "cache_path": path, "device": "cpu"}, threads) for cfg, path in todo]
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_early_stopped_worker, jobs))
    return [early_stopped_or_load(cfg, data, cache_dir, **kw, device=device) for cfg in cfgs]


def optimizer_steps(rows: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of `train_mapping` on ``rows`` rows: full batches only, one batch when rows <= batch_size."""
    return (rows // batch_size if rows > batch_size else 1) * epochs


def matched_epochs(steps: int, rows: int, batch_size: int) -> int:
    """The fewest epochs on ``rows`` rows that take at least ``steps`` optimiser steps (`optimizer_steps`)."""
    if steps < 1 or rows < 1 or batch_size < 1:
        raise ValueError(f"steps, rows and batch_size must be positive, got {steps}, {rows}, {batch_size}")
    per_epoch = optimizer_steps(rows, batch_size, 1)
    return -(-steps // per_epoch)


# ----------------------------------------------------------------------------- command line
PROFILES = ("smoke", "default", "full")
_DATA_KEYS = ("n_train", "n_test", "image_size", "captions_per_image")


def _profile_defaults(profile: str) -> dict:
    """The training page's parameters of ``profile`` (notebooks/crosslingual/profiles.yml), as flag defaults."""
    from companion.book.profiles import resolve

    params = resolve("crosslingual", "03-training", profile)
    out = {k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__ or k in _DATA_KEYS}
    if params.get("encoders"):
        out["encoder"] = params["encoders"][0]
    return out


def _flag_type(name: str, default):
    if isinstance(default, bool):
        return lambda s: {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[s.lower()]
    if name == "eta":
        return float
    return type(default)


def build_parser(profile: str = "default") -> argparse.ArgumentParser:
    """The CLI: ``--profile``, the data flags, and one flag per `TrainConfig` field (defaults: the profile's)."""
    p = argparse.ArgumentParser(prog="python -m companion.crosslingual.train",
                                description="Train the text->image MLP on English captions; report zero-shot "
                                            "Recall@K per XTD10 language. Defaults come from --profile "
                                            "(notebooks/crosslingual/profiles.yml, page 03-training).")
    p.add_argument("--profile", choices=PROFILES, default="default",
                   help="smoke: seconds (CI); default: this CPU (minutes); full: the paper's settings (GPU)")
    p.add_argument("--data", default=None,
                   help="synthetic dataset folder (generated if absent; default build/data/crosslingual/cli-<profile>)")
    p.add_argument("--coco", help="real COCO captions json (captions_train2014.json); needs --images and --xtd10")
    p.add_argument("--images", help="folder of COCO train2014 images")
    p.add_argument("--xtd10", help="XTD10 repository root (holding XTD10/, MIC/, STAIR/); data/real/xtd10 is a copy")
    p.add_argument("--n-train", type=int, default=1000, help="synthetic training images")
    p.add_argument("--n-test", type=int, default=300, help="synthetic test images")
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--captions-per-image", type=int, default=2)
    for f in fields(TrainConfig):
        default = f.default
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=_flag_type(f.name, default),
                       default=default, choices={"loss": ("m3l", "patr"), "negatives": ("hard", "random")}.get(f.name),
                       help=f"TrainConfig.{f.name}")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--cache", default="build/cache/crosslingual-embeddings", help="embedding cache folder")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (resumed when it exists)")
    p.add_argument("--out", default=None, help="write the Recall@K table as json here")
    p.set_defaults(**_profile_defaults(profile))
    return p


def main(argv=None) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--profile", choices=PROFILES, default="default")
    known, _ = pre.parse_known_args(argv)
    parser = build_parser(known.profile)
    args = parser.parse_args(argv)
    cfg = TrainConfig.from_params({f.name: getattr(args, f.name) for f in fields(TrainConfig)})

    if args.coco:
        if not (args.images and args.xtd10):
            parser.error("--coco needs --images and --xtd10")
        test = load_xtd10(args.xtd10)
        check_images_exist(args.images, test.image_names, "XTD10 test images")
        train_set = load_coco_captions(args.coco, args.images, exclude=set(test.image_names))
        feats = embed_dataset(train_set, test, args.images, text_encoders=(cfg.encoder,), image_size=224,
                              cache_dir=args.cache)
    else:
        data = args.data or f"build/data/crosslingual/cli-{args.profile}"
        feats = synthetic_features(data, n_train=args.n_train, n_test=args.n_test, seed=cfg.seed,
                                   image_size=args.image_size, captions_per_image=args.captions_per_image,
                                   cache_dir=args.cache, text_encoders=(cfg.encoder,))
    if cfg.encoder not in feats.train_text:
        parser.error(f"encoder {cfg.encoder} unavailable: {feats.skipped.get(cfg.encoder)}")
    model, result, eta = train(cfg, feats, device=args.device, checkpoint_path=args.checkpoint)
    table = recall_table(model, feats.test_text[cfg.encoder], feats.test_image)
    print(f"profile {args.profile}; device {result.device}, precision {result.precision}, {result.seconds:.1f} s, "
          f"{result.samples_per_second:.0f} captions/s" + (f", eta {eta:.1f}" if eta else ""))
    print(table.round(3).to_string())
    if args.out:
        Path(args.out).write_text(table.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
