"""The GAN training loop: seeded, resumable to the exact step, mixed precision and DDP on CUDA,
checkpoints with cards (and optional Git tags), metrics.jsonl and TensorBoard."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from colorize import distributed, gitinfo
from colorize.checkpoint import (
    latest_checkpoint,
    load_discriminator,
    load_generator,
    load_train_state,
    prune,
    save_checkpoint,
)
from colorize.chroma import rebalance_weights
from colorize.config import Config
from colorize.data import build_splits
from colorize.diagnose.features import feature_grids
from colorize.fileio import atomic_write_text
from colorize.gan_step import GanStep, TrainingDiverged
from colorize.metrics import higher_is_better, is_better
from colorize.models import build_discriminator, build_generator
from colorize.monitor import TrainMonitor
from colorize.schedule import make_scheduler
from colorize.seeding import rng_state, seed_everything, set_rng_state
from colorize.validation import validate

log = logging.getLogger("colorize.train")

DEFAULT_CACHE = Path(os.environ.get("COLORIZE_CACHE_DIR", Path.home() / ".cache" / "colorize"))


@dataclass
class Progress:
    """Everything besides weights and optimizer state needed to continue exactly."""

    step: int = 0
    best_value: float | None = None
    best_step: int | None = None
    rounds_without_improvement: int = 0
    last_val: dict[str, float] = field(default_factory=dict)


def command_line() -> str:
    """The command as a user would type it again."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    prog = f"python -m {spec.name.removesuffix('.__main__')}" if spec else Path(sys.argv[0]).name
    return " ".join([prog, *sys.argv[1:]])


