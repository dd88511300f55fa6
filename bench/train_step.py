"""Seconds per full G+D training step and images per second, the plain path (fp32, eager,
contiguous) next to the fast path (CUDA: bf16 autocast + channels_last + torch.compile; CPU: the
variants that can help there), on pre-made tensors so the data pipeline is not in the figure.
"auto" is what the trainer runs with precision = "auto" (channels_last, and the precision
colorize.device decides for this machine); every line carries the CPU's model, torch capability
and bf16 support, since bf16 is several times faster or slower depending on them.

    .venv/bin/python bench/train_step.py --config configs/cpu-tiny.toml
    .venv/bin/python bench/train_step.py --config configs/gpu-256.toml          # on a GPU machine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

# The repository first: the `colorize` package must win over any bench/ script of a similar name.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import context, emit, peak_rss_mb, timed  # noqa: E402

from colorize.config import load_config  # noqa: E402
from colorize.device import pick_device, resolve_precision  # noqa: E402
from colorize.models import build_discriminator, build_generator  # noqa: E402
from colorize.training.distributed import DistInfo  # noqa: E402
from colorize.training.gan_step import GanStep  # noqa: E402
from colorize.training.train import wrap_models  # noqa: E402


def variants(device: torch.device, with_compile: bool) -> dict[str, dict]:
    if device.type == "cuda":
        out = {"plain": {}, "bf16+channels_last": {"bf16": True, "channels_last": True}}
        if with_compile:
            out["bf16+channels_last+compile"] = {"bf16": True, "channels_last": True, "compile": True}
        return out
    out = {"plain": {}, "channels_last": {"channels_last": True}, "bf16": {"bf16": True},
           "bf16+channels_last": {"bf16": True, "channels_last": True}}
    if with_compile:
        out["compile"] = {"compile": True}
    return out


def with_auto(out: dict[str, dict], device: torch.device) -> dict[str, dict]:
    """The variants plus "auto": the trainer's default path on this machine."""
    choice = resolve_precision("auto", device)
    return {**out, "auto": {"bf16": choice.bf16, "channels_last": True, "reason": choice.reason}}


def measure(cfg, device, name: str, opts: dict, steps: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    fmt = torch.channels_last if opts.get("channels_last") else torch.contiguous_format
    G = build_generator(cfg.model.generator, cfg.model.generator_kwargs).to(device, memory_format=fmt).train()
    D = build_discriminator(cfg.model.discriminator, cfg.model.discriminator_kwargs).to(device, memory_format=fmt).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-5, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-5, betas=(0.5, 0.999))
    G_run, D_run = wrap_models(G, D, DistInfo(), device, bool(opts.get("compile")))  # the trainer's wrapping
    step = GanStep(G, D, opt_g, opt_d, cfg.loss, G_run=G_run, D_run=D_run, bf16=bool(opts.get("bf16")),
                   device_type=device.type, grad_clip=cfg.train.grad_clip)
    b, s = cfg.data.batch_size, cfg.data.size
    inp = (torch.rand(b, 1, s, s, device=device) * 2 - 1).contiguous(memory_format=fmt)
    target = (torch.rand(b, 3, s, s, device=device) * 2 - 1).contiguous(memory_format=fmt)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def run():
        for _ in range(steps):
            step(inp, target, 1)

    t = timed(run, repeats, warmup, sync)
    per_step = {k: v / steps for k, v in t.items() if k.endswith("_s")}
    rec = {"what": "train_step", "variant": name, "precision": "bf16" if opts.get("bf16") else "fp32",
           **({"precision_reason": opts["reason"]} if "reason" in opts else {}), "config": {"generator": cfg.model.generator_kwargs, "discriminator": cfg.model.discriminator_kwargs},
           "batch": b, "size": s, "seconds_per_step": per_step, "images_per_s": b / per_step["median_s"],
           "steps_per_repeat": steps, "repeats": repeats, "peak_rss_mb": round(peak_rss_mb(), 1), **context(device)}
    if device.type == "cuda":
        rec["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/cpu-tiny.toml")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, default=5, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2, help="untimed repeats first (compilation, allocator)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (always on for CUDA)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny setting for tests: 1 step, 1 repeat")
    p.add_argument("--only", help="comma-separated variants to time (default: all); plain is always timed")
    args = p.parse_args()
    cfg = load_config(args.config, args.overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.quick:
        args.steps, args.repeats, args.warmup = 1, 1, 1
    results = {}
    todo = with_auto(variants(device, args.compile or device.type == "cuda"), device)
    if args.only:
        keep = {"plain", *(v.strip() for v in args.only.split(","))}
        if keep - set(todo):
            p.error(f"--only: unknown variant(s) {', '.join(sorted(keep - set(todo)))}; known: {', '.join(todo)}")
        todo = {k: v for k, v in todo.items() if k in keep}
    for name, opts in todo.items():
        rec = measure(cfg, device, name, opts, args.steps, args.repeats, args.warmup)
        results[name] = rec
        emit(rec)
    plain = results["plain"]["seconds_per_step"]["median_s"]
    fastest = min(results, key=lambda k: results[k]["seconds_per_step"]["median_s"])
    emit({"what": "train_step/speedup", "fastest": fastest,
          "ratio_fast_over_plain": plain / results[fastest]["seconds_per_step"]["median_s"],
          "ratios": {k: plain / r["seconds_per_step"]["median_s"] for k, r in results.items()}, **context(device)})


if __name__ == "__main__":
    main()
