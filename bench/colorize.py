"""Colorizer latency per page and peak memory at three page sizes, for a generated manga page
(gray fills and hatching: the guided-filter path) and a line-art page (outlines only: the flat
regions path), at one or more working sizes; the batch command's throughput on a folder of
generated pages next to the model's own throughput on pre-decoded tensors; and the batch
command's resident memory after 100 and after --pages pages.

    .venv/bin/python bench/colorize.py                        # checkpoints/default, 1000 pages
    .venv/bin/python bench/colorize.py --checkpoint DIR --pages 300 --threads 2
    .venv/bin/python bench/colorize.py --only latency --size 384 512 768   # working sizes
    .venv/bin/python bench/colorize.py --quick                # seconds: tiny sizes (what the test runs)

Without checkpoints/default (and no --checkpoint) it benchmarks an untrained model built from
configs/default-model.toml: the speed is a trained model's, the colors are not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

# This file's name would shadow the colorize package: import from the repository root instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import context, emit, timed  # noqa: E402
from colorize.inference import batch as batch_cmd  # noqa: E402
from colorize.inference.colorizer import Colorizer  # noqa: E402

DEFAULT = Path("checkpoints/default")
DEFAULT_CONFIG = Path("configs/default-model.toml")
SIZES = [(512, 512), (1024, 1456), (2480, 3508)]  # square, a typical scan, A4 at 300 dpi
QUICK_SIZES = [(64, 64), (96, 136)]


# -- memory ------------------------------------------------------------------------------------
def rss_mb() -> float:
    return _status("VmRSS:")


def reset_peak() -> bool:
    """Linux: restart the peak-RSS counter (VmHWM), so each page size gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    return _status("VmHWM:")


