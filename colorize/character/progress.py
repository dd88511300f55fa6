"""Progress reports and cancellation for a character run: what the app's page and the command
line's progress bar show, and the stop request they poll."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colorize.character.errors import Cancelled
from colorize.fileio import atomic_write_text


@dataclass
class Progress:
    stage: str  # "prepare" | "train" | "readout" | "done"
    step: int
    steps: int
    loss: float | None
    elapsed_s: float
    eta_s: float | None


class Reporter:
    """Turns stages and trainer steps into Progress calls; raises Cancelled when asked to stop.
    Keeps the training seconds, over interrupted runs too, in `seconds_file`."""

    def __init__(self, name: str, progress: Callable[[Progress], None] | None,
                 should_stop: Callable[[], bool] | None, seconds_file: Path):
        self.name, self.progress, self.should_stop = name, progress, should_stop
        self.seconds_file = Path(seconds_file)
        self.t0 = time.monotonic()
        self.train_start: tuple[float, int] | None = None  # (time, step) the ETA is measured from
        self.earlier_seconds = 0.0  # training time of interrupted runs

    def report(self, stage: str, step: int, steps: int, loss: float | None = None, eta: float | None = None) -> None:
        if self.progress is not None:
            self.progress(Progress(stage, step, steps, loss, time.monotonic() - self.t0, eta))

    def stop_wanted(self) -> bool:
        return bool(self.should_stop and self.should_stop())

    def check_stop(self, where: str) -> None:
        if self.stop_wanted():
            raise Cancelled(f"{self.name}: cancelled {where}")

    # -- the training stage ------------------------------------------------------------------------
    def start_training(self) -> None:
        try:
            self.earlier_seconds = float(json.loads(self.seconds_file.read_text())["train_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            self.earlier_seconds = 0.0
        self.train_t0, self.train_end = time.monotonic(), None

    def end_training(self) -> float:
        """The training seconds over all runs, kept for the card; later stages do not count."""
        self.save_seconds()
        self.train_end = time.monotonic()
        return self.train_seconds()

    def train_seconds(self) -> float:
        return self.earlier_seconds + (self.train_end or time.monotonic()) - self.train_t0

    def run_seconds(self) -> float:
        """The whole run's seconds (preparing, training, palette and readout), with the training
        seconds of interrupted runs before it: what a user waits for."""
        return self.earlier_seconds + time.monotonic() - self.t0

    def on_step(self, trainer, result) -> bool:
        """The Trainer's on_step: report the step, keep the seconds, say whether to stop."""
        step, steps = trainer.state.progress.step, trainer.t.steps
        now = time.monotonic()
        if self.train_start is None:
            self.train_start = (now, step)  # measured from the first step: its time includes the setup's
        t, s = self.train_start
        eta = (now - t) / (step - s) * (steps - step) if step > s else None
        loss = result.logs.get("loss/g_total")
        self.report("train", step, steps, None if loss is None else float(loss), eta)
        if step % trainer.cfg.log.log_every == 0 or step == steps:
            self.save_seconds()
        return self.stop_wanted()

    def save_seconds(self) -> None:
        atomic_write_text(self.seconds_file, json.dumps({"train_seconds": round(self.train_seconds(), 1)}) + "\n")
