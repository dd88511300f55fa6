"""What the checks run on: the config, the models it describes, batches from the real training
pipeline, and the reconstruction loss. Each part is a field, so tests can swap one for a broken
version (an unscaled batch, a zero-initialized model, a loss that ignores its target)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import torch
from torch import nn

from colorize.config import Config
from colorize.device import PrecisionChoice, pick_device, precision_for_config
from colorize.diagnose.steps import LossFn, default_recon
from colorize.models import build_discriminator, build_generator

Batch = tuple[torch.Tensor, torch.Tensor]  # (input [N,1,S,S], target [N,3,S,S]) in [-1, 1]


@dataclass
class Setup:
    cfg: Config
    batches: Callable[[int], list[Batch]]  # the first n consecutive training batches, as training sees them
    make_generator: Callable[[], nn.Module] | None = None
    make_discriminator: Callable[[], nn.Module] | None = None
    recon_loss: LossFn | None = None  # None: the trainer's own loss and training step
    split_hashes: dict[str, list[str]] = field(default_factory=dict)  # split -> content hashes
    split_images: dict[str, list[Path]] = field(default_factory=dict)  # split -> (cached) image files
    sample: Batch | None = None  # a fixed (validation) sample for pictures
    train_set: object = None  # the training PairDataset, for checks that make their own samples
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: PrecisionChoice | None = None  # decided on first use (see precision_choice)

    def __post_init__(self) -> None:
        cfg = self.cfg
        if self.make_generator is None:
            self.make_generator = lambda: build_generator(cfg.model.generator, dict(cfg.model.generator_kwargs))
        if self.make_discriminator is None:
            self.make_discriminator = lambda: build_discriminator(
                cfg.model.discriminator, dict(cfg.model.discriminator_kwargs)
            )

    def loss_fn(self) -> LossFn:
        """The reconstruction loss: the injected one, or the generator's loss without its GAN term."""
        return self.recon_loss or default_recon(self.cfg.loss)

    def generator(self, seed: int | None = None) -> nn.Module:
        """A fresh generator on the device; seeded so that every check starts from the same weights."""
        torch.manual_seed(self.cfg.train.seed if seed is None else seed)
        return self.make_generator().to(self.device).train()

    def discriminator(self) -> nn.Module | None:
        if self.cfg.loss.lambda_gan <= 0:
            return None
        torch.manual_seed(self.cfg.train.seed + 1)
        return self.make_discriminator().to(self.device).train()

    def precision_choice(self) -> PrecisionChoice:
        """train.precision decided for this machine as the trainer decides it (colorize.device;
        where the CPU's facts cannot tell, measured on the config's models), once for all checks."""
        if self.precision is None:
            self.precision = precision_for_config(self.cfg, self.device, lambda: (self.generator(), self.discriminator()))
        return self.precision

    def bf16(self) -> bool:
        """Do the checks that train run under bf16 autocast, as the trainer would here?"""
        return self.precision_choice().bf16

    def step_options(self) -> dict:
        """The trainer's precision (decided for this machine) and gradient clipping, for make_step."""
        return {"bf16": self.bf16(), "grad_clip": self.cfg.train.grad_clip}

    def fixed_sample(self, n: int = 4) -> Batch:
        inp, target = self.sample if self.sample is not None else self.batches(1)[0]
        return inp[:n], target[:n]


def load_setup(cfg: Config, data_dir: str | Path, cache_dir: str | Path | None = None,
               device: str | None = None) -> Setup:
    """Batches from build_splits and the trainer's own batch stream (same order, same augmentation);
    content hashes of every split from the split summary."""
    from colorize.data import build_splits
    from colorize.data.cache import DEFAULT_CACHE
    from colorize.data.dataset import batch_stream

    cfg.data.workers = 0  # a few batches: worker start-up would cost more than it saves
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    splits = build_splits(Path(data_dir), cfg.data, Path(cache_dir or DEFAULT_CACHE), cfg.train.seed)
    if len(splits.train) == 0:
        raise ValueError(f"{data_dir}: no training images after splitting")
    cache: list[Batch] = []

    def batches(n: int) -> list[Batch]:
        if len(cache) < n:
            stream = batch_stream(splits.train, cfg, len(cache))
            cache.extend((inp, target) for _, inp, target in islice(stream, n - len(cache)))
        return cache[:n]

    hashes: dict[str, list[str]] = {}
    for item in splits.summary.get("files", []):
        hashes.setdefault(item["split"], []).append(item["sha256"])
    fixed = splits.val if len(splits.val) else splits.train
    items = [fixed[i] for i in range(min(4, len(fixed)))]
    sample = (torch.stack([a for a, _ in items]), torch.stack([b for _, b in items]))
    images = {name: [e.cached for e in getattr(splits, name).entries] for name in ("train", "val", "test")}
    return Setup(cfg, batches, split_hashes=hashes, split_images=images, sample=sample, train_set=splits.train,
                 device=pick_device(device or cfg.train.device))
