"""diagnose features: filter and feature-map grids of a fresh U-Net; duplicated filters and blank
maps of a zero-initialized one are flagged."""

import torch
from diagnose_helpers import synthetic_batches, tiny_unet
from torch import nn

from colorize.diagnose.features import check_features, feature_grids

torch.set_num_threads(1)
INP = synthetic_batches(1)[0][0]


def test_fresh_unet_filters_and_maps():
    r = check_features(tiny_unet(), INP)
    assert r.status == "PASS", r.problems
    assert r.figures["first_conv"] == {**r.figures["first_conv"], "layer": "stem.0", "filters": 8}
    maps = [k for k in r.images if k.startswith("features_")]
    assert len(maps) == 4 and "filters.png" in r.images
    grids = feature_grids(tiny_unet(), INP)
    assert "filters" in grids and len([k for k in grids if k.startswith("features/")]) == 4
    assert all(g.dim() == 3 and g.shape[0] == 3 and 0 <= g.min() and g.max() <= 1 for g in grids.values())


def test_zero_initialized_model_is_flagged():
    model = tiny_unet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    r = check_features(model, INP)
    assert r.status == "WARN"
    assert any("duplicate another" in m for m in r.messages())
    assert any("blank" in m for m in r.messages())
