"""(input, target) training pairs: a crop of a cached color image and a 1-channel input
synthesized from that very crop, so the two are aligned pixel for pixel.

Reproducibility: sample i of epoch e draws all its randomness from
np.random.default_rng([seed, e, i]); nothing reads global RNG state, so a run gives the same
pairs whatever the number of DataLoader workers, and again after a resume. Eval datasets
(train=False) ignore seed and epoch entirely: the same sample for the same index, every time,
in every run, so validation figures are comparable between runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from colorize.data.cache import CachedImage, cache_all, cache_side_for, read_cached
from colorize.data.synth import synthesize_input
from colorize.hints import encode_numpy, hint_count, rotate_hue, synthesize_hints
from colorize.images import ImageLoadError, reduce_to_side

log = logging.getLogger(__name__)

# Extra seed word for the eval stream. It goes in a 4th position and is non-zero: numpy treats
# trailing zeros as absent, so this keeps it apart from every [seed, epoch, i].
_EVAL_STREAM = 0xE7A1


class PairDataset(Dataset):
    """`files`: CachedImage entries (from build_splits) or plain image paths (hashed and cached
    here; unreadable ones are skipped with a warning). Item i is (inp [1,S,S], target [3,S,S]),
    float32 in [-1, 1], S = cfg.size. Index with an int (uses set_epoch's epoch) or with an
    (epoch, i) pair, which is what the trainer's batches (epoch_batches) hold: that form also works with persistent
    DataLoader workers, whose dataset copies never see set_epoch."""

    def __init__(self, files: Sequence[CachedImage | str | Path], cfg, cache_dir: str | Path,
                 train: bool, seed: int):
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        scale_min = float(cfg.scale_min)
        if not 0 < scale_min <= 1:
            raise ValueError(f"data.scale_min must be in (0, 1], got {scale_min}")
        if int(cfg.size) < 8:
            raise ValueError(f"data.size must be at least 8 pixels, got {cfg.size}")
        self.cfg = cfg
        self.size = int(cfg.size)
        self.side = cache_side_for(cfg)
        self.train = bool(train)
        self.seed = int(seed)
        self.epoch = 0
        self.cache_dir = Path(cache_dir)
        paths = [Path(f) for f in files if not isinstance(f, CachedImage)]
        cached = {e.source: e for e in cache_all(paths, self.cache_dir, self.side).usable} if paths else {}
        entries = [f if isinstance(f, CachedImage) else cached.get(Path(f)) for f in files]
        self.entries: list[CachedImage] = [e for e in entries if e is not None]  # in the given order
        self._warned: set[Path] = set()

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rng(self, i: int, epoch: int | None = None) -> np.random.Generator:
        if not self.train:
            return np.random.default_rng([i, 0, 0, _EVAL_STREAM])
        return np.random.default_rng([self.seed, self.epoch if epoch is None else int(epoch), i])

    def __getitem__(self, index: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = (index if isinstance(index, tuple) else (None, index))
        i = int(i)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        rng = self.rng(i, epoch)
        cfg = self.cfg
        patch = self.crop(self.load(i), rng)
        augment = self.train and cfg.augment
        # Lines are drawn on the crop at its own resolution, then both sides are reduced to the
        # training size the way the Colorizer reduces a page: thin, anti-aliased lines, as real
        # line art is at the working size (not the thick blobs of lines drawn at 96 px).
        inp = synthesize_input(patch, rng, cfg.p_gray, cfg.p_xdog, cfg.p_edges, mix=augment)
        inp, patch = reduce_pair(inp, patch, self.size)
        hints = None
        if self.train and cfg.hints > 0:
            patch, hints = self.hints(patch, rng)
        # Scale in numpy: torch's intra-op thread pool costs milliseconds on tensors this small.
        target = patch.transpose(2, 0, 1).astype(np.float32, order="C") * np.float32(1 / 127.5) - np.float32(1)
        inp = torch.from_numpy(inp[None] * np.float32(2) - np.float32(1))
        if hints is not None:
            inp = torch.cat([inp, hints])
        return inp, torch.from_numpy(target)

    def hints(self, patch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, torch.Tensor]:
        """Color hints from the true picture (colorize.hints), as extra input channels. Among the
        samples with hints, a share `data.hint_recolor` has the picture's hues turned first (hints
        and target alike): the model learns to follow a hint's color, not only likely colors."""
        count = hint_count(rng, self.cfg.hints)
        u_turn, angle = rng.random(), rng.uniform(0, 2 * np.pi)
        if count and u_turn < self.cfg.hint_recolor:
            patch = rotate_hue(patch, angle)
        colors, mask = synthesize_hints(patch, rng, count)
        return patch, encode_numpy(colors, mask)

    def load(self, i: int) -> np.ndarray:
        """Image i from the cache. If it became unreadable (cache and source both gone), warn once
        and use the next image instead of crashing a long run."""
        for k in range(len(self)):
            entry = self.entries[(i + k) % len(self)]
            try:
                return read_cached(entry, self.side)
            except ImageLoadError as exc:
                if entry.source not in self._warned:
                    self._warned.add(entry.source)
                    log.warning("skipping %s: %s", entry.source, exc)
        raise RuntimeError(f"none of the {len(self)} images in {self.cache_dir} can be read any more")

    def crop(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Square crop at its own resolution (at least S x S): random position, scale and flip when
        training, the central square otherwise. Draws a fixed number of values so later draws do
        not depend on the image size."""
        h, w = rgb.shape[:2]
        short = min(h, w)
        cfg = self.cfg
        u_scale, u_x, u_y, u_flip = rng.random(4) if self.train else (1.0, 0.5, 0.5, 1.0)
        if self.train and not cfg.augment:
            u_scale, u_x, u_y = 1.0, 0.5, 0.5
        # Scale is the crop's area as a fraction of the largest square that fits.
        scale = cfg.scale_min + (1.0 - cfg.scale_min) * u_scale
        c = short * np.sqrt(scale)
        x0, y0 = (w - c) * u_x, (h - c) * u_y
        side = max(self.size, round(c))
        im = Image.fromarray(rgb)
        if (side, side) != (round(c), round(c)) or x0 % 1 or y0 % 1:
            im = im.resize((side, side), Image.Resampling.BICUBIC, box=(x0, y0, x0 + c, y0 + c))
        else:
            im = im.crop((int(x0), int(y0), int(x0) + side, int(y0) + side))
        out = np.asarray(im)
        if self.train and cfg.augment and cfg.flip and u_flip < 0.5:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)


def reduce_pair(inp: np.ndarray, rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Input (float [0, 1]) and target (uint8 RGB) reduced to size x size. The input goes through
    8-bit gray and the Colorizer's own resize (Lanczos, reducing_gap 2), so training sees what a
    page looks like after Colorizer.prepare."""
    if inp.shape[0] == size and inp.shape[1] == size:
        return inp, rgb
    gray = Image.fromarray((inp * 255 + 0.5).astype(np.uint8))
    small = np.asarray(reduce_to_side(gray, size), np.float32)  # square in, size x size out
    target = reduce_to_side(Image.fromarray(rgb), size)
    return small * np.float32(1 / 255), np.asarray(target)


def epoch_batches(n: int, batch: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """The training sampler: this rank's batches for one epoch, a seeded permutation, repeated
    when the dataset is smaller than one global batch, split between ranks, incomplete batches
    dropped. The DataLoader gets (epoch, i) pairs made from them (see PairDataset)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order: list[int] = []
    while len(order) < batch * world or not order:
        order += torch.randperm(n, generator=g).tolist()
    per_rank = len(order) // world
    mine = order[rank * per_rank : (rank + 1) * per_rank]
    return [mine[i : i + batch] for i in range(0, len(mine) - batch + 1, batch)]


def run_batches(n: int, batch: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
    """The run's batches of (epoch, index) pairs from `start_step` on, epoch after epoch, endless."""
    steps_per_epoch = len(epoch_batches(n, batch, seed, 0, rank, world))
    epoch, offset = divmod(start_step, steps_per_epoch)
    while True:
        for b in epoch_batches(n, batch, seed, epoch, rank, world)[offset:]:
            yield [(epoch, i) for i in b]
        epoch, offset = epoch + 1, 0


class RunBatches:
    """run_batches as a DataLoader batch_sampler (an iterable it calls iter() on once)."""

    def __init__(self, *args):
        self.args = args

    def __iter__(self):
        return run_batches(*self.args)


def batch_stream(dataset, cfg, start_step: int = 0, rank: int = 0, world: int = 1):
    """Yield (step, inputs, targets) from `start_step` on; batch k of the run is the same batch
    whether or not the run was interrupted before it. `cfg`: the run's Config. One DataLoader for
    the whole run: one per epoch started its worker processes again every epoch, and with ten
    pictures (one batch an epoch) that tripled a step's time."""
    from torch.utils.data import DataLoader

    # (epoch, index) pairs: a sample's augmentation depends on them only, also in worker processes.
    sampler = RunBatches(len(dataset), cfg.data.batch_size, cfg.train.seed, start_step, rank, world)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.workers)
    for step, (inp, target) in enumerate(loader, start=start_step):
        yield step, inp, target
