"""`python -m colorize batch IN_DIR OUT_DIR`: colorize a folder (and the .cbz/.zip archives in it)
into a mirror folder, with the Colorizer.

Decoding (and preparing) pages runs in background threads ahead of the model, and merging,
encoding and writing runs in background threads behind it, so the model (a GPU above all) rarely
waits; the number of pages in flight is bounded, so memory stays flat however long the folder.
Outputs are written atomically and kept on a re-run (resume) unless --overwrite. Nothing is ever
written under IN_DIR. Under torchrun each rank takes every WORLD_SIZE-th file or archive.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import threading
import time
import zipfile
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from colorize.fileio import atomic_path, atomic_write_bytes, remove_stale_parts
from colorize.hints import HintError, load_rgba
from colorize.images import IMAGE_SUFFIXES, ImageLoadError, open_image
from colorize.inference.colorspace import chroma_fraction
from colorize.inference.paint import BACKGROUNDS
from colorize.paths import default_checkpoint

log = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = {".cbz", ".zip"}
# PNG at zlib level 1: measured 0.14 s for a 1024x1456 page against 0.43 s at Pillow's default 6,
# for files about a quarter larger; encoding is the batch's biggest CPU cost after the model.
FORMATS = {
    "png": ("PNG", {"compress_level": 1}),
    "jpg": ("JPEG", {"quality": 92}),
    "webp": ("WEBP", {"quality": 90}),
}
# A page counts as "already in full color" when this share of it has clear color (see
# colorspace.chroma_fraction). On ../shared/data the 69 gray pages and line art (tinted paper and
# colored lines included) scored at most 0.093, and 195 of the 196 color pictures above 0.17.
COLORED_FRACTION = 0.13
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}  # cannot hold color: no check
DEFAULT_CHECKPOINT = default_checkpoint()  # ./checkpoints/default, else the one beside the package
# Decoding, merging and encoding release the GIL (Pillow, numpy), so threads scale with cores; a GPU
# needs several cores' worth of them to stay busy.
DEFAULT_WORKERS = max(1, min(16, os.cpu_count() or 1))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("in_dir", type=Path, help="folder of images and .cbz/.zip archives (only read)")
    p.add_argument("out_dir", type=Path, help="where the colored mirror goes (must not be inside IN_DIR)")
    p.add_argument(
        "--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="checkpoint folder (card.json)"
    )
    p.add_argument("--recursive", action="store_true", help="also colorize subfolders, mirroring them")
    p.add_argument("--overwrite", action="store_true", help="redo pages whose output exists (default: keep)")
    p.add_argument("--recolor", action="store_true", help="also colorize pages that are already in color")
    p.add_argument("--batch-size", type=int, default=4, help="pages per model call (same-size pages batch)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--format", default="png", choices=sorted(FORMATS), help="output image format")
    p.add_argument("--size", type=int, default=None, help="working long side in pixels (default: the card's)")
    p.add_argument(
        "--shading",
        type=float,
        default=None,
        help="0..1: how much the model may change brightness (0 keeps the input's; default: the card's or 1)",
    )
    p.add_argument(
        "--background",
        choices=BACKGROUNDS,
        default=None,
        help="keep: paper reaching the border and speech bubbles stay white; color: the model may "
        "color them too (default: the card's, else keep)",
    )
    p.add_argument(
        "--vividness",
        type=float,
        default=None,
        help=">= 0: how far colors lean towards rarer, brighter ones (0 = as trained, muted; "
        "default: the card's)",
    )
    p.add_argument(
        "--hints",
        type=Path,
        default=None,
        help="folder of color hints: IN_DIR/sub/name.ext takes HINTS/sub/name.png (an archive's page "
        "HINTS/book.cbz/name.png), an RGBA image of any size whose pixels with alpha >= 128 are "
        "hints in their color; pages without one are colored hint-free",
    )
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="decode/encode threads")


# -- what to do --------------------------------------------------------------------------------
@dataclass
class Archive:
    """An input .cbz/.zip, read by several threads, and its colored copy, written in page order
    under a temporary name and renamed into place once complete."""

    src: Path
    dest: Path
    members: int = 0  # members not yet written
    _zip: zipfile.ZipFile | None = None
    _out: zipfile.ZipFile | None = None
    _tmp: object = None  # the atomic_path context of the copy being written
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, name: str) -> bytes:
        with self._lock:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.src)
            return self._zip.read(name)

    def write(self, name: str, data: bytes) -> None:
        if self._out is None:
            self._tmp = atomic_path(self.dest)
            # Pages are PNG/JPEG/WebP already: storing beats deflating them again.
            self._out = zipfile.ZipFile(self._tmp.__enter__(), "w", zipfile.ZIP_STORED)
        if name:
            self._out.writestr(name, data)
        self.members -= 1
        if self.members == 0:
            self._close(None)

    def abort(self) -> None:
        """Interrupted: remove the half-built copy (nothing appears under the final name)."""
        if self.members:
            self._close(RuntimeError("interrupted"))

    def _close(self, error: Exception | None) -> None:
        if self._out is not None:
            self._out.close()
            self._tmp.__exit__(type(error) if error else None, error, None)  # rename, or delete
            self._out = None
        with self._lock:
            if self._zip is not None:
                self._zip.close()
                self._zip = None


@dataclass
class Job:
    label: str  # how messages name it: "sub/page.png" or "book.cbz:003.jpg"
    path: Path | None = None  # a plain image file ...
    archive: Archive | None = None  # ... or an archive member
    member: str = ""
    dest: Path | None = None  # output file (plain images)
    out_name: str = ""  # output member name (archives)
    copy: bool = False  # archive member that is not an image: copied unchanged

    @property
    def archive_label(self) -> str:
        """The archive's path relative to IN_DIR (for an archive member)."""
        return self.label.split(":", 1)[0]


