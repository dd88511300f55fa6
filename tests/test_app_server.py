"""The web app as users and scripts meet it: a real server in a subprocess on a free port, called
with gradio_client, and driven by a real headless Chromium (Debian's, through Playwright)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import requests
from app_helpers import app_server, fetch
from drawing_helpers import drawing, mask
from infer_helpers import line_art, make_checkpoint, make_chroma_checkpoint, mean_chroma
from PIL import Image

from app.screenshot import CHROMIUM, CHROMIUM_ARGS, show_page

ROOT = Path(__file__).resolve().parents[1]
MAX_PIXELS = 1_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    make_checkpoint(root / "models" / "first", step=1200, metrics={"val/psnr": 21.5})
    make_checkpoint(root / "models" / "second", step=3400, metrics={"val/psnr": 22.25}, seed=1)
    make_chroma_checkpoint(root / "models" / "vivid", vividness=0.5)
    (root / "examples").mkdir()
    line_art(180, 240, seed=5).save(root / "examples" / "drawing.png")
    args = ["--checkpoint", str(root / "models" / "first"), "--models", str(root / "models"),
            "--examples", str(root / "examples"), "--max-pixels", str(MAX_PIXELS), "--max-file-size", "300kb"]
    with app_server(root, *args) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def upload(client, path: Path, model: str | None = None, background: str | None = None,
           vividness: float | None = None):
    from gradio_client import handle_file

    options = {"model": model, "background": background, "vividness": vividness}
    options = {k: v for k, v in options.items() if v is not None}
    return client.predict(upload=handle_file(str(path)), api_name="/colorize", **options)


def test_the_api_colorizes_an_upload_at_full_size(server, client, tmp_path):
    page = line_art(330, 470, seed=8)
    page.save(tmp_path / "page.png")
    # The model may color the paper too: with the untrained model most of the color is there.
    result, (before, after), status = upload(client, tmp_path / "page.png", background="color")
    with Image.open(result) as im:
        assert im.format == "PNG" and im.size == page.size and mean_chroma(im) > 2
    with Image.open(after) as im, Image.open(before) as b:
        assert im.size == b.size == page.size and mean_chroma(im) > 2 and mean_chroma(b) == 0
    assert "330x470 colored" in status


def test_by_default_the_paper_stays_white_and_the_drawing_is_colored(client, tmp_path):
    drawing().save(tmp_path / "drawing.png")
    paper = mask("paper", inset=0)
    for background, clean in (("keep", True), (None, True), ("color", False)):
        with Image.open(upload(client, tmp_path / "drawing.png", background=background)[0]) as im:
            ycc = np.asarray(im.convert("YCbCr"), np.float32)
            assert mean_chroma(im) > 2, background
        assert (np.hypot(ycc[paper, 1] - 128, ycc[paper, 2] - 128).max() < 6) == clean, background


def test_transparency_survives_the_round_trip(client, tmp_path):
    page = line_art(120, 90).convert("RGBA")
    page.putalpha(Image.linear_gradient("L").resize((120, 90)))
    page.save(tmp_path / "sticker.png")
    result = upload(client, tmp_path / "sticker.png")[0]
    with Image.open(result) as im:
        assert im.mode == "RGBA"
        assert np.array_equal(np.asarray(im.getchannel("A")), np.asarray(page.getchannel("A")))


def test_the_model_picker_lists_the_checkpoints_with_step_and_metrics(server, client, tmp_path):
    config = requests.get(server["url"] + "config", timeout=10).json()
    (picker,) = [c for c in config["components"] if c["props"].get("elem_id") == "model"]
    labels = [choice[0] for choice in picker["props"]["choices"]]
    assert len(labels) == 3
    assert any("step 1200" in s and "PSNR 21.5" in s for s in labels)
    assert any("step 3400" in s and "PSNR 22.25" in s for s in labels)
    assert not any("val/" in s for s in labels)  # words, not metric keys
    (examples,) = [c for c in config["components"] if c["type"] == "dataset"]
    assert "drawing.png" in str(examples["props"]["samples"])
    line_art(64, 64).save(tmp_path / "a.png")
    second = str((server["root"] / "models" / "second").resolve())
    with (
        Image.open(upload(client, tmp_path / "a.png")[0]) as a,
        Image.open(upload(client, tmp_path / "a.png", second)[0]) as b,
    ):
        assert not np.array_equal(np.asarray(a), np.asarray(b))  # another model, other colors


def test_vividness_reaches_a_chroma_model_and_is_checked(server, client, tmp_path):
    from gradio_client.exceptions import AppError

    drawing().save(tmp_path / "drawing.png")
    vivid = str((server["root"] / "models" / "vivid").resolve())
    chroma = []
    for v in (0.0, 1.5):
        with Image.open(upload(client, tmp_path / "drawing.png", vivid, "color", v)[0]) as im:
            chroma.append(mean_chroma(im))
    assert chroma[1] > chroma[0] + 1  # leaning towards rare colors moves away from gray
    with pytest.raises(AppError, match="Vividness must be between 0 and 1.5"):
        upload(client, tmp_path / "drawing.png", vivid, vividness=3.0)
    # a model without color classes ignores the slider instead of failing
    first = str((server["root"] / "models" / "first").resolve())
    with (
        Image.open(upload(client, tmp_path / "drawing.png", first, vividness=0.0)[0]) as a,
        Image.open(upload(client, tmp_path / "drawing.png", first, vividness=1.5)[0]) as b,
    ):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming a huge image, with almost no data: what decompression bombs look like
    to a server before it decodes them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_bad_uploads_get_a_clear_message_and_the_server_keeps_serving(server, client, tmp_path):
    from gradio_client.exceptions import AppError

    (tmp_path / "notes.png").write_text("this is not a picture")
    (tmp_path / "bomb.png").write_bytes(bomb_png(40_000, 40_000))
    (tmp_path / "bomb2.png").write_bytes(bomb_png(2_000, 1_000))  # over --max-pixels, under Pillow's limit
    whole = io.BytesIO()
    line_art(300, 300).save(whole, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(whole.getvalue()[:800])
    expected = {
        "notes.png": "notes.png: not an image",
        "bomb.png": "too many pixels",
        "bomb2.png": "2000x1000 is 2.0 megapixels; the limit is 1",
        "cut.jpg": "cut.jpg: broken image",
    }
    for name, message in expected.items():
        with pytest.raises(AppError, match=message):
            upload(client, tmp_path / name)
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "big.png")  # ~470 kB, over --max-file-size 300kb
    with pytest.raises(Exception, match="(?i)too large|size"):
        upload(client, tmp_path / "big.png")
    assert "Traceback" not in server["log"].read_text()
    line_art(50, 40).save(tmp_path / "fine.png")
    with Image.open(upload(client, tmp_path / "fine.png")[0]) as im:
        assert im.size == (50, 40)


def test_served_on_localhost_only_without_analytics_or_share_link(server):
    config = requests.get(server["url"] + "config", timeout=10).json()
    assert config["analytics_enabled"] is False and config["show_error"] is False
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for address in addresses - {"127.0.0.1"}:
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, server["port"])) != 0, f"reachable on {address}"
    assert "gradio.live" not in server["log"].read_text()


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "--checkpoint", str(tmp_path / "none")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "no card.json" in result.stderr


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)")
def test_a_browser_uploads_colorizes_and_downloads(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    page_image = line_art(260, 370, seed=11)
    page_image.save(tmp_path / "my page.png")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server["url"], wait_until="domcontentloaded")
            show_page(page, tmp_path / "my page.png")  # the page editor, where hints are painted
            page.get_by_label("Let the model color them too").check()  # the untrained model's color is there
            page.locator("#colorize").click()
            link = page.locator("#download a").first
            expect(link).to_be_visible(timeout=60_000)
            expect(page.locator("#compare img").first).to_be_visible(timeout=30_000)
            expect(page.locator("#status")).to_contain_text("260x370 colored", timeout=30_000)
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            result = fetch(page, server, link.get_attribute("href"))
            shown = [fetch(page, server, img.get_attribute("src")) for img in page.locator("#compare img").all()]
        finally:
            browser.close()
    assert result.size == page_image.size and mean_chroma(result) > 2
    # The before/after view shows the upload as it was and the colored result.
    assert sorted(mean_chroma(im) > 2 for im in shown) == [False, True]
    assert all(im.size == page_image.size for im in shown)
    assert Image.open(tmp_path / "app.png").width >= 1000
    if os.environ.get("APP_SCREENSHOT_DIR"):  # e.g. for CI artifacts
        shutil.copy(tmp_path / "app.png", os.environ["APP_SCREENSHOT_DIR"])
