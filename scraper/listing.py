"""Walking the search results page by page (`pid`), newest first. Retries pages that come back
broken or empty although the total `count` says more should exist, and goes past the site's
deep-paging cap (200,000 results) by restarting the search with `id:<LAST_ID`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from scraper.client import ApiClient
from scraper.posts import ApiError, MalformedPage, Page, Post


class ListingError(Exception):
    """The listing cannot go on (the server keeps failing or refusing)."""


@dataclass
class ListedPage:
    posts: list[Post]
    bad_entries: list[str]
    last: bool  # no results after this page


def search_tags(tags: str, rating: str | None, below_id: int | None) -> str:
    terms = tags.split()
    if rating:
        terms.append(f"rating:{rating}")
    if below_id is not None:
        terms.append(f"id:<{below_id}")
    return " ".join(terms)


def ordered_by_id(tags: str) -> bool:
    """Newest first, the default. With a sort: meta-tag, `id:<N` does not mean "after the posts
    seen so far", so neither resuming below a cursor nor the deep-paging restart is possible."""
    return not any(t.lower().startswith("sort:") for t in tags.split())


def query_key(tags: str, rating: str | None) -> str:
    """The same search written with tags in another order is the same query."""
    return search_tags(" ".join(sorted(set(tags.split()))), rating, None)


class Lister:
    def __init__(
        self,
        client: ApiClient,
        tags: str,
        rating: str | None,
        page_size: int = 100,
        attempts: int = 4,
        backoff: float = 1.0,
        warn: Callable[[str], None] = print,
    ):
        self.client = client
        self.tags = tags
        self.rating = rating
        self.page_size = page_size
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.warn = warn
        self.pages_fetched = 0

    def pages(self, below_id: int | None = None) -> Iterator[ListedPage]:
        """Yield pages until the results end. `below_id` resumes a listing under that post id."""
        pid = 0
        lowest = below_id
        while True:
            tags = search_tags(self.tags, self.rating, below_id)
            try:
                page = self._get(tags, pid)
            except ApiError as exc:
                if not ordered_by_id(self.tags):
                    raise ListingError(f"server refused pid {pid} ({exc}); with a sort: tag the search "
                                       "cannot be restarted below the last id, so it stops here") from None
                if pid == 0 or lowest is None or lowest == below_id:
                    raise ListingError(f"server refused the search {tags!r} at pid {pid}: {exc}") from None
                # Deep-paging cap: the same results, restarted below the last id we saw.
                self.warn(f"server refused pid {pid} ({exc}); restarting the search with id:<{lowest}")
                below_id, pid = lowest, 0
                continue
            self.pages_fetched += 1
            posts = page.posts
            if posts:
                lowest = min(lowest if lowest is not None else posts[0].id, *(p.id for p in posts))
            yield ListedPage(posts, page.bad_entries, self._is_last(page, pid))
            if self._is_last(page, pid):
                return
            pid += 1

    def _is_last(self, page: Page, pid: int) -> bool:
        got = len(page.posts) + len(page.bad_entries)
        if page.count is not None:
            return pid * self.page_size + got >= page.count or got == 0
        return got < self.page_size  # JSON gives no total: a short page is the last

    def _expected(self, page: Page, pid: int) -> int | None:
        if page.count is None:
            return None
        return max(0, min(self.page_size, page.count - pid * self.page_size))

    def _get(self, tags: str, pid: int) -> Page:
        problem = ""
        page = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            try:
                page = self.client.get_page(tags, pid, self.page_size)
            except MalformedPage as exc:
                problem = f"malformed answer: {exc}"
                continue
            except requests.HTTPError as exc:
                # Status errors were already retried by urllib3 (429/5xx): give up.
                raise ListingError(f"pid {pid}: {exc}") from None
            except requests.RequestException as exc:
                problem = f"request failed: {exc}"
                continue
            got = len(page.posts) + len(page.bad_entries)
            expected = self._expected(page, pid)
            if got == 0 and (expected is None or expected > 0):
                # Empty pages show up mid-results now and then; for JSON we cannot tell an empty
                # page from the end, so it gets the same retries before being believed.
                problem = f"empty page (count says {expected} expected)" if expected else "empty page"
                continue
            if expected is not None and got < expected:
                problem = f"short page: {got} posts where count says {expected} (truncated answer?)"
                continue
            return page
        if page is not None and (len(page.posts) or page.count is None or "empty page" in problem):
            # Retries exhausted: a short page is still data, an empty one is taken as the end.
            if "empty page" in problem and page.count is not None:
                self.warn(f"pid {pid} stayed empty after {self.attempts} tries although count={page.count}; "
                          "taking it as the end of the results")
            elif problem.startswith("short page"):
                self.warn(f"pid {pid}: {problem}; keeping what came")
            return page
        raise ListingError(f"pid {pid}: {problem} (after {self.attempts} tries)")
