"""Command line: `python -m scraper fetch ...` and `python -m scraper clean ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scraper.clean_options import CleanOptions
from scraper.client import USER_AGENT, HttpOptions

RATINGS = ("general", "safe", "sensitive", "questionable", "explicit")


def _extensions(text: str) -> tuple[str, ...]:
    exts = tuple("." + e.strip().lower().lstrip(".") for e in text.split(",") if e.strip())
    if not exts:
        raise argparse.ArgumentTypeError("give at least one extension, e.g. jpg,png")
    return exts


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scraper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fetch", help="download the posts of a tag query into DATA_DIR",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    f.add_argument("--tags", required=True, help='tag query, e.g. "1girl solo -monochrome -comic"')
    f.add_argument("--out", required=True, type=Path, help="DATA_DIR: images/ and manifest.sqlite go here")
    f.add_argument("--limit", type=_positive(int), default=1000,
                   help="stop listing once this query has kept this many posts (over all runs); 0: no limit")
    f.add_argument("--base-url", default="https://safebooru.org", help="any Safebooru-compatible server")
    f.add_argument("--format", choices=("xml", "json"), default="xml", help="API answer format")
    f.add_argument("--rate", type=_positive(float), default=1.0,
                   help="at most this many API requests per second (0: no limit, for local servers)")
    f.add_argument("--workers", type=int, default=2, help="parallel image downloads")
    f.add_argument("--min-side", type=_positive(int), default=0,
                   help="skip posts whose shorter side is below this (from the listing, not downloaded)")
    f.add_argument("--rating", choices=RATINGS, default=None, help="only posts with this rating")
    f.add_argument("--extensions", type=_extensions, default="jpg,jpeg,png",
                   help="original file types to keep, comma separated")
    f.add_argument("--page-size", type=int, default=100, help="posts per API request (the site allows up to 1000)")
    f.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a server")
    f.add_argument("--retries", type=_positive(int), default=5, help="retries per request (429, 5xx, network)")
    f.add_argument("--backoff", type=float, default=1.0, help="first retry pause in seconds; doubles, plus jitter")
    f.add_argument("--user-agent", default=USER_AGENT)
    f.add_argument("--relist", action="store_true",
                   help="list from the newest post again instead of continuing where the last run stopped")
    f.add_argument("--list-only", action="store_true", help="record the listing, download nothing")

    c = sub.add_parser("clean", help="keep/drop every downloaded image, with a reason",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    c.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    c.add_argument("--export", type=Path, default=None, metavar="EXPORT_DIR",
                   help="write the kept images (hard links, else copies) to this flat folder")
    d = CleanOptions()  # the defaults live in one place
    c.add_argument("--min-face-frac", type=float, default=d.min_face_frac,
                   help="drop images whose largest face box covers less than this fraction of the image area")
    c.add_argument("--min-side", type=int, default=d.min_side,
                   help="drop images whose shorter side is below this many pixels")
    c.add_argument("--max-aspect", type=float, default=d.max_aspect,
                   help="drop images whose longer side exceeds this many times the shorter")
    c.add_argument("--min-colorfulness", type=float, default=d.min_colorfulness,
                   help="drop images whose chroma spread is below this (gray, sepia; see README)")
    c.add_argument("--dup-distance", type=int, default=d.dup_distance,
                   help="pHash bits (of 64) within which two images are near-duplicates")
    c.add_argument("--face-likelihood", type=float, default=d.face_likelihood,
                   help="animeface likelihood from which a detection counts as a face")
    c.add_argument("--workers", type=int, default=d.workers, help="processes analysing images (the CPU count)")
    c.add_argument("--sheet-size", type=int, default=d.sheet_size, help="thumbnails per contact sheet")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from scraper.export import ExportError
    from scraper.lock import DataDirBusy

    try:
        if args.command == "fetch":
            return _fetch(args)
        return _clean(args)
    except (DataDirBusy, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to continue", file=sys.stderr)
        return 130


def _fetch(args) -> int:
    from scraper.fetch import Fetch, FetchOptions

    if args.workers < 1 or args.page_size < 1:
        print("error: --workers and --page-size must be at least 1", file=sys.stderr)
        return 2
    opts = FetchOptions(
        tags=args.tags, out=args.out, limit=args.limit, base_url=args.base_url, fmt=args.format,
        rate=args.rate, workers=args.workers, min_side=args.min_side, rating=args.rating,
        extensions=args.extensions, page_size=args.page_size, relist=args.relist, list_only=args.list_only,
        http=HttpOptions(timeout=args.timeout, retries=args.retries, backoff=args.backoff,
                         user_agent=args.user_agent, pool_size=max(2, args.workers)),
    )
    fetch = Fetch(opts)
    summary = fetch.run()
    for line in summary.lines(fetch.images):
        print(line)
    return 1 if summary.listing_error else 0


def _clean(args) -> int:
    from scraper.clean import run_clean

    overrides = {k: v for k, v in vars(args).items()
                 if k not in ("command", "data_dir", "export") and v is not None}
    opts = CleanOptions(**overrides)
    if not (args.data_dir / "manifest.sqlite").exists() and not (args.data_dir / "images").is_dir():
        print(f"error: {args.data_dir}: no images/ or manifest.sqlite here (run fetch first)", file=sys.stderr)
        return 2
    report = run_clean(args.data_dir, opts, export=args.export)
    for line in report.lines():
        print(line)
    return 0
