"""diagnose init: passes a freshly built U-Net, catches zero-initialized weights, dead units from a
large negative bias, and an exploding signal."""

import torch
from diagnose_helpers import synthetic_batches, tiny_unet
from torch import nn

from colorize.config import LossConfig
from colorize.diagnose.init import check_init, constant_layers
from colorize.models import build_generator
from colorize.training.losses import generator_loss

torch.set_num_threads(1)
INP, TARGET = synthetic_batches(1)[0]


def loss(fake, target):
    return generator_loss(LossConfig(), None, fake, target)[0]


def test_fresh_unet_passes():
    r = check_init(tiny_unet(), INP, TARGET, loss)
    assert r.status == "PASS", r.problems
    assert len(r.figures["activation_std"]) == 10
    assert 0.3 < r.figures["activation_std_first_last"][0] < 1.0
    assert r.figures["loss_at_init"] < 2 * r.figures["loss_predict_gray"]


def test_zero_initialized_weights_fail():
    model = tiny_unet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    assert len(constant_layers(model)) == 11
    r = check_init(model, INP, TARGET, loss)
    assert r.status == "FAIL"
    assert any("start constant" in m for m in r.messages("FAIL"))
    assert any("output is constant" in m for m in r.messages("FAIL"))


def test_large_negative_bias_kills_the_signal():
    model = tiny_unet(norm="none")
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.bias is not None:
            nn.init.constant_(m.bias, -5.0)
    r = check_init(model, INP, TARGET, loss)
    assert r.status == "FAIL"
    assert any("vanishes" in m for m in r.messages("FAIL"))


def test_oversized_weights_explode():
    model = tiny_unet(norm="none")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(8.0)
    r = check_init(model, INP, TARGET, loss)
    assert r.status == "FAIL"
    assert any("explodes" in m for m in r.messages("FAIL"))


def paper_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic batch with its left half blank white paper, as line art has."""
    inp, target = INP.clone(), TARGET.clone()
    inp[..., : inp.shape[-1] // 2] = 1.0
    target[..., : target.shape[-1] // 2] = 1.0
    return inp, target


def test_white_paper_kept_white_is_not_saturation():
    # chroma-unet keeps the input's brightness: half-white input gives half-white output, which
    # is the paper passed through, not a tanh stuck at its limit
    inp, target = paper_batch()
    torch.manual_seed(0)
    model = build_generator("chroma-unet", {"base": 8, "depth": 2})
    r = check_init(model, inp, target, loss)
    assert r.figures["output"]["saturated_fraction"] < 0.05
    assert not any("saturated" in m for m in r.messages("WARN"))


def test_tanh_pinned_by_a_large_bias_warns():
    model = tiny_unet()
    last = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.bias.fill_(3.5)  # tanh(3.5) = 0.998: outputs pinned near +1 whatever the input
    inp, target = paper_batch()
    r = check_init(model, inp, target, loss)
    assert r.figures["output"]["saturated_fraction"] > 0.9
    assert any("saturated" in m for m in r.messages("WARN"))
