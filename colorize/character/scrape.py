"""`colorize character NAME --tags ...`: the scraper's own fetch and clean into the work folder,
then its export is what trains. Resumable as the scraper is: a re-run downloads nothing it has
verified and analyses only new files."""

from __future__ import annotations

import logging
from pathlib import Path

from colorize.character.errors import CharacterError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://safebooru.org"


def fetch_and_clean(tags: str, work: Path, *, base_url: str = DEFAULT_BASE_URL, limit: int = 300,
                    rate: float = 1.0, rating: str | None = "general", workers: int | None = None) -> Path:
    """Download up to `limit` posts of the tag query into WORK/scrape, keep single-character color
    illustrations (scraper clean's rules and defaults) and return their export folder."""
    from scraper.clean import run_clean
    from scraper.clean_options import CleanOptions
    from scraper.export import ExportError
    from scraper.fetch import Fetch, FetchOptions
    from scraper.lock import DataDirBusy

    data_dir, export = Path(work) / "scrape", Path(work) / "scrape-export"
    clean = CleanOptions() if workers is None else CleanOptions(workers=workers)
    opts = FetchOptions(tags=tags, out=data_dir, limit=limit, base_url=base_url, rate=rate, rating=rating,
                        min_side=clean.min_side)
    try:
        fetch = Fetch(opts, log=log.info)
        summary = fetch.run()
        for line in summary.lines(fetch.images):
            log.info("%s", line)
        if summary.listing_error and not summary.dataset_files:
            raise CharacterError(f"{base_url}: {summary.listing_error}")
        report = run_clean(data_dir, clean, export=export, log=log.info)
    except (DataDirBusy, ExportError) as exc:
        raise CharacterError(str(exc)) from None
    for line in report.lines():
        log.info("%s", line)
    if not report.kept:
        raise CharacterError(f"{tags!r}: the cleaner kept none of the {summary.dataset_files} downloaded images "
                             f"(reasons in {data_dir / 'clean_report.json'})")
    return export
