"""`python -m colorize batch` on a folder with everything a real one holds: nested folders, a .cbz,
broken files, a colored page, a unicode name. Real runs of the command with a tiny checkpoint."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from drawing_helpers import drawing, mask
from infer_helpers import color_page, line_art, make_checkpoint, mean_chroma
from PIL import Image

from colorize.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("batch") / "ckpt")


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def make_folder(root: Path) -> Path:
    src = root / "in"
    (src / "ch1" / "extra").mkdir(parents=True)
    line_art(200, 280, seed=1).save(src / "cover.png")
    line_art(160, 230, seed=2).save(src / "ch1" / "p01.jpg", quality=95)
    line_art(90, 130, seed=3).convert("RGBA").save(src / "ch1" / "extra" / "ページ 3 ✓.webp")
    color_page(120, 160).save(src / "ch1" / "color.png")
    (src / "ch1" / "zero.jpg").write_bytes(b"")
    whole = png_bytes(line_art(240, 320, seed=4), "JPEG")
    (src / "ch1" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (src / "ch1" / "text.png").write_text("this is not a picture")
    (src / "README.txt").write_text("scanned by me")
    with zipfile.ZipFile(src / "ch1" / "book.cbz", "w") as z:
        z.writestr("ComicInfo.xml", "<ComicInfo><Series>test</Series></ComicInfo>")
        for i in range(3):
            z.writestr(f"pages/{i:03d}.png", png_bytes(line_art(100, 140, seed=10 + i)))
        z.writestr("pages/color.png", png_bytes(color_page(60, 80)))
        z.writestr("pages/broken.jpg", b"\xff\xd8\xff garbage")
    return src


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def run(*args, **kw) -> int:
    return cli(["batch", *map(str, args)], **kw)


def test_a_messy_folder_is_colored_into_a_mirror(ckpt, tmp_path, capsys):
    src = make_folder(tmp_path)
    before = snapshot(src)
    out = tmp_path / "out"
    # --background color: the untrained model's color on the paper too shows every page was colored.
    args = ["--recursive", "--batch-size", "2", "--workers", "2", "--background", "color"]
    code = run(src, out, "--checkpoint", ckpt, *args)
    text = capsys.readouterr().out
    assert code == 1  # three broken files in the folder and one in the book
    assert snapshot(src) == before  # IN_DIR is only read

    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["ch1/book.cbz", "ch1/extra/ページ 3 ✓.png", "ch1/p01.png", "cover.png"]
    for rel, original in [("cover.png", "cover.png"), ("ch1/p01.png", "ch1/p01.jpg")]:
        with Image.open(out / rel) as im, Image.open(src / original) as orig:
            assert im.size == orig.size and mean_chroma(im) > 2
    with Image.open(out / "ch1/extra/ページ 3 ✓.png") as im:
        assert im.size == (90, 130) and im.mode == "RGB"

    # One line per problem, naming the file and the reason, then the summary.
    assert "skipped README.txt: not an image" in text
    assert "skipped ch1/color.png: already in color" in text
    assert "failed ch1/zero.jpg: empty file" in text
    assert "failed ch1/truncated.jpg: broken image" in text
    assert "failed ch1/text.png: not an image Pillow can read" in text
    assert "failed ch1/book.cbz:pages/broken.jpg:" in text
    assert "colored 6, skipped 3, failed 4" in text

    # The book comes back whole and in order: colored pages, the color page and the broken page
    # as they were, ComicInfo.xml copied.
    with zipfile.ZipFile(out / "ch1/book.cbz") as z, zipfile.ZipFile(src / "ch1/book.cbz") as orig:
        assert z.namelist() == [
            "ComicInfo.xml",
            "pages/000.png",
            "pages/001.png",
            "pages/002.png",
            "pages/color.png",
            "pages/broken.jpg",
        ]
        assert z.read("ComicInfo.xml") == orig.read("ComicInfo.xml")
        assert z.read("pages/color.png") == orig.read("pages/color.png")
        assert z.read("pages/broken.jpg") == orig.read("pages/broken.jpg")
        page = Image.open(io.BytesIO(z.read("pages/001.png")))
        assert page.size == (100, 140) and mean_chroma(page) > 2

    # A re-run keeps what is done; only the broken files are tried (and reported) again.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert run(src, out, "--checkpoint", ckpt, "--recursive") == 1
    text = capsys.readouterr().out
    assert "colored 0," in text and "skipped 4: output exists" in text
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    # --overwrite redoes them; --recolor also colors the color page.
    assert run(src, out, "--checkpoint", ckpt, "--recursive", "--overwrite", "--recolor") == 1
    text = capsys.readouterr().out
    assert "colored 8," in text and (out / "ch1/color.png").exists()
    assert not [p for p in out.rglob("*.part")]


def test_a_clean_folder_exits_zero_and_only_the_top_level_without_recursive(ckpt, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    line_art(64, 80).save(src / "a.png")
    line_art(64, 80, seed=1).save(src / "a.jpg")  # same stem: both kept, named apart
    line_art(64, 80).save(src / "sub" / "b.png")
    assert run(src, tmp_path / "out", "--checkpoint", ckpt, "--format", "webp") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg.webp", "a.png.webp"]
    assert "colored 2, skipped 0, failed 0" in capsys.readouterr().out
    with Image.open(tmp_path / "out" / "a.png.webp") as im:
        assert im.format == "WEBP" and im.size == (64, 80)


def test_by_default_the_paper_stays_white(ckpt, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    drawing().save(src / "page.png")
    assert run(src, tmp_path / "out", "--checkpoint", ckpt) == 0
    with Image.open(tmp_path / "out" / "page.png") as im:
        ycc = np.asarray(im.convert("YCbCr"), np.float32)
    paper = mask("paper", inset=0)
    assert np.hypot(ycc[paper, 1] - 128, ycc[paper, 2] - 128).max() < 6
    assert ycc[paper, 0].min() >= 254  # and not darkened


def test_the_output_folder_may_not_be_inside_the_input(ckpt, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    line_art(32, 32).save(src / "a.png")
    assert run(src, src / "colored", "--checkpoint", ckpt) == 2
    assert run(src, src, "--checkpoint", ckpt) == 2
    assert "must not be inside the input folder" in capsys.readouterr().err
    assert sorted(p.name for p in src.iterdir()) == ["a.png"]
    assert run(tmp_path / "missing", tmp_path / "out", "--checkpoint", ckpt) == 2
    assert run(src, tmp_path / "out", "--checkpoint", tmp_path / "nothing") == 2
    assert "no card.json" in capsys.readouterr().err


def test_torchrun_ranks_split_the_files(ckpt, tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        line_art(40, 40, seed=i).save(src / f"{i}.png")
    done = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert run(src, tmp_path / "out", "--checkpoint", ckpt, "--device", "cpu") == 0
        done.append(capsys.readouterr().out)
    assert "colored 3," in done[0] and "colored 2," in done[1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.png" for i in range(5)]


def test_a_killed_batch_leaves_only_whole_files_and_resumes(ckpt, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        line_art(300, 400, seed=i).save(src / f"{i:02d}.png")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "colorize", "batch", str(src), str(out), "--checkpoint", str(ckpt)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("[0-9]*.png"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = list(out.glob("[0-9]*.png"))
    assert 2 <= len(finished) < 30, "the batch should have been killed part-way"
    for path in finished:  # whatever has its final name is a whole image
        with Image.open(path) as im:
            im.load()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"colored {30 - len(finished)}," in result.stdout
    assert len(list(out.glob("[0-9]*.png"))) == 30
