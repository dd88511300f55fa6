"""Shared by the scraper tests: run a fetch against a FakeBooru with test-friendly timings, and
read back what it left on disk."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from scraper.client import HttpOptions
from scraper.fetch import Fetch, FetchOptions

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def fetch(booru, out: Path, tags: str = "1girl solo", **kw):
    """Run one fetch in-process; returns (summary, log lines)."""
    http = HttpOptions(timeout=kw.pop("timeout", 2.0), retries=kw.pop("retries", 3),
                       backoff=kw.pop("backoff", 0.01))
    opts = FetchOptions(tags=tags, out=out, base_url=booru.url, rate=kw.pop("rate", 0),
                        page_size=kw.pop("page_size", 10), http=http, **kw)
    log: list[str] = []
    summary = Fetch(opts, log=log.append).run()
    return summary, log


def files_on_disk(out: Path) -> dict[str, str]:
    """{file name: md5 of its bytes} under out/images."""
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted((out / "images").iterdir())}


def partials(out: Path) -> list[Path]:
    return sorted((out / "images").glob("*.part")) + sorted((out / "images").glob(".*.part"))


def rows(out: Path, sql: str, *args) -> list[tuple]:
    db = sqlite3.connect(out / "manifest.sqlite")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def statuses(out: Path) -> dict[int, tuple[str, str | None]]:
    return {pid: (status, reason) for pid, status, reason in rows(out, "SELECT id, status, reason FROM posts")}
