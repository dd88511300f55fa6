"""diagnose data: passes clean batches, catches unscaled, [0, 1], constant, inverted, repeated,
mis-shaped and leaked data."""

import torch
from diagnose_helpers import synthetic_batches

from colorize.diagnose.data import check_batches

torch.set_num_threads(1)


def test_clean_batches_pass_and_make_pictures():
    r = check_batches(synthetic_batches(6), {"train": ["a", "b"], "val": ["c"], "test": ["d"]}, multiple=4)
    assert r.status == "PASS", r.problems
    assert set(r.images) == {"pairs.png", "histograms.png"}
    assert r.figures["target"]["min"] >= -1 and r.figures["leaked_hashes"] == {}
    assert r.images["pairs.png"].shape[0] == 3  # a [3, H, W] grid in [0, 1]


def test_unscaled_0_255_inputs_fail():
    batches = [((i + 1) * 127.5, (t + 1) * 127.5) for i, t in synthetic_batches(4)]
    r = check_batches(batches)
    assert r.status == "FAIL"
    assert any("outside [-1, 1]" in m and "0-255" in m for m in r.messages("FAIL"))


def test_unit_range_data_warns():
    batches = [((i + 1) / 2, (t + 1) / 2) for i, t in synthetic_batches(4)]
    r = check_batches(batches)
    assert r.status == "WARN"
    assert any("never negative" in m for m in r.messages("WARN"))


def test_duplicated_batch_fails():
    b = synthetic_batches(3)
    r = check_batches([b[0], b[1], b[1], b[2]])
    assert r.status == "FAIL" and r.figures["repeated_batches"] == [2]
    assert any("repeats batch 1" in m for m in r.messages("FAIL"))


def test_leaked_split_fails():
    r = check_batches(synthetic_batches(3), {"train": ["aa11", "bb22"], "val": ["cc33", "bb22"], "test": []})
    assert r.status == "FAIL"
    assert r.figures["leaked_hashes"] == {"bb22": ["train", "val"]}


def test_inverted_inputs_and_constant_targets():
    inverted = [(-i, t) for i, t in synthetic_batches(4)]
    r = check_batches(inverted)
    assert any("luminance" in m for m in r.messages("WARN"))
    constant = [(i, torch.zeros_like(t)) for i, t in synthetic_batches(2)]
    assert any("constant" in m for m in check_batches(constant).messages("FAIL"))


def test_shapes():
    b = synthetic_batches(2)
    r = check_batches(b, multiple=64)
    assert any("multiple of 64" in m for m in r.messages("FAIL"))
    odd = synthetic_batches(1, size=16)
    assert any("differ in shape" in m for m in check_batches(b + odd).messages("FAIL"))


def test_near_duplicates_across_splits_warn():
    phashes = {"train": {"a.png": "ffff0000ffff0000", "b.png": "0123456789abcdef"},
               "val": {"a_copy.jpg": "ffff0000ffff0003"},  # 2 bits off a.png
               "test": {"c.png": "0123456789abcdef"[::-1]}}
    r = check_batches(synthetic_batches(2), phashes=phashes)
    assert r.status == "WARN"
    assert r.figures["near_duplicates_across_splits"] == [{"a": "train/a.png", "b": "val/a_copy.jpg", "distance": 2}]
    same_split = {"train": {"a.png": "ffff0000ffff0000", "a2.png": "ffff0000ffff0000"}}
    assert check_batches(synthetic_batches(2), phashes=same_split).status == "PASS"
