"""Character names and where their models and work folders go."""

from __future__ import annotations

import re
from pathlib import Path

from colorize.character.errors import CharacterError
from colorize.paths import REPO_ROOT

DEFAULT_ROOT = REPO_ROOT / "checkpoints" / "characters"
DEFAULT_CONFIG = REPO_ROOT / "configs" / "finetune-character.toml"

# A folder name on every file system, safe in URLs and shells: no dots, spaces or slashes.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def check_name(name: str) -> str:
    """The name itself when it is plain (1 to 64 ASCII letters, digits, _ and -, not starting
    with - or .), else CharacterError."""
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise CharacterError(f"{name!r}: not a plain name (1 to 64 letters, digits, _ or -, "
                             "not starting with - or .)")
    return name


def default_work_dir(out: Path) -> Path:
    """A hidden sibling of the model folder (git ignores `.*.work/`): the same arguments give the
    same folder, so a killed run continues there."""
    out = Path(out)
    return out.parent / f".{out.name}.work"


def check_out(out: Path, force: bool) -> None:
    if Path(out).exists() and not force:
        raise CharacterError(f"{out}: already exists; choose another name or --out, or --force to replace it")
