"""Character models in the web app: the picker and gallery list them by name with their sample
pictures, and the New character panel (--allow-training) trains one in the server's background
job: a real server with a tiny chroma-s2d base and recipe, driven by headless Chromium and
gradio_client, and the job module on its own."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from app_helpers import app_server
from character_helpers import TINY_RECIPE, make_base, picture_folder
from PIL import Image

from app.screenshot import CHROMIUM, CHROMIUM_ARGS
from colorize.character.palette_fit import BINS
from colorize.checkpoint import read_card, update_card

STEPS = 1000  # the recipe's: the browser sees steps go by and cancels long before the end
FEW = 3  # a job that ends


def recipe(folder: Path) -> Path:
    """The tiny recipe without validation, with a checkpoint every 10 steps (fewer file writes)."""
    text = TINY_RECIPE.format(steps=STEPS, split=[1.0, 0.0, 0.0])
    path = folder / "recipe.toml"
    path.write_text(text.replace("ckpt_every = 2", "ckpt_every = 10").replace("log_every = 1", "log_every = 10"))
    return path


def ready_character(folder: Path, base: Path, name: str) -> Path:
    """A character model folder as train_character leaves it: the base's weights, a card with a
    character section, and a sample picture."""
    shutil.copytree(base, folder)
    update_card(folder, character={"name": name, "steps": 4})
    Image.new("RGB", (48, 64), (200, 60, 90)).save(folder / "sample.png")
    return folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("app-character")
    base = make_base(root / "base")
    ready_character(root / "characters" / "mio", base, "mio")
    pictures = sorted(picture_folder(root / "pictures", 10).iterdir())
    return root, base, pictures


@pytest.fixture(scope="module")
def server(setup):
    root, base, _ = setup
    args = ["--checkpoint", str(base), "--models", "--characters", str(root / "characters"), "--allow-training",
            "--character-base", str(base), "--character-config", str(recipe(root))]
    with app_server(root, *args) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def start(client, name: str, files: list[Path]):
    from gradio_client import handle_file

    return client.predict(name, [handle_file(str(f)) for f in files], api_name="/character_start")


def component(config: dict, elem_id: str) -> dict | None:
    found = [c for c in config["components"] if c["props"].get("elem_id") == elem_id]
    return found[0] if found else None


# -- the job module on its own ---------------------------------------------------------------------


def test_the_job_refuses_bad_requests_and_a_second_start_names_the_running_one(setup, tmp_path):
    from app.character_job import CharacterJobs, JobError

    root, base, pictures = setup
    jobs = CharacterJobs(tmp_path / "characters", base, config=recipe(tmp_path), cache_dir=tmp_path / "cache")
    named = [(p, p.name) for p in pictures]
    with pytest.raises(JobError, match="'a b': not a plain name"):
        jobs.start("a b", named)
    with pytest.raises(JobError, match="aoi: 9 pictures; a character needs 10 or more"):
        jobs.start("aoi", named[:9])
    (tmp_path / "characters" / "mio").mkdir(parents=True)
    with pytest.raises(JobError, match="mio: a character model of that name exists already"):
        jobs.start("mio", named)
    with pytest.raises(JobError, match="Steps must be between 0 and 20000, not -1"):
        jobs.start("aoi", named, steps=-1)
    assert jobs.default_steps() == STEPS
    assert jobs.status().stage == "idle"

    assert jobs.start("aoi", named).running
    with pytest.raises(JobError, match=r"^Training 'aoi' is running \(.*\); wait for it to finish or cancel it\.$"):
        jobs.start("ren", named)
    assert jobs.cancel()
    state = jobs.wait(120)
    assert state.stage == "cancelled" and state.name == "aoi" and state.finished == 1 and not state.running
    assert not jobs.cancel()  # nothing runs any more
    assert not (tmp_path / "characters" / "aoi").exists()

    # ten copies of one picture: train_character's own refusal ends the job, in one line
    jobs.start("ren", [(pictures[0], f"copy{i}.png") for i in range(10)])
    state = jobs.wait(120)
    assert state.stage == "failed" and state.finished == 2
    assert state.error.startswith("ren: 1 usable pictures to train on") and "\n" not in state.error


def test_a_job_of_0_steps_is_the_base_with_the_pictures_palette(setup, tmp_path):
    from app.character_job import CharacterJobs
    from app.character_panel import progress_html

    _, base, pictures = setup
    jobs = CharacterJobs(tmp_path / "characters", base, config=recipe(tmp_path), cache_dir=tmp_path / "cache")
    jobs.start("sena", [(p, p.name) for p in pictures], steps=0)
    state = jobs.wait(300)
    assert state.stage == "done" and state.model == tmp_path / "characters" / "sena", state.error
    assert state.steps == 0 and "is ready (the palette alone, no training)" in progress_html(state)
    card = json.loads((state.model / "card.json").read_text())
    assert card["character"]["steps"] == 0 and len(card["palette_bias"]) == BINS
    assert (state.model / "generator.safetensors").read_bytes() == (base / "generator.safetensors").read_bytes()


def test_without_allow_training_there_is_no_panel(setup):
    from app.__main__ import parse
    from app.ui import Settings, build

    root, base, _ = setup
    args = parse(["--checkpoint", str(base), "--models", "--characters", str(root / "characters")])
    assert args.allow_training is False
    settings = Settings(args.checkpoint, args.models, allow_training=args.allow_training, characters=args.characters)
    config = build(settings).get_config_file()
    assert component(config, "new-character") is None and component(config, "character-start") is None
    assert component(config, "characters")["props"]["visible"]  # the picker still shows "mio"


def test_a_character_card_in_words():
    from app.card import character_line

    card = {"character": {"name": "aoi", "base": {"path": "checkpoints/default"}, "pictures": {"count": 12},
                          "steps": 300, "train_seconds": 400.0}}
    assert character_line(card) == "Character model: default fine-tuned on 12 pictures of aoi (300 steps, 7 min of training)."
    assert character_line({"character": {"name": "mio"}}) == "Character model: the default model fine-tuned."
    palette = {"character": {**card["character"], "steps": 0, "train_seconds": 0.5}}
    assert character_line(palette) == "Character model: default with the palette of 12 pictures of aoi (no training)."


# -- through the real server -----------------------------------------------------------------------


def test_the_picker_lists_character_models_by_name_with_their_pictures(server):
    import requests

    config = requests.get(server["url"] + "config", timeout=10).json()
    choices = component(config, "model")["props"]["choices"]
    mio = str((server["root"] / "characters" / "mio").resolve())
    assert [c[1] for c in choices] == [str((server["root"] / "base").resolve()), mio]  # the default first
    assert choices[1][0] == "mio (character)"
    assert [c["type"] for c in config["components"]].count("dropdown") == 1
    gallery = component(config, "characters")["props"]
    assert [item["caption"] for item in gallery["value"]] == ["base", "mio"]
    assert component(config, "new-character") is not None


def test_bad_pictures_are_named_in_one_line(server, client, setup, tmp_path):
    from gradio_client.exceptions import AppError

    _, _, pictures = setup
    (tmp_path / "notes.png").write_text("this is not a picture")
    with pytest.raises(AppError, match=r"^notes.png: not an image Pillow can read$"):
        start(client, "aoi", [*pictures[:9], tmp_path / "notes.png"])
    with pytest.raises(AppError, match="aoi: 9 pictures; a character needs 10 or more"):
        start(client, "aoi", pictures[:9])
    assert "Traceback" not in server["log"].read_text()


def progress_value(page) -> tuple[str | None, int]:
    bar = page.locator("#character-progress progress")
    if not bar.count():
        return None, -1
    return bar.get_attribute("data-stage"), int(bar.get_attribute("value") or -1)


def wait_for_step(page, above: int, timeout_s: float = 90) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stage, value = progress_value(page)
        if stage == "train" and value > above:
            return value
        page.wait_for_timeout(200)
    pytest.fail(f"the progress bar did not pass step {above} (now {progress_value(page)})")


def upload_and_train(page, name: str, pictures: list[Path], steps: int | None = None) -> None:
    from playwright.sync_api import expect

    page.locator("#character-name").get_by_role("textbox").fill(name)
    if steps is not None:
        page.locator("#character-steps input").fill(str(steps))
    page.locator("#character-pictures input[type=file]").set_input_files([str(p) for p in pictures])
    expect(page.locator("#character-pictures")).to_contain_text(pictures[-1].stem, timeout=30_000)
    page.locator("#character-start").click()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)")
def test_train_follow_reload_cancel_then_a_short_job_lands_in_the_picker(server, client, setup):
    from gradio_client.exceptions import AppError
    from playwright.sync_api import expect, sync_playwright

    _, _, pictures = setup
    t0 = time.monotonic()

    def mark(what: str) -> None:  # when each part happened, in the output of a failing run
        print(f"{time.monotonic() - t0:6.1f} s {what}")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(server["url"], wait_until="domcontentloaded")
            progress = page.locator("#character-progress")
            expect(progress).to_contain_text("No character is being trained", timeout=30_000)
            expect(page.locator("#character-steps input")).to_have_value(str(STEPS))  # the recipe's
            upload_and_train(page, "aoi", pictures)
            first = wait_for_step(page, 0)
            mark("first step")
            wait_for_step(page, first)  # the bar advances
            expect(progress).to_contain_text(f"/ {STEPS}, loss ")
            expect(progress).to_contain_text(" left")
            mark("advanced")
            if os.environ.get("APP_SCREENSHOT_DIR"):  # e.g. for CI artifacts
                page.screenshot(path=str(Path(os.environ["APP_SCREENSHOT_DIR"]) / "app-character.png"), full_page=True)
            # another browser (here a script) is told to wait, naming the running job
            with pytest.raises(AppError, match=rf"^Training 'aoi' is running \(step \d+ / {STEPS}"):
                start(client, "ren", pictures)
            mark("api refused")
            page.reload(wait_until="domcontentloaded")  # the job lives in the server: still shown
            expect(progress).to_contain_text("Training aoi: step", timeout=60_000)
            now = wait_for_step(page, first)
            mark("reloaded")
            page.locator("#character-cancel").click()
            expect(progress).to_contain_text("Training aoi was cancelled at step", timeout=60_000)
            mark("cancelled")
            assert now <= progress_value(page)[1] < STEPS
            expect(page.locator("#characters")).not_to_contain_text("aoi")

            upload_and_train(page, "ren", pictures, steps=FEW)
            expect(progress).to_contain_text(f"ren is ready ({FEW} steps)", timeout=120_000)
            mark("ready")
            gallery = page.locator("#characters")
            expect(gallery).to_contain_text("ren")  # the picker refreshed itself when the job ended
            gallery.get_by_text("ren", exact=True).click()  # a click on its picture picks it
            expect(page.locator("#model input")).to_have_value("ren (character)")
            expect(page.locator("#model-card")).to_contain_text(f"base fine-tuned on 10 pictures of ren ({FEW} steps")
        finally:
            browser.close()
    model = server["root"] / "characters" / "ren"
    assert read_card(model)["character"]["name"] == "ren" and (model / "sample.png").exists()
    assert not (model.parent / ".ren.work").exists() and not (model.parent / "aoi").exists()
    assert "Traceback" not in server["log"].read_text()
