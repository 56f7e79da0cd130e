"""Images per second of the vision encoders (Table 3's modified vs plain DenseNet121).

Training throughput times one optimiser step (forward, the paper's symmetric loss against a
fixed batch of stand-in report embeddings, backward, AdamW step); inference throughput times
a forward pass under ``torch.no_grad`` in eval mode. On CUDA the default is bf16 autocast and
channels_last (model and input), as in training; on a CPU, fp32 and the default memory format.
Random images are used: this measures the network, not data loading (the chapter's datasets
hold decoded tensors in memory, so loading is an index into a tensor).
"""

from __future__ import annotations

import statistics
import time

import torch

from companion.core import autocast, seed_everything, select_device
from companion.core.device import resolved_precision
from companion.radiology.losses import symmetric_cross_entropy
from companion.radiology.models import VisionEncoder, count_parameters


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def vision_throughput(kind: str = "modified", trunk: str = "densenet121", image_size: int = 312,
                      batch_size: int = 16, device="auto", steps: int = 5, warmup: int = 1,
                      precision: str = "auto", channels_last: bool | None = None, embed_dim: int = 256,
                      seed: int = 0) -> dict:
    """Measure training and inference images/s of one `VisionEncoder`.

    Parameters
    ----------
    kind : {"modified", "plain", "efficientnet"}
        The encoder (``"efficientnet"`` uses random weights here: speed does not depend on them).
    trunk : {"densenet121", "densenet-small"}
        DenseNet trunk for ``modified`` and ``plain``.
    image_size, batch_size : int
        Square input side in pixels and images per step (``batch_size >= 2``: the loss is contrastive).
    device : str or torch.device
        ``"auto"`` picks CUDA when present.
    steps, warmup : int
        Timed steps after ``warmup`` untimed ones, for each of training and inference; the rate
        is ``batch_size`` over the median step time.
    precision : {"auto", "bf16", "fp32"}
        ``"auto"``: bf16 autocast on CUDA, fp32 on CPU.
    channels_last : bool or None
        None: on for CUDA, off for CPU.

    Returns
    -------
    dict with ``kind, trunk, image_size, batch_size, device, precision, channels_last, params,
    train_images_per_s, infer_images_per_s``.
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (the contrastive loss needs negatives), got {batch_size}")
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 (DenseNet's stride is 32), got {image_size}")
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got steps={steps}, warmup={warmup}")
    device = select_device(device)
    precision = resolved_precision(device, precision)
    if channels_last is None:
        channels_last = device.type == "cuda"
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    seed_everything(seed)
    model = VisionEncoder(kind, embed_dim=embed_dim, trunk=trunk,
                          weights="none" if kind == "efficientnet" else None).to(device)
    model = model.to(memory_format=memory_format)
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch_size, 3, image_size, image_size, generator=generator).to(device)
    images = images.contiguous(memory_format=memory_format)
    targets = torch.nn.functional.normalize(torch.randn(batch_size, embed_dim, generator=generator), dim=-1).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step():
        with autocast(device, precision):
            embedding = model(images)
        loss = symmetric_cross_entropy(embedding.float(), targets, 0.07)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def infer_step():
        with autocast(device, precision):
            model(images)

    rates = {}
    for name, step, train_mode in (("train", train_step, True), ("infer", infer_step, False)):
        model.train(train_mode)
        for _ in range(warmup):
            step()
        times = []
        for _ in range(steps):
            _sync(device)
            t0 = time.perf_counter()
            step()
            _sync(device)
            times.append(time.perf_counter() - t0)
        # the median step: robust to a neighbour's burst on a shared CPU
        rates[f"{name}_images_per_s"] = batch_size / statistics.median(times)
    return {"kind": kind, "trunk": trunk, "image_size": image_size, "batch_size": batch_size,
            "device": str(device), "precision": precision, "channels_last": channels_last,
            "params": count_parameters(model)["total"], **rates}


def compare_vision_encoders(kinds=("modified", "plain"), **kwargs) -> "pandas.DataFrame":
    """`vision_throughput` for each encoder kind, one row per kind (same settings for all)."""
    import pandas as pd

    return pd.DataFrame([vision_throughput(kind, **kwargs) for kind in kinds]).set_index("kind")
