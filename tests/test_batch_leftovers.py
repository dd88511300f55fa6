"""What a killed `colorize batch` leaves behind is cleaned by the next run, colored pages get the
permissions any other new file there gets, and the default checkpoint is found from any folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from infer_helpers import line_art, make_checkpoint

from colorize.cli import main as cli
from colorize.fileio import atomic_write_bytes, remove_stale_parts
from colorize.paths import REPO_ROOT, default_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.set_num_threads(1)
    return make_checkpoint(tmp_path_factory.mktemp("leftovers") / "ckpt")


def normal_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def test_a_rerun_removes_stale_part_files_and_pages_get_umask_permissions(ckpt, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    line_art(120, 160, seed=1).save(src / "a.png")
    line_art(120, 160, seed=2).save(src / "sub" / "b.png")
    (out / "sub").mkdir(parents=True)
    stale = [out / ".a.png.k3j_9x2a.part", out / "sub" / ".b.png.0abcdefg.part"]
    for p in stale:
        p.write_bytes(b"\0" * 1000)  # what a kill while writing leaves
        os.utime(p, (time.time() - 60, time.time() - 60))
    keep = [out / ".hidden.part", out / "notes.part"]  # not atomic_path's names: not ours to delete
    for p in keep:
        p.write_text("keep")
    assert cli(["batch", str(src), str(out), "--checkpoint", str(ckpt), "--recursive"]) == 0
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)
    for page in (out / "a.png", out / "sub" / "b.png"):
        assert stat.S_IMODE(page.stat().st_mode) == normal_mode(), oct(page.stat().st_mode)


def test_fresh_part_files_of_a_running_writer_stay(tmp_path):
    fresh = tmp_path / ".x.png.abcdefgh.part"
    fresh.write_bytes(b"1")
    assert remove_stale_parts(tmp_path, older_than=time.time() - 30) == []
    assert fresh.exists()


def test_atomic_writes_get_umask_permissions(tmp_path):
    atomic_write_bytes(tmp_path / "f.bin", b"x")
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == normal_mode()


def test_default_checkpoint_is_found_from_any_working_folder(tmp_path):
    assert default_checkpoint(tmp_path) == REPO_ROOT / "checkpoints" / "default"
    res = subprocess.run([sys.executable, "-c", "from colorize.inference.batch import DEFAULT_CHECKPOINT as d; print(d)"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()) == REPO_ROOT / "checkpoints" / "default"
    assert (Path(res.stdout.strip()) / "card.json").exists()
