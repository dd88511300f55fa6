"""The cleaner's thresholds, in a module of their own so the command line can show the defaults
without importing the image libraries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from colorize.near_duplicates import NEAR_DUPLICATE_BITS


@dataclass
class Screen:
    """The cheap checks, passed to workers so faces are only detected where they can matter."""

    min_side: int
    max_aspect: float
    min_colorfulness: float


@dataclass
class CleanOptions:
    min_side: int = 256
    max_aspect: float = 2.5  # longer side / shorter side
    min_colorfulness: float = 2.5  # chroma spread; see features.chroma_spread for the measurements
    dup_distance: int = NEAR_DUPLICATE_BITS  # of 64 pHash bits; shared with `diagnose data`
    min_face_frac: float = 0.01  # largest face box area / image area
    face_likelihood: float = 0.8
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    sheet_size: int = 100  # thumbnails per contact sheet

    @property
    def screen(self) -> Screen:
        return Screen(self.min_side, self.max_aspect, self.min_colorfulness)
