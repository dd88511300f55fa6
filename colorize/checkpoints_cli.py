"""`python -m colorize checkpoints list [RUN_DIR]`: name, step, tag, commit and metrics of each checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorize.checkpoint import CheckpointError, find_checkpoints, read_card


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list"])
    p.add_argument("root", nargs="?", default="runs", help="a run folder, a checkpoint, or a folder of runs")


def main(args: argparse.Namespace) -> int:
    rows = [("checkpoint", "step", "tag", "commit", "metrics")]
    for d in find_checkpoints(args.root):
        try:
            card = read_card(d)
        except CheckpointError as exc:
            rows.append((str(d), "?", "", "", f"unreadable: {exc}"))
            continue
        git = card.get("git") or {}
        commit = (git.get("commit") or "")[:10] + ("+dirty" if git.get("dirty") else "")
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted((card.get("metrics") or {}).items())
                           if isinstance(v, int | float))
        rows.append((str(Path(d)), str(card.get("step", "?")), git.get("tag") or "-", commit or "-", metrics or "-"))
    if len(rows) == 1:
        print(f"no checkpoints under {args.root}")
        return 1
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    return 0
