"""The app's card in words: held-out figures beside the gray passthrough, and how vivid."""

from app.card import card_markdown, held_out, short_label


def card(**eval_):
    return {"step": 7, "created": "2026-12-02T10:00:00+00:00",
            "data": {"counts": {"train": 90, "val": 4}, "sources": [{"folder": "/d/color", "repeat": 3}]},
            "eval": eval_}


def test_held_out_figures_are_said_beside_gray_and_with_their_vividness():
    gray = {"count": 60, "model": {"deltaE": 12.27, "cbcr_error": 11.9, "colorfulness_ratio": 0.714},
            "baseline": {"deltaE": 11.26, "cbcr_error": 12.89, "colorfulness_ratio": 0.0}}
    (line,) = held_out(card(gray=gray))
    assert line.startswith("On 60 held-out pictures colored from their gray version: ")
    assert "color error (CIEDE2000) 12.3 vs 11.3 for leaving it gray (lower is better)" in line
    assert "tint error (CbCr levels) 11.9 vs 12.9" in line
    assert line.endswith("colors 71% as vivid as the originals.")
    text = card_markdown(card(gray=gray), "default")
    assert "Learned from 90 color pictures (4 more held back" in text and "color (x3)" in text
    assert "val/" not in text and "cbcr_error" not in text  # no raw metric keys


def test_a_card_without_colorfulness_still_reads():
    gray = {"model": {"deltaE": 10.0}, "baseline": {"deltaE": 11.0}}
    (line,) = held_out(card(gray=gray))
    assert "vivid" not in line and line.endswith("(lower is better).")


def test_the_picker_label_shows_the_tint_error_beside_gray():
    gray = {"model": {"deltaE": 13.3, "cbcr_error": 12.759}, "baseline": {"deltaE": 11.3, "cbcr_error": 12.891}}
    assert short_label(card(gray=gray)) == "step 7 · tint error 12.76 (gray 12.89)"
    assert short_label(card(gray={"model": {"deltaE": 13.3}})) == "step 7 · color error 13.3"
