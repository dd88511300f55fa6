"""Parsing dapi answers: the look-alike's XML/JSON, and the real saved answers when present."""

from __future__ import annotations

import json

import pytest
from fakebooru import DEEP_PAGING_ERROR, JSON_KEYS, XML_ATTRS, FakeBooru, FakePost, make_image_bytes
from scraper_helpers import SHARED

from scraper.posts import ApiError, MalformedPage, parse_json, parse_xml

REAL = SHARED / "safebooru" / "real"
BASE = "https://safebooru.org"


def _booru(**kw) -> FakeBooru:
    posts = [
        FakePost(7, make_image_bytes(7), tags=["1girl", "jeanne_d'arc_(fate)", "a&b", '"quoted"'], rating="g"),
        FakePost(5, make_image_bytes(5), ext="png", rating="s", source="https://x.test/?a=1&b=2"),
    ]
    return FakeBooru(posts, **kw)


def test_xml_page_fields_entities_and_ratings():
    booru = _booru()
    ctype, body = booru.api_body({"tags": "", "limit": "100", "pid": "0"}, None)
    assert ctype.startswith("text/xml")
    assert body.count("<post ") == 2 and ' tags=" 1girl ' in body  # spaces around tags, like the site
    assert "jeanne_d&amp;#039;arc_(fate)" in body  # entity inside XML, as the site sends it
    booru.server.server_close()
    page = parse_xml(body.encode(), booru.url)
    assert (page.count, page.offset) == (2, 0)
    first, second = page.posts
    assert first.id == 7 and first.tags == ["1girl", "jeanne_d'arc_(fate)", "a&b", '"quoted"']
    assert first.rating == "general" and second.rating == "safe"
    assert first.file_url.startswith(booru.url + "/images/0/") and first.ext == ".jpg"
    assert second.ext == ".png" and second.file_name == f"5_{second.md5}.png"
    assert second.source == "https://x.test/?a=1&b=2"
    assert len(first.md5) == 32 and first.width == 800 and first.height == 1000


def test_xml_has_the_23_attributes_of_the_real_site():
    booru = _booru()
    booru.server.server_close()
    body = booru.api_body({"tags": ""}, None)[1]
    first = body[body.index("<post ") : body.index("/>", body.index("<post "))]
    names = [part.split("=")[0] for part in first[len("<post ") :].split('" ') if "=" in part]
    assert names == XML_ATTRS and len(names) == 23


def test_json_current_and_legacy_formats():
    booru = _booru()
    booru.server.server_close()
    current = parse_json(booru.api_body({"json": "1", "tags": ""}, None)[1].encode(), booru.url)
    legacy_booru = _booru(legacy_json=True)
    legacy_booru.server.server_close()
    raw_legacy = json.loads(legacy_booru.api_body({"json": "1", "tags": ""}, None)[1])
    assert len(raw_legacy[0]) == 15 and "file_url" not in raw_legacy[0]
    legacy = parse_json(json.dumps(raw_legacy).encode(), BASE)
    for a, b in zip(current.posts, legacy.posts):
        assert (a.id, a.md5, a.tags, a.rating) == (b.id, b.md5, b.tags, b.rating)
        # Without URLs in the answer they are built from directory and image, on --base-url.
        assert b.file_url == BASE + a.file_url[len(booru.url) :]
    assert legacy.posts[0].tags[1] == "jeanne_d'arc_(fate)"
    assert current.count is None  # JSON has no total


@pytest.mark.parametrize("body", [b"", b"  \n", b"[]"])
def test_json_no_results_is_an_empty_page(body):
    assert parse_json(body, BASE).posts == []


def test_errors_and_malformed_answers():
    with pytest.raises(ApiError, match="API limited due to abuse"):
        parse_xml(DEEP_PAGING_ERROR.encode(), BASE)
    with pytest.raises(ApiError, match="API limited"):
        parse_json(DEEP_PAGING_ERROR.encode(), BASE)  # errors come as XML even for json=1
    with pytest.raises(MalformedPage, match="no <posts>"):
        parse_xml(b"<!DOCTYPE html><html><body>Just a moment...</body></html>", BASE)
    with pytest.raises(MalformedPage):
        parse_xml(b"", BASE)
    with pytest.raises(MalformedPage, match="bad JSON"):
        parse_json(b'[{"id": 1, "hash": "', BASE)
    # A post without a usable MD5 is reported, the others still come through.
    page = parse_json(b'[{"id": 3, "hash": "xyz", "file_url": "/a.jpg"},'
                      b' {"id": 4, "hash": "' + b"a" * 32 + b'", "file_url": "/b.jpg"}]', BASE)
    assert [p.id for p in page.posts] == [4] and "post 3" in page.bad_entries[0]


@pytest.mark.skipif(not REAL.exists(), reason="../shared/safebooru/real not present")
def test_real_saved_answers_parse_and_match_the_lookalike():
    for name in ("dapi_post_json_id5979649.json", "dapi_post_json_id6077620.json"):
        body = (REAL / name).read_bytes()
        raw = json.loads(body)[0]
        assert sorted(raw) == sorted(JSON_KEYS), name  # the look-alike sends the same keys
        (post,) = parse_json(body, BASE).posts
        assert post.md5 == raw["hash"] and post.rating == "general"
        assert post.file_url == raw["file_url"] and post.ext == ".jpg"
        assert post.tags == raw["tags"].split() and post.score is None
    with pytest.raises(ApiError, match="API limited due to abuse"):
        parse_xml((REAL / "dapi_error_deep_paging.xml").read_bytes(), BASE)
    assert (REAL / "dapi_error_deep_paging.xml").read_text().strip() == DEEP_PAGING_ERROR.strip()