@dataclass
class Plan:
    jobs: list[Job]
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    failures: list[str] = field(default_factory=list)


def output_names(names: list[str], ext: str) -> dict[str, str]:
    """Input relative name -> output name with the new extension; inputs that would collide
    (a.jpg and a.png) keep their old extension in the name (a.jpg.png, a.png.png)."""
    stem = {n: str(Path(n).with_suffix(ext)) for n in names}
    count = Counter(stem.values())
    return {n: stem[n] if count[stem[n]] == 1 else n + ext for n in names}


def check_folders(in_dir: Path, out_dir: Path) -> str | None:
    if not in_dir.is_dir():
        return f"{in_dir}: no such folder"
    a, b = in_dir.resolve(), out_dir.resolve()
    if a == b or a in b.parents:
        return f"{out_dir}: the output folder must not be inside the input folder {in_dir} (it is never written to)"
    if b in a.parents:
        return f"{out_dir}: the output folder must not contain the input folder {in_dir}"
    return None


def plan(args: argparse.Namespace, rank: int = 0, world: int = 1) -> Plan:
    in_dir, out_dir = args.in_dir, args.out_dir
    ext = "." + args.format
    files = sorted(
        p
        for p in (in_dir.rglob("*") if args.recursive else in_dir.iterdir())
        if p.is_file() and not p.is_symlink()
    )
    files = files[rank::world]
    rel = {p: p.relative_to(in_dir).as_posix() for p in files}
    pages = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    names = output_names([rel[p] for p in pages], ext)
    result = Plan([])
    for p in files:
        suffix = p.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            dest = out_dir / names[rel[p]]
            if dest.exists() and not args.overwrite:
                result.skipped["output exists (kept; --overwrite redoes it)"] += 1
            else:
                result.jobs.append(Job(rel[p], path=p, dest=dest))
        elif suffix in ARCHIVE_SUFFIXES:
            dest = out_dir / rel[p]
            if dest.exists() and not args.overwrite:
                result.skipped["output exists (kept; --overwrite redoes it)"] += 1
                continue
            try:
                jobs = archive_jobs(p, rel[p], dest, ext)
            except (zipfile.BadZipFile, OSError) as exc:
                result.failures.append(f"{rel[p]}: not a readable zip archive ({exc})")
                continue
            result.jobs.extend(jobs)
        else:
            result.skipped[f"not an image ({suffix or 'no extension'})"] += 1
            tqdm.write(f"skipped {rel[p]}: not an image or archive")
    return result


