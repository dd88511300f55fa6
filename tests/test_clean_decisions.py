"""The cleaner's cheap checks and bookkeeping on images the test makes: a reason for every drop,
in the manifest and the report, a contact sheet per reason, and incremental re-runs."""

from __future__ import annotations

import json
import sqlite3

from clean_helpers import add_download, colorful, jpeg_bytes, png_bytes, sepia

from colorize.images import open_image
from scraper.clean import CleanOptions, run_clean
from scraper.manifest import Manifest

OPTS = dict(workers=1)


def _dataset(tmp_path):
    data = tmp_path / "data"
    base = colorful(1, (480, 360))
    paths = {}
    with Manifest(data / "manifest.sqlite") as db:
        paths["big"] = add_download(db, data, 1, png_bytes(base), "png")
        # The same picture smaller and re-encoded: a near-duplicate; the larger one stays.
        paths["dup"] = add_download(db, data, 2, jpeg_bytes(base.resize((400, 300)), 80))
        paths["other"] = add_download(db, data, 3, jpeg_bytes(colorful(2)))
        paths["gray"] = add_download(db, data, 4, jpeg_bytes(colorful(3).convert("L").convert("RGB")))
        paths["sepia"] = add_download(db, data, 5, jpeg_bytes(sepia(colorful(4))))
        paths["tiny"] = add_download(db, data, 6, jpeg_bytes(colorful(5, (120, 90))))
        paths["wide"] = add_download(db, data, 7, jpeg_bytes(colorful(6, (1200, 300))))
        paths["tagged"] = add_download(db, data, 8, jpeg_bytes(colorful(7)), tags=("1girl", "spot_color"))
        whole = jpeg_bytes(colorful(8))
        paths["truncated"] = add_download(db, data, 9, whole[: len(whole) // 2])
        paths["html"] = add_download(db, data, 10, b"<!DOCTYPE html><html>Just a moment...</html>")
    return data, paths


def _decisions(data):
    db = sqlite3.connect(data / "manifest.sqlite")
    try:
        return {p: (d, r, detail) for p, d, r, detail in db.execute("SELECT path, decision, reason, detail FROM clean")}
    finally:
        db.close()


def test_every_image_gets_a_decision_and_a_reason(tmp_path):
    data, paths = _dataset(tmp_path)
    logged = []
    report = run_clean(data, CleanOptions(**OPTS), log=logged.append)
    got = _decisions(data)
    expect = {
        "big": "no_face", "other": "no_face", "dup": "near_duplicate", "gray": "low_colorfulness",
        "sepia": "low_colorfulness", "tiny": "too_small", "wide": "extreme_aspect",
        "tagged": "monochrome_tag", "truncated": "unreadable", "html": "unreadable",
    }
    assert {name: got[paths[name]][1] for name in paths} == expect
    assert all(got[p][0] == "drop" for p in got)
    assert paths["big"] in got[paths["dup"]][2] and "distance" in got[paths["dup"]][2]
    assert "spot_color" in got[paths["tagged"]][2] and "aspect ratio 4.00" in got[paths["wide"]][2]
    assert "broken image" in got[paths["truncated"]][2] or "truncated" in got[paths["truncated"]][2]
    assert "not an image" in got[paths["html"]][2]
    # One line per unreadable file, naming it.
    assert sorted(line.split("/")[-1][:2] for line in logged) == ["10", "9_"]

    body = json.loads((data / "clean_report.json").read_text())
    assert body["counts"]["kept"] == 0 and body["counts"]["total"] == 10
    assert body["counts"]["dropped"] == {
        "no_face": 2, "near_duplicate": 1, "low_colorfulness": 2, "too_small": 1, "extreme_aspect": 1,
        "monochrome_tag": 1, "unreadable": 2,
    }
    by_path = {i["path"]: i for i in body["images"]}
    assert by_path[paths["gray"]]["post_id"] == 4 and by_path[paths["gray"]]["reason"] == "low_colorfulness"
    sheets = {p.stem: p for p in (data / "clean_sheets").iterdir()}
    assert set(sheets) == set(body["counts"]["dropped"])  # one sheet per drop reason, no kept sheet
    for sheet in sheets.values():
        assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and open_image(sheet).width == 1600
    assert report.kept == 0 and report.analysed == 10


def test_rerun_is_incremental(tmp_path):
    data, paths = _dataset(tmp_path)
    run_clean(data, CleanOptions(**OPTS))
    again = run_clean(data, CleanOptions(**OPTS))
    assert (again.analysed, again.reused) == (0, 10)
    # A file that changed is looked at again; a file that went away leaves the manifest.
    (data / paths["other"]).write_bytes(jpeg_bytes(colorful(3).convert("L").convert("RGB")))
    (data / paths["wide"]).unlink()
    third = run_clean(data, CleanOptions(**OPTS))
    assert (third.analysed, third.reused) == (1, 8)
    got = _decisions(data)
    assert got[paths["other"]][1] == "low_colorfulness" and paths["wide"] not in got
    # Looser options: the small image now passes the cheap checks and needs its faces looked for.
    fourth = run_clean(data, CleanOptions(min_side=64, **OPTS))
    assert fourth.analysed == 1 and _decisions(data)[paths["tiny"]][1] == "no_face"


def test_gray_and_sepia_versions_of_a_color_image_are_told_apart(tmp_path):
    from scraper.features import chroma_spread

    im = colorful(11)
    threshold = CleanOptions().min_colorfulness
    assert chroma_spread(im) > 2 * threshold
    assert chroma_spread(im.convert("L").convert("RGB")) < 0.1
    assert chroma_spread(sepia(im)) < threshold
