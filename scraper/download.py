"""Downloading one post's original file: stream it to a `.part` file beside its final name, check
that the first bytes are a JPEG or PNG (a CDN can answer with an HTML page), verify the MD5 from
the listing, and only then rename it into place. Nothing unverified ever gets the final name."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from colorize.fileio import atomic_path
from scraper.client import HttpOptions, make_session, timeouts
from scraper.posts import Post

CHUNK = 1 << 16
SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


class BadContent(Exception):
    """The server answered, but not with the file we asked for."""


@dataclass
class DownloadResult:
    post: Post
    ok: bool
    path: str = ""  # relative to DATA_DIR
    size: int = 0
    reason: str = ""  # why it failed: "<kind>: <detail>"
    requested: bool = True  # False when a finished file from a killed run was adopted

    @property
    def kind(self) -> str:
        return self.reason.split(":", 1)[0]


def image_kind(head: bytes) -> str | None:
    for magic, kind in SIGNATURES.items():
        if head.startswith(magic):
            return kind
    return None


def describe_head(head: bytes) -> str:
    text = head[:40].decode("ascii", "replace")
    printable = "".join(c if c.isprintable() else "." for c in text)
    return repr(printable)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Downloader:
    """Thread-safe: each worker thread gets its own requests.Session."""

    def __init__(self, data_dir: Path, opts: HttpOptions, attempts: int = 3):
        self.data_dir = Path(data_dir)
        self.images = self.data_dir / "images"
        self.opts = opts
        self.attempts = max(1, attempts)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = make_session(self.opts)
        return session

    def fetch(self, post: Post) -> DownloadResult:
        final = self.images / post.file_name
        rel = final.relative_to(self.data_dir).as_posix()
        if final.exists():
            # A run killed between rename and manifest update left a finished file: check, keep.
            if file_md5(final) == post.md5:
                return DownloadResult(post, True, rel, final.stat().st_size, requested=False)
            final.unlink()
        reason = ""
        for attempt in range(self.attempts):
            if attempt:
                # Faults inside the body (dropped connection, HTML page, wrong bytes) are not
                # covered by urllib3's Retry, which only sees the status line: back off here.
                time.sleep(self.opts.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            try:
                size = self._fetch_once(post, final)
                return DownloadResult(post, True, rel, size)
            except _Final as exc:
                return DownloadResult(post, False, reason=str(exc))
            except BadContent as exc:
                reason = str(exc)
            except requests.RequestException as exc:
                reason = f"transfer broken: {_short(exc)}"
            except OSError as exc:  # our side: disk full, permissions
                return DownloadResult(post, False, reason=f"cannot write: {_short(exc)}")
        return DownloadResult(post, False, reason=f"{reason} (after {self.attempts} attempts)")

    def _fetch_once(self, post: Post, final: Path) -> int:
        try:
            response = self._session().get(post.file_url, stream=True, timeout=timeouts(self.opts))
        except requests.RequestException as exc:
            # urllib3 has already retried connection errors, timeouts, 429 and 5xx with backoff.
            raise _Final(f"request failed: {_short(exc)}") from None
        with response:
            if response.status_code != 200:
                raise _Final(f"HTTP {response.status_code}{' (deleted?)' if response.status_code in (404, 410) else ''}")
            digest = hashlib.md5()
            size = 0
            head = b""
            with atomic_path(final) as tmp, open(tmp, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    if len(head) < 16:
                        head += chunk[: 16 - len(head)]
                        if len(head) >= 8 and image_kind(head) is None:
                            ctype = response.headers.get("Content-Type", "?")
                            raise BadContent(f"not an image: got {ctype} starting {describe_head(head)}")
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                if image_kind(head) is None:
                    raise BadContent(f"not an image: {size} bytes starting {describe_head(head)}")
                got = digest.hexdigest()
                if got != post.md5:
                    raise BadContent(f"MD5 mismatch: listing says {post.md5}, file has {got} ({size} bytes)")
                out.flush()
            return size


class _Final(Exception):
    """A failure that another attempt would not fix (or that urllib3 already retried)."""


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
