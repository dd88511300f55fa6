"""Validation during training: the same metrics as `colorize eval` (colorize.metrics), plus the
reconstruction loss, always on the same deterministic validation samples."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from colorize.config import Config
from colorize.metrics import compute_metrics


@torch.no_grad()
def validate(G, dataset, cfg: Config, device, memory_format=torch.contiguous_format) -> dict[str, float]:
    loader = DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=False, num_workers=cfg.data.workers)
    totals: dict[str, float] = {}
    n = 0
    for i, (inp, target) in enumerate(loader):
        if i >= cfg.log.val_batches:
            break
        out = G(inp.to(device).contiguous(memory_format=memory_format)).float().cpu()
        batch = {"mse": F.mse_loss(out, target).item(), **compute_metrics(out, target, inp)}
        k = inp.shape[0]
        for key, value in batch.items():
            totals[key] = totals.get(key, 0.0) + value * k
        n += k
    return {f"val/{k}": v / max(n, 1) for k, v in totals.items()}
