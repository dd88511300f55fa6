"""Learning-rate schedule: optional linear warmup, then constant or cosine decay to zero."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def lr_factor(step: int, total: int, warmup: int, cosine: bool) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(opt: Optimizer, total: int, warmup: int, cosine: bool) -> LambdaLR:
    return LambdaLR(opt, lambda step: lr_factor(step, total, warmup, cosine))
