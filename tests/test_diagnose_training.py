"""The checks that train: zero-lr, overfit, lr-range and gradients, each on a correct tiny setup
(PASS) and on the broken ones it must catch: a loss that ignores its target, code that writes the
weights, drifting data, a learning rate of 10, dead ReLU units, vanishing gradients."""

import torch
from diagnose_helpers import batch_of, color_images, synthetic_batches, tiny_config, tiny_unet
from torch import nn

from colorize.diagnose.gradients import check_gradients
from colorize.diagnose.lr_range import check_lr_range, relative_to_batch, smooth, suggest
from colorize.diagnose.overfit import check_overfit
from colorize.diagnose.zero_lr import check_zero_lr
from colorize.models import build_discriminator
from colorize.training.losses import generator_loss

torch.set_num_threads(1)
CFG = tiny_config()


def loss(fake, target):
    return generator_loss(CFG.loss, None, fake, target)[0]


def ignores_target(fake, target):
    return 100 * fake.pow(2).mean()  # pulls every output to gray, whatever the target


def tiny_d():
    torch.manual_seed(1)
    return build_discriminator("patchgan", {"base": 8, "layers": 2})


# zero-lr ------------------------------------------------------------------------------------

def test_zero_lr_passes_a_correct_gan_setup():
    # None: the trainer's own GanStep and loss
    r = check_zero_lr(tiny_unet(), tiny_d(), synthetic_batches(8), None, CFG.loss)
    assert r.status == "PASS", r.problems
    assert len(r.figures["fresh_batch_losses"]) == 8
    assert r.figures["changed_weights"] == {} and r.figures["repeated_batch_relative_spread"] == 0
    assert "losses.png" in r.images


def test_zero_lr_catches_a_loss_that_ignores_its_target():
    r = check_zero_lr(tiny_unet(), None, synthetic_batches(6), ignores_target, CFG.loss)
    assert any("ignores its target" in m for m in r.messages("FAIL"))


class WritesItsWeights(nn.Module):
    """A bug seen in the wild: a hand-rolled weight decay inside forward."""

    def __init__(self):
        super().__init__()
        self.net = tiny_unet()

    def forward(self, x):
        with torch.no_grad():
            self.net.head.weight.mul_(0.99)
        return self.net(x)


def test_zero_lr_catches_weights_changed_outside_the_optimizer():
    r = check_zero_lr(WritesItsWeights(), None, synthetic_batches(6), loss, CFG.loss)
    assert r.status == "FAIL"
    assert list(r.figures["changed_weights"]) == ["G.net.head.weight"]


def test_zero_lr_catches_data_that_drift_with_the_step():
    # an augmentation whose strength grows with the step: targets brighten batch after batch
    drifting = [batch_of(color_images(4, seed=k) * 0.3 + 0.07 * k) for k in range(10)]
    r = check_zero_lr(tiny_unet(), None, drifting, loss, CFG.loss)
    assert any("trends with the step" in m for m in r.messages("FAIL"))


# overfit ------------------------------------------------------------------------------------

def test_overfit_passes_on_one_small_batch():
    inp, target = synthetic_batches(1)[0]
    r = check_overfit(tiny_unet(), inp, target, loss, lr=1e-3, max_steps=300)
    assert r.status == "PASS", r.problems
    assert r.figures["loss_drop"] >= 0.9 and r.figures["steps"] < 300
    assert "curve.png" in r.images


def test_overfit_catches_a_loss_that_ignores_its_target():
    inp, target = synthetic_batches(1)[0]
    r = check_overfit(tiny_unet(), inp, target, ignores_target, lr=1e-3, max_steps=150)
    assert r.status == "FAIL"
    assert any("does not measure distance to the target" in m for m in r.messages("FAIL"))


def test_overfit_catches_a_learning_rate_of_10():
    inp, target = synthetic_batches(1)[0]
    r = check_overfit(tiny_unet(), inp, target, loss, lr=10.0, max_steps=60)
    assert r.status == "FAIL" and r.figures["loss_drop"] < 0.9


# lr-range -----------------------------------------------------------------------------------

