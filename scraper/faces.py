"""Anime face detection with the `animeface` package (nagadomi's animeface-2009, compiled into
the wheel, offline). It silently finds nothing with Pillow >= 12, hence the `pillow<12` pin and
the test that runs it on a real face image."""

from __future__ import annotations

import animeface
from PIL import Image

# Detection runs on a copy no longer than this: 2-4x faster than full size on typical posts and,
# on the 196 color images in ../shared/data/color, the same single/multiple/no-face split within
# a handful of images. Faces too small to survive it are too small for --min-face-frac anyway.
DETECT_SIDE = 640


def detect_faces(rgb: Image.Image, max_side: int = DETECT_SIDE) -> list[list[float]]:
    """[[x, y, w, h, likelihood], ...] in the coordinates of `rgb`, largest first."""
    scale = min(1.0, max_side / max(rgb.size))
    small = rgb
    if scale < 1.0:
        small = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                           Image.Resampling.BILINEAR)
    if small.mode != "RGB":
        small = small.convert("RGB")
    faces = []
    for face in animeface.detect(small):
        box = face.face.pos
        faces.append([box.x / scale, box.y / scale, box.width / scale, box.height / scale,
                      round(float(face.likelihood), 4)])
    return sorted(faces, key=lambda f: -f[2] * f[3])
