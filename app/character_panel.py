"""Character models in the app: the gallery of their sample pictures beside the model picker (a
click picks one), and the "New character" panel (only with --allow-training) that trains one in
the server's background job and follows it with a gr.Timer, so a reload or another browser sees
the same job."""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path

import gradio as gr
from PIL import Image

from app.character_job import MAX_STEPS, CharacterJobs, JobError, JobState, describe
from app.uploads import check_picture, refuse
from colorize.character import CharacterModel, list_characters

log = logging.getLogger(__name__)

THUMB = 160  # the gallery's pictures, in pixels (samples are small already)
POLL_S = 1.0


def characters(root: Path | None) -> list[CharacterModel]:
    """The character models under root, by name; none when the folder is missing or unreadable."""
    if root is None or not Path(root).is_dir():
        return []
    try:
        return sorted(list_characters(Path(root)), key=lambda c: c.name.lower())
    except Exception as exc:  # a broken folder must not keep the app from starting
        log.warning("character models in %s: %s", root, exc)
        return []


def thumbnail(path: Path | None) -> Image.Image:
    """The sample picture, small; a plain paper-colored tile for a model without one."""
    if path is not None:
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                im.thumbnail((THUMB, THUMB))
                return im
        except (OSError, ValueError, Image.DecompressionBombError):
            log.warning("%s: unreadable sample picture", path)
    return Image.new("RGB", (THUMB, THUMB), (236, 233, 226))


def gallery(default: tuple[str, Path], models: list[CharacterModel]) -> tuple[list, list[str]]:
    """(pictures with captions, the model folders in the same order): the default model first."""
    label, path = default
    shown = [(thumbnail(path / "sample.png" if (path / "sample.png").exists() else None), label)]
    paths = [str(path)]
    for c in models:
        if Path(c.path).resolve() != path:
            shown.append((thumbnail(c.sample), c.name))
            paths.append(str(Path(c.path).resolve()))
    return shown, paths


def progress_html(s: JobState) -> str:
    """The job's state for the page: a bar with step / steps and a line of words."""
    if s.stage == "idle":
        return "<p>No character is being trained.</p>"
    name = html.escape(s.name or "")
    if s.running:
        value = f' value="{s.step}"' if s.stage == "train" and s.steps else ""  # no value: busy, not 0%
        bar = f'<progress data-stage="{s.stage}"{value} max="{max(s.steps, 1)}" style="width:100%"></progress>'
        return f"{bar}<p>Training <b>{name}</b>: {html.escape(describe(s))}.</p>"
    if s.done:
        how = f"{s.steps} steps" if s.steps else "the palette alone, no training"
        words = f"<b>{name}</b> is ready ({how}): pick it in the Model list."
    elif s.stage == "cancelled" and not s.step:
        words = f"Training <b>{name}</b> was cancelled before it began."
    elif s.stage == "cancelled":
        words = f"Training <b>{name}</b> was cancelled at step {s.step} / {s.steps}; start it again to continue."
    else:
        words = f"Training <b>{name}</b> failed: {html.escape(s.error or 'unknown error')}"
    return f'<progress data-stage="{s.stage}" value="{s.step}" max="{max(s.steps, 1)}" style="width:100%"></progress><p>{words}</p>'


def whole(steps) -> int | None:
    """The steps box's value as a whole number (None: the default); JobError when it is not one."""
    if steps in (None, ""):
        return None
    try:
        value = float(steps)
    except (TypeError, ValueError):
        raise JobError(f"Steps must be a whole number, not {steps!r}.") from None
    if not math.isfinite(value) or value != int(value):
        raise JobError(f"Steps must be a whole number, not {steps!r}.")
    return int(value)


def build_panel(jobs: CharacterJobs, max_pixels: int):
    """The New character panel; returns its timer (its ticks refresh the picker when a job ends)."""
    with gr.Accordion("New character", open=True, elem_id="new-character"):
        gr.Markdown(
            f"Train a model for one character from {jobs.min_pictures} or more color pictures of it "
            "(minutes on a CPU; one job at a time). It starts from the default model and keeps taking hints."
        )
        with gr.Row():
            name = gr.Textbox(label="Name (letters, digits, _ or -)", max_lines=1, elem_id="character-name")
            steps = gr.Number(jobs.default_steps(), label="Training steps (0: the palette alone, about 2 minutes)",
                              minimum=0, maximum=MAX_STEPS, precision=0, elem_id="character-steps")
        pictures = gr.File(label=f"Pictures ({jobs.min_pictures} or more)", file_count="multiple",
                           file_types=["image"], height=180, elem_id="character-pictures")
        with gr.Row():
            start = gr.Button("Train", variant="primary", elem_id="character-start")
            cancel = gr.Button("Cancel", elem_id="character-cancel")
        shown = gr.HTML(progress_html(jobs.status()), elem_id="character-progress")
    timer = gr.Timer(POLL_S)

    def on_start(name: str, files, steps=None):
        try:
            jobs.check_free()  # before anything else: the answer to a second start is "wait"
            checked = [check_picture(f, max_pixels) for f in files or []]
            state = jobs.start(name or "", checked, whole(steps))
        except JobError as exc:
            raise refuse(str(exc)) from None
        return progress_html(state)

    def on_cancel():
        jobs.cancel()
        return progress_html(jobs.status())

    fast = {"concurrency_limit": None, "api_name": False, "show_progress": "hidden"}  # never waits behind a colorizing page
    start.click(on_start, inputs=[name, pictures, steps], outputs=shown, preprocess=False,
                concurrency_limit=None, api_name="character_start")
    cancel.click(on_cancel, outputs=shown, **fast)
    timer.tick(lambda: progress_html(jobs.status()), outputs=shown, **fast)
    return timer
