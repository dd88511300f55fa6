"""Checkpoints: weights as safetensors, training state loadable with torch.load(weights_only=True),
and card.json, the single source of truth about a model (architecture, config, data, code, metrics).
Each checkpoint folder is written under a temporary name and renamed into place."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from colorize.fileio import atomic_dir, atomic_write_text
from colorize.models import build_discriminator, build_generator, unwrap

log = logging.getLogger(__name__)

CARD_FORMAT = 1
TRAINING_GENERATOR = "generator_training"  # the optimizer's weights, beside an averaged generator
STEP_DIR = re.compile(r"^step-(\d+)$")


class CheckpointError(Exception):
    """One line that names the checkpoint and what is wrong with it."""


def _state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in unwrap(model).state_dict().items()}


def save_checkpoint(
    ckpt_dir: Path,
    card: dict[str, Any],
    generator: nn.Module,
    discriminator: nn.Module | None = None,
    train_state: dict[str, Any] | None = None,
    training_generator: nn.Module | None = None,
) -> Path:
    """Write one checkpoint folder atomically (replacing an existing one of the same name).
    `generator` is the model that ships (a weight average where the run keeps one);
    `training_generator`, the weights the optimizer steps, goes beside it for a resume."""

    def fill(tmp: Path) -> None:
        save_file(_state_dict(generator), str(tmp / "generator.safetensors"))
        if training_generator is not None:
            save_file(_state_dict(training_generator), str(tmp / f"{TRAINING_GENERATOR}.safetensors"))
        if discriminator is not None:
            save_file(_state_dict(discriminator), str(tmp / "discriminator.safetensors"))
        if train_state is not None:
            torch.save(train_state, tmp / "train_state.pt")
        git = card.get("git") or {}
        public = dict(card, format=CARD_FORMAT)
        if git:  # the diff goes beside the card, which only names it
            public["git"] = {k: v for k, v in git.items() if k != "diff"}
            if git.get("diff"):
                (tmp / "code.diff").write_text(git["diff"])
                public["git"]["diff_file"] = "code.diff"
        (tmp / "card.json").write_text(json.dumps(public, indent=2, default=str) + "\n")

    return atomic_dir(ckpt_dir, fill)


def read_card(ckpt_dir: str | Path) -> dict[str, Any]:
    ckpt_dir = Path(ckpt_dir)
    path = ckpt_dir / "card.json"
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{ckpt_dir}: not a checkpoint (no card.json)") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: unreadable card ({exc})") from None
    if card.get("format") != CARD_FORMAT:
        raise CheckpointError(f"{path}: card format {card.get('format')!r}, this code reads {CARD_FORMAT}")
    return card


def _load_into(model: nn.Module, weights: Path, ckpt_dir: Path, what: str) -> None:
    try:
        state = load_file(str(weights))
    except FileNotFoundError:
        raise CheckpointError(f"{ckpt_dir}: missing {weights.name}") from None
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights}: unreadable weights ({exc})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{ckpt_dir}: {what} weights do not match the card's architecture "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})"
        )
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(
                f"{ckpt_dir}: {what} weight {key} has shape {tuple(tensor.shape)}, "
                f"the card's architecture expects {tuple(expected[key].shape)}"
            )
    model.load_state_dict(state)


def load_weights(model: nn.Module, ckpt_dir: str | Path, what: str = "generator") -> nn.Module:
    """Load a checkpoint's `what` ("generator" or "discriminator") weights into an existing model
    (resume); a model of another architecture fails with one CheckpointError line."""
    ckpt_dir = Path(ckpt_dir)
    _load_into(unwrap(model), ckpt_dir / f"{what}.safetensors", ckpt_dir, what)
    return model


def _build(card: dict, key: str, builder, ckpt_dir: Path) -> nn.Module:
    spec = card.get(key)
    if not isinstance(spec, dict) or "name" not in spec:
        raise CheckpointError(f"{ckpt_dir}: card has no {key} architecture")
    try:
        return builder(spec["name"], spec.get("kwargs", {}), init=False)
    except ValueError as exc:
        raise CheckpointError(f"{ckpt_dir}: {exc}") from None


def load_generator(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the generator from its card and load its weights; eval mode."""
    ckpt_dir = Path(ckpt_dir)
    card = read_card(ckpt_dir)
    model = _build(card, "generator", build_generator, ckpt_dir)
    _load_into(model, ckpt_dir / "generator.safetensors", ckpt_dir, "generator")
    if card.get("chroma_prior") and hasattr(model, "set_color_prior"):
        model.set_color_prior(card["chroma_prior"])
    if card.get("palette_bias") and hasattr(model, "set_palette"):
        model.set_palette(card["palette_bias"])
    return model.to(device).eval(), card


def load_discriminator(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    ckpt_dir = Path(ckpt_dir)
    model = _build(read_card(ckpt_dir), "discriminator", build_discriminator, ckpt_dir)
    _load_into(model, ckpt_dir / "discriminator.safetensors", ckpt_dir, "discriminator")
    return model.to(device)


def load_train_state(ckpt_dir: Path) -> dict[str, Any]:
    path = Path(ckpt_dir) / "train_state.pt"
    if not path.exists():
        raise CheckpointError(f"{ckpt_dir}: no train_state.pt, cannot resume from it")
    return torch.load(path, map_location="cpu", weights_only=True)


def step_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of the complete step checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    found = []
    for d in root.glob("step-*") if root.exists() else []:
        m = STEP_DIR.match(d.name)
        if m and (d / "card.json").exists():
            found.append((int(m.group(1)), d))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = step_checkpoints(run_dir)
    return found[-1][1] if found else None


def prune(run_dir: Path, keep_last: int) -> None:
    """Keep the newest `keep_last` step checkpoints; `best/` is a separate copy and always stays."""
    for _, d in step_checkpoints(run_dir)[: -keep_last or None] if keep_last > 0 else []:
        shutil.rmtree(d, ignore_errors=True)


def find_checkpoints(root: str | Path) -> list[Path]:
    """Every checkpoint folder (one holding card.json) under root, root itself included."""
    root = Path(root)
    if (root / "card.json").exists():
        return [root]
    return sorted(p.parent for p in root.rglob("card.json") if not p.parent.name.startswith("."))


def update_card(ckpt_dir: Path, **fields: Any) -> dict:
    card = read_card(ckpt_dir)
    card.update(fields)
    atomic_write_text(Path(ckpt_dir) / "card.json", json.dumps(card, indent=2, default=str) + "\n")
    return card
