"""`fetch` against the local look-alike: files and hashes on disk, manifest rows, the requests the
server saw, and how the scraper lives through every fault the server can inject."""

from __future__ import annotations

import hashlib

from fakebooru import FakeBooru, FakePost, Fault, make_image_bytes, make_posts
from scraper_helpers import fetch, files_on_disk, partials, rows, statuses

from scraper.client import USER_AGENT


def _expected_files(posts) -> dict[str, str]:
    return {f"{p.id}_{p.md5}.{p.ext}": p.md5 for p in posts}


def test_fetch_keeps_verified_images_and_records_everything(tmp_path):
    posts = make_posts(23)
    posts[1].tags = ["1girl", "solo", "jeanne_d'arc_(fate)"]
    extra = [
        FakePost(2000, make_image_bytes(2000), ext="gif"),
        FakePost(2001, make_image_bytes(2001), width=300, height=900),  # below --min-side
        FakePost(2002, make_image_bytes(2002), status="deleted"),
        FakePost(2003, make_image_bytes(2003), rating="q"),
        FakePost(2004, make_image_bytes(2004, fmt="PNG"), ext="png"),
        FakePost(2005, make_image_bytes(2005), tags=["1boy"]),  # not in the query
    ]
    out = tmp_path / "data"
    with FakeBooru(posts + extra) as booru:
        summary, _ = fetch(booru, out, min_side=512, rating="general")
        image_hits = booru.hits("image")
        api_hits = booru.hits("api")
    good = posts + [extra[4]]
    assert files_on_disk(out) == _expected_files(good)  # names <id>_<md5>.<ext>, bytes verified
    assert {h.post_id for h in image_hits} == {p.id for p in good}  # nothing skipped was downloaded
    assert all(h.user_agent == USER_AGENT and "colorize" in h.user_agent for h in image_hits + api_hits)
    assert [h.params["pid"] for h in api_hits] == ["0", "1", "2"]
    assert api_hits[0].params["tags"] == "1girl solo rating:general"
    st = statuses(out)
    assert st[2000] == ("skipped", "file type .gif")
    assert st[2001] == ("skipped", "smaller than 512 px")
    assert st[2002] == ("skipped", "deleted on the site")
    assert 2005 not in st and 2003 not in st  # the server filtered them out
    assert all(st[p.id] == ("downloaded", None) for p in good)
    (tags,) = rows(out, "SELECT tags FROM posts WHERE id=?", posts[1].id)[0]
    assert tags == "1girl solo jeanne_d'arc_(fate)"
    files = rows(out, "SELECT md5, post_id, path, bytes, verified FROM files")
    assert len(files) == len(good) and all(v == 1 for *_, v in files)
    assert all(b == len(next(p.data for p in good if p.id == pid)) for _, pid, _, b, _ in files)
    assert (summary.downloaded, summary.listed, sum(summary.failed.values())) == (24, 27, 0)
    assert summary.skipped == {"file type .gif": 1, "smaller than 512 px": 1, "deleted on the site": 1}
    assert rows(out, "PRAGMA journal_mode")[0][0] == "wal"


def test_rerun_requests_nothing_already_verified(tmp_path):
    out = tmp_path / "data"
    with FakeBooru(make_posts(15)) as booru:
        fetch(booru, out)
        before_api, before_img = len(booru.hits("api")), len(booru.hits("image"))
        summary, _ = fetch(booru, out)
        assert len(booru.hits("api")) == before_api  # the listing had reached the end: not repeated
        assert len(booru.hits("image")) == before_img
        assert summary.downloaded == 0 and "listing not needed" in summary.listing_note
        summary, _ = fetch(booru, out, relist=True)  # lists again, still downloads nothing
        assert len(booru.hits("api")) == before_api + 1  # one page of known posts: caught up
        assert len(booru.hits("image")) == before_img
        assert summary.skipped["already downloaded"] == 10


def test_json_format_current_and_legacy(tmp_path):
    posts = make_posts(12)
    for legacy in (False, True):
        out = tmp_path / f"json{legacy}"
        with FakeBooru(posts, legacy_json=legacy) as booru:
            summary, _ = fetch(booru, out, fmt="json", page_size=5)
            pages = [h.params for h in booru.hits("api")]
        assert files_on_disk(out) == _expected_files(posts)
        assert all(p["json"] == "1" for p in pages) and len(pages) == 3  # 5 + 5 + 2 (short: the end)


def test_limit_then_continue_with_a_larger_limit(tmp_path):
    posts = make_posts(30)
    newest = sorted(posts, key=lambda p: -p.id)
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        fetch(booru, out, limit=7, page_size=5)
        assert files_on_disk(out) == _expected_files(newest[:7])
        assert len(booru.hits("api")) == 2
        fetch(booru, out, limit=12, page_size=5)
        # The second run continues below the last post it kept instead of paging from the top.
        resumed = booru.hits("api")[2].params
        assert resumed["pid"] == "0" and resumed["tags"] == f"1girl solo id:<{newest[6].id}"
        assert files_on_disk(out) == _expected_files(newest[:12])
        assert len(booru.hits("image")) == 12  # each file requested once over both runs


