"""Generators side by side, in one run: seconds per full G+D training step (the trainer's GanStep,
the config's loss, batch and crop size, channels_last), images/s, parameters and peak memory,
in fp32 and bf16 autocast, each measurement in its own process so peak memory is its own.

    .venv/bin/python bench/generators.py --config configs/default-model.toml \\
        --candidate 'chroma-unet:{"base": 24, "depth": 5, "max_ch": 256}' \\
        --candidate 'chroma-s2d:{"hint_ch": 4, "base": 48, "depth": 4, "max_ch": 256}'

With no --candidate: today's default generator against configs/default-model.toml's own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import context, emit, peak_rss_mb, timed  # noqa: E402

from colorize.config import load_config  # noqa: E402
from colorize.models import build_discriminator, build_generator  # noqa: E402
from colorize.training.gan_step import GanStep  # noqa: E402

TODAY = 'chroma-unet:{"base": 24, "depth": 5, "max_ch": 256, "temperature": 0.5}'


def measure_one(cfg, name: str, kwargs: dict, bf16: bool, steps: int, repeats: int) -> dict:
    torch.manual_seed(0)
    fmt = torch.channels_last
    G = build_generator(name, kwargs).to(memory_format=fmt).train()
    D = build_discriminator(cfg.model.discriminator, cfg.model.discriminator_kwargs).to(memory_format=fmt).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-5, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-5, betas=(0.5, 0.999))
    step = GanStep(G, D, opt_g, opt_d, cfg.loss, bf16=bf16, device_type="cpu", grad_clip=cfg.train.grad_clip)
    b, s = cfg.data.batch_size, cfg.data.size
    channels = 1 + int(kwargs.get("hint_ch", 0))
    inp = (torch.rand(b, channels, s, s) * 2 - 1).contiguous(memory_format=fmt)
    target = (torch.rand(b, 3, s, s) * 2 - 1).contiguous(memory_format=fmt)
    t = timed(lambda: [step(inp, target, 1) for _ in range(steps)], repeats, 1)
    per_step = t["median_s"] / steps
    return {"what": "generator_train_step", "generator": name, "kwargs": kwargs,
            "precision": "bf16" if bf16 else "fp32", "batch": b, "size": s,
            "seconds_per_step": round(per_step, 4), "images_per_s": round(b / per_step, 2),
            "params_m": round(sum(p.numel() for p in G.parameters()) / 1e6, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1), **context(torch.device("cpu"))}  # CPU model and capability too


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/default-model.toml")
    p.add_argument("--candidate", action="append", default=[], help="NAME:JSON kwargs (repeatable)")
    p.add_argument("--precision", action="append", choices=["fp32", "bf16"], default=[])
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: NAME:JSON|precision, measured in this process
    args = p.parse_args()
    cfg = load_config(args.config)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    if args.one:
        spec, precision = args.one.rsplit("|", 1)
        name, kwargs = spec.split(":", 1)
        emit(measure_one(cfg, name, json.loads(kwargs), precision == "bf16", args.steps, args.repeats))
        return
    candidates = args.candidate or [TODAY, f"{cfg.model.generator}:{json.dumps(cfg.model.generator_kwargs)}"]
    for precision in args.precision or ["fp32", "bf16"]:
        for spec in candidates:
            cmd = [sys.executable, __file__, "--config", args.config, "--steps", str(args.steps),
                   "--repeats", str(args.repeats), "--one", f"{spec}|{precision}"]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
