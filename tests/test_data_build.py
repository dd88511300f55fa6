import json
import logging
import shutil

import pytest
from data_helpers import noise_image, small_cfg

import colorize.data.cache as cache_mod
from colorize.data import DataError, build_splits


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    for i in range(16):
        noise_image(root / ("nested/deeper" if i % 3 == 0 else "") / f"img{i:02d}.png", i, (40 + i, 36))
    shutil.copy(root / "img01.png", root / "copy_of_01.png")
    (root / "broken.png").write_text("not an image")
    (root / "readme.txt").write_text("ignored: not an image suffix")
    return root


def test_build_splits_returns_datasets_and_a_json_summary(folder, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        splits = build_splits(folder, small_cfg(), tmp_path / "cache", seed=0)
    s = splits.summary
    json.dumps(s)  # JSON-serializable as it is
    counts = s["counts"]
    assert counts["train"] + counts["val"] + counts["test"] == 16
    assert counts["duplicates"] == 1 and counts["skipped"] == 1
    assert (len(splits.train), len(splits.val), len(splits.test)) == (counts["train"], counts["val"], counts["test"])
    assert splits.train.train and not splits.val.train and not splits.test.train
    assert s["skipped"] == [{"file": "broken.png", "reason": s["skipped"][0]["reason"]}]
    assert sum("broken.png" in r.getMessage() for r in caplog.records) == 1
    files = {f["file"]: f for f in s["files"]}
    assert "nested/deeper/img00.png" in files, "relative to the data folder, recursive"
    # The first path in sorted order is kept; the copy is recorded, not used twice.
    assert files["img01.png"]["duplicate_of"] == "copy_of_01.png"
    assert files["copy_of_01.png"]["split"] == files["img01.png"]["split"]
    by_split = {}
    for f in s["files"]:
        by_split.setdefault(f["sha256"], set()).add(f["split"])
    assert all(len(v) == 1 for v in by_split.values()), "no hash in two splits"
    inp, target = splits.train[0]
    assert inp.shape == (1, 32, 32) and target.shape == (3, 32, 32)
    splits.save_summary(tmp_path / "run" / "data.json")
    assert json.loads((tmp_path / "run" / "data.json").read_text()) == s


def test_second_build_reuses_the_cache_and_the_split(folder, tmp_path, monkeypatch):
    first = build_splits(folder, small_cfg(), tmp_path / "cache", seed=0).summary
    decodes = []
    real = cache_mod.load_rgb
    monkeypatch.setattr(cache_mod, "load_rgb", lambda p: decodes.append(p) or real(p))
    second = build_splits(folder, small_cfg(), tmp_path / "cache", seed=0).summary
    assert second["files"] == first["files"]
    assert first["cache_built"] == 16 and second["cache_built"] == 0
    assert [str(p) for p in decodes] == [str(folder / "broken.png")], "only the never-cached file is retried"


def test_empty_or_unusable_folder_is_one_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no usable training image") as err:
        build_splits(empty, small_cfg(), tmp_path / "cache", seed=0)
    assert str(empty) in str(err.value) and "\n" not in str(err.value)
    (empty / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DataError, match="all unreadable"):
        build_splits(empty, small_cfg(), tmp_path / "cache", seed=0)
    with pytest.raises(DataError, match="no such folder"):
        build_splits(tmp_path / "missing", small_cfg(), tmp_path / "cache", seed=0)


def test_three_images_give_at_least_one_training_image(tmp_path):
    root = tmp_path / "few"
    for i in range(3):
        noise_image(root / f"f{i}.png", 100 + i)
    splits = build_splits(root, small_cfg(), tmp_path / "cache", seed=0)
    assert len(splits.train) >= 1
    assert len(splits.train) + len(splits.val) + len(splits.test) == 3