def test_relist_picks_up_new_uploads_and_stops_at_known_posts(tmp_path):
    posts = make_posts(20)
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        fetch(booru, out, limit=0, page_size=5)
        assert len(booru.hits("api")) == 4
        new = make_posts(3, first_id=5000)
        booru.add_posts(new)
        summary, _ = fetch(booru, out, limit=0, page_size=5, relist=True)
        relist = [h.params["pid"] for h in booru.hits("api")[4:]]
        assert relist == ["0", "1"]  # 3 new + 2 known, then a page of known posts: stop
        assert {h.post_id for h in booru.hits("image")[20:]} == {p.id for p in new}
    assert files_on_disk(out) == _expected_files(posts + new) and summary.kept == 3


def test_relist_jumps_below_what_an_unfinished_listing_reached(tmp_path):
    posts = make_posts(20)
    newest = sorted(posts, key=lambda p: -p.id)
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        fetch(booru, out, limit=10, page_size=5)
        new = make_posts(3, first_id=5000)
        booru.add_posts(new)
        _, log = fetch(booru, out, limit=20, page_size=5, relist=True)
        relist = [(h.params["pid"], h.params["tags"]) for h in booru.hits("api")[2:]]
    cursor = newest[9].id
    assert relist == [("0", "1girl solo"), ("1", "1girl solo"),
                      ("0", f"1girl solo id:<{cursor}"), ("1", f"1girl solo id:<{cursor}")]
    assert any("caught up" in line for line in log)
    assert files_on_disk(out) == _expected_files(new + newest[:17])  # 20 kept: 3 new + 17 newest


def test_api_rate_is_respected(tmp_path):
    rate = 10.0
    with FakeBooru(make_posts(16)) as booru:
        fetch(booru, tmp_path / "d", rate=rate, page_size=2, list_only=True)
        times = [h.t for h in booru.hits("api")]
    assert len(times) == 8
    gaps = [b - a for a, b in zip(times, times[1:])]
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert min(gaps) >= 0.9 / rate  # never two requests closer than the interval (10% for clock jitter)
    assert 0.9 * rate <= achieved <= rate


def test_retry_after_and_5xx_are_retried(tmp_path):
    posts = make_posts(6)
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        booru.add_fault(Fault("api", "status", status=429, retry_after="1", pid=0))
        booru.add_fault(Fault("api", "status", status=503, pid=0))
        booru.add_fault(Fault("image", "status", status=500, times=2, post_id=posts[0].id))
        booru.add_fault(Fault("image", "status", status=429, retry_after="1", post_id=posts[1].id))
        summary, _ = fetch(booru, out, rate=20)
        api = booru.hits("api")
        first_image = booru.hits("image", posts[1].id)
        img0 = booru.hits("image", posts[0].id)
    assert [h.fault for h in api] == ["status", "status", None]
    assert api[1].t - api[0].t >= 0.95  # Retry-After: 1 honoured
    assert len(img0) == 3 and [h.fault for h in img0] == ["status", "status", None]
    assert len(first_image) == 2 and first_image[1].t - first_image[0].t >= 0.95
    assert files_on_disk(out) == _expected_files(posts) and not summary.failed


def test_bad_downloads_fail_cleanly_and_the_run_goes_on(tmp_path):
    posts = make_posts(12)
    slow, dropped, html, wrong, gone, broken, bad_md5 = posts[:7]
    bad_md5.md5 = "0" * 32  # the listing's MD5 does not match the file
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        booru.add_fault(Fault("image", "slow", delay=1.5, post_id=slow.id))
        booru.add_fault(Fault("image", "drop", post_id=dropped.id))
        booru.add_fault(Fault("image", "html", post_id=html.id))
        booru.add_fault(Fault("image", "wrong_bytes", times=-1, post_id=wrong.id))
        booru.add_fault(Fault("image", "status", status=404, times=-1, post_id=gone.id))
        booru.add_fault(Fault("image", "status", status=500, times=-1, post_id=broken.id))
        summary, log = fetch(booru, out, timeout=0.5, retries=2)
        hits = {p.id: len(booru.hits("image", p.id)) for p in posts}
        # The next run retries what may recover (not the 404), and re-downloads nothing good.
        booru.faults.clear()
        seen = len(booru.hits("image"))
        fetch(booru, out, timeout=0.5)
        again = {h.post_id for h in booru.hits("image")[seen:]}
    good = [slow, dropped, html] + posts[7:]
    assert again == {wrong.id, bad_md5.id, broken.id}
    assert files_on_disk(out) == _expected_files(good + [wrong, broken])
    assert not partials(out)
    st = statuses(out)
    assert st[wrong.id] == ("downloaded", None)
    assert st[bad_md5.id][0] == "failed" and "listing says 000" in st[bad_md5.id][1]
    assert st[gone.id] == ("failed", "HTTP 404 (deleted?)")
    assert hits[slow.id] == 2 and hits[dropped.id] == 2 and hits[html.id] == 2
    assert hits[wrong.id] == 3 and hits[gone.id] == 1 and hits[broken.id] == 3  # 3 attempts; 1 + 2 retries
    failures = rows(out, "SELECT post_id, reason FROM failures")
    assert {pid for pid, _ in failures} == {wrong.id, bad_md5.id, gone.id, broken.id}
    assert any(reason.startswith("MD5 mismatch") for pid, reason in failures if pid == wrong.id)
    assert any("HTTP 500" in reason for pid, reason in failures if pid == broken.id)
    assert summary.failed == {"MD5 mismatch": 2, "HTTP 404 (deleted?)": 1, "HTTP 500": 1}
    assert any(f"post {gone.id}: HTTP 404" in line for line in log)


