"""train_character: fine-tune the default model on one character's pictures, choose the checkpoint
and the readout, and write the model folder. Resumable: everything in progress lives in a work
folder that the same arguments find again; the recipe is configs/finetune-character.toml."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from colorize.character.base import check_base
from colorize.character.card import character_card
from colorize.character.errors import Cancelled, CharacterError
from colorize.character.model_folder import write_model
from colorize.character.names import DEFAULT_CONFIG, DEFAULT_ROOT, check_name, check_out, default_work_dir
from colorize.character.palette_fit import fit_brightness_palette
from colorize.character.pictures import PictureSet, check_holdout, link_pictures, read_pictures
from colorize.character.progress import Progress, Reporter
from colorize.character.readout import choose_palette_readout, choose_readout
from colorize.character.select import select_checkpoint
from colorize.config import Config, ConfigError, load_config
from colorize.fileio import atomic_write_text
from colorize.paths import default_checkpoint

log = logging.getLogger(__name__)


def load_recipe(config: Path | None, steps: int | None, overrides: Sequence[str] = ()) -> Config:
    try:
        cfg = load_config(config or DEFAULT_CONFIG, list(overrides))
    except ConfigError as exc:
        raise CharacterError(str(exc)) from None
    if steps is not None:
        if steps < 0:
            raise CharacterError(f"--steps {steps}: must be 0 (the palette alone, no training) or more")
        cfg.train.steps = int(steps)
    return cfg


def train_character(name: str, data: Sequence[str | Path], *, out: Path | None = None, base: Path | None = None,
                    steps: int | None = None, holdout: float = 0.0, work_dir: Path | None = None,
                    progress: Callable[[Progress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, config: Path | None = None,
                    min_pictures: int = 10, force: bool = False, cache_dir: Path | None = None,
                    overrides: Sequence[str] = (), tags: str | None = None) -> Path:
    """Fine-tune `base` (default: the default model) on the pictures in `data` (folders, read
    recursively, or picture files) and write the model folder `out` (default
    checkpoints/characters/NAME); returns it. CharacterError (one line) on bad input; Cancelled
    when should_stop() turns true (a re-run with the same arguments continues)."""
    from colorize.data.cache import DEFAULT_CACHE, cache_side_for

    name = check_name(name)
    out = Path(out) if out is not None else DEFAULT_ROOT / name
    work = Path(work_dir) if work_dir is not None else default_work_dir(out)
    check_out(out, force)
    holdout = check_holdout(holdout)
    cfg = load_recipe(config, steps, overrides)
    base = Path(base) if base is not None else default_checkpoint()
    base_card = check_base(base)
    cache = Path(cache_dir or DEFAULT_CACHE)
    reporter = Reporter(name, progress, should_stop, work / "seconds.json")

    def tick(i: int, n: int) -> None:
        reporter.check_stop("while preparing the pictures")
        reporter.report("prepare", i, n)

    pictures = read_pictures(name, data, cache, cache_side_for(cfg.data), holdout, min_pictures, tick)
    link_pictures(pictures, work / "pictures")
    start_over_if_changed(work, pictures, base, base_card, cfg)
    trainer = run_training(name, cfg, work, base, cache, reporter)
    reporter.check_stop("before choosing the readout")
    reporter.report("readout", 0, 1)
    model = finish(name, trainer, pictures, out, force, reporter,
                   holdout=holdout, base=base, base_card=base_card, tags=tags)
    clean_work(work)
    reporter.report("done", 1, 1, eta=0.0)
    return model


def start_over_if_changed(work: Path, pictures: PictureSet, base: Path, base_card: dict, cfg: Config) -> None:
    """A re-run continues the interrupted training only when it trains the same pictures from the
    same base with the same recipe (train.steps may change); otherwise it starts over."""
    recipe = cfg.to_dict()
    recipe["train"] = {k: v for k, v in recipe["train"].items() if k != "steps"}
    inputs = {"pictures": [sha for _, sha in pictures.train], "base": str(base.resolve()),
              "base_created": base_card.get("created"), "recipe": recipe}
    text = json.dumps(inputs, indent=1, sort_keys=True, default=str) + "\n"
    path = work / "inputs.json"
    if path.exists() and path.read_text() != text and (work / "run").exists():
        log.info("%s: pictures, base or recipe changed since the interrupted run: starting over", work)
        shutil.rmtree(work / "run")
        (work / "seconds.json").unlink(missing_ok=True)
    atomic_write_text(path, text)


def run_training(name: str, cfg: Config, work: Path, base: Path, cache: Path, reporter: Reporter):
    """The Trainer on the linked pictures, continuing from the work folder's last checkpoint."""
    from colorize.checkpoint import CheckpointError
    from colorize.data import DataError
    from colorize.device import DeviceError
    from colorize.training.train import Trainer, TrainingDiverged

    reporter.start_training()
    try:
        # ValueError: the Trainer's one-line refusals (e.g. hints asked of a base without hint channels)
        trainer = Trainer(cfg, work / "pictures", work / "run", resume=True, init_from=base, cache_dir=cache,
                          on_step=reporter.on_step)
    except (CheckpointError, DeviceError, ValueError) as exc:
        raise CharacterError(f"{name}: {exc}") from None
    try:
        summary = trainer.run()
    except (TrainingDiverged, DataError, CheckpointError, DeviceError) as exc:
        raise CharacterError(f"{name}: {exc}") from None
    reporter.end_training()
    if summary["stop_requested"]:
        raise Cancelled(f"{name}: cancelled at step {summary['steps']} of {cfg.train.steps}; "
                        f"run the same command again to continue from there ({work})")
    return trainer


