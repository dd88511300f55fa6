"""`python -m scraper fetch`: list a tag query, decide which posts to keep, download them with a
few parallel workers, and record everything in the manifest as it happens, so that a re-run (or a
run after a kill) only does what is left."""

from __future__ import annotations

import os
import sys
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scraper.client import ApiClient, HttpOptions
from scraper.download import Downloader, DownloadResult
from scraper.listing import Lister, ListingError, ordered_by_id, query_key
from scraper.lock import DataDirLock
from scraper.manifest import KnownPost, Manifest
from scraper.posts import Post

DEFAULT_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass
class FetchOptions:
    tags: str
    out: Path
    limit: int = 1000  # 0: no limit
    base_url: str = "https://safebooru.org"
    fmt: str = "xml"
    rate: float = 1.0  # API requests per second; 0: no limit
    workers: int = 2
    min_side: int = 0
    rating: str | None = None
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    page_size: int = 100
    attempts: int = 3  # per download, for faults inside the body
    relist: bool = False
    list_only: bool = False
    http: HttpOptions = field(default_factory=HttpOptions)


@dataclass
class Summary:
    listed: int = 0
    pages: int = 0
    kept: int = 0  # new posts kept for download by this run's listing
    downloaded: int = 0
    downloaded_bytes: int = 0
    adopted: int = 0  # finished files left by a killed run, verified locally, not requested again
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    listing_error: str = ""
    listing_note: str = ""
    dataset_files: int = 0

    def lines(self, images_dir: Path) -> list[str]:
        out = [self.listing_note] if self.listing_note else []
        out.append(f"listed {self.listed} posts in {self.pages} pages; {self.kept} new posts kept")
        mib = self.downloaded_bytes / 2**20
        out.append(f"downloaded {self.downloaded} files ({mib:.1f} MiB)")
        if self.adopted:
            out.append(f"recovered {self.adopted} finished files from an interrupted run (MD5 checked, not re-requested)")
        out.append(_counted("skipped", self.skipped))
        out.append(_counted("failed", self.failed))
        if self.listing_error:
            out.append(f"listing stopped early: {self.listing_error}")
        out.append(f"dataset: {self.dataset_files} verified images in {images_dir}")
        return out


def _counted(label: str, counter: Counter) -> str:
    total = sum(counter.values())
    if not total:
        return f"{label} 0"
    parts = ", ".join(f"{n} {why}" for why, n in counter.most_common())
    return f"{label} {total}: {parts}"


def listing_verdict(post: Post, opts: FetchOptions) -> str | None:
    """Why the listing alone rules this post out, or None to keep it."""
    if post.site_status == "deleted":
        return "deleted on the site"
    if post.ext not in opts.extensions:
        return f"file type {post.ext or '(none)'}"
    if opts.min_side and post.width and post.height and min(post.width, post.height) < opts.min_side:
        return f"smaller than {opts.min_side} px"
    if opts.rating and post.rating and post.rating[0] != opts.rating[0]:
        return f"rating {post.rating}"
    return None


