"""Training data: color images -> cached, split by content hash -> aligned (input, target) pairs."""

from colorize.data.build import DataError, Splits, build_splits
from colorize.data.cache import CachedImage, cache_side_for
from colorize.data.dataset import PairDataset, epoch_batches
from colorize.data.splits import split_files
from colorize.data.synth import synthesize_input

__all__ = [
    "CachedImage",
    "DataError",
    "PairDataset",
    "Splits",
    "build_splits",
    "cache_side_for",
    "epoch_batches",
    "split_files",
    "synthesize_input",
]
