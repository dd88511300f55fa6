"""`python -m scraper clean DATA_DIR`: decide keep/drop for every downloaded image, with a reason,
store it in the manifest, write clean_report.json and a contact sheet per reason, and optionally
export the kept images for training. Incremental: only new or changed files are analysed again."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from colorize.fileio import atomic_dir, atomic_write_text
from colorize.near_duplicates import keep_largest
from scraper.clean_options import CleanOptions
from scraper.contact_sheet import write_sheet
from scraper.export import export_kept
from scraper.features import analyse, analyse_job, cheap_reason
from scraper.lock import DataDirLock
from scraper.manifest import Manifest

# Tags that mean "not a full-color illustration", checked before measuring color.
MONOCHROME_TAGS = (
    "monochrome", "greyscale", "grayscale", "sepia", "spot_color", "partially_colored",
    "comic", "4koma", "sketch", "lineart",
)
REASONS = (
    "unreadable", "too_small", "extreme_aspect", "monochrome_tag", "low_colorfulness",
    "near_duplicate", "no_face", "multiple_faces", "small_face",
)


@dataclass
class CleanReport:
    data_dir: Path
    analysed: int = 0
    reused: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    export: str = ""

    def lines(self) -> list[str]:
        out = [f"analysed {self.analysed} images; {self.reused} unchanged since the last run (measurements reused)"]
        out.append(f"kept {self.kept}")
        total = sum(self.dropped.values())
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items(), key=lambda kv: REASONS.index(kv[0])))
        out.append(f"dropped {total}" + (f": {parts}" if parts else ""))
        out.append(f"report: {self.data_dir / 'clean_report.json'}; "
                   f"contact sheets: {self.data_dir / 'clean_sheets'}/ (look before training)")
        if self.export:
            out.append(self.export)
        return out


def mono_tag(tags: list[str]) -> str | None:
    return next((t for t in MONOCHROME_TAGS if t in tags), None)


def _scan(images: Path, data_dir: Path) -> dict[str, os.stat_result]:
    """Every regular, non-hidden file in images/ (hidden ones are .part files of a fetch)."""
    out = {}
    if images.is_dir():
        with os.scandir(images) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                    out[Path(entry.path).relative_to(data_dir).as_posix()] = entry.stat(follow_symlinks=False)
    return out


def run_clean(data_dir: Path, opts: CleanOptions, export: Path | None = None, log=None) -> CleanReport:
    data_dir = Path(data_dir)
    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    report = CleanReport(data_dir)
    with DataDirLock(data_dir), Manifest(data_dir / "manifest.sqlite") as db:
        tags = db.tags_by_path()
        stored = db.clean_rows()
        on_disk = _scan(data_dir / "images", data_dir)
        features: dict[str, dict] = {}
        jobs = []
        for rel, st in sorted(on_disk.items()):
            old = stored.get(rel)
            mono = mono_tag(tags.get(rel, (0, []))[1])
            if old and old[0] == st.st_size and old[1] == st.st_mtime_ns and not _needs_faces(old[2], mono, opts):
                features[rel] = old[2]
                report.reused += 1
            else:
                jobs.append((str(data_dir / rel), rel, mono, opts.screen))
        gone = [rel for rel in stored if rel not in on_disk]
        results = _analyse_all(jobs, opts.workers)
        with db.transaction():
            for rel in gone:
                db.db.execute("DELETE FROM clean WHERE path=?", (rel,))
            for rel, size, mtime_ns, feats in results:
                features[rel] = feats
                db.db.execute(
                    "INSERT OR REPLACE INTO clean (path, size, mtime_ns, features, cleaned_at) VALUES (?,?,?,?,?)",
                    (rel, size, mtime_ns, json.dumps(feats), time.time()),
                )
                if feats.get("error"):
                    log(f"unreadable: {feats['error']}")
        report.analysed = len(results)

        decisions = decide(features, {rel: mono_tag(tags.get(rel, (0, []))[1]) for rel in features}, opts)
        with db.transaction():
            db.db.executemany(
                "UPDATE clean SET decision=?, reason=?, detail=? WHERE path=?",
                [(d, r, detail, rel) for rel, (d, r, detail) in decisions.items()],
            )
        report.kept = sum(1 for d, _, _ in decisions.values() if d == "keep")
        report.dropped = Counter(r for d, r, _ in decisions.values() if d == "drop")

        _write_report(data_dir, opts, report, decisions, tags)
        _write_sheets(data_dir, opts, decisions, features, tags)
        if export is not None:
            kept = [data_dir / rel for rel, (d, _, _) in sorted(decisions.items()) if d == "keep"]
            links, copies = export_kept(kept, export)
            how = "hard links" if not copies else f"{links} hard links, {copies} copies"
            report.export = f"exported {len(kept)} images to {export} ({how})"
    return report


def _needs_faces(feats: dict, mono: str | None, opts: CleanOptions) -> bool:
    """Stored measurements lack faces for an image that now passes the cheap checks (options
    were loosened since): analyse it again."""
    return feats.get("faces") is None and cheap_reason(feats, mono, opts.screen) is None


def _analyse_all(jobs: list[tuple], workers: int) -> list[tuple[str, int, int, dict]]:
    if not jobs:
        return []
    bar = tqdm(total=len(jobs), desc="analysing", unit="img", disable=None, dynamic_ncols=True)
    results = []
    if workers <= 1 or len(jobs) < 4:
        for job in jobs:
            results.append(analyse(*job))
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(analyse_job, jobs, chunksize=4):
                results.append(result)
                bar.update(1)
    bar.close()
    return results


def decide(features: dict[str, dict], monos: dict[str, str | None], opts: CleanOptions):
    """{path: (keep|drop, reason, detail)}: cheap checks, then near-duplicates among the images
    that passed them, then the face classifier."""
    out: dict[str, tuple[str, str | None, str | None]] = {}
    candidates = []
    for rel, feats in features.items():
        failed = cheap_reason(feats, monos.get(rel), opts.screen)
        if failed:
            out[rel] = ("drop", *failed)
        else:
            candidates.append(rel)
    dupes = keep_largest(
        [(rel, features[rel]["phash"], features[rel]["width"] * features[rel]["height"], 0) for rel in candidates],
        opts.dup_distance,
    )
    for rel in candidates:
        if rel in dupes:
            other, dist = dupes[rel]
            out[rel] = ("drop", "near_duplicate", f"near-duplicate of {other} (pHash distance {dist})")
            continue
        out[rel] = _face_decision(features[rel], opts)
    return out


def _face_decision(feats: dict, opts: CleanOptions) -> tuple[str, str | None, str | None]:
    faces = [f for f in feats.get("faces") or [] if f[4] >= opts.face_likelihood]
    if not faces:
        return "drop", "no_face", "no anime face found"
    if len(faces) > 1:
        return "drop", "multiple_faces", f"{len(faces)} faces: not a single character"
    x, y, w, h, likelihood = faces[0]
    frac = (w * h) / (feats["width"] * feats["height"])
    if frac < opts.min_face_frac:
        return "drop", "small_face", f"face covers {frac:.2%} of the image (< {opts.min_face_frac:.2%})"
    return "keep", None, f"one face, {frac:.1%} of the image"


def _write_report(data_dir: Path, opts: CleanOptions, report: CleanReport, decisions, tags) -> None:
    body = {
        "data_dir": str(data_dir),
        "options": {k: v for k, v in asdict(opts).items() if k != "workers"},
        "counts": {"kept": report.kept, "dropped": dict(report.dropped), "total": len(decisions)},
        "analysed": report.analysed,
        "reused": report.reused,
        "images": [
            {"path": rel, "post_id": tags.get(rel, (None, []))[0], "decision": d, "reason": r, "detail": detail}
            for rel, (d, r, detail) in sorted(decisions.items())
        ],
    }
    atomic_write_text(data_dir / "clean_report.json", json.dumps(body, indent=1) + "\n")


def _write_sheets(data_dir: Path, opts: CleanOptions, decisions, features, tags) -> None:
    groups: dict[str, list[str]] = {}
    for rel, (d, r, _) in sorted(decisions.items()):
        groups.setdefault(r if d == "drop" else "kept", []).append(rel)

    def fill(tmp: Path) -> None:
        tmp.chmod(0o755)  # a temporary folder is private; the sheets are meant to be looked at
        for name, rels in groups.items():
            entries = []
            for rel in rels[: opts.sheet_size]:
                post_id = tags.get(rel, (None, []))[0]
                label = f"#{post_id}" if post_id else Path(rel).name
                detail = decisions[rel][2] or ""
                faces = features[rel].get("faces") if name in ("kept", "multiple_faces", "small_face") else None
                entries.append((data_dir / rel, f"{label} {detail}", faces))
            write_sheet(tmp / f"{name}.png", name, entries, len(rels))

    atomic_dir(data_dir / "clean_sheets", fill)
