"""`python -m app.screenshot docs/app.png [--checkpoint DIR]`: the README's screenshot of the app
with a result. Draws its own line art (no third-party picture ends up in the repository), starts
the app on a free local port, and drives headless Chromium through it as a user would: upload,
a few hint strokes, Colorize. The editor helpers here serve the browser tests too."""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image, ImageDraw

from app.hints import PALETTE, rgb
from colorize.fileio import atomic_path
from colorize.paths import default_checkpoint

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def draw_character(width: int = 600, height: int = 800) -> Image.Image:
    """A simple anime-style bust in black lines on white: hair with bangs, eyes, collar."""
    s = width / 600
    im = Image.new("L", (width, height), 255)
    d = ImageDraw.Draw(im)
    w = max(2, round(3 * s))

    def P(*pts):  # noqa: N802 - scaled points
        return [(x * s, y * s) for x, y in pts]

    # Hair behind the head, shoulders and shirt with a collar.
    d.polygon(
        P((130, 300), (150, 160), (300, 90), (450, 160), (470, 300), (480, 520), (120, 520)),
        outline=0,
        width=w,
    )
    d.polygon(P((90, 800), (120, 640), (230, 580), (370, 580), (480, 640), (510, 800)), outline=0, width=w)
    d.polygon(P((230, 580), (300, 680), (370, 580), (340, 570), (300, 620), (260, 570)), outline=0, width=w)
    d.line(P((300, 680), (300, 800)), fill=0, width=w)
    d.rectangle(P((265, 500), (335, 590)), fill=255)
    d.line(P((265, 500), (262, 585)), fill=0, width=w)
    d.line(P((335, 500), (338, 585)), fill=0, width=w)
    # Face.
    d.ellipse(P((170, 170), (430, 530)), fill=255, outline=0, width=w)
    # Bangs.
    d.polygon(
        P(
            (160, 300),
            (175, 190),
            (300, 140),
            (425, 190),
            (440, 300),
            (400, 230),
            (370, 290),
            (330, 215),
            (290, 285),
            (250, 220),
            (215, 290),
            (190, 240),
        ),
        fill=255,
        outline=0,
        width=w,
    )
    # Eyes with pupils and highlights, brows, nose, mouth.
    for cx in (240, 360):
        d.ellipse(P((cx - 34, 320), (cx + 34, 392)), fill=255, outline=0, width=w)
        d.ellipse(P((cx - 20, 334), (cx + 20, 388)), fill=60, outline=0, width=w)
        d.ellipse(P((cx - 12, 344), (cx + 2, 358)), fill=255)
        d.arc(P((cx - 40, 296), (cx + 40, 330)), 200, 340, fill=0, width=w)
    d.line(P((300, 410), (295, 428)), fill=0, width=w)
    d.arc(P((275, 440), (325, 470)), 20, 160, fill=0, width=w)
    return im


# Hints painted for the screenshot, in draw_character's pixels: blonde bangs and hair, a light
# cheek, a blue shirt.
STROKES = [
    (PALETTE["hair"]["blonde"], [(270, 182), (330, 182)]),
    (PALETTE["hair"]["blonde"], [(150, 340), (146, 470)]),
    (PALETTE["skin"]["light"], [(240, 470), (265, 490)]),
    (PALETTE["hair"]["blue"], [(170, 700), (200, 760)]),
]


def show_page(page, path: Path, timeout_ms: int = 30_000) -> None:
    """Upload `path` into the app's editor (#source) and wait until it is shown at its final zoom."""
    from playwright.sync_api import expect

    editor = page.locator("#source")
    expect(editor.locator("canvas").first).to_be_visible(timeout=timeout_ms)
    editor.locator("input[type=file]").set_input_files(str(path))
    expect(editor.get_by_text("Upload an image")).to_be_hidden(timeout=timeout_ms)
    zoom, steady = None, 0
    deadline = time.monotonic() + timeout_ms / 1000
    while steady < 3 and time.monotonic() < deadline:  # the editor zooms to fit in a few frames
        time.sleep(0.2)
        now = editor.locator(".zoom-number").inner_text()
        steady, zoom = (steady + 1 if now == zoom else 0), now


def editor_point(page, image_size: tuple[int, int], xy: tuple[float, float]) -> tuple[float, float]:
    """Where the pixel `xy` of an image of `image_size` shown in the editor lies on the screen: the
    editor centers the image in its canvas at the zoom it shows."""
    box = page.locator("#source canvas").first.bounding_box()
    zoom = float(page.locator("#source .zoom-number").inner_text().strip().rstrip("%")) / 100
    (w, h), (x, y) = image_size, xy
    return box["x"] + box["width"] / 2 + (x - w / 2) * zoom, box["y"] + box["height"] / 2 + (y - h / 2) * zoom


def paint(page, image_size: tuple[int, int], color: str, points: list[tuple[float, float]]) -> None:
    """One brush stroke through `points` (image pixels) in the palette's `color` ('#RRGGBB')."""
    from playwright.sync_api import expect

    editor = page.locator("#source")
    editor.locator("button[aria-label='Brush']").click()
    editor.locator("button[aria-label='Color']").click()
    r, g, b = rgb(color)
    swatches = editor.locator("menu.swatch")
    swatches.locator(f"button[style*='rgb({r}, {g}, {b})']").click()
    editor.locator("button[aria-label='Brush']").click()  # closes the palette, which covers part of the page
    expect(swatches).to_be_hidden()
    screen = [editor_point(page, image_size, p) for p in points]
    page.mouse.move(*screen[0])
    page.mouse.down()
    for x, y in screen[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.screenshot", description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="PNG to write, e.g. docs/app.png")
    p.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    args = p.parse_args(argv)
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        drawing = Path(tmp) / "character.png"
        character = draw_character()
        character.save(drawing)
        drawing_size = character.size
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "--checkpoint",
                str(args.checkpoint),
                "--models",
                "--port",
                str(port),
            ]
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            for _ in range(240):
                if server.poll() is not None:
                    return 2
                try:
                    if requests.get(url, timeout=2).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.5)
            with sync_playwright() as pw:
                exe = str(CHROMIUM) if CHROMIUM.exists() else None
                browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(url)
                show_page(page, drawing)
                for color, stroke in STROKES:
                    paint(page, drawing_size, color, stroke)
                page.locator("#colorize").click()
                expect(page.locator("#download a").first).to_be_visible(timeout=120_000)
                expect(page.locator("#compare img").first).to_be_visible(timeout=30_000)
                with atomic_path(args.out) as part:
                    page.screenshot(path=str(part.with_suffix(".png")), full_page=True)
                    shutil.move(part.with_suffix(".png"), part)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
