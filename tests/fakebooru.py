"""A local Safebooru look-alike for tests and benchmarks: a real HTTP server on 127.0.0.1 that
answers the dapi post search in XML and JSON the way safebooru.org does (formats copied from the
saved real answers: 23 XML attributes, tags with HTML entities and spaces around them, one-letter
ratings in XML, a bare JSON array served as text/html, the deep-paging refusal), serves the image
files, logs every request, and injects faults on demand.

    with FakeBooru(make_posts(30)) as booru:
        booru.add_fault(Fault("image", "status", status=429, retry_after="1"))
        ... python -m scraper fetch --base-url booru.url ...
        booru.hits("image")

Run it by hand: `python tests/fakebooru.py --posts 200 --port 8000`.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

RATING_WORD = {"g": "general", "s": "safe", "q": "questionable", "e": "explicit"}
DEEP_PAGING_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<response success="false" reason="Search error: API limited due to abuse."/>\n'
)
CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body>Checking your browser before accessing safebooru.org.</body></html>"
)
# Attribute order of a real <post/> element.
XML_ATTRS = (
    "height score file_url parent_id sample_url sample_width sample_height preview_url rating tags id "
    "width change md5 creator_id has_children created_at status source has_notes has_comments "
    "preview_width preview_height"
).split()
JSON_KEYS = (
    "preview_url sample_url file_url directory hash width height id image change owner parent_id rating "
    "sample sample_height sample_width score tags source status has_notes comment_count"
).split()
LEGACY_JSON_KEYS = (
    "directory hash height id image change owner parent_id rating sample sample_height sample_width "
    "score tags width"
).split()


def php_escape(text: str) -> str:
    """htmlspecialchars(ENT_QUOTES), which is how the site stores tags (jeanne_d&#039;arc)."""
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#039;")
        .replace("<", "&lt;").replace(">", "&gt;")
    )


@dataclass
class FakePost:
    id: int
    data: bytes  # the original file as served
    ext: str = "jpg"
    tags: list[str] = field(default_factory=lambda: ["1girl", "solo"])
    rating: str = "g"  # XML letter
    width: int = 800
    height: int = 1000
    md5: str = ""  # what the listing claims; defaults to the real MD5 of `data`
    status: str = "active"
    source: str = "https://example.com/art"
    score: int = 3

    def __post_init__(self):
        if not self.md5:
            self.md5 = hashlib.md5(self.data).hexdigest()
        # Like the real site, the stored name is not the MD5 (a SHA-1 of the file there).
        self.image = f"{hashlib.sha1(self.data + str(self.id).encode()).hexdigest()}.{self.ext}"
        self.directory = self.id // 1000

    @property
    def path(self) -> str:
        return f"/images/{self.directory}/{self.image}"


@dataclass
class Fault:
    """What to do to matching requests, `times` times (-1: always).

    target: "api" or "image". action: "status" (answer `status`, with `retry_after`), "slow" (wait
    `delay` s before answering), "drop" (close the connection halfway through the body), "html" (a
    CDN challenge page with status 200), "empty" (API: a page with no posts but the real count),
    "malformed" (API: the XML cut off), "wrong_bytes" (image: other bytes than listed)."""

    target: str
    action: str
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    times: int = 1
    pid: int | None = None  # API faults: only this page
    post_id: int | None = None  # image faults: only this post

    def matches(self, target: str, pid: int | None, post_id: int | None) -> bool:
        if self.times == 0 or self.target != target:
            return False
        if self.pid is not None and self.pid != pid:
            return False
        return self.post_id is None or self.post_id == post_id


@dataclass
class Hit:
    t: float  # time.monotonic() when the request line arrived
    kind: str  # api, image, other
    params: dict
    post_id: int | None
    fault: str | None
    user_agent: str


