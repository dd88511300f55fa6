import copy
from pathlib import Path

import pytest
import torch

from colorize.config import Config, load_config
from colorize.models import build_discriminator, build_generator
from colorize.models.unet import UNetGenerator, Up
from colorize.training.gan_step import GanStep


@pytest.mark.parametrize("h, w", [(96, 64), (64, 96), (32, 160)])
def test_non_square_shapes(h, w):
    g = build_generator("unet", {"base": 8, "depth": 3})
    d = build_discriminator("patchgan", {"base": 8, "layers": 2})
    x = torch.rand(2, 1, h, w) * 2 - 1
    y = g(x)
    assert y.shape == (2, 3, h, w)
    assert y.abs().max() <= 1.0
    logits = d(x, y)
    assert logits.shape[0] == 2 and logits.shape[1] == 1
    # Height and width are not mixed up anywhere: the patch grid keeps the input's aspect.
    assert (logits.shape[2] > logits.shape[3]) == (h > w)


def test_input_not_multiple_is_a_clear_error():
    g = UNetGenerator(base=8, depth=3)
    with pytest.raises(ValueError, match="multiple of 8"):
        g(torch.zeros(1, 1, 36, 64))


def test_he_init_not_constant_and_norms_identity():
    g = build_generator("unet", {"base": 8, "depth": 2})
    conv = g.stem[0].weight
    assert conv.std() > 0
    # Kaiming normal for ReLU: std = sqrt(2 / fan_in)
    fan_in = conv.shape[1] * conv.shape[2] * conv.shape[3]
    assert conv.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.35)
    bn = g.stem[1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_unknown_architecture_and_bad_kwargs():
    with pytest.raises(ValueError, match="unknown generator"):
        build_generator("resnet9000", {})
    with pytest.raises(ValueError, match="does not accept"):
        build_generator("unet", {"widht": 3})


def zero_skips(g):
    """Break the U-Net the way a wiring bug would: every Up block gets a zero skip tensor."""
    return [up.register_forward_pre_hook(lambda _m, args: (args[0], torch.zeros_like(args[1])))
            for up in g.modules() if isinstance(up, Up)]


def locality(g, p=(13, 18)) -> float:
    """Share of the output pixel p's input gradient (summed over channels) that comes from the 3 x 3
    input pixels around p: high when fine detail reaches the output through the skips, low when
    everything passes the (4x coarser) bottleneck."""
    x = (torch.rand(1, 1, 32, 40, dtype=torch.double) * 2 - 1).requires_grad_(True)
    g(x)[0, :, p[0], p[1]].sum().backward()
    grad = x.grad[0, 0].abs()
    return float(grad[p[0] - 1 : p[0] + 2, p[1] - 1 : p[1] + 2].sum() / grad.sum())


def test_skip_connections_carry_line_position():
    """The output at a pixel depends mostly on the input right there (the skip path), not only on
    the bottleneck. The same measurement with the skips zeroed must fail, so this test can."""
    torch.manual_seed(0)
    g = build_generator("unet", {"base": 8, "depth": 3, "norm": "none"}).double()
    intact = locality(g)  # 0.066 here; 0.0077 with the skips zeroed
    handles = zero_skips(g)
    broken = locality(g)
    for h in handles:
        h.remove()
    assert intact > 0.025, intact
    assert broken < 0.025, broken  # the check itself tells a U-Net without skips apart


CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


def batch_independent(D, n: int = 3, size: int = 64) -> bool:
    """In train mode, is a sample's verdict the same whatever else is in its batch? (Each call on a
    copy: spectral norm's power iteration updates its state at every forward pass.)"""
    torch.manual_seed(0)
    inp, colors = torch.rand(n, 1, size, size) * 2 - 1, torch.rand(n, 3, size, size) * 2 - 1
    with torch.no_grad():
        together = copy.deepcopy(D).train()(inp, colors)[:1]
        alone = copy.deepcopy(D).train()(inp[:1], colors[:1])
    return torch.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_discriminator_judges_each_sample_on_its_own(config):
    """A D with batch statistics can tell a batch of real pairs from a batch of fakes by those
    statistics alone; none of the shipped configs may build one (and the default may not either)."""
    cfg = load_config(config)
    D = build_discriminator(cfg.model.discriminator, cfg.model.discriminator_kwargs)
    assert batch_independent(D), f"{config.name}: the discriminator's output depends on the rest of the batch"
    assert batch_independent(build_discriminator("patchgan", Config().model.discriminator_kwargs))
    assert not batch_independent(build_discriminator("patchgan", {"base": 8, "layers": 2, "norm": "batch"}))


def test_gan_step_shows_the_discriminator_real_and_fake_in_one_batch():
    torch.manual_seed(0)
    cfg = Config()
    G = build_generator("unet", {"base": 8, "depth": 2})
    D = build_discriminator("patchgan", {"base": 8, "layers": 2, "norm": "batch"})
    calls = []
    D.register_forward_hook(lambda _m, args, _out: calls.append((args[0].detach().clone(), args[1].detach().clone())))
    step = GanStep(G, D, torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()), cfg.loss)
    inp, target = torch.rand(4, 1, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    step(inp, target, 1)
    assert len(calls) == 2  # D's update, then the generator's update
    for seen_inp, seen_colors in calls:  # both passes: 8 pairs, the real ones first, then the fakes
        assert seen_inp.shape[0] == 8 and torch.equal(seen_inp, torch.cat([inp, inp]))
        assert torch.equal(seen_colors[:4], target) and not torch.equal(seen_colors[4:], target)
