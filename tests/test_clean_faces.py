"""The face classifier on real images from ../shared/data (skipped when absent): animeface must
find faces (it silently finds none with Pillow >= 12), and one face / several faces / no face /
a small face lead to keep / drop decisions; the export is what `colorize train --data` reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from clean_helpers import jpeg_bytes
from scraper_helpers import REPO, SHARED

from colorize.images import list_images, load_rgb
from scraper.clean import CleanOptions, run_clean
from scraper.export import MARKER
from scraper.faces import detect_faces

COLOR = SHARED / "data" / "color"
MANGA = SHARED / "data" / "manga"
pytestmark = pytest.mark.skipif(not COLOR.exists(), reason="../shared/data not present")

CASES = {
    "s2p_V1_images_test13.jpg": ("keep", None),
    "w2xchainer_images_original.png": ("keep", None),
    "imgutils_style_age_2015s_danbooru_3726124.jpg": ("drop", "multiple_faces"),
    "imgutils_style_age_2020s_danbooru_6916916.jpg": ("drop", "no_face"),
    "imgutils_real_anime_sankaku_34266021.jpg": ("drop", "small_face"),
}


def test_animeface_finds_the_face_on_real_face_images():
    for name in ("s2p_V4_face_10.jpg", "s2p_V4_face_2.jpg", "s2p_V4_face_27.jpg"):
        faces = detect_faces(load_rgb(COLOR / name))
        assert faces, f"animeface found no face on {name}: is Pillow >= 12 installed?"
        x, y, w, h, likelihood = faces[0]
        assert likelihood >= 0.8 and 0.1 < (w * h) / (256 * 256) < 0.5


def test_classifier_decisions_and_export(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    for name in CASES:
        shutil.copy(COLOR / name, data / "images" / name)
    shutil.copy(MANGA / "mangaocr_tests_data_images_04.jpg", data / "images" / "manga.jpg")
    # A smaller re-encoded copy of a kept image: the larger one is kept, this one dropped.
    small = load_rgb(COLOR / "s2p_V1_images_test13.jpg").resize((560, 431))
    (data / "images" / "copy.jpg").write_bytes(jpeg_bytes(small, 85))
    export = tmp_path / "export"

    run_clean(data, CleanOptions(workers=2), export=export)  # through the process pool

    report = json.loads((data / "clean_report.json").read_text())
    got = {i["path"].split("/", 1)[1]: (i["decision"], i["reason"]) for i in report["images"]}
    for name, expected in CASES.items():
        assert got[name] == expected, name
    assert got["copy.jpg"] == ("drop", "near_duplicate")
    assert got["manga.jpg"] == ("drop", "low_colorfulness")
    kept = sorted(n for n, (d, _) in got.items() if d == "keep")
    # The export: exactly the kept images, hard-linked, found by colorize's own image lister.
    assert sorted(p.name for p in list_images(export)) == kept
    assert all(os.path.samefile(export / n, data / "images" / n) for n in kept)
    assert (export / MARKER).exists()
    assert {p.stem for p in (data / "clean_sheets").iterdir()} == {
        "kept", "multiple_faces", "no_face", "small_face", "near_duplicate", "low_colorfulness"}

    # The command line: the same result again, measurements reused; a stricter face size drops more.
    cli = subprocess.run(
        [sys.executable, "-m", "scraper", "clean", str(data), "--export", str(export), "--min-face-frac", "0.1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "analysed 0 images; 7 unchanged" in cli.stdout
    assert "kept 1" in cli.stdout and "exported 1 images" in cli.stdout
    assert [p.name for p in list_images(export)] == ["w2xchainer_images_original.png"]


def test_export_refuses_a_folder_it_did_not_make(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    shutil.copy(COLOR / "w2xchainer_images_original.png", data / "images")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"mine")
    cli = subprocess.run([sys.executable, "-m", "scraper", "clean", str(data), "--export", str(foreign),
                          "--workers", "1"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "was not made by" in cli.stderr
    assert (foreign / "holiday.jpg").read_bytes() == b"mine"
