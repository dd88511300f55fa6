"""Models are built from (architecture name, keyword arguments), both stored in the checkpoint
card, so a checkpoint can rebuild exactly the model that made it."""

from __future__ import annotations

from typing import Any

from torch import nn

from colorize.models.chroma_s2d import ChromaS2D
from colorize.models.chroma_unet import ChromaUNet
from colorize.models.init import init_weights
from colorize.models.patchgan import PatchDiscriminator
from colorize.models.unet import UNetGenerator

GENERATORS: dict[str, type[nn.Module]] = {"unet": UNetGenerator, "chroma-unet": ChromaUNet, "chroma-s2d": ChromaS2D}
DISCRIMINATORS: dict[str, type[nn.Module]] = {"patchgan": PatchDiscriminator}


def _build(registry: dict[str, type[nn.Module]], kind: str, name: str, kwargs: dict[str, Any]) -> nn.Module:
    if name not in registry:
        raise ValueError(f"unknown {kind} architecture {name!r}; known: {', '.join(sorted(registry))}")
    try:
        return registry[name](**kwargs)
    except TypeError as exc:
        raise ValueError(f"{kind} {name!r} does not accept arguments {kwargs}: {exc}") from exc


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel and torch.compile wrappers, in any order."""
    while True:
        inner = model.__dict__.get("_orig_mod") or model.__dict__.get("_modules", {}).get("_orig_mod")  # compile
        if inner is None and type(model).__name__ == "DistributedDataParallel":
            inner = model.module
        if inner is None:
            return model
        model = inner


def build_generator(name: str, kwargs: dict[str, Any], init: bool = True) -> nn.Module:
    model = _build(GENERATORS, "generator", name, kwargs)
    return init_weights(model) if init else model


def build_discriminator(name: str, kwargs: dict[str, Any], init: bool = True) -> nn.Module:
    model = _build(DISCRIMINATORS, "discriminator", name, kwargs)
    return init_weights(model) if init else model


__all__ = ["unwrap", "build_generator", "build_discriminator", "UNetGenerator", "ChromaUNet", "ChromaS2D", "PatchDiscriminator", "init_weights"]
