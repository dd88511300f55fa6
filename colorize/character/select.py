"""Which of the run's checkpoints becomes the character model."""

from __future__ import annotations

from pathlib import Path

from colorize.character.errors import CharacterError
from colorize.checkpoint import latest_checkpoint
from colorize.config import Config
from colorize.data.splits import normalize_fractions


def select_checkpoint(run_dir: Path, cfg: Config) -> tuple[Path, str]:
    """(checkpoint, how it was chosen). Fixed steps with cosine decay: the last one, unless the
    recipe keeps validation pictures (data.split's val > 0) and some fell there: then the best
    by log.best_metric."""
    best = Path(run_dir) / "checkpoints" / "best"
    if normalize_fractions(cfg.data.split)[1] > 0 and (best / "card.json").exists():
        return best, f"best {cfg.log.best_metric}"
    last = latest_checkpoint(Path(run_dir))
    if last is None:
        raise CharacterError(f"{run_dir}: training left no checkpoint")
    return last, "last"
