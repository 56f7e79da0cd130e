"""Training the radiology CLIP model with `companion.core.fit`; also a command line::

    python -m companion.radiology.train --data build/data/radiology/default --epochs 30 --device cuda

Without ``--data`` a synthetic IU X-ray is generated first (``--n-studies``, ``--image-size``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from companion.core import fit, seed_everything, select_device
from companion.core.cache import cache_key
from companion.core.config import refuse_unknown_keys
from companion.radiology.data import ReportImageDataset, label_findings, load_annotation, resplit, trim_padding
from companion.radiology.synthetic import make_synthetic
from companion.radiology.losses import symmetric_cross_entropy
from companion.radiology.models import (DENSENET_TRUNKS, TEXT_MODES, VISION_KINDS, PromptTunedTextEncoder, RadiologyCLIP,
                                        VisionEncoder, load_text_backbone)

_BACKBONES: dict[str, tuple] = {}
_CHOICES = {"vision": VISION_KINDS, "vision_trunk": tuple(DENSENET_TRUNKS), "text_mode": TEXT_MODES}


# Part of every checkpoint key: bump it when a change to the training code makes checkpoints trained
# before it stale. 1: the first versioned key. 2: best-validation selection (a <key>.best.pt beside
# each checkpoint), validation finding F1 in the history. 3: frozen-trunk runs (head trains on cached
# trunk features), trunk initialised from the run's seed alone, padding trimmed per batch.
CACHE_VERSION = 3


@dataclass
class TrainConfig:
    """Every knob of one run (the paper's values where it gives them; see the chapter's reading notes)."""

    vision: str = "modified"            # modified | plain | efficientnet
    vision_trunk: str = "densenet121"    # densenet121 | densenet-small (CPU stand-in)
    vision_weights: str | None = None    # DenseNet121 state-dict file; "none" = random EfficientNet
    text_model: str | None = None        # None: bundled all-MiniLM-L6-v2; or a hub id / local path
    text_layers: int | None = None       # keep only the first N BERT layers (CPU smoke runs); None = all
    text_mode: str = "prompt"            # prompt | frozen | finetune
    n_prompts: int = 16
    prompt_scaling: bool = True
    n_projection_layers: int = 2
    embed_dim: int = 256
    learn_pool_weight: bool = True
    freeze_trunk: bool = False           # DenseNet trunk fixed at its initial (or loaded) weights; only heads train
    image_size: int = 128
    max_length: int = 64
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4
    backbone_lr: float = 2e-5            # fine-tuning mode only: BERT's own weights
    weight_decay: float = 1e-4
    temperature: float = 0.07
    max_train_studies: int | None = None  # train on the first N training studies only (CPU ablation sweeps)
    train_fraction: float = 1.0          # train on the first round(fraction * N) training studies (data sweep)
    select_best: bool = True             # keep the epoch with the best validation finding F1 (else the last)
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """A configuration from notebook parameters or a profile; a key that is not a field is refused."""
        refuse_unknown_keys(cls, params, exclude=("extra",))
        return cls(**params)

    def key(self) -> str:
        """A short hash of the configuration and ``CACHE_VERSION`` (names its checkpoint)."""
        # the chapter's and core's source are part of the key: a code change never reuses an old checkpoint
        return cache_key(self, "companion.radiology", "companion.core", extra={"cache_version": CACHE_VERSION},
                         length=12)


def text_backbone(name: str | None):
    """Tokenizer and a fresh copy of the BERT weights (the files are read once per process)."""
    import copy

    if name not in _BACKBONES:
        _BACKBONES[name] = load_text_backbone(name)
    tokenizer, model = _BACKBONES[name]
    return tokenizer, copy.deepcopy(model)


def build_model(config: TrainConfig) -> tuple[RadiologyCLIP, object]:
    """(model, tokenizer) for ``config``, seeded with ``config.seed``."""
    seed_everything(config.seed)
    tokenizer, bert = text_backbone(config.text_model)
    if config.text_layers is not None:
        if not 1 <= config.text_layers <= len(bert.encoder.layer):
            raise ValueError(f"text_layers must be in 1..{len(bert.encoder.layer)}, got {config.text_layers}")
        bert.encoder.layer = bert.encoder.layer[: config.text_layers]
        bert.config.num_hidden_layers = config.text_layers
    text = PromptTunedTextEncoder(bert, n_prompts=config.n_prompts, embed_dim=config.embed_dim,
                                  n_projection_layers=config.n_projection_layers, mode=config.text_mode,
                                  prompt_scaling=config.prompt_scaling)
    vision = VisionEncoder(config.vision, embed_dim=config.embed_dim, weights=config.vision_weights,
                           learn_pool_weight=config.learn_pool_weight, trunk=config.vision_trunk,
                           freeze_trunk=config.freeze_trunk, trunk_seed=config.seed)
    return RadiologyCLIP(vision, text, temperature=config.temperature), tokenizer


def clip_step(model, batch) -> dict:
    """One contrastive step: the paper's symmetric cross-entropy on a batch of pairs."""
    image, text = model(batch["image"], *trim_padding(batch["input_ids"], batch["attention_mask"]))
    inner = model.module if hasattr(model, "module") else model
    loss = symmetric_cross_entropy(image, text, inner.temperature)
    return {"loss": loss}


