"""The character model's card: the chosen checkpoint's own card (architecture, config, data,
code, precision), the readout in the generator's arguments, and a `character` section."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from colorize.character.pictures import PictureSet
from colorize.checkpoint import read_card
from colorize.paths import repo_relative


def character_card(name: str, checkpoint: Path, how: str, readout: dict, pictures: PictureSet, *,
                   holdout: float, base: Path, base_card: dict, steps: int, train_seconds: float, run_seconds: float,
                   tags: str | None = None, palette_bias: list[list[float]] | None = None) -> dict:
    card = read_card(checkpoint)
    card["run"] = f"character/{name}"
    card["generator"]["kwargs"].update(temperature=readout["temperature"], vividness=readout["vividness"],
                                       palette=readout["palette"])
    if palette_bias:  # a palette-only model's brightness palette (colorize.character.palette_fit)
        card["palette_bias"] = palette_bias
    card["temperature_scores"] = readout["scores"]
    choice = card.get("precision_choice") or {}
    card["character"] = {
        "name": name,
        "sources": [repo_relative(s) for s in pictures.sources],
        "tags": tags,
        # the recipe's data.split may keep some of the pictures for validation (choosing the
        # checkpoint and readout): they did not train
        **{key: {"count": len(h), "sha256": h} for key, h in by_split(card, pictures).items()},
        "unreadable": len(pictures.skipped),
        "held_out": {"fraction": holdout, "count": len(pictures.held_out), "sha256": list(pictures.held_out)},
        "base": {"path": repo_relative(base), "step": base_card.get("step"), "created": base_card.get("created"),
                 "generator": base_card.get("generator", {}).get("name")},
        "steps": steps,
        "train_seconds": round(train_seconds, 1),
        "run_seconds": round(run_seconds, 1),  # the whole command: pictures, training, palette, readout
        "device": card.get("device"),
        "cpu": (choice.get("facts") or {}).get("cpu_model") or (choice.get("facts") or {}).get("gpu"),
        "precision": card.get("precision"),
        "readout": {"temperature": readout["temperature"], "vividness": readout["vividness"],
                    "palette": readout["palette"],
                    "chosen_on": readout["on"], "pictures": readout["pictures"]},
        "figures": {"selected": how, "step": card.get("step"), "validation": dict(card.get("metrics") or {}),
                    "readout": readout["figures"]},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return card


def by_split(card: dict, pictures: PictureSet) -> dict[str, list[str]]:
    """The SHA-256 of the pictures that trained and of those kept for validation (or test)."""
    split = {f["sha256"]: f["split"] for f in (card.get("data") or {}).get("files", [])}
    out: dict[str, list[str]] = {"pictures": [], "validation": []}
    for _, sha in pictures.train:
        out["pictures" if split.get(sha, "train") == "train" else "validation"].append(sha)
    return out
