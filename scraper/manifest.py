"""DATA_DIR/manifest.sqlite: every post seen, every file kept, every failure, how far each query's
listing got, and the cleaner's decisions. SQLite in WAL mode; each step is one transaction, so a
run killed at any moment leaves a consistent manifest. Only one thread writes (the main one)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scraper.posts import Post

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY,
    md5 TEXT NOT NULL,
    tags TEXT NOT NULL,            -- space separated, HTML entities resolved
    rating TEXT,
    width INTEGER,
    height INTEGER,
    file_url TEXT,
    sample_url TEXT,
    preview_url TEXT,
    source TEXT,
    score INTEGER,
    site_status TEXT,              -- the site's status field (active, deleted, ...)
    status TEXT NOT NULL,          -- ours: pending, downloaded, duplicate, skipped, failed
    reason TEXT,                   -- why skipped / failed / which post it duplicates
    seen_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_md5 ON posts(md5);
CREATE INDEX IF NOT EXISTS posts_status ON posts(status);
CREATE TABLE IF NOT EXISTS files (
    md5 TEXT PRIMARY KEY,          -- one file per MD5, whichever post or query brought it
    post_id INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,     -- relative to DATA_DIR
    bytes INTEGER NOT NULL,
    verified INTEGER NOT NULL,     -- 1: MD5 checked against the listing
    downloaded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id INTEGER,
    url TEXT,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    key TEXT PRIMARY KEY,          -- normalised tags (+ rating)
    tags TEXT NOT NULL,
    cursor_id INTEGER,             -- lowest post id listed so far: resume with id:<cursor_id
    done INTEGER NOT NULL DEFAULT 0,  -- 1: the listing reached the end of the results
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS query_posts (
    query TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    PRIMARY KEY (query, post_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clean (
    path TEXT PRIMARY KEY,         -- relative to DATA_DIR
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    features TEXT NOT NULL,        -- JSON: width, height, error, colorfulness, phash, faces
    decision TEXT,                 -- keep / drop
    reason TEXT,
    detail TEXT,
    cleaned_at REAL NOT NULL
);
"""

# Posts worth another try on the next run: never got a file, and not gone for good.
RETRY_STATUSES = ("pending", "failed")
PERMANENT_FAILURES = ("HTTP 404", "HTTP 410")
KEEP_OLD_STATUS = (
    "posts.status = 'downloaded' OR (excluded.status = 'pending'"
    " AND posts.status IN ('pending', 'failed', 'duplicate'))"
)


@dataclass
class KnownPost:
    status: str
    md5: str
    reason: str
    linked: bool  # already part of the query being listed

    @property
    def gone(self) -> bool:
        return self.status == "failed" and self.reason.startswith(PERMANENT_FAILURES)


@dataclass
class QueryState:
    key: str
    cursor_id: int | None
    done: bool