def make_optimizer(model: RadiologyCLIP, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; BERT's own weights (fine-tuning only) get the smaller ``backbone_lr``."""
    bert = {id(p) for p in model.text.backbone.parameters()}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in bert]
    groups = [{"params": rest, "lr": config.lr}]
    tuned = [p for p in model.text.backbone.parameters() if p.requires_grad]
    if tuned:
        groups.append({"params": tuned, "lr": config.backbone_lr})
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


@torch.no_grad()
def mean_loss(model: RadiologyCLIP, dataset: ReportImageDataset, batch_size: int, device) -> float:
    """Symmetric loss over ``dataset`` in fixed batches (eval mode), for validation curves."""
    model.eval()
    total, n = 0.0, 0
    for start in range(0, len(dataset), batch_size):
        idx = range(start, min(start + batch_size, len(dataset)))
        if len(idx) < 2:
            continue
        ids, mask = trim_padding(dataset.input_ids[idx.start:idx.stop], dataset.attention_mask[idx.start:idx.stop])
        image, text = model(dataset.images[idx.start:idx.stop].to(device), ids.to(device), mask.to(device))
        total += float(symmetric_cross_entropy(image, text, model.temperature)) * len(idx)
        n += len(idx)
    return total / max(n, 1)


def _best_epoch(history: list[dict]) -> int:
    """The epoch (1-based) with the highest validation finding F1, ties to the lower validation loss."""
    rows = [r for r in history if "val_finding_f1" in r]
    if not rows:
        return len(history)
    return int(max(rows, key=lambda r: (r["val_finding_f1"], -r["val_loss"], -r["epoch"]))["epoch"])


@torch.no_grad()
def validation_retrieval(model, candidates: ReportImageDataset, val: ReportImageDataset, truth, device) -> dict:
    """Finding F1 and exact-set agreement of retrieval on the validation split (the selection criterion).

    Every validation image retrieves its nearest training report; the keyword labeller's findings
    of that report are compared with ``truth`` (the labeller's findings of the validation reports).
    """
    from companion.metrics.findings import finding_scores
    from companion.radiology.data import FINDINGS
    from companion.radiology.evaluate import embed, retrieve

    images, _ = embed(model, val, device=device, parts=("image",))
    _, texts = embed(model, candidates, device=device, parts=("text",))
    picked = label_findings([candidates.reports[j] for j in retrieve(images, texts)])
    s = finding_scores(truth, picked, FINDINGS)
    return {"val_finding_f1": s["f1"], "val_exact_match": s["exact_match"]}


_FEATURES: dict[str, torch.Tensor] = {}


