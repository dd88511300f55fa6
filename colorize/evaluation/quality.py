"""`python -m colorize quality`: what a checkpoint's colorings look like, in numbers and pictures.

One command runs every set through the Colorizer the app uses (with its options passed through):
- `holdout-gray`, `holdout-lineart`: the paired held-out figures of `eval` (CIEDE2000, CbCr error,
  colorfulness ratio, the share of images where the model beats the gray passthrough);
- `lineart`, `manga`: real inputs without a reference, scored by colorize.evaluation.noref (clean paper, clean
  speech bubbles, flat fill of line-bounded regions, colored share);
- `hints-gray`, `hints-lineart`: the hints curve on the held-out pictures (error for 0 to 30 hints
  made from the truth, against gray and nearest-hint chroma; hints kept), and `hints-spill`: one
  stroke in one closed region of each real line art (see colorize.evaluation.hints_eval);
- `character` (only when asked, with --character-data): a character's held-out pictures from gray and
  line art, the paired figures and how consistently the main colors are painted across pictures
  (colorize.evaluation.character_eval, consistency); every checkpoint side by side in its sheets.
Writes metrics.json, summary.md (also printed) and one side-by-side sheet per set (split over
several PNGs). Several --checkpoint, or --compare of earlier runs, give one comparison table.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from colorize.evaluation import character_report
from colorize.fileio import atomic_write_text

log = logging.getLogger("colorize.evaluation.quality")

SETS = {"lineart": ("lineart", None), "manga": ("manga", None),
        "holdout-gray": ("holdout", "gray"), "holdout-lineart": ("holdout", "lineart"),
        "hints-gray": ("holdout", "hints:gray"), "hints-lineart": ("holdout", "hints:lineart"),
        "hints-spill": ("lineart", "spill"), "character": (None, "character")}
NOREF_KEYS = ("paper_clean", "bubble_clean", "flat_fill", "colored_share")
PAIRED_KEYS = ("deltaE", "cbcr_error", "colorfulness_ratio")
TARGETS = {"paper_clean": ">= 0.95", "bubble_clean": ">= 0.90", "flat_fill": ">= 0.85", "colored_share": ">= 0.40"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", action="append", help="checkpoint folder; repeat to compare several")
    p.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="only print one table of earlier runs' metrics.json")
    p.add_argument("--sets", nargs="+", choices=list(SETS), default=[s for s in SETS if s != "character"],
                   help="which sets (default: all but character)")
    p.add_argument("--data", default="../shared/data", help="folder holding lineart/, manga/ and holdout/")
    p.add_argument("--out", help="report folder (default runs/quality/<checkpoint name>)")
    p.add_argument("--limit", type=int, help="only the first N images of each set, for quick runs")
    p.add_argument("--size", type=int, help="Colorizer working size (default: from the card)")
    p.add_argument("--shading", type=float, help="Colorizer shading 0..1 (default: from the card)")
    p.add_argument("--background", choices=["keep", "color"],
                   help="Colorizer background option, passed only to a Colorizer that has it")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--measure-side", type=int, default=1024, help="long side the no-reference measures work at")
    p.add_argument("--max-side", type=int, default=512, help="held-out images scaled to this long side (as eval)")
    p.add_argument("--seed", type=int, default=0, help="held-out line-art synthesis seed (as eval)")
    p.add_argument("--row-height", type=int, default=320, help="sheet row height in px")
    p.add_argument("--character-data", action="append", metavar="DIR",
                   help="a character's picture folder for the character set; repeat for several (a character "
                        "model is measured on the folder its card trained on, other models on every folder)")
    p.add_argument("--character-holdout", type=float, default=0.25,
                   help="held-out fraction of a character's pictures by content hash (as `colorize character`)")
    p.add_argument("--frontier", action="store_true",
                   help="also the held-out CbCr-error-versus-colorfulness curve over vividness settings, "
                        "every --checkpoint on one plot (frontier.png)")


def make_colorizer(checkpoint: str | Path, device: str = "auto", **options):
    """A Colorizer with the options it accepts; an option it does not know is dropped with a warning
    (so this works before and after a Colorizer gains e.g. `background`)."""
    from colorize.inference.colorizer import Colorizer

    accepted = inspect.signature(Colorizer).parameters
    kwargs = {}
    for key, value in options.items():
        if value is None:
            continue
        if key in accepted:
            kwargs[key] = value
        else:
            log.warning("this Colorizer has no %r option; ignoring %s=%r", key, key, value)
    return Colorizer(checkpoint, device=device, **kwargs), kwargs


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def run_noref(colorizer, folder: Path, limit: int | None, measure_side: int, row_height: int):
    """Per-image no-reference measures of the model and of the gray passthrough, and sheet rows."""
    from colorize.evaluation import noref
    from colorize.evaluation.sheets import row_image
    from colorize.images import ImageLoadError, list_images, load_rgb

    paths = list_images(folder)[:limit]
    if not paths:
        raise FileNotFoundError(f"{folder}: no images")
    per_image, rows, skipped = [], [], []
    for path in paths:
        name = path.relative_to(folder).as_posix()
        try:
            rgb = load_rgb(path)
        except ImageLoadError as exc:
            log.warning("skipping %s", exc)
            skipped.append({"file": name, "reason": str(exc)})
            continue
        out = colorizer.colorize(rgb).convert("RGB")  # full size, as a user gets it
        luma = np.asarray(noref.to_measuring_size(rgb.convert("L"), measure_side))
        out_small = np.asarray(noref.to_measuring_size(out, measure_side))
        layout = noref.analyse(luma)
        model = noref.measure(layout, out_small)
        gray = noref.measure(layout, np.repeat(luma[..., None], 3, axis=2))
        per_image.append({"file": name, "size": list(rgb.size), "layout": noref.describe(layout),
                          "model": model, "gray": gray})
        caption = f"{name}   " + "  ".join(f"{k} {_fmt(model[k])}" for k in NOREF_KEYS)
        rows.append(row_image([rgb.convert("L"), out, noref.overlay(layout)], caption, row_height))
    if not per_image:
        raise FileNotFoundError(f"{folder}: none of the {len(paths)} images could be read")
    mean = {who: {k: _mean([r[who][k] for r in per_image]) for k in (*NOREF_KEYS, "paper_chroma", "paper_darkening")}
            for who in ("model", "gray")}
    counted = {k: sum(r["model"][k] is not None for r in per_image) for k in NOREF_KEYS}
    result = {"kind": "noref", "images": str(folder), "count": len(per_image), "measure_side": measure_side,
              "mean": mean, "images_counted": counted, "per_image": per_image, "skipped": skipped}
    return result, rows


def run_paired(colorizer, checkpoint, folder: Path, mode: str, args, row_height: int):
    from colorize.evaluation.evaluate import evaluate
    from colorize.evaluation.sheets import row_image

    result, rows = evaluate(checkpoint, folder, mode, args.max_side, seed=args.seed, colorizer=colorizer,
                            limit=args.limit)
    sheet_rows = []
    for r in rows:
        m, b = r["model"], r["baseline"]
        caption = (f"{r['file']}   deltaE {m['deltaE']:.2f} (gray {b['deltaE']:.2f})   "
                   f"CbCr err {m['cbcr_error']:.2f} (gray {b['cbcr_error']:.2f})")
        sheet_rows.append(row_image(list(r["images"]), caption, row_height))
    result = {"kind": "paired", **{k: v for k, v in result.items() if k not in ("checkpoint", "step")}}
    return result, sheet_rows


def run_hints(colorizer, folder: Path, mode: str, args, out: Path) -> dict:
    from colorize.evaluation import hints_eval

    if mode == "spill":
        return hints_eval.no_spill(colorizer, folder, args.limit)
    result = hints_eval.hint_curve(colorizer, folder, mode.split(":")[1], args.max_side, args.seed, args.limit)
    result["plot"] = hints_eval.plot_curve(result, out / f"hints-{result['mode']}.png").relative_to(out).as_posix()
    return result


def run_quality(checkpoint: str, args, out: Path, kept: dict | None = None) -> dict:
    """Every chosen set through one Colorizer; writes the sheets, returns the report. The character
    set's pictures go into `kept` (its sheets show every checkpoint, so main writes them)."""
    from colorize.evaluation.sheets import write_sheets

    colorizer, options = make_colorizer(checkpoint, args.device, size=args.size, shading=args.shading,
                                        background=args.background)
    data = Path(args.data)
    report = {"checkpoint": str(checkpoint), "step": colorizer.card.get("step"),
              "colorizer": {"working_size": colorizer.size, "shading": colorizer.shading, **options},
              "created": datetime.now(UTC).isoformat(timespec="seconds"), "sets": {}}
    t0 = time.perf_counter()
    for name in args.sets:
        folder, mode = SETS[name]
        t = time.perf_counter()
        print(f"{name}: {data / folder if folder else args.character_data} ...", file=sys.stderr)
        if mode == "character":
            from colorize.evaluation.character_eval import run_characters

            result, images = run_characters(colorizer, checkpoint, args)
            report["sets"][name] = {**result, "seconds": round(time.perf_counter() - t, 1)}
            if kept is not None:
                kept[checkpoint] = images
            continue
        if mode is None:
            result, rows = run_noref(colorizer, data / folder, args.limit, args.measure_side, args.row_height)
            what = "input | output | measured (paper blue, bubbles green, closed regions tinted)"
        elif mode.startswith("hints:") or mode == "spill":
            result = run_hints(colorizer, data / folder, mode, args, out)
            report["sets"][name] = {**result, "seconds": round(time.perf_counter() - t, 1)}
            continue
        else:
            result, rows = run_paired(colorizer, checkpoint, data / folder, mode, args, args.row_height)
            what = "input | output | target"
        result["seconds"] = round(time.perf_counter() - t, 1)
        paths = write_sheets(out / "sheets", name, rows, f"{Path(checkpoint).name}  {name}: {what}")
        result["sheets"] = [p.relative_to(out).as_posix() for p in paths]
        report["sets"][name] = result
    if getattr(args, "frontier", False):
        from colorize.evaluation.frontier import frontier

        print("frontier: held-out gray at each vividness ...", file=sys.stderr)
        report["frontier"] = frontier(colorizer, checkpoint, data / "holdout", args)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def summary(reports: dict[str, dict]) -> str:
    """Markdown tables, one row per run and set plus the gray passthrough's row once per set."""
    names = list(dict.fromkeys(s for r in reports.values() for s in r["sets"]))
    lines = []
    paired = [s for s in names if s.startswith("holdout")]
    noref = [s for s in names if not s.startswith(("holdout", "hints", "character"))]
    if noref:
        lines += ["Real inputs, no reference (mean over images; chroma = |CbCr| in 0-255 levels)", "",
                  "| set | run | images | " + " | ".join(NOREF_KEYS) + " |",
                  "|---|---|---:|" + "---:|" * len(NOREF_KEYS)]
        for s in noref:
            for label, who in [(label, "model") for label in reports] + [("gray passthrough", "gray")]:
                rep = reports[label if who == "model" else next(iter(reports))]["sets"].get(s)
                if rep:
                    cells = " | ".join(_fmt(rep["mean"][who][k]) for k in NOREF_KEYS)
                    lines.append(f"| {s} | {label} | {rep['count']} | {cells} |")
        lines += ["| target |  |  | " + " | ".join(TARGETS[k] for k in NOREF_KEYS) + " |", ""]
    if paired:
        lines += ["Held-out, paired (mean over images; deltaE = CIEDE2000, CbCr error in 0-255 levels)", "",
                  "| set | run | images | deltaE | CbCr error | colorfulness ratio | deltaE beats gray |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for s in paired:
            for label, who in [(label, "model") for label in reports] + [("gray passthrough", "baseline")]:
                rep = reports[label if who == "model" else next(iter(reports))]["sets"].get(s)
                if rep:
                    cells = " | ".join(_fmt(rep["mean"][who].get(k)) for k in PAIRED_KEYS)
                    wins = _fmt(rep["model_beats_baseline_share"]["deltaE"]) if who == "model" else ""
                    lines.append(f"| {s} | {label} | {rep['count']} | {cells} | {wins} |")
        lines.append("")
    lines += hints_summary(reports, [s for s in names if s.startswith("hints")])
    lines += character_report.summary(reports)
    return "\n".join(lines)


def frontier_summary(frontiers: dict[str, dict]) -> str:
    lines = ["Held-out gray frontier (CbCr error at each vividness; colorfulness ratio after the slash)", "",
             "| run | " + " | ".join(f"v {p['vividness']}" for p in next(iter(frontiers.values()))["points"]) + " |",
             "|---|" + "---:|" * len(next(iter(frontiers.values()))["points"])]
    for label, f in frontiers.items():
        cells = " | ".join(f"{p['cbcr_error']:.2f} / {p['colorfulness_ratio']:.2f}" for p in f["points"])
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines) + "\n"


