"""`colorize character`: real fine-tunes of a tiny chroma-s2d base on a dozen small pictures, from
the command line and the API: the model folder (card with its character section, sample.png) that
`colorize batch --checkpoint` and list_characters take, cancel and re-run continuing, the one-line
errors, and --tags through the scraper against the local Safebooru look-alike."""

from __future__ import annotations

import json

import pytest
import torch
from character_helpers import jpeg, make_base, picture_folder, real_pictures, write_recipe
from infer_helpers import line_art, make_checkpoint
from PIL import Image

from colorize.character import Cancelled, CharacterError, check_name, list_characters, train_character
from colorize.character.palette_fit import BINS
from colorize.checkpoint import load_generator
from colorize.chroma import NUM_CLASSES
from colorize.cli import main as cli
from colorize.data.splits import file_sha256, hash_position


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(pictures folder, base checkpoint, cache folder, tmp folder) shared by the module."""
    tmp = tmp_path_factory.mktemp("character")
    return picture_folder(tmp / "pictures", 12), make_base(tmp / "base"), tmp / "cache", tmp


def run_cli(capsys, *args) -> tuple[int, list[str], list[str]]:
    rc = cli(["character", *map(str, args)])
    captured = capsys.readouterr()
    return rc, captured.out.splitlines(), [line for line in captured.err.splitlines() if line.startswith("error:")]


def test_end_to_end_model_folder_batch_and_list(setup, tmp_path, capsys):
    pictures, base, cache, _ = setup
    recipe = write_recipe(tmp_path, steps=4, split=(0.75, 0.25, 0.0))  # with validation: best checkpoint
    out = tmp_path / "characters" / "emilia"
    rc, printed, errors = run_cli(capsys, "emilia", "--data", pictures, "--out", out, "--base", base, "--config",
                                  recipe, "--cache-dir", cache, "--min-pictures", 5)
    assert rc == 0 and not errors, errors
    assert printed[-1].startswith(f"model: {out} ("), printed[-1]
    assert {p.name for p in out.iterdir()} - {"code.diff"} == {  # code.diff: a dirty work tree's diff
        "card.json", "discriminator.safetensors", "generator.safetensors", "sample.png"}
    card = json.loads((out / "card.json").read_text())
    c = card["character"]
    hashes = sorted({file_sha256(p) for p in pictures.iterdir()})
    assert c["name"] == "emilia" and sorted(c["pictures"]["sha256"] + c["validation"]["sha256"]) == hashes
    assert c["pictures"]["count"] == card["data"]["counts"]["train"] and c["validation"]["count"] == card["data"]["counts"]["val"]
    assert f"{c['pictures']['count']} pictures trained, {c['validation']['count']} validation, 0 held out, 4 steps in" in printed[-1]
    assert c["held_out"]["count"] == 0 and c["steps"] == 4 and c["train_seconds"] > 0
    assert c["run_seconds"] >= c["train_seconds"]  # the whole command, readout too (both rounded to 0.1 s: a tiny run may tie)
    assert c["precision"] == card["precision"] in ("fp32", "bf16") and c["device"] == "cpu" and c["cpu"]
    assert c["base"]["path"] == str(base) and c["base"]["generator"] == "chroma-s2d"
    val = card["config"]["data"]["split"][1] > 0 and card["data"]["counts"]["val"] > 0
    assert c["readout"]["chosen_on"] == ("validation" if val else "training")
    assert c["figures"]["selected"] == ("best val/color_score" if val else "last")
    assert "val/color_score" in c["figures"]["readout"]
    kwargs = card["generator"]["kwargs"]
    assert [kwargs[k] for k in ("temperature", "vividness", "palette")] == [
        c["readout"][k] for k in ("temperature", "vividness", "palette")]
    assert {r["palette"] for r in card["temperature_scores"]} == {0.0}  # a fine-tune learned the palette itself
    G = load_generator(out)[0]
    assert G.temperature == c["readout"]["temperature"] and G.palette == c["readout"]["palette"]
    assert "palette_bias" not in card and G.palette_bias is None
    with Image.open(out / "sample.png") as sample:
        assert sample.mode == "RGB" and max(sample.size) <= 192  # these pictures are smaller than that
    assert not (out.parent / ".emilia.work").exists()  # nothing left behind but the model
    assert [m.name for m in list_characters(out.parent)] == ["emilia"]
    assert list_characters(out.parent)[0].sample == out / "sample.png"

    pages, colored = tmp_path / "pages", tmp_path / "colored"
    pages.mkdir()
    line_art(96, 128).save(pages / "page.png")
    assert cli(["batch", str(pages), str(colored), "--checkpoint", str(out)]) == 0
    with Image.open(colored / "page.png") as im:
        assert im.size == (96, 128) and im.mode == "RGB"


def test_steps_0_is_the_base_model_leaning_towards_the_pictures_colors(setup, tmp_path, capsys):
    pictures, base, cache, _ = setup
    out = tmp_path / "characters" / "palette"
    rc, printed, errors = run_cli(capsys, "palette", "--data", pictures, "--out", out, "--base", base, "--steps", 0,
                                  "--config", write_recipe(tmp_path, steps=4), "--cache-dir", cache,
                                  "--min-pictures", 5)
    assert rc == 0 and not errors, errors
    card = json.loads((out / "card.json").read_text())
    assert card["character"]["steps"] == 0 and card["character"]["figures"]["selected"].startswith("base")
    assert card["character"]["readout"]["chosen_on"] == "training (cross-fitted halves)"
    assert card["character"]["run_seconds"] > 0.1 + card["character"]["train_seconds"]  # fit and readout
    assert (out / "generator.safetensors").read_bytes() == (base / "generator.safetensors").read_bytes()
    assert card["chroma_prior"] == json.loads((base / "card.json").read_text())["chroma_prior"]
    bias = torch.tensor(card["palette_bias"])
    assert bias.shape == (BINS, NUM_CLASSES) and bias.abs().max() > 0.5  # these pictures' colors are not the base's
    assert {r["palette"] for r in card["temperature_scores"]} == {0.0, 1.0, 2.0}  # every lean was tried
    G = load_generator(out)[0]
    assert G.palette == card["character"]["readout"]["palette"] and torch.equal(G.palette_bias, bias)


def test_cancel_then_rerun_continues_and_holdout_stays_out(setup, tmp_path):
    pictures, base, cache, _ = setup
    recipe = write_recipe(tmp_path, steps=5)  # no validation split: the last checkpoint
    out = tmp_path / "characters" / "emilia"
    kw = dict(out=out, base=base, config=recipe, cache_dir=cache, holdout=0.25, min_pictures=5)
    seen = []
    with pytest.raises(Cancelled) as err:
        train_character("emilia", [pictures], progress=seen.append,
                        should_stop=lambda: any(p.stage == "train" and p.step >= 3 for p in seen), **kw)
    assert "\n" not in str(err.value) and "step 3 of 5" in str(err.value)
    assert not out.exists()
    assert (out.parent / ".emilia.work" / "run" / "checkpoints" / "step-00000003" / "card.json").exists()
    assert [p.stage for p in seen][:1] == ["prepare"] and seen[-1].loss is not None and seen[-1].steps == 5

    again = []
    assert train_character("emilia", [pictures], progress=again.append, **kw) == out
    trained = [p.step for p in again if p.stage == "train"]
    assert trained == [4, 5]  # continued from the checkpoint of step 3
    etas = [p.eta_s for p in again if p.stage == "train"]
    assert again[-1].stage == "done" and etas[0] is None and etas[-1] == 0  # no rate to go by at the first step
    card = json.loads((out / "card.json").read_text())
    c = card["character"]
    assert card["step"] == 5 and c["steps"] == 5 and c["figures"]["selected"] == "last"
    assert c["readout"]["chosen_on"] == "training" and c["validation"]["count"] == 0
    held = c["held_out"]["sha256"]
    assert c["held_out"] == {"fraction": 0.25, "count": len(held), "sha256": held}
    assert all(hash_position(h) >= 0.75 for h in held)
    assert all(hash_position(h) < 0.75 for h in c["pictures"]["sha256"])
    assert sorted(held + c["pictures"]["sha256"]) == sorted({file_sha256(p) for p in pictures.iterdir()})
    assert card["data"]["counts"]["train"] == c["pictures"]["count"]  # the held-out ones never trained

    files = sorted(pictures.iterdir())[:8]  # picture files (the app's way), and --force replaces the model
    assert train_character("emilia", files, **{**kw, "holdout": 0.0}, force=True) == out
    card = json.loads((out / "card.json").read_text())
    assert card["character"]["pictures"]["count"] == 8 and card["character"]["sources"] == [str(pictures)]
    assert sorted(p.name for p in out.parent.iterdir()) == ["emilia"]  # no work or old folder left


def test_names():
    for good in ("Emilia", "monkey_d_luffy", "a", "R2-D2", "x" * 64):
        assert check_name(good) == good
    for bad in ("", "-x", ".hidden", "a b", "../up", "a/b", "x" * 65, "émilia"):
        with pytest.raises(CharacterError) as err:
            check_name(bad)
        assert "\n" not in str(err.value) and "not a plain name" in str(err.value)


def broken_folder(folder):
    folder.mkdir()
    for i in range(3):
        (folder / f"b{i}.png").write_bytes(b"not a png at all" * i)
    return folder


@pytest.mark.parametrize("case", ["missing", "empty", "all_broken", "too_few", "existing_out", "no_base",
                                  "base_without_readout", "bad_holdout"])
def test_one_line_errors_leave_nothing_behind(setup, tmp_path, case):
    pictures, base, cache, _ = setup
    out = tmp_path / "characters" / "emilia"
    data, kw = [pictures], dict(out=out, base=base, config=write_recipe(tmp_path), cache_dir=cache)
    if case == "missing":
        data, expected = [tmp_path / "nowhere"], f"{tmp_path / 'nowhere'}: no such folder or file"
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        data, expected = [tmp_path / "empty"], f"{tmp_path / 'empty'}: no pictures in this folder"
    elif case == "all_broken":
        data, expected = [broken_folder(tmp_path / "broken")], f"{tmp_path / 'broken'}: none of its 3 pictures can be read"
    elif case == "too_few":
        data, expected = [picture_folder(tmp_path / "few", 3)], "emilia: 3 usable pictures to train on; a character needs at least 10"
    elif case == "existing_out":
        out.mkdir(parents=True)
        expected = f"{out}: already exists"
    elif case == "no_base":
        kw["base"], expected = tmp_path / "nobase", f"{tmp_path / 'nobase'}: base checkpoint missing"
    elif case == "base_without_readout":
        kw["base"] = make_checkpoint(tmp_path / "unet")
        expected = f"{tmp_path / 'unet'}: base model 'unet' has no chroma readout"
    else:
        kw["holdout"], expected = 0.9, "holdout 0.9: must be at least 0 and below 0.9"
    with pytest.raises(CharacterError) as err:
        train_character("emilia", data, **kw)
    message = str(err.value)
    assert "\n" not in message and message.startswith(expected), message
    assert not (out.parent / ".emilia.work").exists()
    assert list(out.iterdir()) == [] if case == "existing_out" else not out.exists()


def test_cli_error_is_one_line(setup, tmp_path, capsys):
    pictures, base, cache, _ = setup
    rc, printed, errors = run_cli(capsys, "bad name", "--data", pictures, "--out", tmp_path / "x")
    assert rc == 1 and errors == ["error: 'bad name': not a plain name (1 to 64 letters, digits, _ or -, "
                                  "not starting with - or .)"]
    rc, printed, errors = run_cli(capsys, "emilia", "--data", tmp_path / "nowhere", "--base", base,
                                  "--out", tmp_path / "x", "--cache-dir", cache)
    assert rc == 1 and errors == [f"error: {tmp_path / 'nowhere'}: no such folder or file"]


def test_tags_scrapes_cleans_and_trains(setup, tmp_path, capsys):
    from fakebooru import FakeBooru, FakePost, make_posts

    faces = real_pictures(16, 300)  # real faces, for the cleaner's face classifier
    if not faces:
        pytest.skip("needs ../shared/data/extra/characters")
    _, base, cache, _ = setup
    posts = [FakePost(3000 + i, jpeg(im), tags=["emilia_(re:zero)", "solo"]) for i, im in enumerate(faces)]
    posts += make_posts(2, first_id=4000, tags=["emilia_(re:zero)", "solo"])  # 48 px noise: cleaned away
    out = tmp_path / "characters" / "emilia"
    args = ["emilia", "--tags", "emilia_(re:zero) solo", "--base-url", None, "--rate", 0, "--out", out,
            "--base", base, "--config", write_recipe(tmp_path, steps=2), "--cache-dir", cache, "--min-pictures", 3]
    with FakeBooru(posts) as booru:
        args[args.index(None)] = booru.url
        rc, printed, errors = run_cli(capsys, *args)
        hits = len(booru.hits("image"))
    assert rc == 0 and not errors, errors
    card = json.loads((out / "card.json").read_text())
    c = card["character"]
    assert c["tags"] == "emilia_(re:zero) solo" and 3 <= c["pictures"]["count"] < len(faces)
    work = out.parent / ".emilia.work"
    report = json.loads((work / "scrape" / "clean_report.json").read_text())
    kept = {i["path"] for i in report["images"] if i["decision"] == "keep"}
    assert len(kept) == c["pictures"]["count"] and hits == len(posts)
    assert sorted(p.name for p in work.iterdir()) == ["scrape", "scrape-export"]  # the dataset stays for next time
