"""Features in, trained text→image MLP out; also a command line.

``python -m companion.crosslingual.train --help``

The pipeline: (1) a dataset folder in the COCO + XTD10 layout (synthetic by
default, or the real data with ``--coco``/``--xtd10``); (2) frozen text and image
embeddings, cached on disk by model + data hash; (3) the MLP trained on English
captions only with M3L or PATR and in-batch hardest negatives, through
`companion.core.fit` (bf16 autocast on CUDA); (4) zero-shot Recall@K per language.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from companion.core import fit, seed_everything, select_device
from companion.core.cache import source_fingerprint
from companion.crosslingual.data import (COCO_IMAGES, CaptionSet, XTD10, check_images_exist, load_coco_captions,
                                         load_images, load_xtd10)
from companion.crosslingual.synthetic import load_synthetic, make_synthetic
from companion.crosslingual.grammar import LANGUAGES
from companion.crosslingual.losses import (eta_for_features, hardest_negatives, m3l_loss, patr_loss, random_negatives,
                                           same_caption)
from companion.crosslingual.models import (PooledImageEncoder, build_mlp, cached, encode_images, feature_scale,
                                           text_encoder, text_encoder_available)


@dataclass
class Features:
    """Cached embeddings of one dataset.

    ``train_text[enc]`` [N_captions, D_enc] (English), ``train_image`` [N_captions, D_img]
    (the image of each caption, repeated), ``train_ids`` [N_captions];
    ``test_text[enc][lang]`` [N_test, D_enc] and ``test_image`` [N_test, D_img], row i
    of every language describing test image i.
    """

    train_text: dict[str, np.ndarray]
    train_image: np.ndarray
    train_ids: np.ndarray
    test_text: dict[str, dict[str, np.ndarray]]
    test_image: np.ndarray
    train: CaptionSet
    test: XTD10
    timings: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)


def _file_keys(image_dir: Path, names: list[str]) -> list[str]:
    # name + size + mtime: a changed file changes the key without hashing every byte
    out = []
    for n in names:
        st = (image_dir / n).stat()
        out.append(f"{n}:{st.st_size}:{int(st.st_mtime)}")
    return out


def embed_dataset(train: CaptionSet, test: XTD10, image_dir: str | Path, *, text_encoders=("muse", "e5"),
                  languages=LANGUAGES, image_encoder: str = "efficientnet-lite0", image_weights: str | None = None,
                  image_size: int = 128, cache_dir: str | Path, threads: int = 2) -> Features:
    """Embed training captions (English), XTD10 captions (every language) and all images, with caching.

    Encoders that cannot run here (e.g. e5 without AVX2) are skipped and listed
    in ``Features.skipped`` with the reason.
    """
    image_dir = Path(image_dir)
    timings, skipped = {}, {}
    train_names = train.unique_images()
    test_names = list(test.image_names)
    image_encoder_model = None

    def images(names):
        nonlocal image_encoder_model
        if image_encoder_model is None:
            image_encoder_model = PooledImageEncoder(image_encoder, image_weights)
        return encode_images(load_images(image_dir, names, image_size), image_encoder_model)

    extra = f"size={image_size}"
    train_img, info = cached(cache_dir, image_encoder, _file_keys(image_dir, train_names),
                             lambda: images(train_names), extra)
    timings[f"images_train_{image_encoder}"] = (len(train_names), info["seconds"])
    test_img, info = cached(cache_dir, image_encoder, _file_keys(image_dir, test_names),
                            lambda: images(test_names), extra)
    timings[f"images_test_{image_encoder}"] = (len(test_names), info["seconds"])
    row_of = {n: i for i, n in enumerate(train_names)}
    train_image = train_img[[row_of[n] for n in train.file_names]]

    train_text, test_text = {}, {}
    for enc in text_encoders:
        ok, why = text_encoder_available(enc)
        if not ok:
            skipped[enc] = why
            continue
        encode = None

        def run(texts):
            nonlocal encode
            if encode is None:
                encode = text_encoder(enc, threads=threads)
            return encode(texts)

        train_text[enc], info = cached(cache_dir, enc, train.captions, lambda: run(train.captions))
        timings[f"text_train_{enc}"] = (len(train.captions), info["seconds"])
        test_text[enc] = {}
        for lang in languages:
            caps = test.captions[lang]
            test_text[enc][lang], info = cached(cache_dir, enc, caps, lambda: run(caps))
            timings[f"text_{lang}_{enc}"] = (len(caps), info["seconds"])
    return Features(train_text, train_image, np.asarray(train.image_ids, dtype=np.int64), test_text, test_img,
                    train, test, timings, skipped)


def synthetic_features(root: str | Path, *, n_train: int, n_test: int, seed: int, image_size: int,
                       captions_per_image: int, cache_dir: str | Path, text_encoders=("muse", "e5"),
                       languages=LANGUAGES) -> Features:
    """Generate (if absent) the synthetic COCO + XTD10 miniature under ``root`` and embed it."""
    make_synthetic(root, n_train, n_test, seed=seed, image_size=image_size, captions_per_image=captions_per_image)
    train, test = load_synthetic(root, languages)
    return embed_dataset(train, test, Path(root) / COCO_IMAGES, text_encoders=text_encoders, languages=languages,
                         image_size=image_size, cache_dir=cache_dir)


def embed_photo_captions(encoder: str, names: list[str], *, cache_dir: str | Path, languages=LANGUAGES,
                         threads: int = 2) -> dict[str, np.ndarray]:
    """Embeddings of the bundled photos' captions (`data.PHOTO_CAPTIONS`) -> ``{lang: float32 [len(names), D]}``.

    All languages go through the encoder in one call, cached on disk like the dataset's embeddings.
    """
    from companion.crosslingual.data import PHOTO_CAPTIONS

    unknown = [n for n in names if n not in PHOTO_CAPTIONS]
    if unknown:
        raise KeyError(f"no captions for photos {unknown}; known: {sorted(PHOTO_CAPTIONS)}")
    languages = list(languages)
    texts = [PHOTO_CAPTIONS[n][lang] for lang in languages for n in names]
    arr, _ = cached(cache_dir, encoder, texts, lambda: text_encoder(encoder, threads=threads)(texts))
    return {lang: arr[k * len(names):(k + 1) * len(names)] for k, lang in enumerate(languages)}


def subset_rows(n: int, k: int | None, seed: int = 0) -> np.ndarray:
    """A fixed, sorted subset of ``k`` of ``n`` row indices (all rows when ``k`` is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    if k < 1:
        raise ValueError(f"subset size must be positive, got {k}")
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def embed_aligned_captions(captions: dict[str, list[str]], encoder: str, *, cache_dir: str | Path,
                           rows: np.ndarray | None = None, threads: int = 1) -> dict[str, np.ndarray]:
    """Embed line-aligned captions (``{lang: [N captions]}``, e.g. `data.load_xtd10(...).captions`) with caching.

    ``rows`` keeps a subset of the lines (same rows in every language). Returns
    ``{lang: float32 [len(rows), D]}``; each language is cached on its own, keyed by its texts.
    """
    encode = None
    out = {}
    for lang, caps in captions.items():
        caps = list(caps) if rows is None else [caps[i] for i in rows]

        def run(caps_=caps):
            nonlocal encode
            encode = encode or text_encoder(encoder, threads=threads)
            return encode(caps_)

        out[lang], _ = cached(cache_dir, encoder, caps, run)
    return out


# Part of every checkpoint key: bump it when a change to the training code (losses, negative mining,
# initialisation) makes checkpoints trained before it stale. 2: captions shared by two images are no
# longer negatives of each other.
CACHE_VERSION = 2


@dataclass
class TrainConfig:
    """Hyper-parameters; defaults are the paper's (Section 3)."""

    loss: str = "m3l"
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

    def key(self) -> str:
        # the chapter's and core's source are part of the key: a code change never reuses an old training
        return json.dumps({**self.__dict__, "code": source_fingerprint("companion.crosslingual", "companion.core")},
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
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    data = TensorDataset(torch.from_numpy(text), torch.from_numpy(image), torch.from_numpy(image_ids))
    result = fit(model, make_step(cfg, eta), data, optimizer=optimizer, epochs=cfg.epochs,
                 batch_size=cfg.batch_size, seed=cfg.seed, device=device, checkpoint_path=checkpoint_path,
                 drop_last=len(data) > cfg.batch_size, evaluate=evaluate, progress=progress,
                 description=f"{cfg.loss}")
    model.eval()
    return model, result, eta


@torch.no_grad()
def map_texts(model: torch.nn.Module, text: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Apply the trained MLP (eval mode, on its device) -> float32 [N, D_img]."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(text[i:i + batch_size]).to(device)).float().cpu().numpy()
           for i in range(0, len(text), batch_size)]
    return np.concatenate(out)


def main(argv=None) -> int:
    from companion.crosslingual.evaluate import recall_table

    p = argparse.ArgumentParser(prog="python -m companion.crosslingual.train",
                                description="Train the text->image MLP on English captions; report zero-shot "
                                            "Recall@K per XTD10 language.")
    p.add_argument("--data", default="build/data/crosslingual/cli", help="synthetic dataset folder (generated if absent)")
    p.add_argument("--coco", help="real COCO captions json (captions_train2014.json); needs --images and --xtd10")
    p.add_argument("--images", help="folder of COCO train2014 images")
    p.add_argument("--xtd10", help="XTD10 repository root (holding XTD10/, MIC/, STAIR/); "
                   "data/real/xtd10 is a copy")
    p.add_argument("--n-train", type=int, default=1500)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--encoder", default="muse", help="muse | e5 | a sentence-transformers id")
    p.add_argument("--loss", choices=["m3l", "patr"], default="m3l")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eta", type=float, default=None, help="absolute PATR margin (default: scaled to the features)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--cache", default="build/cache/crosslingual-embeddings")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--out", default=None, help="write the Recall@K table as json here")
    args = p.parse_args(argv)

    if args.coco:
        if not (args.images and args.xtd10):
            p.error("--coco needs --images and --xtd10")
        test = load_xtd10(args.xtd10)
        check_images_exist(args.images, test.image_names, "XTD10 test images")
        train = load_coco_captions(args.coco, args.images, exclude=set(test.image_names))
        feats = embed_dataset(train, test, args.images, text_encoders=(args.encoder,), image_size=224,
                              cache_dir=args.cache)
    else:
        feats = synthetic_features(args.data, n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                                   image_size=args.image_size, captions_per_image=3, cache_dir=args.cache,
                                   text_encoders=(args.encoder,))
    if args.encoder not in feats.train_text:
        p.error(f"encoder {args.encoder} unavailable: {feats.skipped.get(args.encoder)}")
    cfg = TrainConfig(loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, eta=args.eta,
                      seed=args.seed)
    model, result, eta = train_mapping(feats.train_text[args.encoder], feats.train_image, feats.train_ids, cfg,
                                       device=args.device, checkpoint_path=args.checkpoint)
    table = recall_table(model, feats.test_text[args.encoder], feats.test_image)
    print(f"device {result.device}, precision {result.precision}, {result.seconds:.1f} s, "
          f"{result.samples_per_second:.0f} captions/s" + (f", eta {eta:.1f}" if eta else ""))
    print(table.round(3).to_string())
    if args.out:
        Path(args.out).write_text(table.to_json())
    return 0



def checkpoint_for(features: Features, encoder: str, cfg: TrainConfig, cache_dir: str | Path) -> Path:
    """Checkpoint path keyed by encoder, training config (seed included), the data's fingerprint and
    `CACHE_VERSION`."""
    from companion.crosslingual.data import dataset_fingerprint

    key = dataset_fingerprint([f"rev{CACHE_VERSION}", encoder, cfg.key(), *features.train.captions,
                               *features.test.image_names])
    return Path(cache_dir) / f"mlp-{encoder}-{cfg.loss}-{key}.pt"


def train_or_load(features: Features, encoder: str, cfg: TrainConfig, *, cache_dir: str | Path,
                  device: str = "auto", progress: bool | None = None):
    """`train_mapping` with a keyed checkpoint: a finished run is reloaded, not retrained.

    `companion.core.fit` resumes from the checkpoint; when it already holds
    ``cfg.epochs`` epochs no epoch runs and the stored history is returned.
    """
    path = checkpoint_for(features, encoder, cfg, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return train_mapping(features.train_text[encoder], features.train_image, features.train_ids, cfg,
                         device=device, checkpoint_path=path, progress=progress)


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
    from companion.metrics.retrieval import recall_at_k

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
    import copy

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


def early_stopped_or_load(features: Features, encoder: str, cfg: TrainConfig, *, cache_dir: str | Path,
                          val_fraction: float = 0.15, split_seed: int = 0, patience: int | None = None,
                          device: str = "auto") -> EarlyStopped:
    """`train_early_stopped` on a dataset's English training captions, cached by encoder, config, split and data."""
    from companion.crosslingual.data import dataset_fingerprint

    key = dataset_fingerprint([f"rev{CACHE_VERSION}", "early-r1", encoder, cfg.key(),
                               f"{val_fraction}:{split_seed}:{patience}",
                               *features.train.captions, *features.test.image_names])
    path = Path(cache_dir) / f"mlp-es-{encoder}-{cfg.loss}-{key}.pt"
    return train_early_stopped(features.train_text[encoder], features.train_image, features.train_ids, cfg,
                               val_fraction=val_fraction, split_seed=split_seed, patience=patience, cache_path=path,
                               device=device)


def optimizer_steps(rows: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of `train_mapping` on ``rows`` rows: full batches only, one batch when rows <= batch_size."""
    return (rows // batch_size if rows > batch_size else 1) * epochs


def matched_epochs(steps: int, rows: int, batch_size: int) -> int:
    """The fewest epochs on ``rows`` rows that take at least ``steps`` optimiser steps (`optimizer_steps`)."""
    if steps < 1 or rows < 1 or batch_size < 1:
        raise ValueError(f"steps, rows and batch_size must be positive, got {steps}, {rows}, {batch_size}")
    per_epoch = optimizer_steps(rows, batch_size, 1)
    return -(-steps // per_epoch)


# ----------------------------------------------------------------------------- Multi30K (Table 3)
@dataclass
class AlignedFeatures:
    """Embeddings of a Multi30K-style dataset: one caption per language per image.

    ``text[split][lang]`` [N_split, D_enc], row i describing image i of the split;
    ``image[split]`` [N_split, D_img]; ``names[split]`` the image file names.
    """

    encoder: str
    text: dict[str, dict[str, np.ndarray]]
    image: dict[str, np.ndarray]
    names: dict[str, list[str]]


def embed_multi30k(root: str | Path, image_dir: str | Path, *, encoder: str = "muse", image_size: int = 128,
                   cache_dir: str | Path, splits=("train", "test"), languages=("en", "de", "fr"),
                   image_encoder: str = "efficientnet-lite0", threads: int = 2) -> AlignedFeatures:
    """Load the Multi30K ``splits`` (`data.load_multi30k`) and embed captions and images, with caching."""
    from companion.crosslingual.data import load_multi30k

    image_dir = Path(image_dir)
    ok, why = text_encoder_available(encoder)
    if not ok:
        raise RuntimeError(f"text encoder {encoder!r} unavailable: {why}")
    encode, cnn = None, None
    text, image, names = {}, {}, {}
    for split in splits:
        data = load_multi30k(root, split, languages, image_dir=image_dir)
        names[split] = data.image_names

        def images(names_=data.image_names):
            nonlocal cnn
            cnn = cnn or PooledImageEncoder(image_encoder)
            return encode_images(load_images(image_dir, names_, image_size), cnn)

        image[split], _ = cached(cache_dir, image_encoder, _file_keys(image_dir, data.image_names), images,
                                 f"size={image_size}")
        text[split] = {}
        for lang in languages:
            caps = data.captions[lang]

            def run(caps_=caps):
                nonlocal encode
                encode = encode or text_encoder(encoder, threads=threads)
                return encode(caps_)

            text[split][lang], _ = cached(cache_dir, encoder, caps, run)
    return AlignedFeatures(encoder, text, image, names)


def synthetic_multi30k_features(root: str | Path, *, n_train: int, n_test: int, seed: int, image_size: int,
                                cache_dir: str | Path, encoder: str = "muse") -> AlignedFeatures:
    """Generate (if absent) the synthetic Multi30K miniature under ``root`` and embed its train and test splits."""
    from companion.crosslingual.data import MULTI30K_IMAGES
    from companion.crosslingual.synthetic import make_synthetic_multi30k

    make_synthetic_multi30k(root, n_train, n_test, seed=seed, image_size=image_size)
    return embed_multi30k(root, Path(root) / MULTI30K_IMAGES, encoder=encoder, image_size=image_size,
                          cache_dir=cache_dir)


def train_multi30k(features: AlignedFeatures, train_languages, cfg: TrainConfig, *, cache_dir: str | Path,
                   device: str = "auto", progress: bool | None = None):
    """Train the MLP on the Multi30K training captions of ``train_languages`` (each row paired with its image).

    With several languages every image appears once per language, all rows
    sharing its id (so a caption's translation is never its negative). The
    checkpoint is keyed by encoder, languages, configuration and data.
    Returns ``(model, TrainResult, eta)``.
    """
    from companion.crosslingual.data import dataset_fingerprint

    train_languages = list(train_languages)
    missing = [lang for lang in train_languages if lang not in features.text["train"]]
    if missing:
        raise ValueError(f"no training captions for {missing}; have {sorted(features.text['train'])}")
    n = len(features.names["train"])
    text = np.concatenate([features.text["train"][lang] for lang in train_languages])
    image = np.concatenate([features.image["train"]] * len(train_languages))
    ids = np.tile(np.arange(n, dtype=np.int64), len(train_languages))
    key = dataset_fingerprint([f"rev{CACHE_VERSION}", features.encoder, cfg.key(), ",".join(train_languages),
                               *features.names["train"]])
    path = Path(cache_dir) / f"mlp-m30k-{features.encoder}-{cfg.loss}-{key}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return train_mapping(text, image, ids, cfg, device=device, checkpoint_path=path, progress=progress)


if __name__ == "__main__":
    raise SystemExit(main())