def test_listing_faults_empty_malformed_dropped_and_deep_paging(tmp_path):
    posts = make_posts(47)
    out = tmp_path / "data"
    with FakeBooru(posts, deep_cap=20) as booru:  # refuses pid * limit > 20: pid 3 at 10 per page
        booru.add_fault(Fault("api", "empty", pid=1, times=2))
        booru.add_fault(Fault("api", "malformed", pid=2))
        booru.add_fault(Fault("api", "drop", pid=0))
        booru.add_fault(Fault("api", "html", pid=0))
        summary, log = fetch(booru, out, page_size=10)
        api = [(h.params["pid"], h.params["tags"], h.fault) for h in booru.hits("api")]
    assert files_on_disk(out) == _expected_files(posts)
    assert not summary.listing_error
    newest = sorted(p.id for p in posts)[::-1]
    assert api == [
        ("0", "1girl solo", "drop"), ("0", "1girl solo", "html"), ("0", "1girl solo", None),
        ("1", "1girl solo", "empty"), ("1", "1girl solo", "empty"), ("1", "1girl solo", None),
        ("2", "1girl solo", "malformed"), ("2", "1girl solo", None),
        ("3", "1girl solo", None),  # the deep-paging refusal
        ("0", f"1girl solo id:<{newest[29]}", None), ("1", f"1girl solo id:<{newest[29]}", None),
    ]
    assert any("restarting the search with id:<" in line for line in log)
    assert rows(out, "SELECT COUNT(*) FROM posts")[0][0] == 47


def test_sorted_search_stops_at_the_deep_paging_cap_with_a_reason(tmp_path):
    with FakeBooru(make_posts(25), deep_cap=10) as booru:
        summary, _ = fetch(booru, tmp_path / "d", tags="1girl sort:score", page_size=5)
        tags = {h.params["tags"] for h in booru.hits("api")}
    assert tags == {"1girl sort:score"}  # never an id:< restart, which would break the order
    assert "cannot be restarted below the last id" in summary.listing_error
    assert summary.downloaded == 15  # what was listed before the cap is still downloaded


def test_same_md5_is_stored_once_across_queries(tmp_path):
    shared_bytes = make_image_bytes(99)
    posts = [
        FakePost(10, shared_bytes, tags=["cat"]),
        FakePost(11, make_image_bytes(11), tags=["cat"]),
        FakePost(20, shared_bytes, tags=["dog"]),
        FakePost(21, shared_bytes, tags=["dog"]),  # twice on one page, too
        FakePost(22, make_image_bytes(22), tags=["dog"]),
    ]
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        fetch(booru, out, tags="cat")
        fetch(booru, out, tags="dog")
        assert sorted(h.post_id for h in booru.hits("image")) == [10, 11, 22]
    md5 = hashlib.md5(shared_bytes).hexdigest()
    assert [n for n in files_on_disk(out) if md5 in n] == [f"10_{md5}.jpg"]
    st = statuses(out)
    assert st[20] == ("duplicate", "same MD5 as post 10") and st[21][0] == "duplicate"


def test_files_deleted_by_hand_are_fetched_again(tmp_path):
    posts = make_posts(5)
    out = tmp_path / "data"
    with FakeBooru(posts) as booru:
        fetch(booru, out)
        victim = next((out / "images").iterdir())
        victim.unlink()
        fetch(booru, out)
        assert len(booru.hits("image")) == 6
    assert files_on_disk(out) == _expected_files(posts)


def test_list_only_downloads_nothing(tmp_path):
    with FakeBooru(make_posts(8)) as booru:
        summary, _ = fetch(booru, tmp_path / "d", list_only=True)
        assert not booru.hits("image") and summary.listed == 8
    assert {s for s, _ in statuses(tmp_path / "d").values()} == {"pending"}
