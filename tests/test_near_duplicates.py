"""One definition of a near-duplicate (colorize.near_duplicates) for the scraper's cleaner and
`diagnose data`: on the same real image files, made here, both find the same pairs at the same
distances, including a pair between 4 and 8 bits apart, where their old thresholds disagreed."""

from __future__ import annotations

import json
import re

from clean_helpers import colorful, jpeg_bytes, png_bytes
from diagnose_helpers import synthetic_batches
from PIL import Image

from colorize.diagnose.data import check_batches, near_duplicates, perceptual_hashes
from colorize.near_duplicates import NEAR_DUPLICATE_BITS, file_hash, keep_largest, near_pairs
from scraper.clean import CleanOptions, run_clean
from scraper.cli import build_parser

SIZE = (480, 360)


def crop(im: Image.Image, fraction: float) -> Image.Image:
    """The picture with `fraction` of each side trimmed off, half at each end."""
    w, h = im.size
    dx, dy = int(w * fraction / 2), int(h * fraction / 2)
    return im.crop((dx, dy, w - dx, h - dy))


def make_images(folder):
    """Four originals (PNG) and three smaller JPEG variants: a re-encoded half-size copy, a
    lightly cropped one and a more cropped one. Returns {name: path}."""
    folder.mkdir(parents=True)
    files = {
        "a.png": png_bytes(colorful(1, SIZE)),
        "b.png": png_bytes(colorful(2, SIZE)),
        "c.png": png_bytes(colorful(3, SIZE)),
        "d.png": png_bytes(colorful(5, SIZE)),
        "a_small.jpg": jpeg_bytes(colorful(1, SIZE).resize((400, 300)), 80),
        "b_crop.jpg": jpeg_bytes(crop(colorful(2, SIZE), 0.08), 90),
        "c_crop.jpg": jpeg_bytes(crop(colorful(3, SIZE), 0.14), 90),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def distance(a, b) -> int:
    return (int(file_hash(a), 16) ^ int(file_hash(b), 16)).bit_count()


def cleaner_pairs(data_dir, **options) -> set[tuple[str, str, int]]:
    """(kept, dropped, distance) of every near_duplicate drop in the cleaner's report."""
    run_clean(data_dir, CleanOptions(workers=1, **options))
    report = json.loads((data_dir / "clean_report.json").read_text())
    pairs = set()
    for image in report["images"]:
        if image["reason"] == "near_duplicate":
            kept, dist = re.fullmatch(r"near-duplicate of images/(\S+) \(pHash distance (\d+)\)", image["detail"]).groups()
            pairs.add((kept, image["path"].removeprefix("images/"), int(dist)))
    return pairs


def diagnose_pairs(paths, **options) -> set[tuple[str, str, int]]:
    """(train image, val image, distance) that `diagnose data` reports with the originals in train
    and the variants in val."""
    splits = {"train": [p for n, p in paths.items() if n.endswith(".png")],
              "val": [p for n, p in paths.items() if n.endswith(".jpg")]}
    found = near_duplicates(perceptual_hashes(splits), **options)
    assert all(x["a"].startswith("train/") and x["b"].startswith("val/") for x in found)
    return {(x["a"].removeprefix("train/"), x["b"].removeprefix("val/"), x["distance"]) for x in found}


def test_the_cleaner_and_diagnose_data_find_the_same_near_duplicates(tmp_path):
    paths = make_images(tmp_path / "data" / "images")
    # The variants span the threshold: a re-encoded copy (about 0 bits), a light crop between the
    # old diagnose threshold (4) and the shared one, a heavier crop beyond it.
    assert distance(paths["a.png"], paths["a_small.jpg"]) <= 2
    assert 4 < distance(paths["b.png"], paths["b_crop.jpg"]) <= NEAR_DUPLICATE_BITS
    assert distance(paths["c.png"], paths["c_crop.jpg"]) > NEAR_DUPLICATE_BITS

    by_cleaner = cleaner_pairs(tmp_path / "data")
    by_diagnose = diagnose_pairs(paths)
    assert {(kept, dropped) for kept, dropped, _ in by_cleaner} == {("a.png", "a_small.jpg"), ("b.png", "b_crop.jpg")}
    assert by_cleaner == by_diagnose

    # The warning names the shared threshold.
    r = check_batches(synthetic_batches(2), phashes=perceptual_hashes({"train": [paths["b.png"]], "val": [paths["b_crop.jpg"]]}))
    assert f"within {NEAR_DUPLICATE_BITS} bits" in " ".join(r.messages("WARN"))


def test_a_narrower_threshold_narrows_both_alike(tmp_path):
    paths = make_images(tmp_path / "data" / "images")
    # `--dup-distance` still reaches the cleaner, and the same number gives diagnose's answer.
    args = build_parser().parse_args(["clean", str(tmp_path / "data"), "--dup-distance", "4"])
    assert args.dup_distance == 4
    assert build_parser().parse_args(["clean", "x"]).dup_distance == NEAR_DUPLICATE_BITS
    by_cleaner = cleaner_pairs(tmp_path / "data", dup_distance=args.dup_distance)
    assert {(kept, dropped) for kept, dropped, _ in by_cleaner} == {("a.png", "a_small.jpg")}
    assert by_cleaner == diagnose_pairs(paths, bits=4)


def test_kept_images_are_never_near_duplicates_of_each_other():
    # a ~ b and b ~ c, a !~ c: the cleaner keeps a, drops b, keeps c; the pairs are a-b and b-c.
    a, b, c = "0000000000000000", "000000000000000f", "00000000000000ff"
    items = [("a", a, 300, 0), ("b", b, 200, 0), ("c", c, 100, 0)]
    assert keep_largest(items, bits=4) == {"b": ("a", 4)}
    assert near_pairs([a, b, c], bits=4) == [(0, 1, 4), (1, 2, 4)]
    kept = [h for key, h, _, _ in items if key != "b"]
    assert near_pairs(kept, bits=4) == []
