"""Device selection and mixed precision."""

from __future__ import annotations

import contextlib
import platform

import torch


def select_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when present, else CPU; validate anything else.

    Raises
    ------
    ValueError
        If a CUDA device is asked for on a machine without one.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device in (None, "auto"):
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but torch sees no CUDA device here")
    return resolved


def autocast(device: torch.device | str, precision: str = "auto"):
    """Context manager for the forward pass.

    ``precision="auto"`` means bf16 autocast on CUDA and plain fp32 on CPU (bf16
    on CPU is slower than fp32 on most CPUs and changes the numbers the book
    shows). ``"bf16"`` and ``"fp32"`` force one or the other.
    """
    device = torch.device(device)
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def resolved_precision(device: torch.device | str, precision: str = "auto") -> str:
    """The precision `autocast` will use: ``"bf16"`` or ``"fp32"``."""
    device = torch.device(device)
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def describe_device(device: torch.device | str = "auto") -> dict:
    """Name, memory and software versions of the device, for the results registry."""
    device = select_device(device)
    info = {
        "device": str(device),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    else:
        info["name"] = f"CPU ({info['cpu']}, {info['threads']} threads)"
    return info
