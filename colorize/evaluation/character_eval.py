"""The `character` set of `colorize quality`: a checkpoint on one character's held-out pictures.

The held-out pictures of a character folder are those whose content hash lies in the top
`holdout` fraction (colorize.data.splits.hash_position >= 1 - holdout; identical files once), the
same rule `colorize character --holdout` and a fine-tune's split use, so they are never trained on.
Each goes through the Colorizer from gray and from line art, exactly as `holdout-gray` /
`holdout-lineart` make their inputs (colorize.evaluation.evaluate.score_image): CIEDE2000, CbCr
error and colorfulness ratio of the model and the gray passthrough, and the consistency of the
character's main colors across the pictures (colorize.evaluation.consistency).

A character model's card lists the SHA-256 of every picture it trained on in its `character`
section; a card that lists a held-out picture is refused, since its figures would not be held out.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODES = ("gray", "lineart")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
NOT_TRAINED = ("hold", "held", "val", "test", "excluded", "left_out")  # keys whose hashes were kept out


def held_out(folder: Path, holdout: float = 0.25) -> list[tuple[Path, str]]:
    """(file, sha256) of the folder's held-out pictures in name order, each content once."""
    from colorize.data.splits import file_sha256
    from colorize.data.splits import held_out as in_holdout
    from colorize.images import list_images

    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    seen, out = set(), []
    for path in list_images(folder):
        sha = file_sha256(path)
        if sha not in seen:
            seen.add(sha)
            if in_holdout(sha, holdout):
                out.append((path, sha))
    return out


def trained_hashes(section) -> set[str]:
    """Every SHA-256 in a card's `character` section, wherever it sits (a list of hashes, a list of
    {"file", "sha256"} records, a {file: hash} map), except under keys naming what was kept out."""
    found = set()
    if isinstance(section, dict):
        for key, value in section.items():
            if not any(word in str(key).lower() for word in NOT_TRAINED):
                found |= trained_hashes(value)
                if isinstance(key, str) and SHA256.match(key.lower()):
                    found.add(key.lower())
    elif isinstance(section, list | tuple):
        for value in section:
            found |= trained_hashes(value)
    elif isinstance(section, str) and SHA256.match(section.lower()):
        found.add(section.lower())
    return found


def check_held_out(checkpoint, card: dict, held: list[tuple[Path, str]]) -> None:
    """ValueError (one line) when the card lists a held-out picture among its training pictures."""
    trained = trained_hashes(card.get("character") or {})
    for path, sha in held:
        if sha in trained:
            raise ValueError(f"{Path(checkpoint) / 'card.json'}: lists held-out picture {path} (sha256 {sha[:12]}) "
                             f"as trained on; its character figures would not be held out")


def belongs(card: dict, folder: Path, hashes: set[str]) -> bool:
    """Whether a checkpoint is measured on this character folder: every model without a `character`
    section (the default model); a character model on the folder it trained on (a shared picture
    hash, or the folder among its `sources`) or whose name it carries."""
    section = card.get("character")
    if not section:
        return True
    if trained_hashes(section) & hashes:
        return True
    if not isinstance(section, dict):
        return False
    sources = section.get("sources") or []
    names = [section.get("name"), section.get("data"), *(sources if isinstance(sources, list) else [sources])]
    return any(n and Path(str(n)).name.lower() == folder.name.lower() for n in names)


def folder_hashes(folder: Path) -> set[str]:
    from colorize.data.splits import file_sha256
    from colorize.images import list_images

    return {file_sha256(p) for p in list_images(folder)}


def run_mode(colorizer, folder: Path, held: list[tuple[Path, str]], mode: str, args) -> tuple[dict, list]:
    """One input mode over the held-out pictures: the paired figures, consistency, and per picture
    (file, input, output, truth) images for the sheets."""
    from colorize.evaluation.consistency import consistency
    from colorize.evaluation.evaluate import beats, mean_metrics, score_image

    rows = [score_image(colorizer, path, folder, mode, args.max_side, args.seed) for path, _ in held]
    truths = [np.asarray(r["images"][2]) for r in rows]
    outputs = [np.asarray(r["images"][1]) for r in rows]
    result = {"count": len(rows),
              "mean": {"model": mean_metrics(rows, "model"), "baseline": mean_metrics(rows, "baseline")},
              "model_beats_baseline_share": {k: v / len(rows) for k, v in beats(rows).items()},
              "consistency": consistency(truths, {"model": outputs}),
              "per_image": [{k: r[k] for k in ("file", "size", "model", "baseline")} for r in rows]}
    return result, [(r["file"], *r["images"]) for r in rows]


def run_character(colorizer, checkpoint, folder: Path, args) -> tuple[dict, dict]:
    """({gray: figures, lineart: figures, ...}, {mode: sheet images}) of one checkpoint on one
    character folder's held-out pictures (the first --limit of them)."""
    held = held_out(folder, args.character_holdout)
    check_held_out(checkpoint, colorizer.card, held)
    held = held[:args.limit]
    if not held:
        raise FileNotFoundError(f"{folder}: no held-out pictures (holdout {args.character_holdout})")
    result = {"folder": str(folder), "holdout": args.character_holdout,
              "held_out": [p.relative_to(folder).as_posix() for p, _ in held], "modes": {}}
    images = {}
    for mode in MODES:
        print(f"character {folder.name} {mode}: {len(held)} held-out pictures ...", file=sys.stderr)
        result["modes"][mode], images[mode] = run_mode(colorizer, folder, held, mode, args)
    return result, images


def folders_of(card: dict, checkpoint, args) -> list[Path]:
    """The --character-data folders a checkpoint is measured on (all of them when only one is given,
    or when a character model's card matches none), each once: comparing two models of one
    character names its folder twice, and the default model would be measured on it twice."""
    given = {}
    for f in args.character_data or []:
        given.setdefault(Path(f).resolve(), Path(f))  # the path as given: results name it so
    folders = list(given.values())
    if not folders:
        raise ValueError("the character set needs --character-data DIR (a character's picture folder)")
    for f in folders:
        if not f.is_dir():
            raise FileNotFoundError(f"{f}: no such folder (see --character-data)")
    mine = [f for f in folders if len(folders) == 1 or belongs(card, f, folder_hashes(f))]
    if not mine:
        log.warning("%s: its card names none of the character folders; measuring it on all", checkpoint)
    return mine or folders


def check_all(checkpoints: list[str], args) -> None:
    """Before anything runs: every folder exists and no checkpoint trained on its held-out pictures."""
    from colorize.checkpoint import read_card

    for checkpoint in checkpoints:
        card = read_card(checkpoint)
        section = card.get("character")
        own = (section.get("held_out") or {}) if isinstance(section, dict) else {}
        if isinstance(own, dict) and own.get("fraction") not in (None, args.character_holdout):
            log.warning("%s: trained with holdout %s; measuring on the top %s by hash (--character-holdout)",
                        checkpoint, own["fraction"], args.character_holdout)
        for folder in folders_of(card, checkpoint, args):
            check_held_out(checkpoint, card, held_out(folder, args.character_holdout))


def run_characters(colorizer, checkpoint, args) -> tuple[dict, dict]:
    """The `character` set for one checkpoint: every --character-data folder it belongs to."""
    result, images = {"kind": "character", "characters": {}}, {}
    for f in folders_of(colorizer.card, checkpoint, args):
        result["characters"][f.name], images[f.name] = run_character(colorizer, checkpoint, f, args)
    return result, images
