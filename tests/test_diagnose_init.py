"""diagnose init: passes a freshly built U-Net, catches zero-initialized weights, dead units from a
large negative bias, and an exploding signal."""

import torch
from diagnose_helpers import synthetic_batches, tiny_unet
from torch import nn

from colorize.config import LossConfig
from colorize.diagnose.init import check_init, constant_layers
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
