"""The chroma objective: color classes, their soft encoding, rebalancing, the annealed mean, and
the chroma U-Net on non-square inputs."""

import math

import pytest
import torch
from PIL import Image

from colorize.chroma import (
    GRAY_CLASS,
    NUM_CLASSES,
    annealed_mean,
    class_centers,
    class_prior,
    classification_loss,
    rebalance_weights,
    reweight_colors,
    rgb_to_ycc,
    soft_classes,
    vividness_bias,
    ycc_to_rgb,
)
from colorize.config import LossConfig
from colorize.models import build_generator
from colorize.training.losses import generator_loss


def test_ycc_matches_pillow_and_round_trips():
    rgb = torch.tensor([[200, 30, 30], [30, 160, 40], [40, 60, 220], [255, 255, 255]], dtype=torch.float32)
    x = (rgb / 127.5 - 1).T.reshape(1, 3, 1, 4)
    ycc = rgb_to_ycc(x)
    pil = Image.frombytes("RGB", (4, 1), rgb.to(torch.uint8).numpy().tobytes()).convert("YCbCr")
    expected = torch.tensor(list(pil.getdata()), dtype=torch.float32)  # 0-255, chroma around 128
    assert torch.allclose((ycc[0, 0, 0] + 1) * 127.5, expected[:, 0], atol=1)
    assert torch.allclose(ycc[0, 1:, 0].T * 127.5 + 128, expected[:, 1:], atol=1)
    assert torch.allclose(ycc_to_rgb(ycc), x, atol=1e-5)


def test_soft_classes_put_a_center_on_its_own_class_and_weights_sum_to_one():
    centers = class_centers()
    cbcr = centers[[0, 100, 144, NUM_CLASSES - 1]].T.reshape(1, 2, 1, 4)
    idx, w = soft_classes(cbcr)
    assert torch.allclose(w.sum(dim=1), torch.ones(1, 1, 4))
    nearest = torch.gather(idx, 1, w.argmax(dim=1, keepdim=True))[0, 0, 0]
    assert nearest.tolist() == [0, 100, 144, NUM_CLASSES - 1]
    between = ((centers[144] + centers[145]) / 2).reshape(1, 2, 1, 1)
    idx, w = soft_classes(between)
    assert sorted(w.flatten().tolist())[-2:] == pytest.approx([0.5, 0.5])


def test_annealed_mean_goes_from_the_mean_to_the_mode():
    logits = torch.full((1, NUM_CLASSES, 1, 1), -10.0)
    logits[0, 50], logits[0, 200] = 2.0, 1.0
    centers = class_centers()
    mode = annealed_mean(logits, 0.01)[0, :, 0, 0]
    mean = annealed_mean(logits, 1.0)[0, :, 0, 0]
    assert torch.allclose(mode, centers[50], atol=1e-4)
    assert not torch.allclose(mean, centers[50], atol=1e-2)