def archive_jobs(path: Path, label: str, dest: Path, ext: str) -> list[Job]:
    with zipfile.ZipFile(path) as zf:
        entries = [
            i.filename for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
    archive = Archive(path, dest, members=len(entries))
    if not entries:  # an empty archive still gets its (empty) colored copy
        return [Job(f"{label}:", archive=archive, copy=True, out_name="")]
    pages = [n for n in entries if Path(n).suffix.lower() in IMAGE_SUFFIXES]
    names = output_names(pages, ext)
    return [
        Job(f"{label}:{n}", archive=archive, member=n, out_name=names.get(n, n), copy=n not in names)
        for n in entries
    ]


# -- the work ----------------------------------------------------------------------------------
class Skip(Exception):
    """A page left as it is (already in color)."""


class Batch:
    def __init__(self, colorizer, args: argparse.Namespace, total: int, rank: int = 0, progress: bool = True):
        self.colorizer = colorizer
        self.args = args
        self.kind, self.save_args = FORMATS[args.format]
        self.colored = 0
        self.skipped: Counter = Counter()
        self.failures: list[str] = []
        self.bar = tqdm(
            total=total,
            unit="page",
            desc=f"rank {rank}" if rank else "colorize",
            dynamic_ncols=True,
            disable=not progress,
        )

    def load(self, job: Job):
        """Background: read, decode, check colors, prepare. Returns bytes for a copied member."""
        if job.archive is not None:
            data = job.archive.read(job.member) if job.member else b""
            if job.copy:
                return data
            image = open_image(data, job.label)
        else:
            if job.path.stat().st_size == 0:
                raise ImageLoadError(f"{job.label}: empty file")
            try:
                image = open_image(job.path)
            except ImageLoadError as exc:  # name it relative to IN_DIR, like every other message
                raise ImageLoadError(str(exc).replace(str(job.path), job.label, 1)) from None
        if (
            not self.args.recolor
            and image.mode not in GRAY_MODES
            and chroma_fraction(image) > COLORED_FRACTION
        ):
            raise Skip()
        return self.colorizer.prepare(image, self.hints_for(job))

    def hints_for(self, job: Job):
        """The page's hint image (same relative path and stem under --hints, .png), or None."""
        if getattr(self.args, "hints", None) is None:
            return None
        rel = Path(job.archive_label, Path(job.member).with_suffix(".png")) if job.archive else Path(job.label).with_suffix(".png")
        path = self.args.hints / rel
        return load_rgba(path) if path.is_file() else None

    def encode(self, image: Image.Image) -> bytes:
        if self.kind == "JPEG" and image.mode == "RGBA":
            image = image.convert("RGB")  # JPEG has no alpha; transparent areas are white already
        buf = io.BytesIO()
        image.save(buf, self.kind, **self.save_args)
        return buf.getvalue()

    def finish(self, job: Job, page, rgb, features=None) -> bytes | None:
        """Background: merge at full size, encode, and write a plain file (archives are written
        in order by the main thread)."""
        data = self.encode(self.colorizer.finish(page, rgb, features=features))
        if job.archive is None:
            atomic_write_bytes(job.dest, data)
            return None
        return data

    # -- the main loop: decode ahead, model in this thread, write behind -------------------
    def run(self, jobs: list[Job]) -> None:
        workers = max(1, self.args.workers)
        self.ahead = workers + 2 * self.args.batch_size  # pages in flight on each side of the model
        with ThreadPoolExecutor(workers, "decode") as decode, ThreadPoolExecutor(workers, "encode") as encode:
            self.encode_pool = encode
            todo: Iterator[Job] = iter(jobs)
            loading: deque[tuple[Job, Future]] = deque()
            # (job, future, kind) in input order: "color" a page being finished, "copy" an archive
            # member that is not an image, "keep" an archive page kept as it was (skipped, failed).
            self.writing: deque[tuple[Job, Future, str]] = deque()
            batch: list[tuple[Job, object]] = []

            def refill() -> None:
                while len(loading) < self.ahead and (job := next(todo, None)) is not None:
                    loading.append((job, decode.submit(self.load, job)))

            refill()
            while loading:
                job, future = loading.popleft()
                refill()
                try:
                    page = future.result()
                except Exception as exc:  # unreadable, already colored, or anything odd: report, go on
                    self.flush(batch)  # archive members stay in order
                    self.not_colored(job, exc)
                    continue
                if isinstance(page, bytes):
                    self.flush(batch)
                    self.writing.append((job, _done(page), "copy"))
                    continue
                if batch and (
                    len(batch) >= self.args.batch_size or batch[0][1].work.shape != page.work.shape
                ):
                    self.flush(batch)
                batch.append((job, page))
            self.flush(batch)
            self.drain(wait_all=True)

    def flush(self, batch: list) -> None:
        if batch:
            try:
                hinted = any(page.hints is not None for _, page in batch)  # features only serve hints
                colors = self.colorizer.predict_with_features([page.work for _, page in batch], features=hinted)
            except Exception as exc:  # a model failure on one batch should not end the whole run
                for job, _ in batch:
                    self.writing.append((job, _failed(RuntimeError(f"model failed ({exc})")), "color"))
            else:
                for (job, page), (rgb, features) in zip(batch, colors):
                    features = features if page.hints is not None else None
                    self.writing.append((job, self.encode_pool.submit(self.finish, job, page, rgb, features), "color"))
            batch.clear()
        self.drain(wait_all=False)

    def drain(self, wait_all: bool) -> None:
        """Hand finished pages over in order; wait when too many are in flight (flat memory)."""
        while self.writing and (wait_all or self.writing[0][1].done() or len(self.writing) > self.ahead):
            job, future, kind = self.writing.popleft()
            try:
                data = future.result()
            except Exception as exc:  # merge, encode or write failed: report it, go on
                self.fail(job, exc)
                if job.archive is not None:
                    job.archive.write(job.member, self.original(job))
                continue
            if job.archive is not None:
                job.archive.write(job.out_name if kind == "color" else job.member, data)
            if kind == "color":
                self.colored += 1
                self.bar.update()

    def not_colored(self, job: Job, exc: Exception) -> None:
        """A page that never reaches the model: already in color (skipped), or unreadable."""
        if isinstance(exc, Skip):
            self.skipped["already in color (--recolor colors it anyway)"] += 1
            tqdm.write(f"skipped {job.label}: already in color")
            self.bar.update()
        else:
            self.fail(job, exc)
        if job.archive is not None:  # the colored copy of a book keeps every page
            self.writing.append((job, _done(self.original(job)), "keep"))

    def original(self, job: Job) -> bytes:
        try:
            return job.archive.read(job.member) if job.member else b""
        except (OSError, zipfile.BadZipFile):
            return b""

    def fail(self, job: Job, exc: Exception) -> None:
        if str(exc).startswith(job.label):
            message = str(exc)
        elif isinstance(exc, (ImageLoadError, OSError, HintError)):
            message = f"{job.label}: {exc}"
        else:  # unexpected: the type helps a bug report
            message = f"{job.label}: {type(exc).__name__}: {exc}"
        self.failures.append(message)
        tqdm.write(f"failed {message}")
        self.bar.update()


def _done(value) -> Future:
    f: Future = Future()
    f.set_result(value)
    return f


def _failed(exc: Exception) -> Future:
    f: Future = Future()
    f.set_exception(exc)
    return f


def summary(batch: Batch, plan_: Plan) -> str:
    skipped = batch.skipped + plan_.skipped
    failures = plan_.failures + batch.failures
    lines = [
        f"colored {batch.colored}, skipped {sum(skipped.values())}, failed {len(failures)} "
        f"(outputs in {batch.args.out_dir})"
    ]
    lines += [f"  skipped {n}: {reason}" for reason, n in sorted(skipped.items())]
    lines += [f"  failed {m}" for m in failures]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    started = time.time()
    problem = check_folders(args.in_dir, args.out_dir)
    if not problem and args.hints is not None and not args.hints.is_dir():
        problem = f"{args.hints}: no such hints folder"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = args.device
    if world > 1 and device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank)) % torch.cuda.device_count()}"
    from colorize.checkpoint import CheckpointError
    from colorize.inference.colorizer import Colorizer

    try:
        colorizer = Colorizer(
            args.checkpoint, device=device, size=args.size, shading=args.shading, background=args.background,
            vividness=args.vividness,
        )
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = remove_stale_parts(args.out_dir, older_than=started)  # left by a run killed mid-write
    if stale:
        log.info("removed %d stale temporary file(s) from %s", len(stale), args.out_dir)
    todo = plan(args, rank, world)
    pages = sum(1 for j in todo.jobs if not j.copy)
    print(f"{pages} pages to colorize with {colorizer}" + (f" (rank {rank} of {world})" if world > 1 else ""))
    batch = Batch(colorizer, args, total=pages, rank=rank)
    try:
        batch.run(todo.jobs)
    finally:
        batch.bar.close()
        for archive in {id(j.archive): j.archive for j in todo.jobs if j.archive}.values():
            archive.abort()  # only does something to an archive left half-built by an interruption
    print(summary(batch, todo))
    return 0 if not (todo.failures or batch.failures) else 1
