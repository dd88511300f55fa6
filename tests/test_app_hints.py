"""Color hints in the web app: the hint image made from the editor's strokes (app.hints), the API's
optional hint image through the real server (gradio_client), and a stroke painted with the mouse in
a real headless Chromium, on a drawing of two closed boxes side by side (and cleared again with
the Clear hints button)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from app_helpers import app_server, fetch
from infer_helpers import make_checkpoint
from PIL import Image, ImageDraw

from app.hints import HELP, PALETTE, brush, cleared, hint_image, merge_layers, rgb
from app.screenshot import CHROMIUM, CHROMIUM_ARGS, editor_point, paint, show_page
from colorize.hints import HintError

SIZE = (360, 240)
LEFT, RIGHT = (20, 20, 170, 220), (190, 20, 340, 220)  # the two boxes, 4-pixel black lines
STROKE = PALETTE["hair"]["blue"]


def two_boxes() -> Image.Image:
    im = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(im)
    for box in (LEFT, RIGHT):
        draw.rectangle(box, outline=0, width=4)
    return im


def stroke_hints(size: tuple[int, int] = SIZE, color: str = STROKE) -> Image.Image:
    """A short vertical stroke in the middle of the left box, drawn at `size` (scaled from SIZE)."""
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    sx, sy = size[0] / SIZE[0], size[1] / SIZE[1]
    ImageDraw.Draw(im).line((95 * sx, 80 * sy, 95 * sx, 160 * sy), fill=(*rgb(color), 255), width=max(2, round(8 * sx)))
    return im


def share_near(image: Image.Image, box: tuple[int, int, int, int], color: str, within: float = 6) -> float:
    """The share of the box's inside (8 pixels clear of its lines) within `within` CbCr levels of `color`."""
    x0, y0, x1, y1 = box
    ycc = np.asarray(image.convert("RGB").convert("YCbCr"), np.float32)[y0 + 8 : y1 - 7, x0 + 8 : x1 - 7]
    want = np.asarray(Image.new("RGB", (1, 1), rgb(color)).convert("YCbCr"), np.float32)[0, 0]
    return float((np.hypot(ycc[..., 1] - want[1], ycc[..., 2] - want[2]) < within).mean())


# -- the hint image from the editor's value --------------------------------------------------------


def test_the_layers_merge_into_one_rgba_hint_image_and_nothing_painted_is_no_hint():
    first = stroke_hints(color=PALETTE["hair"]["red"])
    second = stroke_hints((180, 120))  # another size: scaled to the first's, painted over it
    merged = merge_layers([first, second])
    assert merged.mode == "RGBA" and merged.size == SIZE
    assert merged.getpixel((95, 120)) == (*rgb(STROKE), 255)
    assert merged.getpixel((300, 120))[3] == 0
    faint = Image.new("RGBA", SIZE, (*rgb(STROKE), 100))  # under alpha 128 nowhere counts
    assert merge_layers([]) is None and merge_layers([Image.new("RGBA", SIZE), faint]) is None


def test_the_hint_image_is_the_strokes_not_the_page(tmp_path):
    two_boxes().convert("RGBA").save(tmp_path / "background.png")
    stroke_hints().save(tmp_path / "layer_0.png")
    Image.new("RGBA", SIZE).save(tmp_path / "layer_1.png")
    files = {"background": {"path": str(tmp_path / "background.png")}, "composite": None}
    hints = hint_image({**files, "layers": [{"path": str(tmp_path / f"layer_{i}.png")} for i in (0, 1)]})
    alpha = np.asarray(hints.getchannel("A")) >= 128
    assert alpha[120, 95] and not alpha[20, 20]  # the stroke, not the box's line
    assert hint_image({**files, "layers": []}) is None and hint_image(None) is None
    (tmp_path / "layer_2.png").write_text("not a picture")
    with pytest.raises(HintError, match="did not arrive as an image"):
        hint_image({**files, "layers": [{"path": str(tmp_path / "layer_2.png")}]})


