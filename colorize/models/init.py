"""He (Kaiming) initialization for ReLU networks; norms start as identity."""

from __future__ import annotations

import torch
from torch import nn


def init_weights(model: nn.Module, leaky_slope: float = 0.0) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            weight = getattr(m, "weight_orig", m.weight)  # spectral norm keeps the raw weight here
            nn.init.kaiming_normal_(weight, a=leaky_slope, nonlinearity="leaky_relu" if leaky_slope else "relu")
            if getattr(m, "small_init", False):
                # An output layer at He scale saturates tanh; start it small so the first steps
                # learn colors instead of climbing out of saturation.
                with torch.no_grad():
                    weight.mul_(0.1)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.InstanceNorm2d | nn.GroupNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model
