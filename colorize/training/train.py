"""The GAN training loop: seeded, resumable to the exact step, bf16 and DDP on CUDA (gloo on the
CPU), checkpoints with cards (and optional Git tags), metrics.jsonl and TensorBoard.

`TrainState` is what a checkpoint restores (models, optimizers, schedulers, progress); `Trainer`
sets it up once and runs a short loop of named steps: step, log, validate, checkpoint.

Under DDP, validation runs on rank 0 only and rank 0 decides "best" and "stop"; the decision is
broadcast, so every rank leaves the loop at the same step. Batch norm: SyncBatchNorm on CUDA;
on the CPU (gloo has no SyncBatchNorm) DDP broadcasts rank 0's running statistics before every
forward pass, and validation and checkpoints use rank 0's, so the figures describe the saved model."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from colorize.checkpoint import (
    TRAINING_GENERATOR,
    CheckpointError,
    latest_checkpoint,
    load_discriminator,
    load_generator,
    load_train_state,
    load_weights,
    prune,
    read_card,
    save_checkpoint,
)
from colorize.chroma import class_prior, rebalance_weights, rgb_to_ycc
from colorize.config import Config, from_dict
from colorize.data import build_splits
from colorize.data.cache import DEFAULT_CACHE
from colorize.data.dataset import batch_stream, epoch_batches
from colorize.device import PrecisionChoice, pick_device, precision_for_config
from colorize.fileio import atomic_write_text
from colorize.metrics import higher_is_better, is_better
from colorize.models import build_discriminator, build_generator
from colorize.paths import command_args, repo_relative
from colorize.training import distributed, gitinfo
from colorize.training.cpu_share import CpuShareWatch
from colorize.training.gan_step import GanStep, TrainingDiverged
from colorize.training.monitor import TrainMonitor, feature_grids
from colorize.training.schedule import make_scheduler
from colorize.training.seeding import rng_state, seed_everything, set_rng_state
from colorize.training.validation import validate

log = logging.getLogger("colorize.training.train")

# Settings a resumed run may change; they take effect from the resumed step and the card lists
# them under "config_changes". Any other change is refused (one line naming the keys).
RESUMABLE = ("train.steps", "train.lr_g", "train.lr_d", "train.grad_clip", "train.compile", "train.device",
             "train.precision", "train.channels_last", "train.threads", "data.workers", "loss.lambda_", "log.",
             "infer.")
NOT_RESUMABLE = ("log.best_metric",)

__all__ = ["train", "Trainer", "TrainState", "Progress", "decide", "TrainingDiverged", "epoch_batches",
           "batch_stream", "DEFAULT_CACHE"]


@dataclass
class Progress:
    """Everything besides weights and optimizer state needed to continue exactly."""

    step: int = 0
    best_value: float | None = None
    best_step: int | None = None
    rounds_without_improvement: int = 0
    last_val: dict[str, float] = field(default_factory=dict)
    config_changes: list[dict[str, Any]] = field(default_factory=list)  # settings changed on resume


@dataclass
class TrainState:
    """What a checkpoint restores. state_dict() holds everything but the weights (those go to
    safetensors files): optimizers, schedulers, RNG states and progress, as plain tensors and JSON."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    sched_d: torch.optim.lr_scheduler.LRScheduler
    progress: Progress = field(default_factory=Progress)
    ema: AveragedModel | None = None  # train.ema: the generator's weight average

    @property
    def shipped(self) -> nn.Module:
        """The generator that validates and ships: the weight average where the run keeps one."""
        return self.ema.module if self.ema is not None else self.G

    def state_dict(self) -> dict[str, Any]:
        state = {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
                 "rng": rng_state(), "progress": json.dumps(asdict(self.progress))}
        if self.ema is not None:
            state["ema_n_averaged"] = self.ema.n_averaged.detach().cpu()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        set_rng_state(state["rng"])
        self.progress = Progress(**json.loads(state["progress"]))
        if self.ema is not None:  # train.ema cannot change on resume, so the count is there
            self.ema.n_averaged.copy_(state["ema_n_averaged"])

    def load_checkpoint(self, ckpt_dir: Path) -> None:
        if self.ema is not None:  # generator.safetensors holds the average; the optimizer's weights lie beside it
            load_weights(self.G, ckpt_dir, TRAINING_GENERATOR)
            load_weights(self.ema.module, ckpt_dir, "generator")
        else:
            load_weights(self.G, ckpt_dir, "generator")
        load_weights(self.D, ckpt_dir, "discriminator")
        self.load_state_dict(load_train_state(ckpt_dir))

    def set_learning_rates(self, lr_g: float, lr_d: float) -> None:
        """The configured base rates, whatever a loaded scheduler state said; the current rate is
        recomputed from the (new) schedule at the current step."""
        for opt, sched, lr in ((self.opt_g, self.sched_g, lr_g), (self.opt_d, self.sched_d, lr_d)):
            sched.base_lrs = [lr] * len(opt.param_groups)
            for group, fn in zip(opt.param_groups, sched.lr_lambdas):
                group["initial_lr"] = lr
                group["lr"] = lr * fn(sched.last_epoch)
            sched._last_lr = [g["lr"] for g in opt.param_groups]