def _status(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- inputs ------------------------------------------------------------------------------------
def manga_page(width: int, height: int, seed: int) -> Image.Image:
    """A generated gray page: panels with borders, outlined shapes, hatching and gray fills."""
    rng = np.random.default_rng(seed)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    m = max(2, width // 40)
    rows = [m + (height - 2 * m) * i // 3 for i in range(4)]
    line = max(1, width // 400)
    for top, bottom in zip(rows, rows[1:]):
        split = int(rng.uniform(0.3, 0.7) * width)
        for left, right in ((m, split - m // 2), (split + m // 2, width - m)):
            box = (left, top + m // 2, right, bottom - m // 2)
            if box[2] - box[0] < 4 or box[3] - box[1] < 4:
                continue
            draw.rectangle(box, outline=0, width=2 * line)
            for _ in range(4):
                cx, cy = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
                r = rng.uniform(0.05, 0.3) * (box[2] - box[0])
                draw.ellipse(
                    (cx - r, cy - r, cx + r, cy + r), fill=int(rng.integers(120, 250)), outline=0, width=line
                )
            for _ in range(10):
                x = rng.uniform(box[0], box[2])
                draw.line((x, box[1], x + rng.uniform(-40, 40), box[3]), fill=0, width=line)
    return page


def line_page(width: int, height: int, seed: int) -> Image.Image:
    """A generated line-art page: closed outlines of overlapping shapes on white, no fills."""
    rng = np.random.default_rng(seed)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    line = max(1, width // 300)
    for _ in range(40):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.03, 0.2) * width, rng.uniform(0.03, 0.2) * height
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), outline=0, width=line)
    return page


PAGES = {"manga": manga_page, "lineart": line_page}


# -- measurements ------------------------------------------------------------------------------
def hint_strokes(width: int, height: int, seed: int, count: int = 12) -> Image.Image:
    """A user's hints: `count` short strokes of palette colors at random places (RGBA)."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    palette = [(250, 220, 200), (90, 60, 40), (240, 200, 90), (200, 40, 60), (60, 90, 200), (120, 180, 90)]
    for i in range(count):
        x, y = rng.integers(0, width), rng.integers(0, height)
        dx, dy = rng.integers(-width // 20, width // 20 + 1, 2)
        draw.line([(x, y), (x + dx, y + dy)], fill=(*palette[i % len(palette)], 255), width=max(2, width // 150))
    return im


def latency(colorizer: Colorizer, sizes, repeats: int, warmup: int, ctx: dict) -> None:
    """Each page size and kind, hint-free and with a dozen hint strokes. Parts: prepare (gray,
    regions, hint planes), predict (the network with its color readout), finish (region colors,
    hint fill, full-size composite), encode (PNG at the batch command's level)."""
    pages = ((size, kind, hinted) for size in sizes for kind in PAGES for hinted in (False, True))
    for (w, h), kind, hinted in pages:
        image = PAGES[kind](w, h, seed=w)
        hints = hint_strokes(w, h, seed=w) if hinted else None
        reset_peak()
        parts = {"prepare": [], "predict": [], "finish": [], "encode": []}

        cpu = {k: [] for k in parts}  # CPU seconds of this process: less moved by other load

        def run(image=image, hints=hints, parts=parts, cpu=cpu):
            t0, c0 = time.perf_counter(), time.process_time()
            page = colorizer.prepare(image, hints)
            t1, c1 = time.perf_counter(), time.process_time()
            [(rgb, features)] = colorizer.predict_with_features([page.work], features=hints is not None)
            t2, c2 = time.perf_counter(), time.process_time()
            out = colorizer.finish(page, rgb, features=features)
            t3, c3 = time.perf_counter(), time.process_time()
            out.save(io.BytesIO(), "PNG", compress_level=1)
            t4, c4 = time.perf_counter(), time.process_time()
            times, cpus = (t1 - t0, t2 - t1, t3 - t2, t4 - t3), (c1 - c0, c2 - c1, c3 - c2, c4 - c3)
            for k, v, c in zip(parts, times, cpus):
                if v:
                    parts[k].append(v)
                    cpu[k].append(c)

        t = timed(run, repeats, warmup)
        drawing = colorizer.prepare(image).drawing
        emit(
            {
                "what": "colorize/latency",
                "page": f"{w}x{h}",
                "content": kind,
                "hints": hinted,
                "path": "regions" if drawing.line_art else "guided",
                "region_step_side": max(drawing.luma.shape),
                "working_side": colorizer.size,
                **t,
                "parts_median_s": {k: round(statistics.median(v[warmup:] or v), 4) for k, v in parts.items()},
                "parts_cpu_median_s": {
                    k: round(statistics.median(v[warmup:] or v), 4) for k, v in cpu.items()
                },
                "peak_rss_mb": round(peak_mb(), 1),
                **ctx,
            }
        )


def write_pages(folder: Path, count: int, size: tuple[int, int], distinct: int = 16) -> None:
    """`count` PNG pages; only `distinct` are drawn, the rest are copies (drawing is not measured)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"page-{i:05d}.png"
        if i < distinct:
            manga_page(*size, seed=i).save(path, compress_level=1)
        else:
            shutil.copyfile(folder / f"page-{i % distinct:05d}.png", path)


def batch_args(
    in_dir: Path, out_dir: Path, checkpoint: Path, batch_size: int, workers: int, size, fmt: str = "png"
) -> argparse.Namespace:
    return argparse.Namespace(
        in_dir=in_dir,
        out_dir=out_dir,
        checkpoint=checkpoint,
        recursive=False,
        overwrite=True,
        recolor=False,
        batch_size=batch_size,
        device="auto",
        format=fmt,
        size=size,
        workers=workers,
    )


def run_batch(colorizer: Colorizer, args: argparse.Namespace, on_progress=None) -> tuple[float, int]:
    todo = batch_cmd.plan(args)
    job = batch_cmd.Batch(colorizer, args, total=len(todo.jobs), progress=False)
    stop = threading.Event()
    if on_progress:
        watcher = threading.Thread(
            target=lambda: [on_progress(job.colored) for _ in iter(lambda: stop.wait(0.05), True)],
            daemon=True,
        )
        watcher.start()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the per-page lines are not JSON
        job.run(todo.jobs)
    seconds = time.perf_counter() - t0
    stop.set()
    job.bar.close()
    if job.failures:
        raise RuntimeError(f"batch failed on {job.failures[:3]}")
    return seconds, job.colored


def throughput(
    colorizer: Colorizer, ckpt: Path, tmp: Path, pages: int, size, batch_size: int, workers: int, ctx: dict
) -> None:
    """The batch command end to end (decode, model, merge, encode, write) against the model alone
    on the same pages already decoded and prepared."""
    src = tmp / "throughput"
    write_pages(src, pages, size)
    works = [colorizer.prepare(manga_page(*size, seed=i % 16)).work for i in range(min(pages, 16))]
    groups = [works[i : i + batch_size] for i in range(0, len(works), batch_size)]
    colorizer.predict(groups[0])  # warm-up
    t0 = time.perf_counter()
    done = 0
    while done < pages:
        for g in groups:
            if done >= pages:
                break
            colorizer.predict(g)
            done += len(g)
    model_s = time.perf_counter() - t0
    args = batch_args(src, tmp / "throughput-out", ckpt, batch_size, workers, colorizer.size, ctx["format"])
    seconds, colored = run_batch(colorizer, args)
    model_rate, batch_rate = done / model_s, colored / seconds
    emit(
        {
            "what": "colorize/throughput",
            "page": f"{size[0]}x{size[1]}",
            "pages": colored,
            "batch_size": batch_size,
            "workers": workers,
            "working_side": colorizer.size,
            "model_pages_per_s": round(model_rate, 3),
            "batch_pages_per_s": round(batch_rate, 3),
            "batch_over_model": round(batch_rate / model_rate, 3),
            **ctx,
        }
    )


def memory(
    colorizer: Colorizer, ckpt: Path, tmp: Path, pages: int, size, batch_size: int, workers: int, ctx: dict
) -> None:
    """Resident memory of the batch command after 100 pages and after all of them."""
    src = tmp / "memory"
    write_pages(src, pages, size)
    early = max(1, min(100, pages // 10))
    seen: dict[str, float] = {}

    def watch(colored: int) -> None:
        if colored >= early and "early" not in seen:
            seen["early"] = rss_mb()

    seconds, colored = run_batch(
        colorizer,
        batch_args(src, tmp / "memory-out", ckpt, batch_size, workers, colorizer.size, ctx["format"]),
        watch,
    )
    seen["end"] = rss_mb()
    emit(
        {
            "what": "colorize/memory",
            "page": f"{size[0]}x{size[1]}",
            "pages": colored,
            f"rss_mb_after_{early}": round(seen.get("early", float("nan")), 1),
            f"rss_mb_after_{colored}": round(seen["end"], 1),
            "growth": round(seen["end"] / seen["early"] - 1, 4) if "early" in seen else None,
            "seconds": round(seconds, 1),
            **ctx,
        }
    )


def untrained_default(folder: Path) -> tuple[Path | None, Path]:
    """An untrained model built from the default model's config (configs/default-model.toml, or
    the Config defaults without it)."""
    from colorize.checkpoint import save_checkpoint
    from colorize.config import load_config
    from colorize.models import build_generator

    source = DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None
    cfg = load_config(source)
    card = {
        "step": 0,
        "generator": {"name": cfg.model.generator, "kwargs": cfg.model.generator_kwargs},
        "discriminator": {"name": cfg.model.discriminator, "kwargs": cfg.model.discriminator_kwargs},
        "config": cfg.to_dict(),
        "metrics": {},
    }
    torch.manual_seed(0)
    return source, save_checkpoint(
        folder / "untrained", card, build_generator(cfg.model.generator, cfg.model.generator_kwargs)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="default: checkpoints/default if present")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--size", type=int, nargs="+", default=None, help="working long side(s) (default: the card's)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--pages", type=int, default=1000, help="pages for the memory run")
    p.add_argument("--throughput-pages", type=int, default=48)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument(
        "--workers", type=int, default=batch_cmd.DEFAULT_WORKERS, help="batch decode/encode threads"
    )
    p.add_argument("--format", default="png", choices=sorted(batch_cmd.FORMATS), help="batch output format")
    p.add_argument("--only", choices=["latency", "throughput", "memory"], default=None)
    p.add_argument("--quick", action="store_true", help="tiny sizes and counts: checks the script runs")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    workers = args.workers
    with tempfile.TemporaryDirectory(prefix="bench-colorize-") as tmp_name:
        tmp = Path(tmp_name)
        ckpt = args.checkpoint or (DEFAULT if (DEFAULT / "card.json").exists() else None)
        if ckpt is None:
            source, ckpt = untrained_default(tmp)
            card = json.loads((ckpt / "card.json").read_text())
            note = (
                f"no checkpoints/default: timing an untrained model built from {source or 'the Config defaults'} "
                f"({card['generator']}, data.size {card['config']['data']['size']}); "
                "the speed is a trained one's, the colors are not"
            )
            emit({"what": "note", "note": note})
        working = args.size or [64 if args.quick else None]
        colorizer = Colorizer(ckpt, device=args.device, size=working[0])
        ctx = {
            **context(colorizer.device),
            "checkpoint": str(ckpt),
            "generator": colorizer.card.get("generator"),
            "quick": args.quick,
            "format": args.format,
        }
        sizes = QUICK_SIZES if args.quick else SIZES
        repeats, warmup = (2, 1) if args.quick else (args.repeats, 2)
        page = sizes[-1] if args.quick else (1024, 1456)
        if args.only in (None, "latency"):
            for side in working:
                colorizer.size = side or colorizer.size
                latency(colorizer, sizes, repeats, warmup, ctx)
            colorizer.size = working[0] or colorizer.size
        if args.only in (None, "throughput"):
            throughput(
                colorizer,
                ckpt,
                tmp,
                8 if args.quick else args.throughput_pages,
                page,
                args.batch_size,
                workers,
                ctx,
            )
        if args.only in (None, "memory"):
            memory(
                colorizer, ckpt, tmp, 20 if args.quick else args.pages, page, args.batch_size, workers, ctx
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
