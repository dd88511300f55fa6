"""A scrape killed with SIGKILL in the middle of writing files, then re-run, ends with every good
post exactly once, verified, and no partial file; a third run requests nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from fakebooru import FakeBooru, Fault, make_posts
from scraper_helpers import REPO, files_on_disk, partials, rows, statuses


def _command(booru, out, fmt="xml"):
    return [
        sys.executable, "-m", "scraper", "fetch", "--tags", "1girl solo", "--out", str(out),
        "--base-url", booru.url, "--format", fmt, "--rate", "50", "--workers", "2", "--page-size", "8",
        "--backoff", "0.01", "--timeout", "5",
    ]


def _run(cmd) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_sigkill_mid_download_then_rerun(tmp_path):
    # 30 KB images sent in 2 KB pieces 15 ms apart: ~0.25 s each, so the kill lands mid-file.
    posts = make_posts(24, size=(120, 100))
    bad = posts[5]
    out = tmp_path / "data"
    with FakeBooru(posts, drip=(2048, 0.015)) as booru:
        booru.add_fault(Fault("image", "wrong_bytes", times=-1, post_id=bad.id))
        proc = subprocess.Popen(_command(booru, out), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Kill once a few files are done and others are being written.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = [p for p in (out / "images").glob("*.jpg")] if (out / "images").exists() else []
            if len(done) >= 4 and partials(out):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        left_after_kill = partials(out)
        complete = {int(p.name.split("_")[0]) for p in (out / "images").glob("*.jpg")}
        assert left_after_kill, "the kill should have interrupted a download"
        assert 4 <= len(complete) < 23

        hits_before = len(booru.hits("image"))
        rerun = _run(_command(booru, out))
        assert rerun.returncode == 0, rerun.stderr
        good = [p for p in posts if p is not bad]
        expected = {f"{p.id}_{p.md5}.jpg": p.md5 for p in good}
        assert files_on_disk(out) == expected  # every good post once, bytes match the listing MD5
        assert not partials(out)
        # Files complete at the kill were not requested again, only the missing or interrupted.
        requested = {h.post_id for h in booru.hits("image")[hits_before:]}
        assert not requested & complete
        assert requested == {p.id for p in posts} - complete
        st = statuses(out)
        assert st[bad.id][0] == "failed" and st[bad.id][1].startswith("MD5 mismatch")
        assert all(st[p.id] == ("downloaded", None) for p in good)
        assert len(rows(out, "SELECT * FROM files")) == len(good)
        assert "failed 1: 1 MD5 mismatch" in rerun.stdout

        before = len(booru.hits("image"))
        api_before = len(booru.hits("api"))
        third = _run(_command(booru, out))
        assert third.returncode == 0
        # Only the failed post is tried again; nothing verified is requested, nothing listed.
        assert {h.post_id for h in booru.hits("image")[before:]} == {bad.id}
        assert len(booru.hits("api")) == api_before


def test_second_process_on_the_same_folder_is_refused(tmp_path):
    posts = make_posts(6, size=(120, 100))
    out = tmp_path / "data"
    with FakeBooru(posts, drip=(1024, 0.05)) as booru:
        proc = subprocess.Popen(_command(booru, out), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not booru.hits("image") and time.monotonic() < deadline:
                time.sleep(0.01)
            second = _run(_command(booru, out))
            assert second.returncode == 2
            assert "another scraper process is using this folder" in second.stderr
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
