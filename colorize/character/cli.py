"""`python -m colorize character NAME --data DIR...` (or `--tags "..."`): fine-tune the default
model on one character's pictures and write checkpoints/characters/NAME/."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from colorize.character.errors import CharacterError
from colorize.character.names import DEFAULT_CONFIG, DEFAULT_ROOT, check_name, check_out, default_work_dir
from colorize.character.progress import Progress
from colorize.character.scrape import DEFAULT_BASE_URL

log = logging.getLogger("colorize.character")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the character's name: letters, digits, _ and - (the model folder's name)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", nargs="+", metavar="DIR", help="folder(s) of the character's color pictures")
    src.add_argument("--tags", help='Safebooru tag query to scrape and clean first, e.g. "emilia_(re:zero) solo"')
    p.add_argument("--out", type=Path, help="model folder (default checkpoints/characters/NAME)")
    p.add_argument("--base", type=Path, help="checkpoint to start from (default checkpoints/default)")
    p.add_argument("--steps", type=int, help="training steps (default: the config's train.steps; 0: no training, "
                   "the base model with the pictures' palette by brightness, in about two minutes)")
    p.add_argument("--holdout", type=float, default=0.0,
                   help="share of the pictures (by content hash) kept out of training, for evaluation")
    p.add_argument("--force", action="store_true", help="replace an existing model folder")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the fine-tuning recipe")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value; repeatable")
    p.add_argument("--min-pictures", type=int, default=10, help="refuse fewer pictures than this")
    p.add_argument("--work-dir", type=Path, help="where an interrupted run continues (default: .NAME.work beside --out)")
    p.add_argument("--cache-dir", type=Path, help="pre-resized image cache (as for train)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="with --tags: any Safebooru-compatible server")
    p.add_argument("--limit", type=int, default=300, help="with --tags: posts to download at most")
    p.add_argument("--rate", type=float, default=1.0, help="with --tags: API requests per second (0: no limit)")


class Bar:
    """One tqdm bar per stage, fed by train_character's progress calls; without a terminal (tqdm
    off), a log line every twentieth of the training instead."""

    def __init__(self):
        self.bar, self.stage = None, None

    def __call__(self, p: Progress) -> None:
        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            if p.stage in ("prepare", "train"):
                self.bar = tqdm(total=p.steps, desc=p.stage, unit="step" if p.stage == "train" else "picture",
                                disable=None, dynamic_ncols=True, initial=p.step)
        if self.bar is None:
            return
        self.bar.update(p.step - self.bar.n)
        if p.loss is not None:
            self.bar.set_postfix(loss=f"{p.loss:.3f}", refresh=False)
        if self.bar.disable and p.stage == "train" and (p.step % max(1, p.steps // 20) == 0 or p.step == p.steps):
            eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None else ""
            log.info("step %d / %d, loss %s%s", p.step, p.steps, "-" if p.loss is None else f"{p.loss:.4g}", eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def summary_line(model: Path, card: dict) -> str:
    c = card["character"]
    r, fig = c["readout"], c["figures"]["readout"]
    score = fig.get("val/color_score")
    gray = fig.get("val/gray_color_score")
    figures = f"; color_score {score:.3g} (gray {gray:.3g}) on {r['pictures']} {r['chosen_on']} pictures" \
        if score is not None and gray is not None else ""
    return (f"model: {model} ({c['pictures']['count']} pictures trained, {c['validation']['count']} validation, "
            f"{c['held_out']['count']} held out, "
            f"{c['steps']} steps in {c['train_seconds']:.0f} s ({c.get('run_seconds', c['train_seconds']):.0f} s in all), "
            f"{c['precision']}; temperature {r['temperature']:g}, vividness {r['vividness']:g}, "
            f"palette {r.get('palette', 0):g}{figures})")


def main(args: argparse.Namespace) -> int:
    from colorize.character.scrape import fetch_and_clean
    from colorize.character.train import train_character
    from colorize.checkpoint import read_card

    bar = Bar()
    try:
        name = check_name(args.name)
        out = args.out or DEFAULT_ROOT / name
        work = args.work_dir or default_work_dir(out)
        data = args.data
        if args.tags:
            check_out(out, args.force)  # before any download
            data = [fetch_and_clean(args.tags, work, base_url=args.base_url, limit=args.limit, rate=args.rate)]
        model = train_character(name, data, out=out, base=args.base, steps=args.steps, holdout=args.holdout,
                                work_dir=work, progress=bar, config=args.config, min_pictures=args.min_pictures,
                                force=args.force, cache_dir=args.cache_dir, overrides=args.overrides, tags=args.tags)
    except CharacterError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return 130
    bar.close()
    print(summary_line(model, read_card(model)))
    return 0