def muted_and_vivid(p_gray: float = 0.2) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Logits giving the gray class p_gray and the rest 2:1 to a muted color (common in training)
    over a saturated one (rare): (logits, prior, muted class, vivid class)."""
    centers = class_centers()
    norms = centers.norm(dim=1)
    vivid = int(norms.argmax())
    muted = int(torch.where(norms > 0, norms, 9.0).argmin())  # a neighbour of gray
    rest = 1 - p_gray
    logits = torch.full((1, NUM_CLASSES, 1, 1), -30.0)
    logits[0, GRAY_CLASS] = math.log(p_gray)
    logits[0, muted], logits[0, vivid] = math.log(rest * 2 / 3), math.log(rest / 3)
    prior = torch.full((NUM_CLASSES,), 1e-4)
    prior[GRAY_CLASS], prior[muted] = 0.5, 0.3
    return logits, prior / prior.sum(), muted, vivid


def test_vividness_leans_an_unsure_color_towards_the_rare_vivid_one():
    logits, prior, muted, vivid = muted_and_vivid()
    centers = class_centers()
    plain = annealed_mean(logits, 1.0)[0, :, 0, 0]
    assert torch.equal(annealed_mean(logits, 1.0, vividness_bias(prior, 0.0)), annealed_mean(logits, 1.0))
    # sharpening alone goes to the muted mode; vividness goes the other way
    assert annealed_mean(logits, 0.2)[0, :, 0, 0].norm() < plain.norm()
    vivid_out = annealed_mean(logits, 0.2, vividness_bias(prior, 1.0))[0, :, 0, 0]
    assert vivid_out.norm() > plain.norm()
    assert torch.allclose(vivid_out, centers[vivid], atol=0.05)
    # the colored classes trade probability among themselves; gray keeps its own
    p = reweight_colors(logits, vividness_bias(prior, 1.0)).exp()[..., 0, 0]
    assert float(p[0, GRAY_CLASS]) == pytest.approx(0.2) and float(p.sum()) == pytest.approx(1.0)
    assert p[0, vivid] > p[0, muted]


def test_vividness_leaves_what_the_model_is_sure_is_uncolored_uncolored():
    # paper or a speech bubble: 95% gray; leaning its little colored mass towards a rare color
    # must not tint it (the bias on the logits alone would: gray is the most common class)
    logits, prior, _, _ = muted_and_vivid(p_gray=0.95)
    out = annealed_mean(logits, 0.4, vividness_bias(prior, 1.5))[0, :, 0, 0]
    assert out.norm() * 127.5 < 1.0  # under one level of chroma
    biased = annealed_mean(logits + vividness_bias(prior, 1.5).view(1, -1, 1, 1), 0.4)[0, :, 0, 0]
    assert biased.norm() * 127.5 > 6.0  # what the plain bias would have done: a visible tint


def test_a_class_bias_leans_the_colored_classes_and_the_gray_class_keeps_its_probability():
    # a palette card of one row (the per-class form): unsure between red and green, a bias for red
    # leans the color to red, and where the model says "no color" it keeps saying so
    red, green = 8 * 17 + 16, 8 * 17 + 0  # Cr at the top of the grid / at the bottom, Cb 0
    bias = torch.zeros(NUM_CLASSES)
    bias[red], bias[green] = 2.0, -2.0
    logits = torch.full((1, NUM_CLASSES, 1, 1), -30.0)
    logits[0, [GRAY_CLASS, red, green]] = 0.0
    plain, leaned = annealed_mean(logits, 1.0)[0, :, 0, 0], annealed_mean(logits, 1.0, bias)[0, :, 0, 0]
    assert float(leaned[1]) > float(plain[1]) + 0.1  # towards red (Cr up)
    assert float(reweight_colors(logits, bias).exp()[0, GRAY_CLASS]) == pytest.approx(1 / 3, abs=1e-4)


def test_a_brightness_palette_leans_dark_and_bright_pixels_to_their_own_colors():
    torch.manual_seed(0)
    G = build_generator("chroma-s2d", {"base": 8, "depth": 1, "blocks": [1], "palette": 1.0}).eval()
    red, blue = 8 * 17 + 16, 16 * 17 + 8  # Cr up / Cb up
    table = torch.zeros(2, NUM_CLASSES)  # two bins: the darker and the brighter half
    table[0, red] = table[1, blue] = 30.0
    G.set_palette(table.tolist())
    x = torch.cat([torch.full((1, 1, 16, 12), -0.6), torch.full((1, 1, 16, 12), 0.6)], dim=3)  # dark | bright
    with torch.no_grad():
        cbcr = rgb_to_ycc(G(x))[0, 1:] * 127.5
    cb_dark, cr_dark, cb_bright, cr_bright = (float(v) for v in (*cbcr[:, :, :8].mean((1, 2)), *cbcr[:, :, -8:].mean((1, 2))))
    assert cr_dark > 20 and cr_dark > cb_dark + 15  # dark half: red (as far as RGB holds it)
    assert cb_bright > 20 and cb_bright > cr_bright + 15  # bright half: blue
    G.palette = 0.0
    assert rgb_to_ycc(G(x))[0, 1:].abs().mean() * 127.5 < 20  # the palette did that, not the model
    with pytest.raises(ValueError, match="brightness palette"):
        G.set_palette([[0.0, 1.0]])


def test_a_models_palette_comes_from_its_card_and_needs_its_bias(tmp_path):
    torch.manual_seed(0)
    G = build_generator("chroma-s2d", {"base": 8, "depth": 1, "blocks": [1], "palette": 1.0}).eval()
    x = torch.rand(1, 1, 16, 24) * 2 - 1
    with pytest.raises(ValueError, match="palette bias"):
        G(x)
    G.set_palette(torch.linspace(-1, 1, NUM_CLASSES).tolist())
    leaned = G(x)
    G.palette = 0.0
    assert leaned.shape == (1, 3, 16, 24) and not torch.allclose(leaned, G(x))
    with pytest.raises(ValueError, match="classes"):
        G.set_palette([0.5, 0.5])


def test_chroma_unet_vividness_needs_and_uses_the_prior():
    torch.manual_seed(0)
    G = build_generator("chroma-unet", {"base": 8, "depth": 2, "vividness": 1.0}).eval()
    x = torch.rand(1, 1, 16, 24) * 2 - 1
    with pytest.raises(ValueError, match="color prior"):
        G(x)
    _, prior, _, _ = muted_and_vivid()
    G.set_color_prior(prior.tolist())
    vivid = G(x)
    G.vividness = 0.0
    plain = G(x)
    assert vivid.shape == plain.shape == (1, 3, 16, 24)
    assert not torch.allclose(vivid, plain)
    with pytest.raises(ValueError, match="classes"):
        G.set_color_prior([0.5, 0.5])


def test_kl_loss_is_zero_for_a_perfect_prediction_and_rebalancing_favours_rare_colors():
    cbcr = torch.zeros(1, 2, 4, 4)
    cbcr[:, 0] = 0.3
    idx, w = soft_classes(cbcr)
    logits = torch.full((1, NUM_CLASSES, 4, 4), -30.0).scatter(1, idx, torch.log(w.clamp_min(1e-30)))
    assert classification_loss(logits, cbcr, None).item() == pytest.approx(0, abs=1e-4)
    assert classification_loss(torch.zeros(1, NUM_CLASSES, 4, 4), cbcr, None).item() > 1

    gray = torch.zeros(8, 2, 8, 8)
    colorful = torch.zeros(1, 2, 8, 8)
    colorful[:, 1] = 0.5
    prior = class_prior([gray, colorful])
    assert prior.sum().item() == pytest.approx(1, abs=1e-5)
    weights = rebalance_weights(prior, 0.5)
    assert (prior * weights).sum().item() == pytest.approx(1, abs=1e-4)
    g, c = soft_classes(gray[:1, :, :1, :1])[0][0, 0, 0, 0], soft_classes(colorful[:, :, :1, :1])[0][0, 0, 0, 0]
    assert weights[c] > 3 * weights[g], "a rare color weighs more than the common gray"


@pytest.mark.parametrize("h, w", [(64, 96), (96, 32)])
def test_chroma_unet_keeps_non_square_shapes_and_explains_its_outputs(h, w):
    torch.manual_seed(0)
    G = build_generator("chroma-unet", {"base": 8, "depth": 3, "max_ch": 32}).train()
    x = torch.rand(2, 1, h, w) * 2 - 1
    rgb, logits, luma = G(x, return_logits=True)
    assert rgb.shape == (2, 3, h, w) and logits.shape == (2, NUM_CLASSES, h // 2, w // 2)
    assert luma.shape == (2, 1, h // 2, w // 2)
    assert rgb.min() >= -1 and rgb.max() <= 1
    G.eval()
    assert G(x).shape == (2, 3, h, w)
    with pytest.raises(ValueError, match="multiple of 8"):
        G(torch.zeros(1, 1, 60, 64))


def test_chroma_objective_trains_through_every_term():
    torch.manual_seed(0)
    G = build_generator("chroma-unet", {"base": 8, "depth": 2, "max_ch": 16})
    x, target = torch.rand(2, 1, 16, 24) * 2 - 1, torch.rand(2, 3, 16, 24) * 2 - 1
    rgb, logits, luma = G(x, return_logits=True)
    cfg = LossConfig(objective="chroma_classes", lambda_gan=0)
    total, parts = generator_loss(cfg, None, rgb, target, (logits, luma))
    assert set(parts) == {"g_ce", "g_mse", "g_luma", "g_total"}
    total.backward()
    assert G.classes.weight.grad.abs().sum() > 0 and G.luma.weight.grad.abs().sum() > 0
