"""The Gradio web app: upload a page, paint color hints over it if you like, press Colorize, compare
before/after, download the full-size PNG. A thin shell around colorize.inference.colorizer.Colorizer;
also serves the named API endpoint /colorize (an image file, optionally a hint image)."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from PIL import Image

from app import hints as app_hints
from app.card import card_markdown, character_line, short_label
from app.character_job import CharacterJobs
from app.character_panel import build_panel, characters
from app.character_panel import gallery as character_gallery
from app.uploads import check_pixels, refuse, upload_path
from colorize.character import DEFAULT_ROOT
from colorize.checkpoint import CheckpointError, find_checkpoints, read_card
from colorize.hints import HintError, load_rgba
from colorize.images import ImageLoadError, open_image, split_alpha
from colorize.inference.colorizer import Colorizer
from colorize.inference.paint import BACKGROUNDS

log = logging.getLogger(__name__)

BACKGROUND_CHOICES = [
    ("Keep paper and speech bubbles white", "keep"),
    ("Let the model color them too", "color"),
]

PREVIEW_SIDE = 2048  # the before/after view; the download is always full size
KEEP_RESULTS_S = 3600  # result PNGs older than this are deleted
MAX_EXAMPLES = 24
MAX_VIVIDNESS = 1.5  # beyond this, rare colors crowd out the right ones (the previous default used 0.8)
# System fonts: the default theme would make every visitor's browser fetch Google Fonts.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)


@dataclass
class Settings:
    checkpoint: Path
    search: list[Path] = field(default_factory=list)  # folders searched for more checkpoints
    examples: Path | None = None
    device: str = "auto"
    size: int | None = None
    max_pixels: int = 40_000_000  # an A4 page at 600 dpi is 35 MP
    max_file_size: str = "25mb"
    allow_training: bool = False  # the New character panel: minutes of CPU per job, so off by default
    characters: Path | None = None  # character models' folder (checkpoints/characters)
    character_base: Path | None = None  # the model a new character starts from (None: train_character's)
    character_steps: int | None = None  # None: the recipe's
    character_config: Path | None = None  # the recipe (None: configs/finetune-character.toml)


def describe(ckpt: Path, root: Path | None = None) -> str:
    """Dropdown label: a character model's name; else the folder, the card's step and its headline figure."""
    name = str(ckpt.relative_to(root)) if root and ckpt.is_relative_to(root) and ckpt != root else str(ckpt)
    try:
        card = read_card(ckpt)
    except CheckpointError:
        return f"{name} (unreadable card)"
    if character_name(card):
        return f"{character_name(card)} (character)"
    return f"{name} · {short_label(card)}"


def character_name(card: dict) -> str | None:
    return (card.get("character") or {}).get("name") or None


def list_models(settings: Settings) -> list[tuple[str, str]]:
    """(label, folder) for the picker: the default model, the character models, then the rest."""
    found = [settings.checkpoint.resolve()]
    found += [Path(c.path).resolve() for c in characters(settings.characters)]
    for root in settings.search:
        if root.is_dir():
            found += [p.resolve() for p in find_checkpoints(root)]
    unique = list(dict.fromkeys(found))
    cwd = Path.cwd()
    return [(describe(p, cwd), str(p)) for p in unique]


class Models:
    """Colorizers by checkpoint folder, loaded on first use; the two most recent stay loaded."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.loaded: dict[str, Colorizer] = {}
        self.lock = threading.Lock()

    def get(self, ckpt: str) -> Colorizer:
        with self.lock:
            if ckpt not in self.loaded:
                try:
                    self.loaded[ckpt] = Colorizer(ckpt, device=self.settings.device, size=self.settings.size)
                except (CheckpointError, ValueError) as exc:
                    raise refuse(f"Cannot load this model: {exc}") from None
                while len(self.loaded) > 2:
                    self.loaded.pop(next(iter(self.loaded)))
            return self.loaded[ckpt]


