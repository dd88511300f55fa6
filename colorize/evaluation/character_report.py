"""The `character` set's table and pictures: every compared checkpoint side by side on each
character's held-out pictures (input | run 1 | run 2 | ... | truth), and a palette picture of how
each run renders the character's main colors on every picture (colorize.evaluation.consistency)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from colorize.evaluation.consistency import swatch
from colorize.fileio import atomic_write_bytes

FIGURES = ("deltaE", "cbcr_error", "colorfulness_ratio")


def _fmt(v) -> str:
    return "" if v is None else f"{v:.3f}"


def summary(reports: dict[str, dict]) -> list[str]:
    """Markdown: one row per character, input, run; then the gray passthrough and the truth."""
    runs = {label: r["sets"]["character"]["characters"] for label, r in reports.items() if "character" in r["sets"]}
    if not runs:
        return []
    lines = ["Character sets: held-out pictures (content-hash position >= 1 - holdout), mean over pictures; "
             "main colors' closeness to the truth and spread across pictures in CbCr levels, lower is better "
             "(colorize/evaluation/consistency.py)", "",
             "| character | input | run | images | deltaE | CbCr error | colorfulness ratio | deltaE beats gray "
             "| closeness | spread | neutral: tint / spread |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    names = list(dict.fromkeys(n for chars in runs.values() for n in chars))
    for name in names:
        have = {label: chars[name] for label, chars in runs.items() if name in chars}
        first = next(iter(have.values()))
        for mode in first["modes"]:
            for label, char in have.items():
                m = char["modes"][mode]
                c = m["consistency"]["runs"]["model"]
                cells = " | ".join(_fmt(m["mean"]["model"].get(k)) for k in FIGURES)
                lines.append(f"| {name} | {mode} | {label} | {m['count']} | {cells} | "
                             f"{_fmt(m['model_beats_baseline_share']['deltaE'])} | {_fmt(c['closeness'])} | "
                             f"{_fmt(c['spread'])} | {_neutral(c)} |")
            m = first["modes"][mode]
            g, t = m["consistency"]["runs"]["gray"], m["consistency"]["runs"]["truth"]
            cells = " | ".join(_fmt(m["mean"]["baseline"].get(k)) for k in FIGURES)
            lines.append(f"| {name} | {mode} | gray passthrough | {m['count']} | {cells} |  | "
                         f"{_fmt(g['closeness'])} | {_fmt(g['spread'])} | {_neutral(g)} |")
            lines.append(f"| {name} | {mode} | truth | {m['count']} |  |  |  |  | 0.000 | {_fmt(t['spread'])} "
                         f"| {_neutral(t)} |")
        palette = first["modes"][next(iter(first["modes"]))]["consistency"]["palette"]
        colors = ", ".join(f"({p['cbcr'][0]:.0f}, {p['cbcr'][1]:.0f}) {100 * p['share']:.0f}%"
                           for p in palette if not p.get("neutral"))
        lines.append(f"| {name} palette (Cb, Cr) |  | {colors or 'no chromatic color'} |  |  |  |  |  |  |  |  |")
    return lines + [""]


def _neutral(run: dict) -> str:
    n = run.get("neutral") or {}
    return "" if n.get("closeness") is None else f"{n['closeness']:.2f} / {_fmt(n.get('spread')) or 'n/a'}"


def palette_picture(results: dict[str, dict], mode: str, title: str) -> Image.Image:
    """Rows truth, gray and each run; a column per palette color (the neutral one last); in each
    cell one square per picture, the color that run gives there (at the truth's brightness), blank
    where it is absent."""
    first = next(iter(results.values()))["modes"][mode]["consistency"]
    palette, luma = first["palette"], first["luma"]
    cell, label_w, font = 16, 170, ImageFont.load_default(size=13)
    rows = [("truth", first["runs"]["truth"]), ("gray passthrough", first["runs"]["gray"])]
    rows += [(label, r["modes"][mode]["consistency"]["runs"]["model"]) for label, r in results.items()]
    col_w = max(4, len(luma)) * cell + 12
    im = Image.new("RGB", (label_w + col_w * max(1, len(palette)), 46 + len(rows) * (cell + 6)), "white")
    draw = ImageDraw.Draw(im)
    draw.text((2, 4), title, fill="black", font=font)
    draw.text((2, 25), "palette color", fill="black", font=font)
    for c, color in enumerate(palette):  # the column's color, or the word for the neutral entry
        x = label_w + c * col_w
        if color.get("neutral"):
            draw.text((x, 25), "neutral", fill="black", font=font)
        else:
            draw.rectangle((x, 24, x + 3 * cell, 24 + cell - 2), fill=tuple(color["rgb"]))
    for i, (label, run) in enumerate(rows):
        y = 46 + i * (cell + 6)
        draw.text((2, y + 1), label[:24], fill="black", font=font)
        for c, color in enumerate(run["colors"]):
            for p, r in enumerate(color["renderings"]):
                if r is not None:
                    x = label_w + c * col_w + p * cell
                    draw.rectangle((x, y, x + cell - 2, y + cell - 2), fill=tuple(swatch(r, luma[p][c])))
    return im


def write_sheets(out: Path, images: dict[str, dict], reports: dict[str, dict],
                 row_height: int = 320) -> dict[str, list[Path]]:
    """out/sheets/character-NAME-MODE-NN.png (input | each run | truth) and
    character-NAME-MODE-palette.png, for every character; {label: [paths of its characters]}."""
    from colorize.evaluation.sheets import row_image
    from colorize.evaluation.sheets import write_sheets as write_rows

    written: dict[str, list[Path]] = {label: [] for label in images}
    names = list(dict.fromkeys(n for chars in images.values() for n in chars))
    for name in names:
        have = [label for label in images if name in images[label]]
        results = {label: reports[label]["sets"]["character"]["characters"][name] for label in have}
        for mode in images[have[0]][name]:
            outputs = {label: {f: o for f, _, o, _ in images[label][name][mode]} for label in have}
            rows = []
            for file, inp, _, truth in images[have[0]][name][mode]:
                errs = "  ".join(f"{label} {_cbcr(results[label], mode, file):.2f}" for label in have)
                errs += f"  (gray {_cbcr(results[have[0]], mode, file, 'baseline'):.2f})"
                rows.append(row_image([inp, *(outputs[label][file] for label in have), truth],
                                      f"{file}   CbCr err {errs}", row_height))
            title = f"{name} held-out, {mode} input: input | {' | '.join(have)} | truth"
            paths = write_rows(out / "sheets", f"character-{name}-{mode}", rows, title)
            buf = io.BytesIO()
            palette_picture(results, mode, f"{name}, {mode} input: how each run paints the main colors, "
                                           "one square per picture").save(buf, format="PNG")
            paths.append(out / "sheets" / f"character-{name}-{mode}-palette.png")
            atomic_write_bytes(paths[-1], buf.getvalue())
            for label in have:
                written[label] += paths
    return written


def _cbcr(result: dict, mode: str, file: str, who: str = "model") -> float:
    return next(r[who]["cbcr_error"] for r in result["modes"][mode]["per_image"] if r["file"] == file)