def _digest(tensors) -> str:
    h = hashlib.sha1()
    for name, t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def trunk_feature_datasets(model: RadiologyCLIP, datasets: dict, names=("train", "val"), cache_dir=None) -> dict:
    """Copies of ``datasets[name]`` whose images are the (frozen) vision trunk's feature maps.

    The maps are computed once per trunk and image set: they are keyed by a SHA-1 of the trunk's
    weights and buffers and of the images, kept in this process and, with ``cache_dir``, written as
    ``trunk-<key>.pt`` there, so every run that shares a trunk (same seed, trunk and weights) and
    data reuses them. Only meaningful for a model built with ``freeze_trunk``.
    """
    if not model.vision.freeze_trunk:
        raise ValueError("trunk_feature_datasets needs a model built with freeze_trunk=True")
    trunk_id = _digest(sorted(model.vision.trunk.state_dict().items()))
    out = {}
    for name in names:
        if name not in datasets:
            continue
        ds = datasets[name]
        key = hashlib.sha1((trunk_id + _digest([("images", ds.images)])).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"trunk-{key}.pt" if cache_dir is not None else None
        feats = _FEATURES.get(key)
        if feats is None and path is not None and path.is_file():
            try:
                feats = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a damaged cache file is recomputed and rewritten
                feats = None
            if feats is not None and (len(feats) != len(ds.images) or feats.ndim != 4):
                feats = None
        if feats is None:
            feats = model.vision.trunk_features(ds.images)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                torch.save(feats, tmp)
                tmp.replace(path)
        if len(_FEATURES) >= 16:
            _FEATURES.pop(next(iter(_FEATURES)))
        _FEATURES[key] = feats
        out[name] = ds.with_images(feats)
    return out


def prepare_datasets(data_root, tokenizer, config: TrainConfig, split: str = "file") -> dict[str, ReportImageDataset]:
    studies = resplit(load_annotation(data_root), split, seed=config.seed)
    return {name: ReportImageDataset(studies[name], tokenizer, config.image_size, config.max_length)
            for name in ("train", "val", "test") if studies[name]}


def train(config: TrainConfig, data_root, *, device="auto", checkpoint_dir=None, split: str = "file",
          datasets: dict | None = None, progress: bool | None = None):
    """Train one model and return ``(model, TrainResult, datasets)``.

    With ``config.max_train_studies`` the model trains on the first N training studies only;
    the returned ``datasets`` are still complete (retrieval candidates are every training report).

    The checkpoint (``<checkpoint_dir>/<config.key()>.pt``) is resumed when it exists, so a
    notebook re-run with the same configuration is instant and a later notebook reuses it. It
    holds the trainable weights only: a frozen BERT is rebuilt from its pretrained files (and
    checked against the fingerprint stored with the checkpoint), not written every epoch.
    Validation loss and the validation retrieval's finding F1 and exact-set agreement are logged
    every epoch (``val_loss``, ``val_finding_f1``, ``val_exact_match``). With ``select_best``
    (default) the returned model holds the weights of the epoch with the best validation
    finding F1 (``result.best_epoch``; saved as ``<key>.best.pt`` beside the checkpoint).

    With ``config.freeze_trunk`` the vision trunk never trains: its feature maps of the training
    and validation images are computed once (`trunk_feature_datasets`, cached beside the
    checkpoints) and the heads train on them; the returned model takes images as usual.
    """
    device = select_device(device)
    model, tokenizer = build_model(config)
    if datasets is None:
        datasets = prepare_datasets(data_root, tokenizer, config, split)
    if device.type == "cuda":
        model.vision.to(memory_format=torch.channels_last)
    model.to(device)
    # a frozen trunk: its feature maps are computed once and only the heads train on them
    run_sets = (trunk_feature_datasets(model, datasets, ("train", "val"), checkpoint_dir) if config.freeze_trunk
                else datasets)
    train_set = run_sets["train"]
    if config.max_train_studies is not None:
        if config.max_train_studies < 2:
            raise ValueError(f"max_train_studies must be >= 2 (contrastive batches), got {config.max_train_studies}")
        train_set = train_set.head(config.max_train_studies)
    if not 0.0 < config.train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {config.train_fraction}")
    if config.train_fraction < 1.0:
        train_set = train_set.head(max(2, int(round(config.train_fraction * len(train_set)))))
    val = run_sets.get("val")
    checkpoint = Path(checkpoint_dir) / f"{config.key()}.pt" if checkpoint_dir is not None else None
    best_path = checkpoint.with_suffix(".best.pt") if checkpoint is not None else None
    best = {"score": -math.inf, "state": None, "epoch": 0}
    val_truth = label_findings(val.reports) if val is not None else None
    # retrieval candidates for validation: every distinct training report once (a repeated report
    # has one embedding; ties went to the first occurrence anyway)
    first = {}
    for i, r in enumerate(run_sets["train"].reports):
        first.setdefault(r, i)
    candidates = run_sets["train"].select(sorted(first.values()))

    def evaluate(m):
        out = {"val_loss": mean_loss(m, val, config.batch_size, device)}
        scores = validation_retrieval(m, candidates, val, val_truth, device)
        out.update(scores)
        # best-validation selection on finding F1 of retrieval (ties: the lower validation loss)
        key = (scores["val_finding_f1"], -out["val_loss"])
        if best["state"] is None or key > best["score"]:
            state = {k: v.detach().cpu().clone() for k, v in m.state_dict().items()
                     if not k.startswith("text.backbone.") or config.text_mode == "finetune"}
            best.update(score=key, state=state)
            if best_path is not None:
                best_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = best_path.with_suffix(".tmp")
                torch.save({"state": state}, tmp)
                tmp.replace(best_path)
        return out

    model.vision.inputs_are_features = config.freeze_trunk
    try:
        result = fit(model, clip_step, train_set, optimizer=make_optimizer(model, config),
                     epochs=config.epochs, batch_size=config.batch_size, seed=config.seed, device=device,
                     evaluate=evaluate if val is not None else None, checkpoint_path=checkpoint,
                     drop_last=len(train_set) > config.batch_size,
                     progress=progress, description=f"{config.vision}/{config.text_mode}",
                     checkpoint_trainable_only=True)
    finally:
        model.vision.inputs_are_features = False
    if val is not None and config.select_best:
        if best_path is not None and best_path.is_file():
            saved = torch.load(best_path, map_location="cpu", weights_only=True)
            model.load_state_dict(saved["state"], strict=False)
        elif best["state"] is not None:
            model.load_state_dict(best["state"], strict=False)
    result.best_epoch = _best_epoch(result.history) if (val is not None and config.select_best) else len(result.history)
    model.eval()
    return model, result, datasets


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m companion.radiology.train",
                                     description="Train the prompt-tuned CLIP model of the radiology chapter on IU X-ray "
                                                 "(R2Gen layout) or a synthetic stand-in.")
    parser.add_argument("--data", type=Path, help="IU X-ray folder (annotation.json + images/); "
                        "default: generate a synthetic one under --out")
    parser.add_argument("--split", default="file", choices=["file", "paper", "r2gen"],
                        help="keep annotation.json's split, or re-split by study id 7:2:1 (paper) / 7:1:2 (r2gen)")
    parser.add_argument("--n-studies", type=int, default=600, help="synthetic studies when --data is not given")
    parser.add_argument("--out", type=Path, default=Path("build/radiology-train"), help="checkpoints and history")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    defaults = TrainConfig()
    for name, value in asdict(defaults).items():
        if name == "extra":
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=value)
        else:
            kind = int if name in ("text_layers", "max_train_studies") else (type(value) if value is not None else str)
            parser.add_argument(flag, type=kind, default=value, choices=_CHOICES.get(name))
    parser.add_argument("--profile", choices=["smoke", "default", "full"],
                        help="start from page 3's parameters of this profile (notebooks/radiology/profiles.yml); "
                             "explicit flags override them")
    args, _ = parser.parse_known_args(argv)
    if args.profile is not None:
        from companion.book.profiles import resolve

        params = resolve("radiology", "03-training", args.profile)
        parser.set_defaults(**{k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__},
                            n_studies=params.get("n_studies", 600))
    args = parser.parse_args(argv)
    config = TrainConfig(**{k: getattr(args, k) for k in asdict(defaults) if k != "extra"})
    data = args.data
    if data is None:
        data = make_synthetic(args.out / "data", args.n_studies, config.image_size, config.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, result, datasets = train(config, data, device=args.device, checkpoint_dir=args.out, split=args.split)
    print(json.dumps({"config": asdict(config), "history": result.history, "device": result.device,
                      "precision": result.precision, "samples_per_second": result.samples_per_second,
                      "seconds": time.perf_counter() - t0}, indent=1))


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------- notebook helpers


def chapter_data(profile: str, n_studies: int, image_size: int, seed: int, data_root: str | None = None) -> Path:
    """The dataset folder a notebook uses: ``data_root`` when given (real IU X-ray), else a synthetic
    IU X-ray generated (once, deterministically) under ``build/data/radiology/<profile>/``."""
    from companion.book.paths import data_dir

    if data_root:
        root = Path(data_root)
        if not (root / "annotation.json").is_file():
            raise FileNotFoundError(f"data_root {root} has no annotation.json (R2Gen's IU X-ray layout expected)")
        return root
    return make_synthetic(data_dir("radiology", profile) / f"synthetic-v3-{n_studies}-{image_size}px-seed{seed}",
                          n_studies, image_size, seed)


def train_or_load(config: TrainConfig, data_root, cache_dir, *, device="auto", split: str = "file",
                  datasets: dict | None = None, progress: bool | None = None):
    """`train` with its checkpoint in ``cache_dir``: a finished run with this configuration is loaded, not retrained."""
    return train(config, data_root, device=device, checkpoint_dir=cache_dir, split=split, datasets=datasets,
                 progress=progress)


def cached_train(config: TrainConfig, data_root, profile: str, *, device="auto", split: str = "file",
                 datasets: dict | None = None):
    """`train` with its checkpoint under ``build/cache/radiology-<profile>/``, keyed by the configuration
    and the data, so a later notebook (or a re-run) reuses a finished run and a clean build retrains."""
    from companion.book.paths import cache_dir

    config = TrainConfig(**{**asdict(config), "extra": {**config.extra, "data": str(data_root), "split": split}})
    return train(config, data_root, device=device, checkpoint_dir=cache_dir(f"radiology-{profile}"), split=split,
                 datasets=datasets, progress=None)


#: One-factor-at-a-time ablations (Section V and the knobs it discusses), as overrides of the main run.
ABLATIONS = {
    "proposed": {},
    "plain": {"vision": "plain"},                 # Table 3: DenseNet121 + GAP, no multi-scale/attention/mixing
    "frozen": {"text_mode": "frozen"},            # text tower locked, no prompts ("did not converge")
    "finetune": {"text_mode": "finetune", "backbone_lr": 1e-4},  # every BERT weight trains ("overfit")
    # fine-tuning on a quarter of the training studies: where overfitting is most likely (compare data_25)
    "finetune_25": {"text_mode": "finetune", "backbone_lr": 1e-4, "train_fraction": 0.25},
    "frozen_25": {"text_mode": "frozen", "train_fraction": 0.25},
    "data_25": {"train_fraction": 0.25},          # limited data: first quarter of the training studies
    "data_50": {"train_fraction": 0.5},
    "no_scaling": {"prompt_scaling": False},      # prompts without α(x)
    "fixed_pool": {"learn_pool_weight": False},   # w fixed at 0.5
    "efficientnet": {"vision": "efficientnet"},   # ImageNet-pretrained EfficientNet-Lite0 trunk
}


def ablation_config(base: TrainConfig, name: str, **overrides) -> TrainConfig:
    """``base`` with ablation ``name`` applied ("prompts_<P>" sets the number of prompts)."""
    if name.startswith("prompts_"):
        change = {"n_prompts": int(name.split("_", 1)[1])}
    elif name in ABLATIONS:
        change = ABLATIONS[name]
    else:
        raise ValueError(f"unknown ablation {name!r}; known: {sorted(ABLATIONS)} or prompts_<P>")
    return TrainConfig(**{**asdict(base), **change, **overrides})