def test_clearing_keeps_the_page_file_and_drops_every_layer(tmp_path):
    page = {"path": str(tmp_path / "background.png"), "orig_name": "background.png"}
    value = {"background": page, "layers": [{"path": str(tmp_path / "layer_0.png")}], "composite": page}
    assert cleared(value) == {"background": page["path"], "layers": [], "composite": None}
    assert cleared(None) == gr.skip() == cleared({"background": None, "layers": []})  # before an upload: no change


def test_the_brush_offers_the_palette_and_any_color():
    b = brush()
    colors = [c for group in PALETTE.values() for c in group.values()]
    assert b.colors == colors and b.color_mode == "defaults" and b.default_color in colors
    assert set(PALETTE["hair"]) == {"black", "brown", "blonde", "red", "pink", "blue", "silver"}
    assert all(len(rgb(c)) == 3 for c in colors)
    assert all(name in HELP for group in PALETTE.values() for name in group)


# -- through the real server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("app-hints")
    make_checkpoint(root / "model")  # an untrained U-Net without hint channels: hints fill their regions
    with app_server(root, "--checkpoint", str(root / "model"), "--models") as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def colorize(client, page: Path, hints: Path | None = None):
    from gradio_client import handle_file

    options = {"hints": handle_file(str(hints))} if hints else {}
    return client.predict(upload=handle_file(str(page)), api_name="/colorize", **options)


def test_the_api_takes_a_hint_image_of_any_size(client, tmp_path):
    two_boxes().save(tmp_path / "boxes.png")
    stroke_hints((180, 120)).save(tmp_path / "hints.png")  # half the page's size: scaled to it
    result, _, status = colorize(client, tmp_path / "boxes.png", tmp_path / "hints.png")
    with Image.open(result) as im:
        assert im.size == SIZE
        assert share_near(im, LEFT, STROKE) > 0.95 and share_near(im, RIGHT, STROKE) < 0.05
    assert "hints" in status
    plain, _, status = colorize(client, tmp_path / "boxes.png")  # callers without hints, as before
    with Image.open(plain) as im:
        assert share_near(im, LEFT, STROKE) < 0.05
    assert "hints" not in status


def test_a_hint_image_without_hints_changes_nothing_and_a_broken_one_is_named(server, client, tmp_path):
    from gradio_client.exceptions import AppError

    two_boxes().save(tmp_path / "boxes.png")
    Image.new("RGBA", SIZE).save(tmp_path / "empty.png")
    with Image.open(colorize(client, tmp_path / "boxes.png")[0]) as a, \
            Image.open(colorize(client, tmp_path / "boxes.png", tmp_path / "empty.png")[0]) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    (tmp_path / "notes.png").write_text("this is not a picture")
    with pytest.raises(AppError, match="hints notes.png: not a readable hint image"):
        colorize(client, tmp_path / "boxes.png", tmp_path / "notes.png")
    assert "Traceback" not in server["log"].read_text()


def canvas_pixels(page) -> tuple[int, int]:
    """(pixels of the stroke's color, pixels of black ink) the editor shows over the page now."""
    canvas = page.locator("#source canvas").first
    box = canvas.bounding_box()
    (x0, y0), (x1, y1) = (editor_point(page, SIZE, corner) for corner in ((0, 0), SIZE))
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
    shown = np.asarray(shot.crop((x0 - box["x"], y0 - box["y"], x1 - box["x"], y1 - box["y"]))).astype(int)
    stroke = (np.abs(shown - rgb(STROKE)).max(axis=2) < 12).sum()
    return int(stroke), int((shown.max(axis=2) < 60).sum())


@contextlib.contextmanager
def app_with_boxes(server, tmp_path):
    """The app in headless Chromium with the two-box page in its editor."""
    from playwright.sync_api import sync_playwright

    two_boxes().save(tmp_path / "boxes.png")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server["url"], wait_until="domcontentloaded")
            show_page(page, tmp_path / "boxes.png")
            yield page
        finally:
            browser.close()


