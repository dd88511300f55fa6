"""Shared by the app tests: the real app server in a subprocess on a free port, as `python -m app`
runs it, and the pieces of a browser test that fetch what the page shows."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(root: Path, *args: str):
    """`python -m app --device cpu ARGS` in `root`, on 127.0.0.1; yields its url, root, process,
    log file and port once the page answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "app", *args, "--port", str(port), "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_TEMP_DIR=str(root / "gradio"))
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the app exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("the app did not start within 180 s")
        yield {"url": url, "root": root, "proc": proc, "log": root / "server.log", "port": port}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def fetch(page, server: dict, url: str) -> Image.Image:
    """An image the page links to (a download or a shown picture), through the browser's session."""
    body = page.request.get(url if url.startswith("http") else server["url"] + url.lstrip("/")).body()
    return Image.open(io.BytesIO(body))
