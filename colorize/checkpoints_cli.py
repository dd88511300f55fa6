"""`python -m colorize checkpoints list [RUN_DIR]`: name, step, tag, commit and metrics of each checkpoint.
`python -m colorize checkpoints export CHECKPOINT DEST`: the weights and card alone (no optimizer
state), e.g. to ship a model or point the app at it."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from colorize.checkpoint import CheckpointError, find_checkpoints, load_generator, read_card
from colorize.fileio import atomic_dir

SHIPPED = ("card.json", "generator.safetensors", "discriminator.safetensors", "code.diff")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list", "export"])
    p.add_argument("root", nargs="?", default="runs",
                   help="list: a run folder, a checkpoint, or a folder of runs; export: the checkpoint")
    p.add_argument("dest", nargs="?", help="export: the new checkpoint folder (replaced if it exists)")


def export(src: Path, dest: Path) -> int:
    try:
        load_generator(src)  # refuse to ship a checkpoint that does not load
    except CheckpointError as exc:
        print(f"error: {exc}")
        return 1

    def fill(tmp: Path) -> None:
        for name in SHIPPED:
            if (src / name).exists():
                shutil.copy2(src / name, tmp / name)

    atomic_dir(dest, fill)
    size = sum(f.stat().st_size for f in dest.iterdir()) / 2**20
    print(f"exported {src} -> {dest} ({size:.1f} MB)")
    return 0


def main(args: argparse.Namespace) -> int:
    if args.action == "export":
        if not args.dest:
            print("error: export needs CHECKPOINT and DEST")
            return 2
        return export(Path(args.root), Path(args.dest))
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
