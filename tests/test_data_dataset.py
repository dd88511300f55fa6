import numpy as np
import pytest
import torch
from data_helpers import corner_shape, noise_image, save_rgb, small_cfg
from PIL import Image
from scipy import ndimage as ndi
from torch.utils.data import DataLoader

from colorize.data.cache import read_cached
from colorize.data.dataset import PairDataset, epoch_batches


@pytest.fixture
def shapes(tmp_path):
    """Four non-square (192x128 and 128x192) images of an asymmetric L shape, in different colors."""
    colors = [(200, 30, 30), (30, 160, 40), (40, 60, 220), (230, 180, 20)]
    paths = []
    for k, c in enumerate(colors):
        arr = corner_shape(192, 128, color=c)
        if k % 2:
            arr = np.ascontiguousarray(arr.transpose(1, 0, 2))
        paths.append(save_rgb(tmp_path / "src" / f"shape{k}.png", arr))
    return paths


def _dataset(paths, tmp_path, train=True, seed=0, **cfg):
    return PairDataset(paths, small_cfg(**cfg), tmp_path / "cache", train=train, seed=seed)


def test_shapes_types_and_ranges(shapes, tmp_path):
    for train in (True, False):
        ds = _dataset(shapes, tmp_path, train=train)
        assert len(ds) == 4
        for i in range(len(ds)):
            inp, target = ds[i]
            assert inp.shape == (1, 32, 32) and target.shape == (3, 32, 32)
            assert inp.dtype == torch.float32 and target.dtype == torch.float32
            assert inp.min() >= -1 and inp.max() <= 1 and target.min() >= -1 and target.max() <= 1
            assert target.max() == 1, "white paper maps to +1"


def _luma(target: torch.Tensor) -> np.ndarray:
    rgb = (target.numpy() + 1) / 2
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def test_input_lines_sit_on_the_target_drawing_after_crop_and_flip(shapes, tmp_path):
    ds = _dataset(shapes, tmp_path, train=True, size=64, cache_side=80)
    flipped = set()
    recalls = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            inp, target = ds[i]
            drawing = _luma(target) < 0.9
            # Blurs and line weights spread ink a few pixels: allow 3.
            near = ndi.binary_dilation(drawing, iterations=3)
            ink = inp[0].numpy() < 0.5  # luma below 0.75: synthetic ink is often gray, as in real sketches
            assert ink.sum() > 0
            # Every dark input pixel is on or right next to the drawing in the target.
            assert (ink & ~near).sum() <= 0.03 * ink.sum(), (epoch, i)
            outline = _luma(target) < 0.3
            if outline.any():
                recalls.append((ndi.binary_dilation(ink, iterations=2) & outline).sum() / outline.sum())
            # The L is in the top-left quadrant of the source; a flip moves it right.
            cols = np.nonzero(drawing.any(axis=0))[0]
            flipped.add(bool(cols.mean() > 32))
    assert flipped == {True, False}, "training flips some samples and not others"
    assert np.mean(recalls) > 0.6, "the target's outlines show up as input lines"


def test_same_seed_epoch_index_gives_identical_tensors(shapes, tmp_path):
    a = _dataset(shapes, tmp_path, seed=7)
    b = _dataset(shapes, tmp_path, seed=7)
    a.set_epoch(3)
    b.set_epoch(3)
    for i in range(len(a)):
        for x, y in zip(a[i], b[i]):
            assert torch.equal(x, y)
    for x, y in zip(a[2], b[(3, 2)]):
        assert torch.equal(x, y), "(epoch, i) indexing matches set_epoch"
    # The randomness of sample i is exactly default_rng([seed, epoch, i]).
    assert a.rng(2).random() == np.random.default_rng([7, 3, 2]).random()


def test_different_seed_or_epoch_gives_different_samples(shapes, tmp_path):
    a = _dataset(shapes, tmp_path, seed=0)
    b = _dataset(shapes, tmp_path, seed=1)
    other_seed = [not torch.equal(a[i][0], b[i][0]) or not torch.equal(a[i][1], b[i][1]) for i in range(4)]
    assert sum(other_seed) >= 3
    first = [a[i] for i in range(4)]
    a.set_epoch(1)
    other_epoch = [not torch.equal(first[i][1], a[i][1]) for i in range(4)]
    assert sum(other_epoch) >= 3