def preview(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return image


class Results:
    """A private folder for the full-size PNGs offered for download, pruned as it goes."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="colorize-app-"))

    def save(self, image: Image.Image, name: str) -> Path:
        now = time.time()
        for old in self.folder.glob("*/*.png"):
            if now - old.stat().st_mtime > KEEP_RESULTS_S:
                old.unlink(missing_ok=True)
                old.parent.rmdir()
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(name).stem)[:80] or "image"
        out = Path(tempfile.mkdtemp(dir=self.folder)) / f"{stem}-colored.png"
        image.save(out, "PNG", compress_level=3)
        return out


def pickers(settings: Settings) -> tuple[list[tuple[str, str]], list, list[str]]:
    """The model picker's choices, and the character gallery's pictures and model folders."""
    choices = list_models(settings)
    first = Path(choices[0][1])
    try:
        default = (character_name(read_card(first)) or first.name, first)
    except CheckpointError:
        default = (first.name, first)
    shown, paths = character_gallery(default, characters(settings.characters))
    return choices, shown, paths


def build(settings: Settings) -> gr.Blocks:
    models = Models(settings)
    jobs = None
    if settings.allow_training:
        jobs = CharacterJobs(settings.characters or DEFAULT_ROOT, settings.character_base,
                             settings.character_steps, settings.character_config)
    results = Results()
    choices = list_models(settings)

    def run(path: Path, name: str, model: str, background: str, vividness, hints: Image.Image | None):
        if background not in BACKGROUNDS:
            raise refuse(f"Background must be one of {', '.join(BACKGROUNDS)}, not {background!r}.")
        if vividness is not None and not 0 <= float(vividness) <= MAX_VIVIDNESS:
            raise refuse(f"Vividness must be between 0 and {MAX_VIVIDNESS}, not {vividness!r}.")
        check_pixels(path, name, settings.max_pixels)
        colorizer = models.get(model or choices[0][1])
        try:
            image = open_image(path)
        except ImageLoadError as exc:
            raise refuse(str(exc).replace(str(path), name)) from None
        start = time.perf_counter()
        try:
            # a model without color classes has no vividness: the slider does not apply to it
            vivid = None if vividness is None or colorizer.vividness is None else float(vividness)
            result = colorizer.colorize(image, background, vivid, hints=hints)
        except Exception as exc:  # never a stack trace in the page
            log.exception("colorizing %s failed", name)
            raise refuse(f"{name}: colorizing failed ({type(exc).__name__}: {exc})") from None
        seconds = time.perf_counter() - start
        saved = results.save(result, name)
        before = split_alpha(image)[0]
        status = (
            f"{name}: {result.width}x{result.height} colored in {seconds:.2f} s on "
            f"{colorizer.device.type} (model at {colorizer.size} px)"
        )
        if hints is not None:
            status += (", following your hints" if colorizer.takes_hints
                       else ", your hints filling their areas (this model does not take hints itself)")
        return str(saved), (preview(before), preview(result)), status + "."

    def colorize(upload, model: str, background: str = "keep", vividness: float | None = None, hints=None):
        """The API: an image file as uploaded, and optionally a hint image (RGBA, any size: pixels
        with alpha >= 128 are hints in their color)."""
        path, name = upload_path(upload)
        hint_image = None
        if hints:
            hint_path, hint_name = upload_path(hints)
            check_pixels(hint_path, hint_name, settings.max_pixels)
            try:
                hint_image = load_rgba(hint_path)
            except HintError as exc:
                raise refuse(str(exc).replace(str(hint_path), f"hints {hint_name}")) from None
        return run(path, name, model, background, vividness, hint_image)

    def colorize_page(page, model: str, background: str = "keep", vividness: float | None = None):
        """The page: the editor's background, with the strokes painted over it as hints."""
        path, name = upload_path(app_hints.page_file(page))
        try:
            hint_image = app_hints.hint_image(page)
        except HintError as exc:
            raise refuse(str(exc)) from None
        return run(path, "page.png" if name == "background.png" else name, model, background, vividness, hint_image)

    def card_vividness(model: str) -> float:
        try:
            return float(read_card(model)["generator"]["kwargs"].get("vividness", 0.0))
        except (CheckpointError, KeyError, TypeError, ValueError):
            return 0.0

    def model_changed(model: str):
        return card_text(model), gr.Slider(value=card_vividness(model))

    def card_text(model: str) -> str:
        try:
            card = read_card(model)
        except CheckpointError as exc:
            return f"**{exc}**"
        text = card_markdown(card, character_name(card) or Path(model).name)
        return text + ("\n\n" + character_line(card) if character_name(card) else "")

    try:
        first_background = read_card(choices[0][1]).get("infer", {}).get("background", "keep")
    except CheckpointError:
        first_background = "keep"

    with gr.Blocks(title="Colorize line art", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown(
            "# Colorize manga and line art\nDrop a page or a drawing (or paste one), paint color hints "
            "over it if you like, then press **Colorize**. The result has the same size as your image; "
            "download it as PNG."
        )
        with gr.Row():
            with gr.Column():
                # The page is the editor's background, the strokes its layer: the hint image.
                source = gr.ImageEditor(
                    label="Your line art or manga page (paint hints over it)",
                    type="filepath",
                    image_mode="RGBA",
                    sources=["upload", "clipboard"],
                    height=520,
                    elem_id="source",
                    brush=app_hints.brush(),
                    eraser=gr.Eraser(),
                    layers=False,
                    transforms=(),
                    format="png",
                    buttons=["fullscreen"],
                )
                with gr.Row():
                    button = gr.Button("Colorize", variant="primary", elem_id="colorize", scale=3)
                    clear = gr.Button("Clear hints", elem_id="clear-hints", scale=1)
                gr.Markdown(app_hints.HELP, elem_id="hint-help")
                background = gr.Radio(
                    choices=BACKGROUND_CHOICES,
                    value=first_background if first_background in BACKGROUNDS else "keep",
                    label="Background (margins, paper around the figure, speech bubbles)",
                    elem_id="background",
                )
                vividness = gr.Slider(
                    0.0,
                    MAX_VIVIDNESS,
                    value=card_vividness(choices[0][1]),
                    step=0.05,
                    label="Vividness (0: muted, as trained; higher: bolder, rarer colors; the model's own choice to start)",
                    elem_id="vividness",
                )
                model = gr.Dropdown(choices=choices, value=choices[0][1], label="Model", elem_id="model")
                _, shown, paths = pickers(settings)
                gallery = gr.Gallery(
                    shown, label="Character models (click one to use it)", columns=5, fit_columns=False,
                    height=170, allow_preview=False, interactive=False, format="png", elem_id="characters",
                    visible=len(shown) > 1 or jobs is not None,
                )
                gallery_paths = gr.State(paths)  # the folders behind the pictures, in their order
                about = gr.Markdown(card_text(choices[0][1]), elem_id="model-card")
                timer = build_panel(jobs, settings.max_pixels) if jobs else None
            with gr.Column():
                # The handle starts at the left edge: the page is in the editor already, so the whole
                # result shows; drag the handle to compare.
                compare = gr.ImageSlider(
                    label="Before / after (drag the handle to compare)", type="pil", format="png",
                    elem_id="compare", interactive=False, slider_position=0,
                )
                download = gr.File(label="Full-size result (PNG)", elem_id="download", interactive=False)
                status = gr.Markdown(label="Status", elem_id="status")
        # The API's own inputs, never shown: the file exactly as uploaded, and an optional hint image.
        api_upload = gr.Image(type="filepath", image_mode=None, label="upload", visible=False)
        api_hints = gr.Image(type="filepath", image_mode=None, label="hints", visible=False)
        api_trigger = gr.Button(visible=False)
        if settings.examples:
            files = sorted(
                p
                for p in settings.examples.iterdir()
                if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}
            )[:MAX_EXAMPLES]
            if files:
                gr.Examples(
                    [[str(p)] for p in files], inputs=[source], label="Examples", examples_per_page=12
                )
        model.change(model_changed, inputs=model, outputs=[about, vividness], api_name=False)
        wire_gallery(demo, settings, jobs, timer, model, gallery, gallery_paths)
        # One page at a time, from the page or the API: the model already uses every core.
        # No preprocessing: the Colorizer reads the files itself, so bad ones get a clear message.
        once = {"preprocess": False, "concurrency_limit": 1, "concurrency_id": "colorize"}
        button.click(colorize_page, inputs=[source, model, background, vividness],
                     outputs=[download, compare, status], api_name=False, **once)
        # Clear hints: the page the editor sent comes back as its background, with no layers. No progress
        # overlay: with one, the editor stays blank after reloading the page (seen in headless Chromium).
        # Not queued: it needs no model, so it never waits behind a page being colored.
        clear.click(app_hints.cleared, inputs=source, outputs=source, preprocess=False, queue=False,
                    api_name=False, show_progress="hidden")
        api_trigger.click(colorize, inputs=[api_upload, model, background, vividness, api_hints],
                          outputs=[download, compare, status], api_name="colorize", **once)
    return demo


def wire_gallery(demo, settings: Settings, jobs, timer, model, gallery, gallery_paths) -> None:
    """A click on a picture picks its model; a page load, and a job's end, refresh both pickers."""

    def pick(paths: list[str], evt: gr.SelectData):
        return paths[evt.index] if 0 <= evt.index < len(paths) else gr.skip()

    def refresh():
        choices, shown, paths = pickers(settings)  # an update, made outside the layout: no new component
        return gr.Dropdown(choices=choices), gr.Gallery(shown, visible=len(shown) > 1 or jobs is not None), paths

    def after_job(seen: int):
        finished = jobs.status().finished
        if finished == seen:
            return gr.skip(), gr.skip(), gr.skip(), seen
        return *refresh(), finished

    fast = {"concurrency_limit": None, "api_name": False, "show_progress": "hidden"}
    gallery.select(pick, inputs=gallery_paths, outputs=model, **fast)
    demo.load(refresh, outputs=[model, gallery, gallery_paths], **fast)
    if timer is not None:
        seen = gr.State(jobs.status().finished)  # jobs ended when this page last refreshed its pickers
        timer.tick(after_job, inputs=seen, outputs=[model, gallery, gallery_paths, seen], **fast)


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, **kwargs) -> gr.Blocks:
    demo = build(settings)
    demo.queue(max_size=32, default_concurrency_limit=1)
    allowed = [str(settings.examples.resolve())] if settings.examples else []
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=settings.max_file_size,
        allowed_paths=allowed,
        show_error=False,
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        ssr_mode=False,
        run_history=False,
        footer_links=["api"],
        theme=THEME,
        **kwargs,
    )
    return demo
