"""HTTP sessions for the API and for image downloads: an identifying User-Agent, timeouts, and
urllib3's Retry (exponential backoff with jitter on connection errors, 429 and 5xx, honouring
Retry-After). Every API request that goes on the wire, retries included, waits for the rate
limiter first."""

from __future__ import annotations

import random
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from scraper import __version__
from scraper.posts import Page, parse_page
from scraper.ratelimit import RateLimiter

USER_AGENT = f"colorize-scraper/{__version__} (manga/anime colorization dataset builder; python-requests)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A server asking for a longer pause than this gets this long (urllib3 caps Retry-After), not hours.
RETRY_AFTER_MAX = 300.0


@dataclass
class HttpOptions:
    timeout: float = 30.0  # seconds to wait for a connection, and between bytes of an answer
    retries: int = 5
    backoff: float = 1.0  # first pause between retries, in seconds; doubles each time, plus jitter
    user_agent: str = USER_AGENT
    pool_size: int = 4


class BackoffRetry(Retry):
    """urllib3's Retry, but the backoff starts at the first retry (urllib3 retries once without
    pausing), so a struggling server always gets a pause, with jitter."""

    def get_backoff_time(self) -> float:
        errors = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        value = self.backoff_factor * (2 ** (errors - 1)) + random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, value)))


class _PacedConnectionMixin:
    """Waits for the rate limiter after the connection is up and just before the request bytes
    go out, so the server sees the spacing we intend even when connecting (TCP, TLS) takes time,
    and retries made inside urllib3 are paced too."""

    limiter: RateLimiter

    def request(self, *args, **kwargs):
        if self.is_closed:
            self.connect()
        self.limiter.acquire()
        return super().request(*args, **kwargs)


class _PacedAdapter(HTTPAdapter):
    def __init__(self, limiter: RateLimiter, **kwargs):
        self.limiter = limiter
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        extra = {"limiter": self.limiter}
        http_conn = type("PacedHTTPConnection", (_PacedConnectionMixin, HTTPConnection), extra)
        https_conn = type("PacedHTTPSConnection", (_PacedConnectionMixin, HTTPSConnection), extra)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PacedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PacedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


def make_session(opts: HttpOptions, limiter: RateLimiter | None = None) -> requests.Session:
    retry = BackoffRetry(
        total=opts.retries,
        connect=opts.retries,
        read=opts.retries,
        status=opts.retries,
        other=0,
        backoff_factor=opts.backoff,
        backoff_jitter=opts.backoff,
        backoff_max=60.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,  # hand back the last answer so the error names its status
    )
    kwargs = {"max_retries": retry, "pool_connections": 2, "pool_maxsize": opts.pool_size}
    adapter = _PacedAdapter(limiter, **kwargs) if limiter is not None else HTTPAdapter(**kwargs)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = opts.user_agent
    return session


def timeouts(opts: HttpOptions) -> tuple[float, float]:
    return (min(opts.timeout, 10.0), opts.timeout)


class ApiClient:
    """Fetches one page of post search results, rate limited."""

    def __init__(self, base_url: str, fmt: str, opts: HttpOptions, rate: float):
        self.base_url = base_url.rstrip("/")
        self.fmt = fmt
        self.opts = opts
        self.limiter = RateLimiter(rate)
        self.session = make_session(opts, self.limiter)
        self.requests_made = 0

    def get_page(self, tags: str, pid: int, limit: int) -> Page:
        """One request. Raises requests.RequestException, ApiError or MalformedPage."""
        params = {"page": "dapi", "s": "post", "q": "index", "tags": tags, "limit": limit, "pid": pid}
        if self.fmt == "json":
            params["json"] = 1
        self.requests_made += 1
        with self.session.get(
            f"{self.base_url}/index.php", params=params, timeout=timeouts(self.opts), stream=True
        ) as response:
            response.raise_for_status()
            body = response.content
        return parse_page(body, self.fmt, self.base_url)

    def close(self) -> None:
        self.session.close()