class Fetch:
    def __init__(self, opts: FetchOptions, log=None):
        self.opts = opts
        self.data_dir = Path(opts.out)
        self.images = self.data_dir / "images"
        self.summary = Summary()
        self.log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
        self.key = query_key(opts.tags, opts.rating)
        self._futures: dict[Future, Post] = {}
        self._in_flight: set[str] = set()  # MD5s being downloaded right now
        self._deferred: list[Post] = []  # same MD5 as a download in flight: decided afterwards
        self._submitted: set[int] = set()  # post ids handed to a worker in this run

    def run(self) -> Summary:
        self.images.mkdir(parents=True, exist_ok=True)
        with DataDirLock(self.data_dir), Manifest(self.data_dir / "manifest.sqlite") as db:
            self.db = db
            self._sweep_partials()
            self._check_files_on_disk()
            self.stored = db.stored_md5s()
            downloader = Downloader(self.data_dir, self.opts.http, self.opts.attempts)
            self.bar = tqdm(desc="downloads", unit="file", disable=None, dynamic_ncols=True)
            self.pool = ThreadPoolExecutor(max(1, self.opts.workers), thread_name_prefix="download")
            self.downloader = downloader
            try:
                if not self.opts.list_only:
                    for post in db.posts_to_retry(self.key):  # left over from earlier runs
                        self._submit(post)
                self._list()
                self._drain(0)
                while self._deferred and not self.opts.list_only:
                    deferred, self._deferred = self._deferred, []
                    for post in deferred:
                        self._submit(post)
                    self._drain(0)
            finally:
                # On Ctrl-C, drop the queue; downloads already running finish or clean up after
                # themselves, and the next run picks up whatever is left.
                self.pool.shutdown(wait=False, cancel_futures=True)
            self.bar.close()
            self.summary.dataset_files = len(db.stored_md5s())
        return self.summary

    # ---- listing -------------------------------------------------------------------------
    def _list(self) -> None:
        opts, db = self.opts, self.db
        state = db.query_state(self.key, opts.tags)
        self._kept = db.kept_count(self.key)
        self._limit = opts.limit if opts.limit > 0 else float("inf")
        if self._kept >= self._limit:
            self.summary.listing_note = (f"listing not needed: this query has {self._kept} posts, "
                                         f"--limit {opts.limit} reached (raise it to get more)")
            return
        if state.done and not opts.relist:
            self.summary.listing_note = (f"listing not needed: this query has {self._kept} posts and the "
                                         "results ended last time (--relist looks for newer posts)")
            return
        # Normally the listing continues below the lowest post listed so far. --relist starts at
        # the newest post, and once it reaches posts listed before, jumps below them.
        by_id = ordered_by_id(opts.tags)  # with sort:, always from the top (known posts cost nothing)
        relist_first = opts.relist and state.cursor_id is not None and by_id
        starts = [None, state.cursor_id] if relist_first else [None if opts.relist or not by_id else state.cursor_id]
        client = ApiClient(opts.base_url, opts.fmt, opts.http, opts.rate)
        lister = Lister(client, opts.tags, opts.rating, opts.page_size, opts.attempts + 1,
                        opts.http.backoff, warn=self.log)
        reached_end = False
        try:
            for segment, start in enumerate(starts):
                caught_up = False
                for page in lister.pages(start):
                    caught_up = self._take_page(page) and relist_first and segment == 0
                    if self._kept >= self._limit or caught_up:
                        break
                    reached_end = page.last
                if not caught_up:
                    break
                if state.done:
                    reached_end = True  # everything below was listed by an earlier run
                    break
                self.log(f"--relist caught up with earlier listings; continuing below post {state.cursor_id}")
        except ListingError as exc:
            self.summary.listing_error = str(exc)
            self.log(f"listing stopped: {exc}")
        finally:
            client.close()
            self.summary.pages = lister.pages_fetched
        if reached_end:
            db.set_query_done(self.key, True)

    def _take_page(self, page) -> bool:
        """Decide, record and queue one page (up to --limit). True when every post on it was
        already part of this query."""
        for bad in page.bad_entries:
            self.summary.skipped["unusable listing entry"] += 1
            self.log(f"skipped a listing entry: {bad}")
        known = self.db.known_posts(self.key, (p.id for p in page.posts))
        entries, lowest = [], None
        for post in page.posts:
            if self._kept >= self._limit:
                break
            entry, counts = self._decide(post, known.get(post.id))
            entries.append(entry)
            lowest = post.id if lowest is None else min(lowest, post.id)
            self._kept += counts
            self.summary.kept += counts
        self.summary.listed += len(entries)
        self.db.record_listing(self.key, entries, lowest)
        if not self.opts.list_only:
            for post, status, _ in entries:
                if status == "pending":
                    self._submit(post)
        self._drain(max(4 * self.opts.workers, self.opts.page_size))
        return bool(page.posts) and all(p.id in known and known[p.id].linked for p in page.posts)

    def _decide(self, post: Post, known: KnownPost | None) -> tuple[tuple[Post, str, str | None], int]:
        """(manifest entry, 1 if it newly counts toward --limit for this query)."""
        new = 0 if known and known.linked else 1
        verdict = listing_verdict(post, self.opts)
        if verdict and not (known and known.status == "downloaded"):
            self.summary.skipped[verdict] += 1
            return (post, "skipped", verdict), 0
        if known and known.status == "downloaded" and known.md5 == post.md5:
            self.summary.skipped["already downloaded"] += 1
            return (post, "downloaded", None), new
        if known and known.status == "duplicate":
            self.summary.skipped["same MD5 as a stored file"] += 1
            return (post, "duplicate", known.reason), 0
        if post.md5 in self.stored:
            self.summary.skipped["same MD5 as a stored file"] += 1
            holder = self.db.file_for_md5(post.md5)
            return (post, "duplicate", f"same MD5 as post {holder[0] if holder else '?'}"), 0
        if known and known.gone:
            self.summary.failed[known.reason.split(":", 1)[0]] += 1
            return (post, "failed", known.reason), new
        return (post, "pending", None), new

    # ---- downloads -----------------------------------------------------------------------
    def _submit(self, post: Post) -> None:
        if post.md5 in self.stored:
            holder = self.db.file_for_md5(post.md5)
            self.db.set_status(post.id, "duplicate", f"same MD5 as post {holder[0] if holder else '?'}")
            self.summary.skipped["same MD5 as a stored file"] += 1
            return
        if post.md5 in self._in_flight:
            self._deferred.append(post)
            return
        if post.id in self._submitted:
            return
        self._submitted.add(post.id)
        self._in_flight.add(post.md5)
        self._futures[self.pool.submit(self.downloader.fetch, post)] = post
        self.bar.total = (self.bar.total or 0) + 1
        self.bar.refresh()

    def _drain(self, keep: int) -> None:
        """Record finished downloads; block until at most `keep` are still running."""
        while self._futures:
            done, _ = wait(list(self._futures), timeout=0 if len(self._futures) <= keep else None,
                           return_when=FIRST_COMPLETED)
            if not done:
                return
            for future in done:
                self._futures.pop(future)
                self._record(future.result())

    def _record(self, result: DownloadResult) -> None:
        post = result.post
        self._in_flight.discard(post.md5)
        if result.ok:
            self.db.record_download(post, result.path, result.size)
            self.stored.add(post.md5)
            if result.requested:
                self.summary.downloaded += 1
                self.summary.downloaded_bytes += result.size
            else:
                self.summary.adopted += 1
        else:
            self.db.record_failure(post, result.reason)
            self.summary.failed[result.kind] += 1
            self.log(f"post {post.id}: {result.reason}")
        self.bar.update(1)

    # ---- housekeeping --------------------------------------------------------------------
    def _sweep_partials(self) -> None:
        """Half-written files from a killed run (we hold the lock, so none is being written)."""
        for part in self.images.glob(".*.part"):
            part.unlink(missing_ok=True)

    def _check_files_on_disk(self) -> None:
        """A verified file deleted or truncated by hand goes back into the queue (sizes only: hashing
        100,000 files on every run would make resuming slow)."""
        sizes = {}
        with os.scandir(self.images) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    sizes[entry.name] = entry.stat(follow_symlinks=False).st_size
        missing = [md5 for md5, _, size, path in self.db.verified_files()
                   if sizes.get(Path(path).name) != size]
        if missing:
            self.log(f"{len(missing)} verified files are missing or changed on disk; fetching them again")
            self.db.forget_files(missing)
