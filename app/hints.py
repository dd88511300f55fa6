"""Color hints in the app: the brush and its palette of usual anime colors, and the hint image the
Colorizer takes, made from the strokes a user paints over the page in the image editor.

The editor sends {"background": the page, "layers": the strokes, "composite": both}. The hint
image is the layers merged (RGBA, transparent where nothing is painted), never the composite: the
page's own lines must not count as hints."""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image

from colorize.hints import ALPHA_MIN, HintError

# Usual anime colors, in the order the brush's palette shows them; the picker offers any other.
PALETTE = {
    "skin": {"fair": "#FDE6D6", "light": "#F5CBA7", "tan": "#D9A077", "brown": "#9A6444"},
    "hair": {
        "black": "#2A2A36",
        "brown": "#6E4128",
        "blonde": "#F0CF6A",
        "red": "#C62F2F",
        "pink": "#F49AC1",
        "blue": "#3C6FD8",
        "silver": "#C9CDD8",
    },
    "eyes": {"blue": "#2E8BEA", "green": "#2FA35A", "amber": "#E0951B", "violet": "#8654D0"},
}
DEFAULT_COLOR = PALETTE["hair"]["brown"]  # visible on white paper and next to black ink

HELP = (
    "**Color hints (optional).** Paint a stroke inside an area with the brush: a closed area whose "
    "strokes have one color comes back in that color (a model trained with hints follows them "
    "beyond closed lines too). Palette: skin "
    + ", ".join(PALETTE["skin"])
    + " · hair "
    + ", ".join(PALETTE["hair"])
    + " · eyes "
    + ", ".join(PALETTE["eyes"])
    + "; the rainbow button picks any color. Undo (↶) takes the last stroke back, the eraser rubs "
    "strokes out, and **Clear hints** removes every stroke and keeps the page (the bin clears the "
    "page too: drop it again to start over). Strokes stay after **Colorize**: add one and press it "
    "again to refine the result."
)


def rgb(color: str) -> tuple[int, int, int]:
    """'#RRGGBB' -> (r, g, b)."""
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def brush() -> gr.Brush:
    colors = [c for group in PALETTE.values() for c in group.values()]
    return gr.Brush(colors=colors, default_color=DEFAULT_COLOR, color_mode="defaults")


def page_file(value: dict | None) -> dict | None:
    """The page under the strokes, as the editor sent it (a file), or None before an upload."""
    return (value or {}).get("background")


def cleared(value: dict | None):
    """The editor's value with every stroke gone and the page kept (the file the editor sent), or
    no change before an upload."""
    page = page_file(value)
    path = page.get("path") if isinstance(page, dict) else page
    if not path:
        return gr.skip()
    return {"background": path, "layers": [], "composite": None}


def merge_layers(layers: list[Image.Image]) -> Image.Image | None:
    """Layers (any modes; later ones on top, scaled to the first's size) -> one RGBA hint image,
    or None when nothing in them is a hint (no pixel with alpha >= ALPHA_MIN)."""
    merged = None
    for layer in layers:
        layer = layer.convert("RGBA")
        if merged is None:
            merged = Image.new("RGBA", layer.size, (0, 0, 0, 0))
        if layer.size != merged.size:
            layer = layer.resize(merged.size, Image.Resampling.NEAREST)
        merged = Image.alpha_composite(merged, layer)
    if merged is None or not (np.asarray(merged.getchannel("A")) >= ALPHA_MIN).any():
        return None
    return merged


def hint_image(value: dict | None) -> Image.Image | None:
    """The strokes painted in the editor as one RGBA hint image, or None without strokes."""
    layers = []
    for layer in (value or {}).get("layers") or []:
        path = layer.get("path") if isinstance(layer, dict) else layer
        if not path:
            continue
        try:
            with Image.open(path) as im:
                im.load()
                layers.append(im.convert("RGBA"))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise HintError(f"Your strokes did not arrive as an image ({type(exc).__name__}); paint again.") from None
    return merge_layers(layers)
