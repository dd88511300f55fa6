"""A checkpoint's card in words a user understands: what the model learned from, and how well it
colors pictures it never saw, beside simply leaving them gray. No raw metric keys."""

from __future__ import annotations

from pathlib import Path

# Held-out figures worth showing, in words, and which way is better.
SCORES = {
    "deltaE": ("color error (CIEDE2000)", "lower"),
    "cbcr_error": ("tint error (CbCr levels)", "lower"),
}
MODES = {"gray": "colored from their gray version", "lineart": "colored from line art drawn from them"}
# Training-time validation figures, when the card holds no held-out ones.
VALIDATION = {"val/deltaE": "color error (CIEDE2000)", "val/psnr": "PSNR", "val/ssim": "SSIM"}


def _folders(data: dict) -> str:
    sources = data.get("sources") or ([{"folder": data["data_dir"]}] if data.get("data_dir") else [])
    names = [
        Path(s["folder"]).name + (f" (x{s['repeat']})" if s.get("repeat", 1) > 1 else "") for s in sources
    ]
    if not names:
        return ""
    return f" from {len(names)} folder{'s' if len(names) > 1 else ''}: {', '.join(names)}"


def trained_on(card: dict) -> str:
    data = card.get("data") or {}
    counts = data.get("counts") or {}
    if not counts:
        return "Its card does not say what it was trained on."
    val = counts.get("val", 0)
    held = f" ({val} more held back to choose the best step)" if val else ""
    return f"Learned from {counts.get('train', 0)} color pictures{held}{_folders(data)}."


def held_out(card: dict) -> list[str]:
    lines = []
    for mode, result in (card.get("eval") or {}).items():
        model, gray = result.get("model") or {}, result.get("baseline") or {}
        figures = [
            f"{words} {model[key]:.1f} vs {gray[key]:.1f} for leaving it gray ({better} is better)"
            for key, (words, better) in SCORES.items()
            if isinstance(model.get(key), int | float) and isinstance(gray.get(key), int | float)
        ]
        ratio = model.get("colorfulness_ratio")
        if figures and isinstance(ratio, int | float):
            figures.append(f"colors {100 * ratio:.0f}% as vivid as the originals")
        if figures:
            count = f"{result['count']} " if result.get("count") else ""
            lines.append(
                f"On {count}held-out pictures {MODES.get(mode, f'({mode})')}: " + "; ".join(figures) + "."
            )
    return lines


def short_label(card: dict) -> str:
    """A few words for the model picker: its step and its headline figure."""
    parts = [f"step {card.get('step', '?')}"]
    held = (card.get("eval") or {}).get("gray") or {}
    gray, baseline = held.get("model") or {}, held.get("baseline") or {}
    metrics = card.get("metrics") or {}
    # the tint error beside gray's: CIEDE2000 alone is won by leaving the picture gray
    if isinstance(gray.get("cbcr_error"), int | float) and isinstance(baseline.get("cbcr_error"), int | float):
        parts.append(f"tint error {gray['cbcr_error']:.2f} (gray {baseline['cbcr_error']:.2f})")
    elif isinstance(gray.get("deltaE"), int | float):
        parts.append(f"color error {gray['deltaE']:.1f}")
    else:
        parts += [
            f"{VALIDATION[k]} {metrics[k]:.4g}" for k in VALIDATION if isinstance(metrics.get(k), int | float)
        ]
    return " · ".join(parts)


def card_markdown(card: dict, name: str) -> str:
    created = f", made {card['created'][:10]}" if card.get("created") else ""
    lines = [f"**{name}**: trained for {card.get('step', '?')} steps{created}. {trained_on(card)}"]
    scores = held_out(card)
    if scores:
        lines += [f"- {s}" for s in scores]
    else:
        shown = short_label(card).split(" · ")[1:]
        lines.append(
            "No held-out scores yet (`colorize eval --update-card` adds them)"
            + (f"; during training: {', '.join(shown)}." if shown else ".")
        )
    return "\n".join(lines)


def character_line(card: dict) -> str:
    """What a character model is, from its card's character section: the base and the training."""
    c = card.get("character") or {}
    base = Path(str((c.get("base") or {}).get("path") or "")).name or "the default model"
    count = (c.get("pictures") or {}).get("count")
    pictures = f" on {count} pictures of {c.get('name')}" if count else ""
    minutes = f", {c['train_seconds'] / 60:.0f} min of training" if isinstance(c.get("train_seconds"), int | float) else ""
    if c.get("steps") == 0:  # --steps 0: the base's weights with the pictures' palette
        of = f"{count} pictures of {c.get('name')}" if count else "its pictures"
        return f"Character model: {base} with the palette of {of} (no training)."
    steps = f" ({c['steps']} steps{minutes})" if c.get("steps") else ""
    return f"Character model: {base} fine-tuned{pictures}{steps}."