def press_colorize(page, server, results: list) -> None:
    """Press Colorize, wait for a new result (a new download link) and fetch it into `results`."""
    from playwright.sync_api import expect

    link = page.locator("#download a").first
    previous = link.get_attribute("href") if link.count() else None
    page.locator("#colorize").click()
    expect(link).to_be_visible(timeout=90_000)
    if previous:
        expect(link).not_to_have_attribute("href", previous, timeout=90_000)
    results.append(fetch(page, server, link.get_attribute("href")))


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)")
def test_strokes_painted_in_the_browser_color_their_boxes_and_stay_for_the_next_try(server, tmp_path):
    from playwright.sync_api import expect

    pink = PALETTE["hair"]["pink"]
    results = []
    with app_with_boxes(server, tmp_path) as page:
        status = page.locator("#status")

        def colorize() -> None:
            press_colorize(page, server, results)

        paint(page, SIZE, STROKE, [(95, 80), (95, 160)])  # inside the left box, from the palette
        colorize()
        expect(status).to_contain_text("360x240 colored")
        expect(status).to_contain_text("hints")
        assert canvas_pixels(page)[0] > 200  # the stroke is still there to build on
        paint(page, SIZE, pink, [(265, 80), (265, 160)])  # the next stroke, in the right box
        colorize()
        page.screenshot(path=str(tmp_path / "app-hints.png"), full_page=True)
        page.locator("#source button[aria-label='Undo']").click()  # takes the pink stroke back
        colorize()
    first, both, undone = results
    assert all(im.size == SIZE for im in results)
    assert share_near(first, LEFT, STROKE) > 0.95, "the painted box is not in the stroke's color"
    assert share_near(first, RIGHT, STROKE) < 0.05, "the color crossed into the other box"
    assert share_near(both, LEFT, STROKE) > 0.95 and share_near(both, RIGHT, pink) > 0.95
    assert share_near(undone, LEFT, STROKE) > 0.95 and share_near(undone, RIGHT, pink) < 0.05
    if os.environ.get("APP_SCREENSHOT_DIR"):  # e.g. for CI artifacts
        shutil.copy(tmp_path / "app-hints.png", os.environ["APP_SCREENSHOT_DIR"])


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)")
def test_clear_hints_removes_every_stroke_and_keeps_the_page(server, tmp_path):
    """Colorize hint-free, paint, Colorize, Clear hints, Colorize again without a re-upload: the same
    result as hint-free; then a new stroke elsewhere is followed alone."""
    from playwright.sync_api import expect

    results = []
    with app_with_boxes(server, tmp_path) as page:
        status = page.locator("#status")

        def colorize() -> None:
            press_colorize(page, server, results)

        colorize()  # hint-free, for comparison
        expect(status).not_to_contain_text("hints")
        paint(page, SIZE, STROKE, [(95, 80), (95, 160)])
        colorize()
        expect(status).to_contain_text("hints")
        assert canvas_pixels(page)[0] > 200
        page.locator("#clear-hints").click()
        # the editor reloads the page without the strokes (a few pixels of the stroke's color are the
        # palette button, which overlaps the page's left edge)
        deadline = time.monotonic() + 30
        while canvas_pixels(page)[0] > 50 and time.monotonic() < deadline:
            time.sleep(0.2)
        stroke, ink = canvas_pixels(page)
        assert stroke < 50 and ink > 2000, (stroke, ink)  # no stroke left, the boxes' lines still shown
        colorize()  # no re-upload
        expect(status).to_contain_text("360x240 colored")
        expect(status).not_to_contain_text("hints")
        paint(page, SIZE, STROKE, [(265, 80), (265, 160)])  # painting afresh works: the right box now
        colorize()
        expect(status).to_contain_text("hints")
    plain, hinted, cleared, fresh = results
    assert share_near(hinted, LEFT, STROKE) > 0.95, "the stroke did not color its box"
    assert np.array_equal(np.asarray(cleared), np.asarray(plain)), "the cleared page is not colored as hint-free"
    assert share_near(cleared, LEFT, STROKE) < 0.05
    assert share_near(fresh, RIGHT, STROKE) > 0.95 and share_near(fresh, LEFT, STROKE) < 0.05