class Manifest:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        return _Transaction(self.db)

    # ---- queries -------------------------------------------------------------------------
    def query_state(self, key: str, tags: str) -> QueryState:
        row = self.db.execute("SELECT cursor_id, done FROM queries WHERE key=?", (key,)).fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO queries (key, tags, cursor_id, done, updated_at) VALUES (?,?,NULL,0,?)",
                (key, tags, time.time()),
            )
            return QueryState(key, None, False)
        return QueryState(key, row[0], bool(row[1]))

    def set_query_done(self, key: str, done: bool) -> None:
        self.db.execute("UPDATE queries SET done=?, updated_at=? WHERE key=?", (int(done), time.time(), key))

    def kept_count(self, key: str) -> int:
        """Posts this query has kept so far: everything that passed the listing filters and is
        not a second copy of an MD5 already stored."""
        return self.db.execute(
            "SELECT COUNT(*) FROM query_posts q JOIN posts p ON p.id = q.post_id "
            "WHERE q.query=? AND p.status IN ('pending', 'downloaded', 'failed')",
            (key,),
        ).fetchone()[0]

    def known_posts(self, key: str, ids: Iterable[int]) -> dict[int, KnownPost]:
        """What the manifest already knows about the posts among `ids`."""
        ids = list(ids)
        out: dict[int, KnownPost] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT p.id, p.status, p.md5, p.reason, q.post_id IS NOT NULL FROM posts p"
                " LEFT JOIN query_posts q ON q.query=? AND q.post_id=p.id"
                f" WHERE p.id IN ({marks})",
                (key, *chunk),
            )
            for pid, status, md5, reason, linked in rows:
                out[pid] = KnownPost(status, md5, reason or "", bool(linked))
        return out

    def record_listing(self, key: str, entries: list[tuple[Post, str, str | None]], cursor_id: int | None):
        """Store one page: (post, status, reason) for each entry, link them to the query, move the
        cursor. A post already known keeps its status when the listing only says "pending" (it
        is downloaded, a duplicate, or queued for retry); a downloaded post stays downloaded."""
        now = time.time()
        with self.transaction():
            for post, status, reason in entries:
                self.db.execute(
                    "INSERT INTO posts (id, md5, tags, rating, width, height, file_url, sample_url,"
                    " preview_url, source, score, site_status, status, reason, seen_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET md5=excluded.md5, tags=excluded.tags,"
                    " rating=excluded.rating, width=excluded.width, height=excluded.height,"
                    " file_url=excluded.file_url, sample_url=excluded.sample_url,"
                    " preview_url=excluded.preview_url, source=excluded.source, score=excluded.score,"
                    " site_status=excluded.site_status, updated_at=excluded.updated_at,"
                    f" status=CASE WHEN {KEEP_OLD_STATUS} THEN posts.status ELSE excluded.status END,"
                    f" reason=CASE WHEN {KEEP_OLD_STATUS} THEN posts.reason ELSE excluded.reason END",
                    (
                        post.id, post.md5, " ".join(post.tags), post.rating, post.width, post.height,
                        post.file_url, post.sample_url, post.preview_url, post.source, post.score,
                        post.site_status, status, reason, now, now,
                    ),
                )
                self.db.execute("INSERT OR IGNORE INTO query_posts (query, post_id) VALUES (?,?)", (key, post.id))
            if cursor_id is not None:
                self.db.execute(
                    "UPDATE queries SET cursor_id = MIN(COALESCE(cursor_id, ?), ?), updated_at=? WHERE key=?",
                    (cursor_id, cursor_id, now, key),
                )

    # ---- downloads -----------------------------------------------------------------------
    def posts_to_retry(self, key: str) -> list[Post]:
        """This query's posts that have no verified file yet and may still get one."""
        marks = ",".join("?" * len(RETRY_STATUSES))
        rows = self.db.execute(
            "SELECT p.id, p.md5, p.file_url, p.width, p.height, p.tags, p.rating, p.source, p.score,"
            " p.sample_url, p.preview_url, p.site_status, p.reason"
            " FROM query_posts q JOIN posts p ON p.id = q.post_id"
            f" WHERE q.query=? AND p.status IN ({marks}) ORDER BY p.id DESC",
            (key, *RETRY_STATUSES),
        ).fetchall()
        out = []
        for row in rows:
            reason = row[12] or ""
            if reason.startswith(PERMANENT_FAILURES):
                continue
            out.append(
                Post(
                    id=row[0], md5=row[1], file_url=row[2], width=row[3] or 0, height=row[4] or 0,
                    tags=row[5].split(), rating=row[6] or "", source=row[7] or "", score=row[8],
                    sample_url=row[9] or "", preview_url=row[10] or "", site_status=row[11] or "",
                )
            )
        return out

    def file_for_md5(self, md5: str) -> tuple[int, str] | None:
        row = self.db.execute("SELECT post_id, path FROM files WHERE md5=? AND verified=1", (md5,)).fetchone()
        return (row[0], row[1]) if row else None

    def stored_md5s(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT md5 FROM files WHERE verified=1")}

    def record_download(self, post: Post, path: str, size: int) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO files (md5, post_id, path, bytes, verified, downloaded_at) VALUES (?,?,?,?,1,?)"
                " ON CONFLICT(md5) DO UPDATE SET post_id=excluded.post_id, path=excluded.path,"
                " bytes=excluded.bytes, verified=1, downloaded_at=excluded.downloaded_at",
                (post.md5, post.id, path, size, time.time()),
            )
            self.set_status(post.id, "downloaded", None)

    def record_failure(self, post: Post, reason: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO failures (post_id, url, reason, at) VALUES (?,?,?,?)",
                (post.id, post.file_url, reason, time.time()),
            )
            self.set_status(post.id, "failed", reason)

    def set_status(self, post_id: int, status: str, reason: str | None) -> None:
        self.db.execute(
            "UPDATE posts SET status=?, reason=?, updated_at=? WHERE id=?", (status, reason, time.time(), post_id)
        )

    def verified_files(self) -> list[tuple[str, int, int, str]]:
        """(md5, post id, size, relative path) of every verified file."""
        return self.db.execute("SELECT md5, post_id, bytes, path FROM files WHERE verified=1").fetchall()

    def forget_files(self, md5s: list[str]) -> None:
        """Files that vanished from disk: drop them and put their posts back in the queue."""
        with self.transaction():
            for md5 in md5s:
                row = self.db.execute("SELECT post_id FROM files WHERE md5=?", (md5,)).fetchone()
                self.db.execute("DELETE FROM files WHERE md5=?", (md5,))
                if row:
                    self.set_status(row[0], "pending", "file missing on disk")
                # Duplicates of that MD5 pointed at the vanished file: they may supply it again.
                self.db.execute(
                    "UPDATE posts SET status='pending', reason=NULL WHERE md5=? AND status='duplicate'", (md5,)
                )

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM posts GROUP BY status").fetchall())

    # ---- cleaner -------------------------------------------------------------------------
    def clean_rows(self) -> dict[str, tuple[int, int, dict]]:
        return {
            path: (size, mtime_ns, json.loads(features))
            for path, size, mtime_ns, features in self.db.execute("SELECT path, size, mtime_ns, features FROM clean")
        }

    def tags_by_path(self) -> dict[str, tuple[int, list[str]]]:
        rows = self.db.execute("SELECT f.path, p.id, p.tags FROM files f JOIN posts p ON p.id = f.post_id")
        return {path: (post_id, tags.split()) for path, post_id, tags in rows}


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *exc):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
