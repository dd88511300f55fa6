import shutil

import pytest
from data_helpers import noise_image

from colorize.data.splits import assign_splits, file_sha256, split_files, split_of


def _groups(result):
    return {p.name: split for split, paths in result.items() for p in paths}


def test_split_is_deterministic_and_follows_the_fractions(tmp_path):
    paths = [noise_image(tmp_path / f"img{i:03d}.png", i, (8, 8)) for i in range(200)]
    a = split_files(paths, (0.7, 0.2, 0.1))
    b = split_files(list(reversed(paths)), (0.7, 0.2, 0.1))
    assert _groups(a) == _groups(b)
    assert sum(len(v) for v in a.values()) == 200
    assert 115 < len(a["train"]) < 165 and 20 < len(a["val"]) < 60 and 5 < len(a["test"]) < 35
    # Fractions are normalized: 7/2/1 is the same split as 0.7/0.2/0.1.
    assert _groups(split_files(paths, (7, 2, 1))) == _groups(a)


def test_adding_files_never_moves_old_ones(tmp_path):
    old = [noise_image(tmp_path / f"old{i}.png", i, (8, 8)) for i in range(40)]
    before = _groups(split_files(old, (0.7, 0.2, 0.1)))
    new = [noise_image(tmp_path / f"new{i}.png", 1000 + i, (8, 8)) for i in range(60)]
    after = _groups(split_files(old + new, (0.7, 0.2, 0.1)))
    assert {k: after[k] for k in before} == before
    # A renamed file keeps its split: the key is the content, not the name.
    moved = tmp_path / "sub" / "renamed.png"
    moved.parent.mkdir()
    shutil.copy(old[0], moved)
    assert split_of(file_sha256(moved), (0.7, 0.2, 0.1)) == before[old[0].name]


def test_duplicate_content_lands_in_one_split_once(tmp_path):
    paths = [noise_image(tmp_path / f"img{i}.png", i, (8, 8)) for i in range(30)]
    for i in range(5):
        shutil.copy(paths[i], tmp_path / f"copy{i}.png")
    all_paths = sorted(tmp_path.glob("*.png"))
    result = split_files(all_paths, (0.5, 0.25, 0.25))
    hashes = {s: {file_sha256(p) for p in ps} for s, ps in result.items()}
    assert not (hashes["train"] & hashes["val"]) and not (hashes["train"] & hashes["test"])
    assert not (hashes["val"] & hashes["test"])
    assert sum(len(v) for v in result.values()) == 30, "each content once"
    records = assign_splits(((p, file_sha256(p)) for p in all_paths), (0.5, 0.25, 0.25))
    dups = [r for r in records if r.duplicate_of is not None]
    assert len(dups) == 5
    by_file = {r.file: r for r in records}
    for r in dups:
        assert r.split == by_file[r.duplicate_of].split


def test_a_handful_of_images_still_gets_a_training_image(tmp_path, caplog):
    # Find 2 images that both hash outside train, then check one is moved there.
    candidates = (noise_image(tmp_path / f"c{i}.png", i, (4, 4)) for i in range(100))
    outside = [p for p in candidates if split_of(file_sha256(p), (0.7, 0.2, 0.1)) != "train"][:2]
    result = split_files(outside, (0.7, 0.2, 0.1))
    assert len(result["train"]) == 1 and len(result["val"]) + len(result["test"]) == 1
    assert "no image fell in the train split" in caplog.text


def test_bad_fractions_are_rejected(tmp_path):
    p = noise_image(tmp_path / "a.png", 0, (4, 4))
    for bad in [(0, 0.5, 0.5), (0.7, -0.1, 0.4), (1.0, 0.0)]:
        with pytest.raises(ValueError, match="data.split"):
            split_files([p], bad)