def test_smoothing_and_suggestion():
    assert smooth([2.0, 2.0, 2.0]) == [2.0, 2.0, 2.0]  # bias-corrected: no pull towards 0
    lrs = [10 ** (-7 + k * 0.1) for k in range(71)]
    curve = [1.0 if lr < 1e-4 else 0.1 if lr > 1e-2 else 1.0 - 0.45 * (torch.log10(torch.tensor(lr)) + 4).item()
             for lr in lrs]
    curve[-5:] = [1, 2, 4, 8, 16]  # divergence at the end
    lr, _ = suggest(lrs, curve)
    assert 1e-4 <= lr <= 1e-2


def test_batches_of_different_difficulty_do_not_look_like_learning():
    # a sweep that learns nothing, cycling through a hard and an easy batch: raw, the smoothed
    # loss falls at once (the easy batch pulls the average down) and its "steepest descent" is
    # the first step; relative to each batch's first loss it is flat
    losses = [1.5, 0.6] * 20
    lrs = [10 ** (-7 + k * 0.18) for k in range(40)]
    assert smooth(losses)[5] < 0.8 * losses[0]
    assert suggest(lrs, smooth(losses))[1] < 3
    assert relative_to_batch(losses, 2) == [1.0] * 40
    assert relative_to_batch([2.0, 1.0, 1.0, 0.5], 2) == [1.0, 1.0, 0.5, 0.5]


def test_lr_range_passes_and_warns_about_a_learning_rate_of_10():
    batches = synthetic_batches(4)
    ok = check_lr_range(tiny_unet(), batches, loss, configured_lr=1e-3, steps=60)
    assert ok.status == "PASS", ok.problems
    assert 1e-6 < ok.figures["suggested_lr"] < 1.0 and "lr_range.png" in ok.images
    bad = check_lr_range(tiny_unet(), batches, loss, configured_lr=10.0, steps=60)
    assert bad.status == "WARN"
    assert any("above" in m for m in bad.messages("WARN"))


def test_lr_range_fails_when_nothing_learns():
    def constant(fake, target):
        return fake.sum() * 0 + 1.0

    r = check_lr_range(tiny_unet(), synthetic_batches(2), constant, configured_lr=1e-3, steps=30)
    assert any("never fell" in m for m in r.messages("FAIL"))


# gradients ----------------------------------------------------------------------------------

def test_gradients_pass_on_a_correct_gan_setup():
    r = check_gradients(tiny_unet(), tiny_d(), synthetic_batches(4), None, CFG.loss, lr=2e-4, steps=4)
    assert r.status == "PASS", r.problems
    rows = r.figures["layers"]
    assert len(rows) == 11 and all(x["grad_norm"] > 0 and x["weight_norm"] > 0 for x in rows)
    assert 1e-4 < r.figures["update_ratio_median"] < 1e-2
    assert {"pre_mean", "pre_std", "dead_fraction"} <= set(r.figures["activations"][0])


def test_gradients_catch_a_learning_rate_of_10():
    r = check_gradients(tiny_unet(), tiny_d(), synthetic_batches(3), None, CFG.loss, lr=10.0, steps=3)
    assert any("updates rewrite the weights" in m for m in r.messages("FAIL"))


def test_gradients_catch_dead_relus_from_a_large_negative_bias():
    model = tiny_unet(norm="none")
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.bias is not None and m is not model.head:
            nn.init.constant_(m.bias, -3.0)
    r = check_gradients(model, None, synthetic_batches(3), loss, CFG.loss, lr=2e-4, steps=3)
    assert r.status == "FAIL"
    assert r.figures["max_dead_fraction"] > 0.9
    assert any("units dead" in m and "stem" in m for m in r.messages("FAIL"))


def test_gradients_catch_vanishing_gradients():
    # a deep sigmoid stack: the classic vanishing-gradient network
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 8, 3, padding=1), nn.Sigmoid()]
    for _ in range(8):
        layers += [nn.Conv2d(8, 8, 3, padding=1), nn.Sigmoid()]
    layers += [nn.Conv2d(8, 3, 1), nn.Tanh()]
    r = check_gradients(nn.Sequential(*layers), None, synthetic_batches(2), loss, CFG.loss, lr=2e-4, steps=2)
    assert any("gradients vanish" in m for m in r.messages())