def test_eval_mode_is_the_same_center_crop_every_time(shapes, tmp_path):
    a = _dataset(shapes, tmp_path, train=False, seed=0)
    b = _dataset(shapes, tmp_path, train=False, seed=99)
    ref = [a[i] for i in range(len(a))]
    a.set_epoch(5)
    for i in range(len(a)):
        for x, y, z in zip(ref[i], a[i], b[i]):
            assert torch.equal(x, y) and torch.equal(x, z)
    # The target is the central square of the cached image, unflipped, reduced as a page is.
    cached = read_cached(a.entries[0], a.side)
    h, w = cached.shape[:2]
    c = min(h, w)
    x0, y0 = (w - c) // 2, (h - c) // 2
    expect = np.asarray(Image.fromarray(cached).crop((x0, y0, x0 + c, y0 + c))
                        .resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0))
    got = np.rint((ref[0][1].numpy().transpose(1, 2, 0) + 1) * 127.5)
    np.testing.assert_array_equal(got, expect)


def test_dataloader_workers_do_not_change_the_samples(shapes, tmp_path):
    ds = _dataset(shapes, tmp_path, seed=3)

    def batches(workers):
        sampler = [[(2, i) for i in b] for b in epoch_batches(len(ds), 2, seed=3, epoch=2)]
        loader = DataLoader(ds, batch_sampler=sampler, num_workers=workers)
        return [b for b in loader]

    serial, parallel = batches(0), batches(2)
    assert len(serial) == 2
    for (xs, ys), (xp, yp) in zip(serial, parallel):
        assert torch.equal(xs, xp) and torch.equal(ys, yp)


def test_epoch_batches_permute_per_epoch_and_split_between_ranks():
    e0 = [i for b in epoch_batches(10, 2, seed=1, epoch=0) for i in b]
    e1 = [i for b in epoch_batches(10, 2, seed=1, epoch=1) for i in b]
    assert sorted(e0) == list(range(10)) and e0 != e1
    assert epoch_batches(10, 2, seed=1, epoch=1) == epoch_batches(10, 2, seed=1, epoch=1)
    r0, r1 = (epoch_batches(10, 2, seed=1, epoch=0, rank=r, world=2) for r in (0, 1))
    assert len(r0) == len(r1) == 2 and not {i for b in r0 for i in b} & {i for b in r1 for i in b}


def test_no_augment_means_center_crop_but_random_input_kind(shapes, tmp_path):
    ds = _dataset(shapes, tmp_path, train=True, augment=False, flip=False)
    targets = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        targets.append(ds[0][1])
    assert all(torch.equal(targets[0], t) for t in targets[1:])


def test_index_out_of_range(shapes, tmp_path):
    ds = _dataset(shapes, tmp_path)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_unreadable_entry_at_train_time_warns_once_and_uses_the_next(tmp_path, caplog):
    paths = [noise_image(tmp_path / "src" / f"n{i}.png", i) for i in range(3)]
    ds = _dataset(paths, tmp_path)
    ds.entries[1].cached.unlink()
    ds.entries[1].source.unlink()  # both gone: nothing to rebuild from
    inp, target = ds[1]
    inp2, target2 = ds[1]
    assert torch.equal(target, target2) and inp.shape == (1, 32, 32)
    assert sum(str(ds.entries[1].source) in r.getMessage() for r in caplog.records) == 1


class WhoMadeIt(torch.utils.data.Dataset):
    """Each (epoch, i) sample says which process made it and what it was asked for."""

    def __len__(self):
        return 10

    def __getitem__(self, key):
        import os

        epoch, i = key
        return torch.tensor([os.getpid()]), torch.tensor([epoch, i])


def test_batch_stream_crosses_epochs_in_one_worker_and_resumes_at_the_same_batch():
    # Ten pictures at batch 8 are one batch an epoch: a DataLoader per epoch restarted its worker
    # process every step (three times the step time of a ten-picture fine-tune).
    from types import SimpleNamespace

    from colorize.data.dataset import batch_stream

    cfg = SimpleNamespace(data=SimpleNamespace(batch_size=8, workers=1), train=SimpleNamespace(seed=3))
    stream = batch_stream(WhoMadeIt(), cfg)
    got = [next(stream) for _ in range(5)]
    assert [step for step, _, _ in got] == [0, 1, 2, 3, 4]
    assert len({int(pid) for _, pids, _ in got for pid in pids}) == 1  # one worker for the run
    for step, _, asked in got:  # epoch k's batch: epoch_batches' own, one batch an epoch
        assert asked[:, 0].tolist() == [step] * 8
        assert asked[:, 1].tolist() == epoch_batches(10, 8, 3, step)[0]
    resumed = batch_stream(WhoMadeIt(), cfg, start_step=3)
    for step, _, asked in [next(resumed) for _ in range(2)]:
        assert torch.equal(asked, got[step][2])
