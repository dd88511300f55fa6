"""The Colorizer: the only way an image becomes a colored image. The web app and the batch command
are thin shells around it.

An image goes through three steps, split so the batch command can overlap them:
  prepare (CPU): any Pillow image (and optional color hints) -> full-size luma, alpha, a small
    model input (gray, and the hints for a model that takes them), and the drawing's line-bounded
    regions and paper (paint.analyse, at up to 1600 px);
  predict (model, batched): small gray -> the model's colors at the working size;
  finish (CPU): the model's colors laid over the regions (paint.paint), the hints over those
    (hint_fill: a region with one hint color is filled with it), then over the input's full-size
    detail (colorspace.compose) -> the colored image, same size.
The network only ever sees the working size (a long side of `size` pixels, padded to the multiple
the network needs), so time and memory at full size come from the cheap steps around it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from colorize import hints as hint_codec
from colorize.checkpoint import load_generator
from colorize.device import autocast, inference_precision, pick_device
from colorize.images import open_image, reduce_to_side, split_alpha
from colorize.inference.colorspace import compose
from colorize.inference.hint_fill import HintLayer, apply_hints, hint_layer
from colorize.inference.paint import BACKGROUNDS, Drawing, analyse, paint

log = logging.getLogger(__name__)

# Training shows the model whole illustrations resized to a short side of `data.cache_side`
# (cropped to `data.size`). Colors come out coherent when a picture is seen at that same scale:
# on real line art, 2x that scale gave blotchy orange/blue patches where 1x gave skin and hair
# tones. A typical 3:4 picture at that short side has a long side about 1.5x as long. Pages with
# many small panels may want more: `--size`, or a card's "infer" section, overrides it.
LONG_OVER_SHORT = 1.5
MIN_SIDE, MAX_SIDE = 128, 1024
OOM_SHRINK = 0.75  # working size factor per retry after CUDA runs out of memory
OOM_MIN_SIDE = 64
EXIF_ORIENTATION = 0x0112


def default_working_side(card: dict) -> int:
    if card.get("infer", {}).get("size"):  # a model's own choice, recorded in its card
        return int(card["infer"]["size"])
    data = card.get("config", {}).get("data", {})
    short = int(data.get("cache_side") or round(1.25 * int(data.get("size", 128))))
    return int(min(MAX_SIDE, max(MIN_SIDE, round(LONG_OVER_SHORT * short))))


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it (inside nn.Sequential blocks):
    the same numbers up to float rounding, one pass over memory less per layer."""
    for block in model.modules():
        if isinstance(block, nn.Sequential):
            for i in range(len(block) - 1):
                conv, bn = block[i], block[i + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                    block[i] = fuse_conv_bn_eval(conv, bn)
                    block[i + 1] = nn.Identity()
    return model


@dataclass
class Page:
    """An image made ready for the model."""

    gray: Image.Image  # full-size luma, mode "L"
    alpha: Image.Image | None  # full-size alpha, None when opaque
    small: Image.Image  # the luma at the working size, "L"
    work: torch.Tensor  # `small` as [1, h, w] float32 in [-1, 1] (paper +1, ink -1), unpadded,
    # then, for a model that takes hints, the hint planes (colorize.hints; zeros without hints)
    drawing: Drawing  # its regions and paper, at up to paint.ANALYSIS_SIDE
    hints: HintLayer | None = None  # the user's hints at the drawing's resolution

    @property
    def size(self) -> tuple[int, int]:
        return self.gray.size


def to_gray(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Any Pillow image -> (luma "L", alpha or None). Color input is re-colored, so only its
    brightness is kept; transparent areas are composited on white (see split_alpha)."""
    if image.mode in ("L", "1"):
        return image.convert("L"), None
    rgb, alpha = split_alpha(image)
    return rgb.convert("L"), alpha


class Colorizer:
    def __init__(
        self,
        checkpoint_dir: str | Path,
        device: str = "auto",
        size: int | None = None,
        shading: float | None = None,
        background: str | None = None,
        vividness: float | None = None,
    ):
        """`size`: the working long side in pixels. `shading` (0..1): how much of the model's coarse
        brightness to take (see colorspace.compose): 1 lets it darken the regions it colors, 0 keeps
        the input's brightness and only adds color. `background`: "keep" leaves paper that reaches
        the border and speech bubbles white, "color" lets the model color them like any region.
        All default to the card's "infer" section ({"size": ..., "shading": ..., "background": ...},
        for a model that works best with its own), else to default_working_side(card), 1, "keep".
        `vividness` (chroma-unet models, >= 0) overrides the card's: how far the colors lean towards
        ones the training set shows rarely (0: as trained, more muted; see colorize.chroma)."""
        self.checkpoint_dir = Path(checkpoint_dir)
        self.device = pick_device(device)
        model, self.card = load_generator(self.checkpoint_dir, "cpu")
        self.vividness = getattr(model, "vividness", None)  # None: the model has no such setting
        if vividness is not None:
            self.vividness = model.vividness = self._checked_vividness(vividness)
        self.multiple = int(getattr(model, "multiple", 1))
        # A model without hint channels still takes hints: region fill is then all they do.
        self.takes_hints = bool(getattr(model, "takes_hints", False))
        model = fuse_conv_bn(model.eval())
        # channels_last lets oneDNN (CPU) and cuDNN pick their fastest convolution kernels.
        self.model = model.to(self.device, memory_format=torch.channels_last)
        # The activations the color classes are read from: what hints are matched by (hint_walk).
        self._features: torch.Tensor | None = None
        head = getattr(self.model, "classes", None)
        if isinstance(head, nn.Module):
            head.register_forward_pre_hook(self._keep_features)
        self.size = int(size) if size else default_working_side(self.card)
        if self.size < 1:
            raise ValueError(f"working size must be a positive number of pixels, got {size}")
        self.shading = float(
            shading if shading is not None else self.card.get("infer", {}).get("shading", 1.0)
        )
        if not 0 <= self.shading <= 1:
            raise ValueError(f"shading must be between 0 and 1, got {self.shading}")
        self.background = background or self.card.get("infer", {}).get("background", "keep")
        if self.background not in BACKGROUNDS:
            source = "" if background else f"{self.checkpoint_dir / 'card.json'}: infer.background: "
            raise ValueError(
                f"{source}background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}"
            )
        self._lock = threading.Lock()  # one forward at a time per Colorizer
        self._warned_oom = False

    def __repr__(self) -> str:
        return (
            f"Colorizer({str(self.checkpoint_dir)!r}, device={self.device.type!r}, size={self.size}, "
            f"background={self.background!r}, vividness={self.vividness!r})"
        )

    # -- the three steps -------------------------------------------------------------------------
    def prepare(self, image: Image.Image | str | Path, hints: Image.Image | str | Path | None = None) -> Page:
        """`hints`: an RGBA image of any size (scaled to the page), or its path; pixels with
        alpha >= 128 are hints in their RGB color. None: hint-free."""
        if isinstance(image, Image.Image):
            if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                image = ImageOps.exif_transpose(image)
        else:
            image = open_image(image)
        gray, alpha = to_gray(image)
        small = reduce_to_side(gray, self.size)  # never upscaled: a small image runs at its own size
        work = torch.from_numpy(np.asarray(small, dtype=np.float32)).div_(127.5).sub_(1.0)[None]
        return self.with_hints(Page(gray, alpha, small, work, analyse(gray, self.size)), hints)

    def with_hints(self, page: Page, hints: Image.Image | str | Path | None) -> Page:
        """The prepared page with these hints instead of its own (None: hint-free), without
        finding its regions again: the hint planes for the model and the hint layer for the fill."""
        if isinstance(hints, (str, Path)):
            hints = hint_codec.load_rgba(hints)
        layer = hint_layer(hints, page.drawing.luma.shape[::-1]) if hints is not None else None
        work = page.work[:1]
        if self.takes_hints:  # always the same channels, so hinted and hint-free pages batch together
            planes = (hint_codec.from_rgba(hints, page.small.size)[0] if layer is not None
                      else torch.zeros(hint_codec.HINT_CHANNELS, *work.shape[-2:]))
            work = torch.cat([work, planes])
        return replace(page, work=work, hints=layer)

    def predict(self, works: Sequence[torch.Tensor], vividness: float | None = None) -> list[np.ndarray]:
        """The model's colors (uint8 h x w x 3) for inputs that all share one shape, in one pass.
        `vividness` overrides the Colorizer's for this call (the app's per-request choice)."""
        return [rgb for rgb, _ in self.predict_with_features(works, vividness, features=False)]

    def predict_with_features(self, works: Sequence[torch.Tensor], vividness: float | None = None,
                              features: bool = True) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """predict, each image's colors with the network's last features (float32 C x fh x fw, the
        unpadded part; None for a model without color classes): what finish matches hints by."""
        with self._lock:
            if vividness is not None:
                self.model.vividness = self._checked_vividness(vividness)
            try:
                rgb, feats = self._forward_with_retry(torch.stack(list(works)), features)
                return [(rgb[i], None if feats is None else feats[i]) for i in range(len(rgb))]
            finally:
                self._features = None
                if vividness is not None:
                    self.model.vividness = self.vividness

    def _keep_features(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self._features = inputs[0]

    def _checked_vividness(self, vividness: float) -> float:
        if self.vividness is None:
            raise ValueError(f"{self.checkpoint_dir}: this model has no vividness setting (color-class models only: chroma-s2d, chroma-unet)")
        if vividness < 0:
            raise ValueError(f"vividness must be 0 or more, got {vividness}")
        return float(vividness)

    def finish(self, page: Page, rgb: np.ndarray, background: str | None = None,
               features: np.ndarray | None = None) -> Image.Image:
        """`background` overrides the Colorizer's for this page (the app's per-request choice).
        `features`: from predict_with_features; with them, hints on a gray page go to the pixels
        that look like them (hint_walk), without them by brightness and connection alone."""
        background = background or self.background
        if background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
        planes = paint(page.drawing, page.small, rgb, self.shading, background)
        chroma, gain = planes.chroma, planes.gain
        if page.hints is not None:
            chroma, gain = apply_hints(chroma, gain, planes.multiply, page.drawing, page.hints, features)
        out = compose(page.gray, chroma, gain, planes.multiply)
        if page.alpha is not None:
            out.putalpha(page.alpha)
        return out

    def colorize(self, image: Image.Image | str | Path, background: str | None = None,
                 vividness: float | None = None, hints: Image.Image | str | Path | None = None) -> Image.Image:
        """One image in, the colored image out: same size; RGBA when the input had transparency.
        `hints`: color hints, an RGBA image (see prepare), or None."""
        page = self.prepare(image, hints)
        [(rgb, features)] = self.predict_with_features([page.work], vividness, features=page.hints is not None)
        return self.finish(page, rgb, background, features)

    # -- the model ------------------------------------------------------------------------------
    def _forward(self, x: torch.Tensor, features: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """[N, C, h, w] (gray in [-1, 1], then any hint planes) -> (uint8 [N, h, w, 3] RGB, and
        with `features` the network's last features float32 [N, C, fh, fw] or None)."""
        h, w = x.shape[-2:]
        m = self.multiple
        x = F.pad(x, (0, -w % m, 0, -h % m), mode="replicate")  # paper-colored edges, cropped below
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        # bf16 on a GPU that supports it, fp32 on the CPU: colorize.device.inference_precision says why
        amp = autocast(self.device, inference_precision(self.device) == "bf16")
        with torch.inference_mode(), amp:
            y = self.model(x)[..., :h, :w]
            y = ((y.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
        feats = None
        if features and self._features is not None:
            f = self._features
            hp, wp = x.shape[-2:]  # the features cover the padded input: keep the part over the image
            f = f[..., : -(-h * f.shape[-2] // hp), : -(-w * f.shape[-1] // wp)]
            feats = f.float().contiguous().cpu().numpy()
        self._features = None
        return y.permute(0, 2, 3, 1).contiguous().cpu().numpy(), feats

    def _forward_with_retry(self, x: torch.Tensor, features: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        while True:
            try:
                return self._forward(x, features)
            except torch.cuda.OutOfMemoryError:
                side = max(x.shape[-2:])
                if side <= OOM_MIN_SIDE:
                    raise
                torch.cuda.empty_cache()
                x = F.interpolate(x, scale_factor=OOM_SHRINK, mode="area")
                self.size = min(self.size, max(x.shape[-2:]))
                if not self._warned_oom:
                    log.warning(
                        "CUDA out of memory at working size %d px; retrying smaller (%d px)", side, self.size
                    )
                    self._warned_oom = True
