"""The character set of `colorize quality`: the main-colors consistency measure on pictures whose
answer is known, the held-out selection by content hash, the refusal of a card that trained on a
held-out picture, and the whole command on tiny models and a few small drawn pictures."""

import argparse
import json

import numpy as np
import pytest
import torch
from infer_helpers import make_checkpoint, tiny_card
from PIL import Image, ImageDraw

from colorize.checkpoint import save_checkpoint
from colorize.cli import main
from colorize.data.splits import file_sha256, hash_position
from colorize.evaluation import character_eval, consistency
from colorize.models import build_generator

torch.set_num_threads(1)
HAIR, OUTFIT = (200, 60, 60), (60, 80, 200)


def figure(hair=HAIR, outfit=OUTFIT, background=(255, 255, 255), size=(64, 48)) -> np.ndarray:
    """A white picture with two flat colored regions (hair, outfit) and a black line between."""
    w, h = size
    a = np.full((h, w, 3), background, np.uint8)
    a[h // 4: 3 * h // 4, : w // 2 - 2], a[h // 4: 3 * h // 4, w // 2 + 2:] = hair, outfit
    a[:, w // 2 - 2: w // 2 + 2] = 0
    return a


def test_palette_finds_the_two_flat_colors():
    pal = consistency.palette([figure() for _ in range(4)])
    found = sorted(map(tuple, np.round(pal["cbcr"]).astype(int)))
    want = sorted(tuple(np.round(consistency.cbcr_luma(np.array([[c]], np.uint8))[0][0, 0]).astype(int))
                  for c in (HAIR, OUTFIT))
    assert found == want and np.allclose(pal["share"], 0.5)


def test_truth_is_close_and_consistent_gray_is_far_a_wandering_model_spreads():
    truths = [figure() for _ in range(6)]
    rng = np.random.default_rng(0)
    wandering = [figure(hair=tuple(int(v) for v in rng.integers(0, 256, 3))) for _ in range(6)]
    steady_wrong = [figure(hair=(60, 160, 60)) for _ in range(6)]  # always the same, wrong, green hair
    r = consistency.consistency(truths, {"truth_copy": truths, "wandering": wandering, "steady": steady_wrong})
    runs = r["runs"]
    assert len(r["palette"]) == 3 and r["palette"][-1]["neutral"] and r["pictures"] == 6
    assert runs["truth_copy"]["closeness"] == pytest.approx(0, abs=1e-9)
    assert runs["truth_copy"]["spread"] == pytest.approx(0, abs=1e-9)
    assert runs["truth"]["spread"] == pytest.approx(0, abs=1e-9)  # flat colors: no natural variation
    assert runs["gray"]["spread"] == pytest.approx(0, abs=1e-9)
    hair_chroma = np.hypot(*consistency.cbcr_luma(np.array([[HAIR]], np.uint8))[0][0, 0])
    assert runs["gray"]["closeness"] > 0.8 * min(hair_chroma, 60)  # gray: every color at (0, 0)
    assert runs["wandering"]["spread"] > 10  # the hair changes color from picture to picture
    assert runs["steady"]["spread"] == pytest.approx(0, abs=1e-9) and runs["steady"]["closeness"] > 20
    outfit = next(c for c in runs["wandering"]["colors"] if c["spread"] is not None and c["spread"] < 1e-6)
    assert outfit["closeness"] == pytest.approx(0, abs=1e-9)  # the outfit it kept right


def test_a_background_in_one_picture_is_not_a_character_color():
    truths = [figure() for _ in range(5)] + [figure(background=(120, 200, 90))]
    r = consistency.consistency(truths, {})
    assert len(r["palette"]) == 3  # hair, outfit, the neutral entry
    assert [c["pictures"] for c in r["not_recurring"]] == [1]


def test_nothing_chromatic_gives_an_empty_palette():
    r = consistency.consistency([np.full((20, 20, 3), 128, np.uint8)] * 3, {"m": [np.zeros((20, 20, 3), np.uint8)] * 3})
    assert r["palette"] == [{"neutral": True, "pictures": 3}]
    assert r["runs"]["m"]["closeness"] is None and r["runs"]["m"]["spread"] is None
    assert r["runs"]["m"]["neutral"]["closeness"] == 0 and r["runs"]["m"]["neutral"]["spread"] == 0


def test_silver_hair_is_the_neutral_entry_a_tint_that_changes_spreads():
    truths = [figure(hair=(190, 190, 195)) for _ in range(4)]  # silver hair: no hue to cluster
    tints = [(230, 200, 120), (120, 160, 230), (190, 190, 195), (230, 200, 120)]  # yellow, blue, right, yellow
    r = consistency.consistency(truths, {"steady": truths, "tinted": [figure(hair=t) for t in tints]})
    assert len(r["palette"]) == 2 and r["palette"][-1] == {"neutral": True, "pictures": 4}
    steady, tinted = r["runs"]["steady"]["neutral"], r["runs"]["tinted"]["neutral"]
    assert steady["closeness"] == pytest.approx(0, abs=1e-9) and steady["spread"] == pytest.approx(0, abs=1e-9)
    assert tinted["closeness"] > 15 and tinted["spread"] > 15
    assert r["runs"]["gray"]["neutral"]["closeness"] < 3  # silver stays silver in gray


def write_pictures(folder, n: int, seed: int) -> list:
    """n small character pictures with a little noise, so every file has its own hash."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        a = figure(size=(80, 64)).astype(np.int16) + rng.integers(-6, 7, (64, 80, 3))
        im = Image.fromarray(a.clip(0, 255).astype(np.uint8))
        ImageDraw.Draw(im).ellipse((10 + i % 20, 10, 30 + i % 20, 30), outline=(0, 0, 0), width=2)
        im.save(folder / f"pic_{i:02d}.png")
        paths.append(folder / f"pic_{i:02d}.png")
    return paths


def test_held_out_is_the_top_quarter_by_hash_and_copies_count_once(tmp_path):
    paths = write_pictures(tmp_path / "char", 16, seed=1)
    want = [p for p in paths if hash_position(file_sha256(p)) >= 0.75]
    assert want, "the drawn pictures should put some in the held-out quarter"
    (tmp_path / "char" / "zz_copy.png").write_bytes(want[0].read_bytes())  # same content, another name
    held = character_eval.held_out(tmp_path / "char", 0.25)
    assert [p for p, _ in held] == want
    assert all(sha == file_sha256(p) for p, sha in held)


@pytest.mark.parametrize("section", [
    lambda sha: {"name": "Hero", "train_sha256": [sha]},
    lambda sha: {"trained_on": [{"file": "a.png", "sha256": sha}]},
    lambda sha: {"train": {"a.png": sha}},
    # colorize character's card: training pictures under pictures.sha256, the held-out ones beside
    lambda sha: {"pictures": {"count": 1, "sha256": [sha]}, "held_out": {"fraction": 0.25, "sha256": ["ef" * 32]}},
])
def test_card_hashes_are_found_wherever_the_section_keeps_them(section):
    sha = "ab" * 32
    assert character_eval.trained_hashes(section(sha)) == {sha}


def test_a_character_model_belongs_to_its_own_folder_the_default_model_to_every_one(tmp_path):
    sha = "ab" * 32
    assert character_eval.belongs({}, tmp_path / "Emilia", set())
    assert character_eval.belongs({"character": {"pictures": {"sha256": [sha]}}}, tmp_path / "Emilia", {sha})
    by_source = {"character": {"name": "emi", "sources": ["../shared/data/extra/characters/Emilia"]}}
    assert character_eval.belongs(by_source, tmp_path / "Emilia", set())
    assert not character_eval.belongs(by_source, tmp_path / "Monkey_D_Luffy", {sha})


def test_hashes_listed_as_held_out_are_not_trained_ones():
    sha = "cd" * 32
    assert character_eval.trained_hashes({"holdout_sha256": [sha], "val": [sha], "train_sha256": []}) == set()


def test_a_card_that_trained_on_a_held_out_picture_is_refused(tmp_path):
    paths = write_pictures(tmp_path / "char", 16, seed=1)
    held = character_eval.held_out(tmp_path / "char")
    card = {"character": {"train_sha256": [file_sha256(p) for p in paths]}}
    with pytest.raises(ValueError, match="card.json: lists held-out picture") as exc:
        character_eval.check_held_out(tmp_path / "ckpt", card, held)
    assert "\n" not in str(exc.value) and held[0][0].name in str(exc.value)
    trained = [p for p in paths if p not in [h for h, _ in held]]
    character_eval.check_held_out(tmp_path / "ckpt", {"character": {"train_sha256": [file_sha256(p) for p in trained]}},
                                  held)  # its own training pictures only: accepted


def character_model(folder, trained: list) -> None:
    torch.manual_seed(1)
    card = {**tiny_card(), "character": {"name": "Hero", "train_sha256": [file_sha256(p) for p in trained]}}
    save_checkpoint(folder, card, build_generator("unet", {"base": 8, "depth": 2}))


def test_quality_character_set_end_to_end(tmp_path, capsys):
    hero = write_pictures(tmp_path / "Hero", 16, seed=1)
    write_pictures(tmp_path / "Other", 12, seed=2)
    held = {p for p, _ in character_eval.held_out(tmp_path / "Hero")}
    make_checkpoint(tmp_path / "base")
    character_model(tmp_path / "hero-model", [p for p in hero if p not in held])
    out = tmp_path / "q"
    rc = main(["quality", "--checkpoint", str(tmp_path / "base"), "--checkpoint", str(tmp_path / "hero-model"),
               "--sets", "character", "--character-data", str(tmp_path / "Hero"),
               "--character-data", str(tmp_path / "Other"), "--out", str(out), "--device", "cpu", "--max-side", "64",
               "--limit", "4"])
    assert rc == 0
    text = capsys.readouterr().out
    base = json.loads((out / "base" / "metrics.json").read_text())["sets"]["character"]
    model = json.loads((out / "hero-model" / "metrics.json").read_text())["sets"]["character"]
    assert set(base["characters"]) == {"Hero", "Other"}
    assert set(model["characters"]) == {"Hero"}  # a character model is measured on its own character
    hero_fig = model["characters"]["Hero"]
    assert hero_fig["held_out"] == sorted(p.name for p in held)[:4]  # --limit: the first 4 held-out pictures
    for mode in ("gray", "lineart"):
        m = hero_fig["modes"][mode]
        assert m["count"] == 4
        assert {"deltaE", "cbcr_error", "colorfulness_ratio"} <= set(m["mean"]["model"])
        assert m["mean"]["baseline"]["colorfulness"] == 0
        c = m["consistency"]
        top = sorted(tuple(round(v / 10) for v in p["cbcr"]) for p in c["palette"][:2])
        assert c["palette"][-1]["neutral"]
        assert top == [(-2, 7), (6, -2)]  # hair (Cb -23, Cr 69) and outfit (64, -20) lead the palette
        assert c["runs"]["gray"]["spread"] == pytest.approx(0, abs=1e-9) and c["runs"]["gray"]["closeness"] > 20
        assert c["runs"]["model"]["closeness"] is not None and c["runs"]["model"]["spread"] is not None
        assert f"| Hero | {mode} | hero-model | 4 |" in text and f"| Hero | {mode} | truth |" in text
    sheet = out / "base" / base["sheets"][0]
    assert sheet.is_file() and sheet.resolve().parent == (out / "sheets").resolve()
    with Image.open(out / "sheets" / "character-Hero-gray-01.png") as im:  # input | base | hero-model | truth
        assert im.width >= 4 * 320 * 80 // 64
    assert (out / "sheets" / "character-Hero-gray-palette.png").is_file()

    assert main(["quality", "--compare", str(out / "base"), str(out / "hero-model")]) == 0  # earlier runs' table
    table = capsys.readouterr().out
    assert "| Hero | gray | base |" in table and "| Hero | gray | hero-model |" in table and "| Other | gray | base |" in table


def test_quality_refuses_a_character_model_that_trained_on_held_out_pictures(tmp_path, capsys):
    hero = write_pictures(tmp_path / "Hero", 16, seed=1)
    character_model(tmp_path / "leaky", hero)
    rc = main(["quality", "--checkpoint", str(tmp_path / "leaky"), "--sets", "character",
               "--character-data", str(tmp_path / "Hero"), "--out", str(tmp_path / "q"), "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert str(tmp_path / "leaky" / "card.json") in err and "held-out" in err


def test_the_character_set_without_data_is_a_one_line_error(tmp_path, capsys):
    make_checkpoint(tmp_path / "base")
    assert main(["quality", "--checkpoint", str(tmp_path / "base"), "--sets", "character"]) == 1
    assert "--character-data" in capsys.readouterr().err


def test_a_folder_named_twice_is_measured_once(tmp_path):
    """Two models of one character each name its folder: the default model is measured on it once."""
    write_pictures(tmp_path / "Hero", 4, seed=1)
    args = argparse.Namespace(character_data=[str(tmp_path / "Hero"), str(tmp_path / "." / "Hero")])
    assert character_eval.folders_of({}, tmp_path / "base", args) == [(tmp_path / "Hero").resolve()]
