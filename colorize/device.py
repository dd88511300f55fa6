"""One place that turns a device name into a torch.device, and the precision setting into what
runs on that device (training, diagnostics, the benchmark and, through the same function, the
Colorizer)."""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "bf16")


class DeviceError(ValueError):
    """A device or precision that this machine cannot provide (one line)."""


def pick_device(device: str = "auto", local_rank: int | None = None) -> torch.device:
    """"auto" (CUDA when present), "cpu", "cuda" or "cuda:N". Under torchrun (`local_rank` given)
    CUDA means this process's GPU, made the current one."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} asked for, but this torch sees no CUDA GPU")
        if local_rank is not None:
            torch.cuda.set_device(local_rank)
            return torch.device("cuda", local_rank)
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device) -> str:
    """"fp32" or "bf16" (bf16 autocast) for `device`. "auto": bf16 on a GPU that supports it, fp32
    on the CPU (bf16 autocast helps only CPUs with native bf16: 1.9x on the bench machine, see
    bench/RESULTS.md; ask for it with precision = "bf16")."""
    if precision not in PRECISIONS:
        raise DeviceError(f"train.precision = {precision!r}: expected one of {', '.join(PRECISIONS)}")
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "auto":
        return "bf16" if cuda_bf16 else "fp32"
    if precision == "bf16" and device.type == "cuda" and not cuda_bf16:
        raise DeviceError(f"train.precision = bf16, but {torch.cuda.get_device_name(device)} has no bf16 support")
    return precision
