import pytest
import torch

from colorize.models import build_discriminator, build_generator
from colorize.models.unet import UNetGenerator


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


def test_skip_connections_carry_line_position():
    """A gradient check of the U-Net's wiring: the output at a pixel depends on the input at that
    same pixel (skip path), not only on the bottleneck."""
    torch.manual_seed(0)
    g = build_generator("unet", {"base": 8, "depth": 2, "norm": "none"}).double()
    x = (torch.rand(1, 1, 16, 24, dtype=torch.double) * 2 - 1).requires_grad_(True)
    g(x)[0, :, 5, 17].sum().backward()
    assert x.grad[0, 0, 5, 17].abs() > 0
