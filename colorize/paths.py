"""Where things are relative to the checkout this package runs from: the shipped default
checkpoint (found from any working folder) and paths written into cards (relative to the
repository when inside it, so a card does not carry one machine's absolute paths)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (or install prefix) holding colorize/
DEFAULT_CHECKPOINT_NAME = Path("checkpoints") / "default"


def default_checkpoint(cwd: str | Path | None = None) -> Path:
    """checkpoints/default of the working folder when it has one, else the one beside the package."""
    local = Path(cwd or ".") / DEFAULT_CHECKPOINT_NAME
    if (local / "card.json").exists():
        return local if cwd is None else local.resolve()
    return REPO_ROOT / DEFAULT_CHECKPOINT_NAME


def repo_relative(path: str | Path, root: Path = REPO_ROOT) -> str:
    """`path` relative to the repository when it lies inside it (resolved from the working folder),
    else as given."""
    p = Path(path)
    try:
        return os.path.relpath(p.resolve(), root) if p.resolve().is_relative_to(root) else str(path)
    except (OSError, ValueError):
        return str(path)


def command_args(args: list[str], root: Path = REPO_ROOT) -> list[str]:
    """Command-line arguments with every existing path inside the repository made repo-relative
    (`--data DIR*N` repeats keep their suffix)."""
    out = []
    for arg in args:
        head, star, tail = arg.rpartition("*") if "*" in arg and arg.rpartition("*")[2].isdigit() else (arg, "", "")
        if not arg.startswith("-") and head and Path(head).exists():
            out.append(repo_relative(head, root) + star + tail)
        else:
            out.append(arg)
    return out
