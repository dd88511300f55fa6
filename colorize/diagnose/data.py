"""`diagnose data`: look at what the model will really be fed. De-normalized (input, target) pairs
as a picture, value histograms, and the classic data bugs: unscaled or uncentred values, a batch
served twice, samples of different shapes, and an image in two splits."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from colorize.chroma import LUMA as BT601_LUMA
from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Batch, Setup
from colorize.hints import HINT_CHANNELS
from colorize.near_duplicates import NEAR_DUPLICATE_BITS, file_hash, near_pairs
from colorize.training.gan_step import drawing

LUMA = torch.tensor(BT601_LUMA).view(1, 3, 1, 1)
log = logging.getLogger(__name__)


def perceptual_hashes(split_images: dict[str, list[Path]]) -> dict[str, dict[str, str]]:
    """split -> {file name: 64-bit pHash as hex} (colorize.near_duplicates, the cleaner's hash);
    unreadable files are skipped."""
    from colorize.images import ImageLoadError

    out: dict[str, dict[str, str]] = {}
    for split, paths in split_images.items():
        out[split] = {}
        for p in paths:
            try:
                out[split][Path(p).name] = file_hash(p)
            except ImageLoadError as exc:
                log.warning("near-duplicate check skips %s", exc)
    return out


def near_duplicates(phashes: dict[str, dict[str, str]], bits: int = NEAR_DUPLICATE_BITS) -> list[dict]:
    """Pairs of images in different splits that are near-duplicates by the cleaner's definition
    (colorize.near_duplicates: pHashes within `bits` bits)."""
    flat = [(split, name, h) for split, hs in phashes.items() for name, h in hs.items()]
    found = []
    for i, j, d in near_pairs([h for _, _, h in flat], bits):
        (sa, na, _), (sb, nb, _) = flat[i], flat[j]
        if sa != sb:
            found.append({"a": f"{sa}/{na}", "b": f"{sb}/{nb}", "distance": d})
    return found


def _stats(x: torch.Tensor) -> dict[str, float]:
    x = x.float()
    return {"min": float(x.min()), "max": float(x.max()), "mean": float(x.mean()), "std": float(x.std())}


def _histogram(x: torch.Tensor, lo: float, hi: float, bins: int = 64) -> tuple[list[float], list[float]]:
    counts = torch.histc(x.float().flatten(), bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1)
    return edges.tolist(), counts.tolist()


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha1(t.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    denom = float(a.norm() * b.norm())
    return float((a * b).sum()) / denom if denom > 0 else 0.0


def _check_values(r: CheckResult, inp: torch.Tensor, tgt: torch.Tensor) -> None:
    f = r.figures
    # Values: finite, inside [-1, 1], using both halves of it, roughly centred.
    for name, x in (("input", inp), ("target", tgt)):
        finite = torch.isfinite(x)
        if not finite.all():
            r.fail(f"{name}: {int((~finite).sum())} non-finite values")
            x = torch.where(finite, x, torch.zeros_like(x))
        s = f[name] = _stats(x)
        if s["min"] < -1.001 or s["max"] > 1.001:
            hint = " (unscaled 0-255 pixels?)" if s["max"] > 2 else ""
            r.fail(f"{name} values span [{s['min']:.3g}, {s['max']:.3g}], outside [-1, 1]{hint}")
        elif s["min"] >= 0:
            r.warn(f"{name} values span [{s['min']:.3g}, {s['max']:.3g}]: never negative; [0, 1] instead of [-1, 1]?")
        if s["std"] < 0.02:
            r.fail(f"{name} is (nearly) constant: std {s['std']:.3g}")
    # Targets are whole illustrations: their mean sits near the middle of the range. Line-art inputs
    # are mostly white paper, so only a mean pinned at one end is suspicious there.
    if abs(f["target"]["mean"]) > 0.6:
        r.warn(f"target mean {f['target']['mean']:.3f} is far from 0: not zero-centred")
    if abs(f["input"]["mean"]) > 0.95:
        r.warn(f"input mean {f['input']['mean']:.3f}: almost all one value")

    # Aligned pairs: the input's brightness follows the target's luminance.
    if inp.shape[1:] == (1, *tgt.shape[2:]):
        corr = [_correlation(i, (t[None] * LUMA).sum(1)) for i, t in zip(inp, tgt)]
        f["input_luminance_correlation"] = {"median": float(torch.tensor(corr).median()), "min": min(corr)}
        if f["input_luminance_correlation"]["median"] < 0.05:
            r.warn(f"inputs hardly follow their targets' luminance (median correlation "
                   f"{f['input_luminance_correlation']['median']:.2f}): pairs misaligned or shuffled?")


def _check_repeats(r: CheckResult, batches: list[Batch], samples: int) -> list[int]:
    f = r.figures
    # Repeats: a batch identical to the previous one, or a sample twice in one batch.
    repeated = [k for k in range(1, len(batches)) if batches[k][0].shape == batches[k - 1][0].shape
                and torch.equal(batches[k][0], batches[k - 1][0]) and torch.equal(batches[k][1], batches[k - 1][1])]
    f["repeated_batches"] = repeated
    if repeated:
        r.fail(f"batch {repeated[0]} repeats batch {repeated[0] - 1} exactly ({len(repeated)} repeat(s) in "
               f"{len(batches)} consecutive batches): the loader serves the same data")
    dup_in_batch = 0
    for _, b_tgt in batches:
        digests = [_digest(t) for t in b_tgt]
        dup_in_batch += len(digests) - len(set(digests))
    f["duplicate_samples_within_batches"] = dup_in_batch
    if dup_in_batch > samples // 4:
        r.warn(f"{dup_in_batch} of {samples} samples repeat inside their batch (dataset smaller than a batch?)")
    return repeated


def _check_splits(r: CheckResult, split_hashes: dict[str, list[str]] | None,
                  phashes: dict[str, dict[str, str]] | None) -> None:
    f = r.figures
    # Splits: the same content (by hash) in two splits leaks evaluation data into training.
    if split_hashes:
        seen: dict[str, str] = {}
        leaks: dict[str, set[str]] = {}
        for split, hashes in split_hashes.items():
            for h in set(hashes):
                if h in seen and seen[h] != split:
                    leaks.setdefault(h, {seen[h]}).add(split)
                seen.setdefault(h, split)
        f["split_sizes"] = {k: len(set(v)) for k, v in split_hashes.items()}
        f["leaked_hashes"] = {h: sorted(s) for h, s in leaks.items()}
        if leaks:
            h, where = next(iter(leaks.items()))
            r.fail(f"{len(leaks)} image(s) in more than one split, e.g. {h[:12]} in {' and '.join(sorted(where))}")

    if phashes:
        near = near_duplicates(phashes)
        f["near_duplicates_across_splits"] = near
        if near:
            x = near[0]
            r.warn(f"{len(near)} near-duplicate pair(s) across splits (perceptual hash within "
                   f"{NEAR_DUPLICATE_BITS} bits), e.g. {x['a']} and {x['b']}: a copy in another split leaks it")


def _pictures(r: CheckResult, inp: torch.Tensor, tgt: torch.Tensor) -> None:
    f = r.figures
    # Pictures: pairs back in [0, 255] (what the model is shown), and value histograms.
    n = min(16, inp.shape[0])
    if inp.shape[-2:] == tgt.shape[-2:]:
        pairs = torch.stack([plots.to_unit(inp[:n]), plots.to_unit(tgt[:n])], 1).flatten(0, 1)
        r.images["pairs.png"] = plots.tile_grid(pairs, nrow=8, min_side=64)
    lo = min(-1.0, f["input"]["min"], f["target"]["min"])
    hi = max(1.0, f["input"]["max"], f["target"]["max"])
    hists = {"input": _histogram(inp, lo, hi), "target": _histogram(tgt, lo, hi)}
    f["histograms"] = {k: {"edges": e, "counts": c} for k, (e, c) in hists.items()}
    r.images["histograms.png"] = plots.histogram_plot(hists, "input and target values")


def check_batches(batches: list[Batch], split_hashes: dict[str, list[str]] | None = None,
                  multiple: int = 1, phashes: dict[str, dict[str, str]] | None = None) -> CheckResult:
    """split_hashes: split -> content hashes (exact copies); phashes: split -> {name: pHash hex}
    (re-encoded or resized copies, reported as a warning)."""
    r = CheckResult("data")
    if not batches:
        r.fail("no batches to check")
        r.summary = "no data"
        return r
    f = r.figures
    # Shapes: every sample the same, 1 channel in, 3 out, sides a multiple of the model's.
    shape_of = [(tuple(b[0].shape[1:]), tuple(b[1].shape[1:])) for b in batches]
    shapes = sorted(set(shape_of))
    f["shapes"] = [{"input": list(i), "target": list(t)} for i, t in shapes]
    if len(shapes) > 1:
        r.fail(f"samples differ in shape: {shapes}")
        batches = [b for b, s in zip(batches, shape_of) if s == shape_of[0]]  # the rest: the first shape
    in_shape, tgt_shape = shape_of[0]
    inp = torch.cat([drawing(b[0]).float() for b in batches])  # the drawing; hint channels are checked by tests
    tgt = torch.cat([b[1].float() for b in batches])
    f["batches"], f["samples"] = len(batches), int(inp.shape[0])
    if in_shape[0] not in (1, 1 + HINT_CHANNELS) or tgt_shape[0] != 3 or in_shape[1:] != tgt_shape[1:]:
        r.fail(f"expected input [1,S,S] (or [{1 + HINT_CHANNELS},S,S] with hints) and target [3,S,S], "
               f"got {list(in_shape)} and {list(tgt_shape)}")
    if multiple > 1 and any(s % multiple for s in in_shape[1:]):
        r.fail(f"input side {in_shape[1:]} is not a multiple of {multiple} (the generator's down-sampling)")

    _check_values(r, inp, tgt)

    repeated = _check_repeats(r, batches, int(inp.shape[0]))

    _check_splits(r, split_hashes, phashes)

    _pictures(r, inp, tgt)

    r.summary = (f"{f['samples']} samples in {len(batches)} batches, input [{f['input']['min']:.2f}, "
                 f"{f['input']['max']:.2f}] mean {f['input']['mean']:.2f}, target [{f['target']['min']:.2f}, "
                 f"{f['target']['max']:.2f}] mean {f['target']['mean']:.2f} std {f['target']['std']:.2f}, "
                 f"{len(repeated)} repeated batches, {len(f.get('leaked_hashes', {}))} leaked images"
                 + (f", {len(f['near_duplicates_across_splits'])} near-duplicates across splits"
                    if "near_duplicates_across_splits" in f else ""))
    return r


# Real inputs to compare synthetic ones with: ../shared/data beside the repository, when present.
REAL_INPUTS = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def check_realism(r: CheckResult, train_set, working_side: int, real_root: Path | None = None) -> None:
    """Synthetic line art and manga against the real ones at the working size: ink share and
    stroke width must be within 2x (colorize.data.realism)."""
    from colorize.data.realism import compare_with_real

    real_root = real_root or REAL_INPUTS
    dirs = {k: real_root / k for k in ("lineart", "manga") if (real_root / k).is_dir()}
    if train_set is None or not len(train_set) or not dirs:
        return
    figures, problems = compare_with_real(train_set, dirs, working_side)
    r.figures["realism"] = figures
    for p in problems:
        r.fail(f"synthetic inputs unlike real ones, {p}")
    r.summary += "; " + ", ".join(
        f"{k} ink {v['synthetic']['ink_share']:.3f} vs real {v['real']['ink_share']:.3f}, stroke "
        f"{v['synthetic']['line_width']:.2f} vs {v['real']['line_width']:.2f} px" for k, v in figures.items())


def run(setup: Setup, batches: int = 8) -> CheckResult:
    from colorize.training.validation import working_side

    model = setup.generator()
    phashes = perceptual_hashes(setup.split_images) if setup.split_images else None
    r = check_batches(setup.batches(batches), setup.split_hashes, getattr(model, "multiple", 1), phashes)
    check_realism(r, setup.train_set, working_side(setup.cfg))
    return r