def hints_summary(reports: dict[str, dict], sets: list[str]) -> list[str]:
    """The hints curve (CbCr error, deltaE after the slash), hints kept and spill, per run."""
    lines = []
    for s in sets:
        for label, report in reports.items():
            rep = report["sets"].get(s)
            if not rep:
                continue
            if rep["kind"] == "spill":
                m = rep["mean"]
                lines += [f"{s} ({label}, {rep['count']} line-art pages): one stroke fills {m['covered']:.3f} of its "
                          f"region ({m['covered_90_share']:.2f} of pages >= 0.90; target >= 0.90), neighbours move "
                          f"{m['neighbour_change']:.2f} CbCr (target < 3)", ""]
                continue
            ks = list(rep["curve"])
            lines += [f"{s} ({label}, {rep['count']} images): CbCr error / deltaE by number of hints K", "",
                      "| K | " + " | ".join(ks) + " |", "|---|" + "---:|" * len(ks)]
            for who in ("model", "nearest_hint", "gray"):
                cells = " | ".join(f"{rep['curve'][k][who]['cbcr_error']:.2f} / {rep['curve'][k][who]['deltaE']:.2f}"
                                   for k in ks)
                lines.append(f"| {who} | {cells} |")
            kept, every = rep["kept"], rep.get("kept_all_pixels")
            lines += ["", f"hints kept at K=10 (output within 8 CbCr of the hint under the dab, off the input's lines): "
                      f"true colors {_fmt(kept['true']['share'])} of {kept['true']['dabs']}, turned hues "
                      f"{_fmt(kept['turned']['share'])} of {kept['turned']['dabs']} (target >= 0.95)"]
            if every:  # lines under a stroke stay ink, so every pixel of the dab asks for more than there is room for
                lines.append(f"over every pixel of the dab, lines included: true colors {_fmt(every['true']['share'])}, "
                             f"turned hues {_fmt(every['turned']['share'])}")
            lines.append("")
    return lines


