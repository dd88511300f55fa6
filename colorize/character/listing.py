"""The character models in a folder, for the app's picker and `colorize batch --checkpoint`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from colorize.character.names import DEFAULT_ROOT
from colorize.checkpoint import CheckpointError, read_card

log = logging.getLogger(__name__)


@dataclass
class CharacterModel:
    name: str
    path: Path
    sample: Path | None
    card: dict


def list_characters(root: Path | None = None) -> list[CharacterModel]:
    """Every model folder (with a readable card) directly under root, by name; hidden folders
    (work folders, folders being written) are not models."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    found = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if d.name.startswith(".") or not (d / "card.json").is_file():
            continue
        try:
            card = read_card(d)
        except CheckpointError as exc:
            log.warning("skipped %s", exc)
            continue
        sample = d / "sample.png"
        name = (card.get("character") or {}).get("name") or d.name
        found.append(CharacterModel(name, d, sample if sample.exists() else None, card))
    return found
