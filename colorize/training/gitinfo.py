"""What code made a checkpoint: commit, dirty flag, the uncommitted diff, and a tag on the commit."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from colorize.paths import REPO_ROOT

log = logging.getLogger(__name__)

CODE_DIR = REPO_ROOT  # the checkout this package runs from


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)


def git_state(repo: Path = CODE_DIR) -> dict | None:
    """{commit, dirty, diff} of the repository holding the code, or None outside a git checkout."""
    try:
        head = _git(repo, "rev-parse", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    diff = _git(repo, "diff", "HEAD", "--binary").stdout if status.stdout.strip() else ""
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()), "diff": diff}


def tag_commit(tag: str, commit: str, message: str, repo: Path = CODE_DIR) -> str | None:
    """Create an annotated tag; returns the tag, or None (with a warning) when it cannot."""
    res = _git(repo, "tag", "-a", tag, commit, "-m", message)
    if res.returncode != 0:
        log.warning("git tag %s not created: %s", tag, res.stderr.strip().splitlines()[-1:] or "unknown error")
        return None
    return tag