def _labels(paths: list[str]) -> list[str]:
    names = [Path(p).resolve().name for p in paths]
    return [n if names.count(n) == 1 else f"{n}#{i + 1}" for i, n in enumerate(names)]


def write_report(run_out: Path, label: str, report: dict) -> None:
    atomic_write_text(run_out / "metrics.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(run_out / "summary.md", summary({label: report}) + "\n")


def character_sheets(out: Path, labels: list[str], args, reports: dict, kept: dict) -> None:
    """The character set's sheets, every checkpoint side by side, under out/sheets; each run's
    metrics.json then names them (relative to its own folder)."""
    import os

    by_label = {label: kept[c] for label, c in zip(labels, args.checkpoint) if c in kept}
    written = character_report.write_sheets(out, by_label, reports, args.row_height)
    for label, paths in written.items():
        run_out = out if len(labels) == 1 else out / label
        reports[label]["sets"]["character"]["sheets"] = [Path(os.path.relpath(p, run_out)).as_posix() for p in paths]
        write_report(run_out, label, reports[label])


def main(args: argparse.Namespace) -> int:
    from colorize.checkpoint import CheckpointError

    try:
        if args.compare:
            reports = {}
            for label, run in zip(_labels(args.compare), args.compare):
                path = Path(run) / "metrics.json"
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no such file (not a quality run?)")
                reports[label] = json.loads(path.read_text())
            print(summary(reports))
            return 0
        if not args.checkpoint:
            raise ValueError("give --checkpoint DIR (repeat it to compare) or --compare RUN_DIR ...")
        for name in {SETS[s][0] for s in args.sets} - {None}:
            if not (Path(args.data) / name).is_dir():
                raise FileNotFoundError(f"{Path(args.data) / name}: no such folder (see --data)")
        labels = _labels(args.checkpoint)
        out = Path(args.out or Path("runs") / "quality" / "-".join(labels))
        if "character" in args.sets:
            from colorize.evaluation.character_eval import check_all

            if not args.character_data:
                raise ValueError("--sets character needs --character-data DIR (a character's picture folder)")
            check_all(args.checkpoint, args)
        reports, kept = {}, {}
        for label, checkpoint in zip(labels, args.checkpoint):
            run_out = out if len(labels) == 1 else out / label
            report = run_quality(checkpoint, args, run_out, kept)
            write_report(run_out, label, report)
            reports[label] = report
        if kept:
            character_sheets(out, labels, args, reports, kept)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    table = summary(reports)
    frontiers = {label: r["frontier"] for label, r in reports.items() if "frontier" in r}
    if frontiers:
        from colorize.evaluation.frontier import plot_frontiers

        table += frontier_summary(frontiers) + f"\nfrontier plot: {plot_frontiers(frontiers, out / 'frontier.png')}\n"
    if len(reports) > 1:
        atomic_write_text(out / "compare.md", table + "\n")
    print(table)
    for label, report in reports.items():
        sheets = sum(len(s.get("sheets", [])) for name, s in report["sets"].items() if name != "character")
        where = f", {sheets} sheets under {out if len(reports) == 1 else out / label}/sheets" if sheets else ""
        print(f"{label}: {report['seconds']} s{where}")
    if kept:
        print(f"character sheets, every checkpoint side by side: {out / 'sheets'}/character-*.png")
    return 0