class FakeBooru:
    def __init__(
        self,
        posts: list[FakePost],
        *,
        deep_cap: int = 200_000,
        legacy_json: bool = False,
        drip: tuple[int, float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.posts = sorted(posts, key=lambda p: -p.id)
        self.by_path = {p.path: p for p in posts}
        self.deep_cap = deep_cap  # pid * limit beyond this: the deep-paging refusal
        self.legacy_json = legacy_json  # answer JSON with the 15 keys of older deployments
        self.drip = drip  # (bytes, seconds): send image bodies in slow pieces
        self.faults: list[Fault] = []
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[list[int], list[FakePost]]] = {}
        self.server = _Server((host, port), _handler_for(self))
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # ---- control ---------------------------------------------------------------------------
    def start(self) -> FakeBooru:
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fakebooru",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeBooru:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def add_posts(self, posts: list[FakePost]) -> None:
        """New uploads: they appear at the top of the results (newest first)."""
        with self._lock:
            self.posts = sorted(self.posts + posts, key=lambda p: -p.id)
            self.by_path.update({p.path: p for p in posts})
            self._cache.clear()

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def hits(self, kind: str | None = None, post_id: int | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.log if (kind is None or h.kind == kind)
                    and (post_id is None or h.post_id == post_id)]

    # ---- internals -------------------------------------------------------------------------
    def _take_fault(self, target: str, pid: int | None, post_id: int | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(target, pid, post_id):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.log.append(hit)

    def search(self, tags: str) -> list[FakePost]:
        """Posts matching a tag query, newest first: plain tags, -tag, rating:, id:<N, id:>N."""
        include, exclude, rating, below, above = [], [], None, None, None
        for term in tags.split():
            low = term.lower()
            if low.startswith("id:<"):
                below = int(low[4:])
            elif low.startswith("id:>"):
                above = int(low[4:])
            elif low.startswith("rating:"):
                rating = low[7:8]
            elif low.startswith("sort:"):
                continue
            elif low.startswith("-"):
                exclude.append(low[1:])
            else:
                include.append(low)
        key = (tuple(include), tuple(exclude), rating)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            matched = [
                p for p in self.posts
                if all(t in p.tags for t in include) and not any(t in p.tags for t in exclude)
                and (rating is None or p.rating == rating)
            ]
            cached = ([-p.id for p in matched], matched)
            with self._lock:
                self._cache[key] = cached
        neg_ids, matched = cached
        start = bisect.bisect_right(neg_ids, -below) if below is not None else 0
        end = bisect.bisect_left(neg_ids, -above) if above is not None else len(matched)
        return matched[start:end]

    def _xml_post(self, p: FakePost) -> str:
        base = self.url
        values = {
            "height": p.height, "score": p.score, "file_url": base + p.path, "parent_id": "",
            "sample_url": f"{base}/samples/{p.directory}/sample_{p.image.rsplit('.', 1)[0]}.jpg",
            "sample_width": min(p.width, 850), "sample_height": min(p.height, 850),
            "preview_url": f"{base}/thumbnails/{p.directory}/thumbnail_{p.image.rsplit('.', 1)[0]}.jpg",
            "rating": p.rating, "tags": " " + " ".join(php_escape(t) for t in p.tags) + " ", "id": p.id,
            "width": p.width, "change": 1700000000 + p.id, "md5": p.md5, "creator_id": 1,
            "has_children": "false",
            "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime(1600000000 + p.id)),
            "status": p.status, "source": p.source, "has_notes": "false", "has_comments": "false",
            "preview_width": 150, "preview_height": 150,
        }
        return "<post " + " ".join(f"{k}={quoteattr(str(values[k]))}" for k in XML_ATTRS) + "/>"

    def _json_post(self, p: FakePost) -> dict:
        stem = p.image.rsplit(".", 1)[0]
        values = {
            "preview_url": f"{self.url}/thumbnails/{p.directory}/thumbnail_{stem}.jpg",
            "sample_url": f"{self.url}/samples/{p.directory}/sample_{stem}.jpg",
            "file_url": self.url + p.path, "directory": p.directory, "hash": p.md5, "width": p.width,
            "height": p.height, "id": p.id, "image": p.image, "change": 1700000000 + p.id,
            "owner": "danbooru", "parent_id": 0, "rating": RATING_WORD.get(p.rating, p.rating),
            "sample": p.width > 850, "sample_height": min(p.height, 850), "sample_width": min(p.width, 850),
            "score": p.score, "tags": " ".join(php_escape(t) for t in p.tags), "source": p.source,
            "status": p.status, "has_notes": False, "comment_count": 0,
        }
        if self.legacy_json:
            values["directory"] = str(p.directory)
            return {k: values[k] for k in LEGACY_JSON_KEYS}
        return {k: values[k] for k in JSON_KEYS}

    def api_body(self, params: dict, fault: Fault | None) -> tuple[str, str]:
        """(content type, body) for a post search."""
        limit = max(0, min(int(params.get("limit", 100) or 100), 1000))
        pid = max(0, int(params.get("pid", 0) or 0))
        as_json = params.get("json") == "1"
        if pid * limit > self.deep_cap:
            return "text/xml", DEEP_PAGING_ERROR
        matched = self.search(params.get("tags", ""))
        page = [] if fault and fault.action == "empty" else matched[pid * limit : pid * limit + limit]
        if as_json:
            if not page:
                return "text/html; charset=utf-8", "" if self.legacy_json else "[]"
            body = json.dumps([self._json_post(p) for p in page])
            ctype = "text/html; charset=utf-8"
        else:
            inner = "".join(self._xml_post(p) for p in page)
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<posts count="{len(matched)}" offset="{pid * limit}">{inner}</posts>\n'
            )
            ctype = "text/xml; charset=utf-8"
        if fault and fault.action == "malformed":
            body = body[: max(40, len(body) * 6 // 10)]
        return ctype, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # Clients that hang up (a killed scraper, a timeout) are part of the tests, not errors.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


def _handler_for(booru: FakeBooru):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def log_message(self, *args):  # quiet
            pass

        def setup(self):
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm and delayed
            # ACKs add 40 ms to every answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):
            t = time.monotonic()
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            ua = self.headers.get("User-Agent", "")
            try:
                if url.path == "/index.php" and params.get("page") == "dapi" and params.get("s") == "post":
                    self._api(t, params, ua)
                elif url.path in booru.by_path:
                    self._image(t, booru.by_path[url.path], params, ua)
                else:
                    booru._record(Hit(t, "other", params, None, None, ua))
                    self._send(404, "text/html", b"<html><body>404 Not Found</body></html>")
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout): nothing to do

        def _api(self, t, params, ua):
            pid = int(params.get("pid", 0) or 0)
            fault = booru._take_fault("api", pid, None)
            booru._record(Hit(t, "api", params, None, fault.action if fault else None, ua))
            ctype, body = booru.api_body(params, fault)
            if fault and self._generic_fault(fault, body.encode("utf-8")):
                return
            self._send(200, ctype, body.encode("utf-8"))

        def _image(self, t, post, params, ua):
            fault = booru._take_fault("image", None, post.id)
            booru._record(Hit(t, "image", params, post.id, fault.action if fault else None, ua))
            data = post.data
            if fault and self._generic_fault(fault, data):
                return
            if fault and fault.action == "wrong_bytes":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            ctype = "image/png" if post.ext == "png" else "image/jpeg"
            self._send(200, ctype, data, drip=booru.drip)

        def _generic_fault(self, fault: Fault, body: bytes) -> bool:
            """Apply the faults that both endpoints share; True when the answer has been sent."""
            if fault.action == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send(fault.status, "text/html", f"<html><body>{fault.status}</body></html>".encode(),
                           headers=headers)
                return True
            if fault.action == "slow":
                time.sleep(fault.delay)
                return False
            if fault.action == "html":
                self._send(200, "text/html; charset=UTF-8", CHALLENGE_PAGE.encode())
                return True
            if fault.action == "drop":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return True
            return False

        def _send(self, status, ctype, body: bytes, headers=None, drip=None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if drip:
                size, pause = drip
                for i in range(0, len(body), size):
                    self.wfile.write(body[i : i + size])
                    self.wfile.flush()
                    time.sleep(pause)
            else:
                self.wfile.write(body)

    return Handler


# ---- test data -----------------------------------------------------------------------------
def make_image_bytes(seed: int, size: tuple[int, int] = (48, 40), fmt: str = "JPEG") -> bytes:
    """A small, unique, real image (noise, so that every seed gives different bytes)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def make_posts(n: int, first_id: int = 1000, size: tuple[int, int] = (48, 40), **kw) -> list[FakePost]:
    """n posts with real JPEG files, ids first_id .. first_id+n-1."""
    return [FakePost(first_id + i, make_image_bytes(first_id + i, size), **kw) for i in range(n)]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    booru = FakeBooru(make_posts(args.posts), port=args.port).start()
    print(f"serving {args.posts} posts at {booru.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        booru.stop()


if __name__ == "__main__":
    main()
