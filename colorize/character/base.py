"""The model a character starts from: it must exist and have a chroma readout (temperature and
vividness), which the character's readout step chooses."""

from __future__ import annotations

from pathlib import Path

from colorize.character.errors import CharacterError
from colorize.checkpoint import CheckpointError, load_generator


def check_base(base: Path) -> dict:
    """The base checkpoint's card; CharacterError when it is missing, broken or has no readout."""
    base = Path(base)
    if not (base / "card.json").exists():
        raise CharacterError(f"{base}: base checkpoint missing (no card.json)")
    try:
        G, card = load_generator(base)
    except CheckpointError as exc:
        raise CharacterError(str(exc)) from None
    if not hasattr(G, "temperature"):
        raise CharacterError(f"{base}: base model {card['generator']['name']!r} has no chroma readout "
                             "(temperature, vividness); start from a chroma-s2d or chroma-unet model")
    return card