def finish(name: str, trainer, pictures: PictureSet, out: Path, force: bool, reporter: Reporter, **info) -> Path:
    """Choose the checkpoint and the readout, then write the model folder."""
    from colorize.checkpoint import load_generator

    if trainer.t.steps == 0:  # the base model's weights, leaning towards the pictures' colors
        checkpoint, how = info["base"], "base (palette only: --steps 0)"
    else:
        checkpoint, how = select_checkpoint(trainer.out_dir, trainer.cfg)
    G, card = load_generator(checkpoint)
    bias = None
    if trainer.t.steps == 0 and hasattr(G, "set_palette"):
        # Only for the base model: a fine-tune already learned the palette (on the four shared
        # characters a palette on top raised the held-out error, 0.961x -> 0.978x gray's).
        seed = trainer.cfg.train.seed

        def fit(entries) -> list[list[float]]:
            return fit_brightness_palette(G, [e.source for e in entries], seed,
                                          lambda: reporter.check_stop("while fitting the palette"))

        readout = choose_palette_readout(G, card, trainer.splits, trainer.cfg, fit)
        bias = fit(trainer.splits.train.entries)
        G.set_palette(bias)
    else:
        readout = choose_readout(G, card, trainer.splits, trainer.cfg)
    log.info("%s: %s checkpoint (step %s); readout temperature %g, vividness %g, palette %g (on the %s pictures)",
             name, how, card.get("step"), readout["temperature"], readout["vividness"], readout["palette"],
             readout["on"])
    card = character_card(name, checkpoint, how, readout, pictures, steps=trainer.t.steps,
                          train_seconds=reporter.train_seconds(), run_seconds=reporter.run_seconds(),
                          palette_bias=bias, **info)
    sample = sorted((trainer.out_dir.parent / "pictures").iterdir())[0]
    return write_model(out, checkpoint, card, sample, force)


def clean_work(work: Path) -> None:
    """What only an interrupted run needs goes; a scraped dataset (--tags) stays for next time."""
    for item in ("run", "pictures", "inputs.json", "seconds.json"):
        p = work / item
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    if work.is_dir() and not any(work.iterdir()):
        work.rmdir()