def pick_device(kind: str, local_rank: int) -> torch.device:
    """`kind` is "cuda" or "cpu" (already resolved from train.device)."""
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("train.device = cuda, but no CUDA device is available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def epoch_batches(n: int, batch: int, seed: int, epoch: int, rank: int, world: int) -> list[list[int]]:
    """This rank's batches for one epoch: a seeded permutation, repeated when the dataset is smaller
    than one global batch, split between ranks, incomplete batches dropped."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order: list[int] = []
    while len(order) < batch * world or not order:
        order += torch.randperm(n, generator=g).tolist()
    per_rank = len(order) // world
    mine = order[rank * per_rank : (rank + 1) * per_rank]
    return [mine[i : i + batch] for i in range(0, len(mine) - batch + 1, batch)]


def batch_stream(dataset, cfg: Config, start_step: int, info: distributed.DistInfo):
    """Yield (step, inputs, targets) from `start_step` on; batch k of the run is the same batch
    whether or not the run was interrupted before it."""
    steps_per_epoch = len(epoch_batches(len(dataset), cfg.data.batch_size, cfg.train.seed, 0, info.rank, info.world))
    step = start_step
    while True:
        epoch, offset = divmod(step, steps_per_epoch)
        batches = epoch_batches(len(dataset), cfg.data.batch_size, cfg.train.seed, epoch, info.rank, info.world)
        # (epoch, index) pairs: a sample's augmentation depends on them only, also in worker processes.
        sampler = [[(epoch, i) for i in b] for b in batches[offset:]]
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.workers)
        for inp, target in loader:
            yield step, inp, target
            step += 1


def chroma_prior(dataset, n: int = 96) -> torch.Tensor:
    """Distribution of the chroma classes over n training crops spread over the dataset (the same
    crops in every run with the same data and seed, so a resumed run gets the same weights)."""
    from colorize.chroma import class_prior, rgb_to_ycc

    picks = torch.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().long().tolist()
    return class_prior(torch.nn.functional.avg_pool2d(rgb_to_ycc(dataset[(0, i)][1][None]), 2)[:, 1:] for i in picks)


def fixed_samples(splits, n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed set of validation samples (training ones if there is no validation split)."""
    ds = splits.val if len(splits.val) else splits.test if len(splits.test) else splits.train
    items = [ds[i] for i in range(min(n, len(ds)))]
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


def _rewrite_metrics_upto(path: Path, step: int) -> None:
    """On resume, drop log lines written after the checkpoint (and a torn last line)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (json.JSONDecodeError, KeyError):
            continue
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def train(
    cfg: Config,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    init_from: str | Path | None = None,
    freeze: tuple[str, ...] = (),
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train until cfg.train.steps (or early stopping); returns a summary dict."""
    out_dir = Path(out_dir)
    t = cfg.train
    higher_is_better(cfg.log.best_metric)  # an unknown metric name fails now, not after hours
    device_kind = "cuda" if t.device == "cuda" or (t.device == "auto" and torch.cuda.is_available()) else "cpu"
    info = distributed.setup(device_kind)
    device = pick_device(device_kind, info.local_rank)
    if t.threads:
        torch.set_num_threads(t.threads)
    seed_everything(t.seed)
    use_amp = t.amp if device.type == "cuda" else t.cpu_bf16
    # channels_last speeds convolutions up on CUDA and on the CPU (oneDNN): see bench/train_step.py.
    fmt = torch.channels_last if t.channels_last else torch.contiguous_format

    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    splits = build_splits(data_dir, cfg.data, Path(cache_dir or DEFAULT_CACHE), t.seed)
    if len(splits.train) == 0:
        raise RuntimeError(f"{data_dir}: no training images after splitting")
    prior = chroma_prior(splits.train) if cfg.loss.objective == "chroma_classes" else None

    g_spec = {"name": cfg.model.generator, "kwargs": dict(cfg.model.generator_kwargs)}
    d_spec = {"name": cfg.model.discriminator, "kwargs": dict(cfg.model.discriminator_kwargs)}
    G = build_generator(g_spec["name"], g_spec["kwargs"])
    D = build_discriminator(d_spec["name"], d_spec["kwargs"])
    if init_from is not None:
        src, src_card = load_generator(init_from)
        g_spec = src_card["generator"]
        cfg.model.generator, cfg.model.generator_kwargs = g_spec["name"], dict(g_spec["kwargs"])
        G = src.train()
        if (Path(init_from) / "discriminator.safetensors").exists():
            D = load_discriminator(init_from)
            d_spec = src_card["discriminator"]
            cfg.model.discriminator, cfg.model.discriminator_kwargs = d_spec["name"], dict(d_spec["kwargs"])
        log.info("initialized from %s (step %s)", init_from, src_card.get("step"))
    frozen: list[nn.Module] = []
    if "encoder" in freeze:
        frozen = [G.stem, G.encoder]
        for p in G.encoder_parameters():
            p.requires_grad_(False)
    G.to(device, memory_format=fmt)
    D.to(device, memory_format=fmt)

    opt_g = torch.optim.Adam([p for p in G.parameters() if p.requires_grad], lr=t.lr_g, betas=t.betas, weight_decay=t.weight_decay)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=t.betas, weight_decay=t.weight_decay)
    sched_g = make_scheduler(opt_g, t.steps, t.warmup_steps, t.cosine)
    sched_d = make_scheduler(opt_d, t.steps, t.warmup_steps, t.cosine)

    progress = Progress()
    resumed_from = latest_checkpoint(out_dir) if resume else None
    if resumed_from is not None:
        state = load_train_state(resumed_from)
        G.load_state_dict(load_generator(resumed_from)[0].state_dict())
        D.load_state_dict(load_discriminator(resumed_from).state_dict())
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        sched_g.load_state_dict(state["sched_g"])
        sched_d.load_state_dict(state["sched_d"])
        set_rng_state(state["rng"])
        progress = Progress(**json.loads(state["progress"]))
        log.info("resuming from %s at step %d", resumed_from, progress.step)
    elif resume:
        log.info("--resume: no checkpoint in %s yet, starting from step 0", out_dir)

    if info.is_main:
        cfg.save(out_dir / "config.json")
        atomic_write_text(out_dir / "splits.json", json.dumps(splits.summary, indent=2) + "\n")
        _rewrite_metrics_upto(out_dir / "metrics.jsonl", progress.step)
    monitor = TrainMonitor(out_dir / "tb", purge_step=progress.step or None) if info.is_main else None

    G_run, D_run = G, D
    if t.compile:
        G_run, D_run = torch.compile(G), torch.compile(D)
    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        G_run, D_run = DDP(G_run, device_ids=ids), DDP(D_run, device_ids=ids)

    def set_train_mode() -> None:
        G.train()
        D.train()
        for m in frozen:
            m.eval()  # frozen encoder: its batch-norm statistics stay fixed too

    stepper = GanStep(G, D, opt_g, opt_d, cfg.loss, G_run=G_run, D_run=D_run, amp=use_amp,
                      device_type=device.type, grad_clip=t.grad_clip,
                      class_weights=None if prior is None else rebalance_weights(prior, cfg.loss.rebalance).to(device))
    sample_inp, sample_tgt = fixed_samples(splits)
    git_before = gitinfo.git_state() if info.is_main else None
    metrics_file = open(out_dir / "metrics.jsonl", "a") if info.is_main else None  # noqa: SIM115
    run_name = out_dir.resolve().name
    last_time, last_step = time.perf_counter(), progress.step
    stopped_early = False

    def make_card(step: int, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "step": step,
            "run": run_name,
            "generator": g_spec,
            "discriminator": d_spec,
            "config": cfg.to_dict(),
            "data": splits.summary,
            "metrics": metrics,
            "git": dict(git_before or {}, tag=None) if git_before else None,
            "torch": torch.__version__,
            "device": str(device),
            "command": command_line(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "init_from": str(init_from) if init_from else None,
            "frozen": list(freeze),
            "infer": {k: v for k, v in cfg.to_dict()["infer"].items() if v not in (0, "")},
            "chroma_prior": None if prior is None else [round(float(v), 7) for v in prior],
        }

    def checkpoint(step: int, best: bool) -> None:
        metrics = dict(progress.last_val)
        card = make_card(step, metrics)
        tag_wanted = cfg.log.git_tag and card["git"]
        if tag_wanted:
            tag = gitinfo.tag_commit(f"ckpt/{run_name}/{step}", card["git"]["commit"], f"checkpoint of run {run_name} at step {step}")
            card["git"]["tag"] = tag
        elif cfg.log.git_tag:
            log.warning("log.git_tag is on but %s is not a git checkout: checkpoint not tagged", gitinfo.CODE_DIR)
        state = {
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "sched_g": sched_g.state_dict(),
            "sched_d": sched_d.state_dict(),
            "rng": rng_state(),
            "progress": json.dumps(progress.__dict__),
        }
        ckpt_root = out_dir / "checkpoints"
        save_checkpoint(ckpt_root / f"step-{step:08d}", card, G, D, state)
        if best:
            save_checkpoint(ckpt_root / "best", card, G, D)
        prune(out_dir, cfg.log.keep_last)

    set_train_mode()
    try:
        stream = batch_stream(splits.train, cfg, progress.step, info)
        while progress.step < t.steps:
            step, inp, target = next(stream)
            inp = inp.to(device, non_blocking=True).contiguous(memory_format=fmt)
            target = target.to(device, non_blocking=True).contiguous(memory_format=fmt)
            want_health = monitor is not None and (step + 1) % cfg.log.hist_every == 0
            result = stepper(inp, target, step + 1, health=want_health)
            logs, g_acts = result.logs, result.activations
            sched_g.step()
            sched_d.step()
            progress.step = step + 1

            if progress.step % cfg.log.log_every == 0 or progress.step == t.steps:
                values = {k: float(distributed.all_mean(v.float().cpu(), info)) for k, v in logs.items()}
                now = time.perf_counter()
                values["speed/images_per_s"] = (
                    (progress.step - last_step) * cfg.data.batch_size * info.world / max(now - last_time, 1e-9)
                )
                last_time, last_step = now, progress.step
                values["lr/generator"] = opt_g.param_groups[0]["lr"]
                values["lr/discriminator"] = opt_d.param_groups[0]["lr"]
                if info.is_main:
                    monitor.scalars(progress.step, values)
                    metrics_file.write(json.dumps({"step": progress.step, **values}) + "\n")
                    metrics_file.flush()
            if want_health:
                monitor.network_health(progress.step, "generator", G, g_acts, result.update_ratios)
                monitor.network_health(progress.step, "discriminator", D, {}, {})
            if monitor is not None and progress.step % cfg.log.image_every == 0:
                with torch.no_grad():
                    G.eval()
                    out = G(sample_inp.to(device).contiguous(memory_format=fmt))
                    monitor.images(progress.step, sample_inp, out, sample_tgt)
                    monitor.features(progress.step, feature_grids(G, sample_inp[:1].to(device)))
                    set_train_mode()

            is_best = False
            if len(splits.val) and (progress.step % cfg.log.val_every == 0 or progress.step == t.steps):
                G.eval()
                val = validate(G, splits.val, cfg, device, fmt)
                set_train_mode()
                progress.last_val = val
                key = cfg.log.best_metric
                if key in val and is_better(key, val[key], progress.best_value):
                    progress.best_value, progress.best_step = val[key], progress.step
                    progress.rounds_without_improvement = 0
                    is_best = True
                else:
                    progress.rounds_without_improvement += 1
                if info.is_main:
                    monitor.scalars(progress.step, val)
                    metrics_file.write(json.dumps({"step": progress.step, **val}) + "\n")
                    metrics_file.flush()
                    log.info("step %d: %s", progress.step, ", ".join(f"{k} {v:.4g}" for k, v in val.items()))
                patience = cfg.log.early_stop_patience
                if patience and progress.rounds_without_improvement >= patience:
                    stopped_early = True
            if progress.step % cfg.log.ckpt_every == 0 or progress.step == t.steps or stopped_early:
                if info.is_main:
                    checkpoint(progress.step, is_best)
                distributed.barrier(info)
            elif is_best and info.is_main:
                save_checkpoint(out_dir / "checkpoints" / "best", make_card(progress.step, dict(progress.last_val)), G, D)
            if stopped_early:
                log.info("early stop at step %d: %s did not improve for %d validation rounds",
                         progress.step, cfg.log.best_metric, cfg.log.early_stop_patience)
                break
    finally:
        if metrics_file is not None:
            metrics_file.close()
        if monitor is not None:
            monitor.close()
        distributed.teardown(info)

    summary = {
        "run": run_name,
        "steps": progress.step,
        "best_step": progress.best_step,
        "best_value": progress.best_value,
        "best_metric": cfg.log.best_metric,
        "last_val": progress.last_val,
        "stopped_early": stopped_early,
        "resumed_from": str(resumed_from) if resumed_from else None,
        "splits": {k: splits.summary["counts"][k] for k in ("train", "val", "test")} if "counts" in splits.summary else None,
    }
    if info.is_main:
        atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["train", "TrainingDiverged"]
