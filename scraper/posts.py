"""Turning one dapi answer (XML or JSON) into Post records. Knows the quirks of the format:
HTML entities in tags, one-letter ratings in XML, the 15-key JSON of older deployments, an empty
body for "no results", and the `<response success="false">` error (deep-paging cap)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

RATING_WORDS = {"g": "general", "s": "safe", "q": "questionable", "e": "explicit"}
_MD5 = re.compile(r"^[0-9a-f]{32}$")


class ApiError(Exception):
    """The server answered with `<response success="false" reason="...">`."""


class MalformedPage(Exception):
    """The answer is not a parsable post list (truncated XML, HTML challenge page, bad JSON)."""


@dataclass
class Post:
    id: int
    md5: str
    file_url: str
    width: int = 0
    height: int = 0
    tags: list[str] = field(default_factory=list)
    rating: str = ""
    source: str = ""
    score: int | None = None
    sample_url: str = ""
    preview_url: str = ""
    site_status: str = "active"

    @property
    def ext(self) -> str:
        """Lower-case extension of the original file, with the dot ('.jpg')."""
        name = urlsplit(self.file_url).path.rsplit("/", 1)[-1]
        return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def file_name(self) -> str:
        return f"{self.id}_{self.md5}{self.ext}"


@dataclass
class Page:
    posts: list[Post]
    count: int | None  # total matches (XML only; JSON does not say)
    offset: int | None
    bad_entries: list[str] = field(default_factory=list)  # one line per listing entry we could not use


def _int(value, default: int | None = 0) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _tags(text: str | None) -> list[str]:
    # Tags arrive space separated with HTML entities still in them (jeanne_d&#039;arc).
    return [html.unescape(t) for t in (text or "").split()]


def _rating(value) -> str:
    value = str(value or "").strip().lower()
    return RATING_WORDS.get(value, value)


def _make_post(raw: dict, base_url: str) -> Post:
    """Build a Post from one entry's fields (XML attributes or JSON keys). Raises ValueError."""
    post_id = _int(raw.get("id"), None)
    if post_id is None or post_id <= 0:
        raise ValueError(f"no usable id ({raw.get('id')!r})")
    md5 = str(raw.get("md5") or raw.get("hash") or "").strip().lower()
    if not _MD5.match(md5):
        raise ValueError(f"post {post_id}: no usable md5 ({md5!r})")
    file_url = str(raw.get("file_url") or "")
    directory, image = raw.get("directory"), raw.get("image")
    if not file_url and directory is not None and image:
        # Older deployments send no URLs: build them the way the site lays files out.
        file_url = f"/images/{directory}/{image}"
    if not file_url:
        raise ValueError(f"post {post_id}: no file url")
    sample_url = str(raw.get("sample_url") or "")
    preview_url = str(raw.get("preview_url") or "")
    if directory is not None and image and "file_url" not in raw:
        stem = str(image).rsplit(".", 1)[0]
        preview_url = preview_url or f"/thumbnails/{directory}/thumbnail_{stem}.jpg"
        if raw.get("sample") in (True, 1, "1", "true"):
            sample_url = sample_url or f"/samples/{directory}/sample_{stem}.jpg"
    absolute = lambda url: urljoin(base_url.rstrip("/") + "/", url) if url else ""  # noqa: E731
    score = raw.get("score")
    return Post(
        id=post_id,
        md5=md5,
        file_url=absolute(file_url),
        width=_int(raw.get("width")),
        height=_int(raw.get("height")),
        tags=_tags(raw.get("tags")),
        rating=_rating(raw.get("rating")),
        source=html.unescape(str(raw.get("source") or "")),
        score=_int(score, None) if score not in ("", None) else None,
        sample_url=absolute(sample_url),
        preview_url=absolute(preview_url),
        site_status=str(raw.get("status") or "active"),
    )


def _collect(entries, base_url: str) -> tuple[list[Post], list[str]]:
    posts, bad = [], []
    for raw in entries:
        try:
            posts.append(_make_post(raw, base_url))
        except ValueError as exc:
            bad.append(str(exc))
    return posts, bad


def _check_error_response(soup: BeautifulSoup) -> None:
    response = soup.find("response")
    if response is not None and str(response.get("success", "")).lower() == "false":
        raise ApiError(response.get("reason") or "request refused")


def parse_xml(body: bytes, base_url: str) -> Page:
    if not body.strip():
        raise MalformedPage("empty body where XML was expected")
    soup = BeautifulSoup(body, "lxml-xml")
    _check_error_response(soup)
    root = soup.find("posts")
    if root is None:
        start = body[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise MalformedPage(f"no <posts> element in the answer (starts {start!r})")
    posts, bad = _collect((p.attrs for p in root.find_all("post", recursive=False)), base_url)
    return Page(posts, _int(root.get("count"), None), _int(root.get("offset"), None), bad)


def parse_json(body: bytes, base_url: str) -> Page:
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return Page([], None, None)  # the site's way of saying "no results"
    if text.startswith("<"):
        # Errors (deep paging) come as XML even when JSON was asked for.
        soup = BeautifulSoup(body, "lxml-xml")
        _check_error_response(soup)
        raise MalformedPage(f"HTML/XML where JSON was expected (starts {text[:60]!r})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedPage(f"bad JSON ({exc})") from None
    if isinstance(data, dict) and "post" in data:  # some Gelbooru forks wrap the list
        data = data["post"]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise MalformedPage("JSON is not a list of posts")
    posts, bad = _collect(data, base_url)
    return Page(posts, None, None, bad)


def parse_page(body: bytes, fmt: str, base_url: str) -> Page:
    try:
        return parse_json(body, base_url) if fmt == "json" else parse_xml(body, base_url)
    except (ApiError, MalformedPage):
        raise
    except Exception as exc:  # untrusted input: whatever a parser trips on is a bad page, not a crash
        raise MalformedPage(f"unparsable answer ({type(exc).__name__}: {exc})") from None