def command_line() -> str:
    """The command as a user would type it again, paths inside the repository made relative to it."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    prog = f"python -m {spec.name.removesuffix('.__main__')}" if spec else Path(sys.argv[0]).name
    return " ".join([prog, *command_args(sys.argv[1:])])


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"lr_g": 1}} -> {"train.lr_g": 1}; nested tables (model kwargs) flattened too."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def config_changes(saved: dict[str, Any], cfg: Config) -> dict[str, tuple[Any, Any]]:
    """Dotted key -> (checkpoint's value, this run's value) for every setting that differs."""
    old = flat(from_dict(saved, "checkpoint card").to_dict())  # older cards' keys read as today's
    new = flat(cfg.to_dict())
    norm = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if norm(old.get(k)) != norm(new.get(k))}


def check_resumable(ckpt: Path, changes: dict[str, tuple[Any, Any]]) -> None:
    refused = [k for k in changes if k in NOT_RESUMABLE or not k.startswith(RESUMABLE)]
    if refused:
        what = ", ".join(f"{k} ({changes[k][0]!r} -> {changes[k][1]!r})" for k in refused)
        raise CheckpointError(f"{ckpt}: cannot resume with changed {what}; use the checkpoint's settings, "
                              f"or start a new --out with --init-from {ckpt}")


def decide(progress: Progress, val: dict[str, float] | None, best_metric: str, patience: int,
           info: distributed.DistInfo) -> tuple[bool, bool]:
    """After a validation round: is this the best model so far, and should training stop? Rank 0
    (the only one that validated; `val` is None elsewhere) decides, and every rank gets its progress
    and decision, so no rank leaves the loop alone."""
    if info.is_main:
        progress.last_val = val or {}
        is_best = best_metric in progress.last_val and is_better(best_metric, progress.last_val[best_metric],
                                                                  progress.best_value)
        if is_best:
            progress.best_value, progress.best_step = progress.last_val[best_metric], progress.step
            progress.rounds_without_improvement = 0
        else:
            progress.rounds_without_improvement += 1
        stop = bool(patience) and progress.rounds_without_improvement >= patience
        payload = (asdict(progress), is_best, stop)
    else:
        payload = None
    shared, is_best, stop = distributed.broadcast_object(payload, info)
    for k, v in shared.items():
        setattr(progress, k, v)
    return is_best, stop


def chroma_prior(dataset, n: int = 96) -> torch.Tensor:
    """Distribution of the chroma classes over n training crops spread over the dataset (the same
    crops in every run with the same data and seed, so a resumed run gets the same weights)."""
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


def wrap_models(G: nn.Module, D: nn.Module, info: distributed.DistInfo, device: torch.device,
                compile_: bool) -> tuple[nn.Module, nn.Module]:
    """What the step runs: DDP first, then torch.compile (the order PyTorch documents)."""
    G_run, D_run = G, D
    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        G_run, D_run = DDP(G_run, device_ids=ids), DDP(D_run, device_ids=ids)
    if compile_:
        G_run, D_run = torch.compile(G_run), torch.compile(D_run)
    return G_run, D_run


class Trainer:
    """One training run: `Trainer(...).run()` -> summary dict."""

    def __init__(self, cfg: Config, data_dir, out_dir, *, resume: bool = False, init_from=None,
                 freeze: tuple[str, ...] = (), cache_dir=None, precision: PrecisionChoice | None = None,
                 on_step: Callable[[Trainer, Any], bool] | None = None):
        if freeze and init_from is None:
            raise ValueError(f"--freeze {' '.join(freeze)} needs --init-from: freezing freshly initialized "
                             "weights would keep them random")
        self.cfg, self.t, self.out_dir = cfg, cfg.train, Path(out_dir)
        self.data_dir, self.init_from, self.freeze = data_dir, init_from, tuple(freeze)
        # Called after every step with (trainer, step result); True asks to stop: the current step
        # is checkpointed so that a --resume continues from it (colorize.character's cancel).
        self.on_step, self.stop_requested = on_step, False
        self.parent: dict | None = None  # the card summary of the model --init-from starts from
        higher_is_better(cfg.log.best_metric)  # an unknown metric name fails now, not after hours
        kind = "cuda" if self.t.device == "cuda" or (self.t.device == "auto" and torch.cuda.is_available()) else "cpu"
        self.info = distributed.setup(kind)
        self.device = pick_device(kind, self.info.local_rank if kind == "cuda" else None)
        if self.t.threads:
            torch.set_num_threads(self.t.threads)
        seed_everything(self.t.seed)
        # channels_last speeds convolutions up on CUDA and on the CPU (oneDNN): see bench/train_step.py.
        self.fmt = torch.channels_last if self.t.channels_last else torch.contiguous_format
        if self.info.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.splits = build_splits(data_dir, cfg.data, Path(cache_dir or DEFAULT_CACHE), self.t.seed)
        if len(self.splits.train) == 0:
            raise RuntimeError(f"{data_dir}: no training images after splitting")
        self.prior = chroma_prior(self.splits.train) if cfg.loss.objective == "chroma_classes" else None
        self.state = self._build_state()
        self.precision = self._choose_precision(precision)
        self.resumed_from = self._resume() if resume else None
        self._start_outputs()

    def _models(self) -> tuple[nn.Module, nn.Module, list[nn.Module]]:
        cfg = self.cfg
        G = build_generator(cfg.model.generator, dict(cfg.model.generator_kwargs))
        D = build_discriminator(cfg.model.discriminator, dict(cfg.model.discriminator_kwargs))
        if self.init_from is not None:
            G, card = load_generator(self.init_from)
            G.train()
            cfg.model.generator, cfg.model.generator_kwargs = card["generator"]["name"], dict(card["generator"]["kwargs"])
            if (Path(self.init_from) / "discriminator.safetensors").exists():
                D = load_discriminator(self.init_from)
                cfg.model.discriminator = card["discriminator"]["name"]
                cfg.model.discriminator_kwargs = dict(card["discriminator"]["kwargs"])
            self.parent = parent_summary(card)
            if getattr(G, "vividness", 0.0):
                # chosen after training, on the parent's validation pictures; this run's own
                # choice comes from `colorize temperature` on its checkpoints
                G.vividness = cfg.model.generator_kwargs["vividness"] = 0.0
                log.info("vividness reset to 0 for training (choose it afterwards with `colorize temperature`)")
            log.info("initialized from %s (step %s)", self.init_from, card.get("step"))
        if cfg.data.hints > 0 and not getattr(G, "takes_hints", False):
            raise ValueError(f"data.hints = {cfg.data.hints:g} needs a generator with hint channels "
                             f"(chroma-s2d with hint_ch = 4); {cfg.model.generator!r} takes none")
        if self.prior is not None and hasattr(G, "set_color_prior"):  # validation sees vividness as inference will
            G.set_color_prior(self.prior)
        frozen: list[nn.Module] = []
        if "encoder" in self.freeze:
            frozen = list(G.encoder_modules())
            for p in G.encoder_parameters():
                p.requires_grad_(False)
        if self.info.enabled and self.device.type == "cuda":  # one set of batch statistics over all GPUs
            G, D = nn.SyncBatchNorm.convert_sync_batchnorm(G), nn.SyncBatchNorm.convert_sync_batchnorm(D)
        return G.to(self.device, memory_format=self.fmt), D.to(self.device, memory_format=self.fmt), frozen

    def _choose_precision(self, decided: PrecisionChoice | None) -> PrecisionChoice:
        """train.precision decided for this machine by colorize.device (from the CPU's or GPU's
        facts; where they cannot tell, measured on this run's models), unless the caller (sweep)
        `decided` it already; on rank 0 and shared so every rank runs alike. Logged first, recorded
        resolved in config.json, and with its reason in the card."""
        choice = None
        if self.info.is_main:
            D = self.state.D if self.cfg.loss.lambda_gan > 0 else None
            choice = decided or precision_for_config(self.cfg, self.device, lambda: (self.state.G, D))
            log.info("precision %s: %s", choice.precision, choice.reason)
            if choice.warning:
                log.warning("%s", choice.warning)
            if self.device.type == "cpu":
                log.info("threads %d, OMP_WAIT_POLICY %s", torch.get_num_threads(),
                         os.environ.get("OMP_WAIT_POLICY", "unset (OpenMP's default)"))
        choice = distributed.broadcast_object(choice, self.info)
        self.t.precision = choice.precision
        return choice

    def _build_state(self) -> TrainState:
        t = self.t
        G, D, self.frozen = self._models()
        opt_g = torch.optim.Adam([p for p in G.parameters() if p.requires_grad], lr=t.lr_g, betas=t.betas,
                                 weight_decay=t.weight_decay)
        opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=t.betas, weight_decay=t.weight_decay)
        ema = None
        if t.ema:
            if not 0.0 < t.ema < 1.0:
                raise ValueError(f"train.ema = {t.ema:g}: a decay between 0 and 1 (0.999 is usual), or 0 for none")
            ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(t.ema), use_buffers=True).eval()
        return TrainState(G, D, opt_g, opt_d, make_scheduler(opt_g, t.steps, t.warmup_steps, t.cosine),
                          make_scheduler(opt_d, t.steps, t.warmup_steps, t.cosine), ema=ema)

    def _resume(self) -> Path | None:
        """Continue from the newest checkpoint. Changed settings in RESUMABLE take effect (and are
        recorded); other changes, or weights of another architecture, fail with one line."""
        ckpt = latest_checkpoint(self.out_dir)
        if ckpt is None:
            log.info("--resume: no checkpoint in %s yet, starting from step 0", self.out_dir)
            return None
        changes = config_changes(read_card(ckpt).get("config", {}), self.cfg)
        check_resumable(ckpt, changes)
        self.state.load_checkpoint(ckpt)
        self.state.set_learning_rates(self.t.lr_g, self.t.lr_d)
        progress = self.state.progress
        if changes:
            progress.config_changes.append({"step": progress.step, "changes": {k: list(v) for k, v in changes.items()}})
            log.info("resumed with changed settings: %s", ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changes.items()))
        log.info("resuming from %s at step %d", ckpt, progress.step)
        return ckpt

    def _start_outputs(self) -> None:
        s, cfg, info = self.state, self.cfg, self.info
        self.G_run, self.D_run = wrap_models(s.G, s.D, info, self.device, self.t.compile)
        weights = None if self.prior is None else rebalance_weights(self.prior, cfg.loss.rebalance).to(self.device)
        self.stepper = GanStep(s.G, s.D, s.opt_g, s.opt_d, cfg.loss, G_run=self.G_run, D_run=self.D_run,
                               bf16=self.t.precision == "bf16", device_type=self.device.type,
                               grad_clip=self.t.grad_clip, class_weights=weights)
        self.sample_inp, self.sample_tgt = fixed_samples(self.splits)
        self.git = gitinfo.git_state() if info.is_main else None
        self.run_name = self.out_dir.resolve().name
        self.monitor, self.metrics_file = None, None
        if info.is_main:
            cfg.save(self.out_dir / "config.json")
            atomic_write_text(self.out_dir / "splits.json", json.dumps(self.splits.summary, indent=2) + "\n")
            _rewrite_metrics_upto(self.out_dir / "metrics.jsonl", s.progress.step)
            self.monitor = TrainMonitor(self.out_dir / "tb", purge_step=s.progress.step or None)
            self.metrics_file = open(self.out_dir / "metrics.jsonl", "a")  # noqa: SIM115
        self.last_time, self.last_step = time.perf_counter(), s.progress.step
        self.cpu_watch = CpuShareWatch(torch.get_num_threads()) if self.device.type == "cpu" else None
        self.stopped_early = False

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        try:
            stream = batch_stream(self.splits.train, self.cfg, self.state.progress.step, self.info.rank, self.info.world)
            self.set_train_mode()
            while self.state.progress.step < self.t.steps:
                result = self.step(stream)
                self.log(result)
                self.poll(result)
                is_best = self.validate()
                self.checkpoint(is_best)
                if self.stop_requested:
                    log.info("stopped on request at step %d (checkpointed: --resume continues)",
                             self.state.progress.step)
                    break
                if self.stopped_early:
                    log.info("early stop at step %d: %s did not improve for %d validation rounds",
                             self.state.progress.step, self.cfg.log.best_metric, self.cfg.log.early_stop_patience)
                    break
        finally:
            self.close()
        return self.summary()

    def set_train_mode(self) -> None:
        self.state.G.train()
        self.state.D.train()
        for m in self.frozen:
            m.eval()  # frozen encoder: its batch-norm statistics stay fixed too

    def poll(self, result) -> None:
        """Ask on_step whether to stop; rank 0 decides for every rank."""
        if self.on_step is not None:
            stop = bool(self.on_step(self, result)) if self.info.is_main else None
            self.stop_requested = bool(distributed.broadcast_object(stop, self.info))

    def step(self, stream):
        s = self.state
        step, inp, target = next(stream)
        inp = inp.to(self.device, non_blocking=True).contiguous(memory_format=self.fmt)
        target = target.to(self.device, non_blocking=True).contiguous(memory_format=self.fmt)
        health = self.monitor is not None and (step + 1) % self.cfg.log.hist_every == 0
        result = self.stepper(inp, target, step + 1, health=health)
        if s.ema is not None:
            s.ema.update_parameters(s.G)
        s.sched_g.step()
        s.sched_d.step()
        s.progress.step = step + 1
        return result

    def log(self, result) -> None:
        s, cfg, step = self.state, self.cfg, self.state.progress.step
        if step % cfg.log.log_every == 0 or step == self.t.steps:
            values = {k: float(distributed.all_mean(v.float().cpu(), self.info)) for k, v in result.logs.items()}
            now = time.perf_counter()
            values["speed/images_per_s"] = ((step - self.last_step) * cfg.data.batch_size * self.info.world
                                            / max(now - self.last_time, 1e-9))
            self.last_time, self.last_step = now, step
            if self.cpu_watch is not None:
                share = self.cpu_watch.sample()
                if share is not None:
                    values["speed/cpu_share"] = share
                warning = self.cpu_watch.check(share, step)
                if warning and self.info.is_main:
                    log.warning("%s", warning)
            values["lr/generator"] = s.opt_g.param_groups[0]["lr"]
            values["lr/discriminator"] = s.opt_d.param_groups[0]["lr"]
            self.write(values)
        if self.monitor is None:
            return
        if result.activations or result.update_ratios:
            self.monitor.network_health(step, "generator", s.G, result.activations, result.update_ratios)
            self.monitor.network_health(step, "discriminator", s.D, {}, {})
        if step % cfg.log.image_every == 0:
            with torch.no_grad():
                G = s.shipped.eval()
                out = G(self.sample_inp.to(self.device).contiguous(memory_format=self.fmt))
                self.monitor.images(step, self.sample_inp, out, self.sample_tgt)
                self.monitor.features(step, feature_grids(G, self.sample_inp[:1].to(self.device)))
                self.set_train_mode()

    def write(self, values: dict[str, float]) -> None:
        """One row of metrics.jsonl and the TensorBoard scalars (rank 0)."""
        if self.monitor is not None:
            self.monitor.scalars(self.state.progress.step, values)
            self.metrics_file.write(json.dumps({"step": self.state.progress.step, **values}) + "\n")
            self.metrics_file.flush()

    def validate(self) -> bool:
        """Validation on rank 0, the decision broadcast (see `decide`); returns is_best."""
        p, cfg = self.state.progress, self.cfg
        if not len(self.splits.val) or not (p.step % cfg.log.val_every == 0 or p.step == self.t.steps):
            return False
        val = None
        if self.info.is_main:
            s = self.state
            val = validate(s.shipped.eval(), self.splits.val, cfg, self.device, self.fmt)
            if s.ema is not None:  # the optimizer's own weights too, to see what the average buys
                raw = validate(s.G.eval(), self.splits.val, cfg, self.device, self.fmt)
                val.update({"val_training/" + k[4:]: v for k, v in raw.items() if not k.startswith("val/gray_")})
            self.set_train_mode()
        is_best, self.stopped_early = decide(p, val, cfg.log.best_metric, cfg.log.early_stop_patience, self.info)
        if self.info.is_main:
            self.write(p.last_val)
            log.info("step %d: %s", p.step, ", ".join(f"{k} {v:.4g}" for k, v in p.last_val.items()))
        return is_best

    def checkpoint(self, is_best: bool) -> None:
        s, step = self.state, self.state.progress.step
        root = self.out_dir / "checkpoints"
        if step % self.cfg.log.ckpt_every == 0 or step == self.t.steps or self.stopped_early or self.stop_requested:
            if self.info.is_main:
                card = self.card()
                save_checkpoint(root / f"step-{step:08d}", card, s.shipped, s.D, s.state_dict(),
                                training_generator=s.G if s.ema is not None else None)
                if is_best:
                    save_checkpoint(root / "best", card, s.shipped, s.D)
                prune(self.out_dir, self.cfg.log.keep_last)
            distributed.barrier(self.info)
        elif is_best and self.info.is_main:
            save_checkpoint(root / "best", self.card(), s.shipped, s.D)

    def card(self) -> dict[str, Any]:
        """The checkpoint card: built here only."""
        s, cfg, step = self.state, self.cfg, self.state.progress.step
        data = dict(self.splits.summary)
        for key in ("data_dir", "cache_dir"):
            if key in data:
                data[key] = repo_relative(data[key])
        card = {
            "step": step, "run": self.run_name,
            "generator": {"name": cfg.model.generator, "kwargs": dict(cfg.model.generator_kwargs)},
            "discriminator": {"name": cfg.model.discriminator, "kwargs": dict(cfg.model.discriminator_kwargs)},
            "config": cfg.to_dict(), "data": data, "metrics": dict(s.progress.last_val),
            "git": dict(self.git, tag=None) if self.git else None,
            "torch": torch.__version__, "device": str(self.device), "precision": self.t.precision,
            "precision_choice": self.precision.to_dict(),
            "world_size": self.info.world, "command": command_line(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "init_from": repo_relative(self.init_from) if self.init_from else None,
            "parent": self.parent,
            "frozen": list(self.freeze), "config_changes": list(s.progress.config_changes),
            "infer": {k: v for k, v in cfg.to_dict()["infer"].items() if v not in (0, "")},
            "chroma_prior": None if self.prior is None else [round(float(v), 7) for v in self.prior],
        }
        if cfg.log.git_tag and card["git"]:
            card["git"]["tag"] = gitinfo.tag_commit(f"ckpt/{self.run_name}/{step}", card["git"]["commit"],
                                                    f"checkpoint of run {self.run_name} at step {step}")
        elif cfg.log.git_tag:
            log.warning("log.git_tag is on but %s is not a git checkout: checkpoint not tagged", gitinfo.CODE_DIR)
        return card

    def close(self) -> None:
        if self.metrics_file is not None:
            self.metrics_file.close()
        if self.monitor is not None:
            self.monitor.close()
        distributed.teardown(self.info)

    def summary(self) -> dict[str, Any]:
        p = self.state.progress
        summary = {
            "run": self.run_name, "steps": p.step, "best_step": p.best_step, "best_value": p.best_value,
            "best_metric": self.cfg.log.best_metric, "last_val": p.last_val, "stopped_early": self.stopped_early,
            "stop_requested": self.stop_requested,
            "resumed_from": str(self.resumed_from) if self.resumed_from else None,
            "precision": self.t.precision, "precision_reason": self.precision.reason, "world_size": self.info.world,
            "splits": ({k: self.splits.summary["counts"][k] for k in ("train", "val", "test")}
                       if "counts" in self.splits.summary else None),
        }
        if self.info.is_main:
            atomic_write_text(self.out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
        return summary


PARENT_KEYS = ("step", "run", "created", "git", "command", "config", "metrics", "init_from", "parent")


def parent_summary(card: dict) -> dict:
    """What a fine-tuned model's card keeps of the model it started from: that model's files may
    be replaced later (the default checkpoint is), so its provenance travels in the child's card.
    Its training files are kept as a count and one SHA-256 over their listing."""
    out = {k: card[k] for k in PARENT_KEYS if k in card}
    data = card.get("data") or {}
    out["data"] = {k: data[k] for k in ("sources", "counts") if k in data}
    listing = json.dumps(data.get("files", []), sort_keys=True).encode()
    out["data"]["files"] = {"count": len(data.get("files", [])), "sha256": hashlib.sha256(listing).hexdigest()}
    return out


def train(cfg: Config, data_dir, out_dir, *, resume: bool = False, init_from=None, freeze: tuple[str, ...] = (),
          cache_dir=None, precision: PrecisionChoice | None = None,
          on_step: Callable[[Trainer, Any], bool] | None = None) -> dict[str, Any]:
    """Train until cfg.train.steps (or early stopping, or on_step returning True); returns a
    summary dict. `precision`: the precision already decided for cfg.train.precision (default:
    decided here)."""
    return Trainer(cfg, data_dir, out_dir, resume=resume, init_from=init_from, freeze=freeze,
                   cache_dir=cache_dir, precision=precision, on_step=on_step).run()
