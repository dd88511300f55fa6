"""One character-training job at a time, in a background thread of the app's server process: the job
outlives any browser session, so every page (a reload, another browser) sees the same state.
colorize.character.train_character does the work; this keeps its progress, stops it on request and
refuses a second start while one runs. No Gradio here, so it is testable without a browser."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from colorize.character import Cancelled, CharacterError, Progress, check_name, train_character
from colorize.character.names import DEFAULT_CONFIG
from colorize.config import ConfigError, load_config

log = logging.getLogger(__name__)

MAX_STEPS = 20_000  # a typo's million steps would hold the one job slot for days


class JobError(Exception):
    """A start refused: another job runs, or the request is wrong. One line, for the page."""


@dataclass(frozen=True)
class JobState:
    name: str | None = None
    stage: str = "idle"  # idle, prepare, train, readout, then done, cancelled or failed
    step: int = 0
    steps: int = 0
    loss: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    error: str | None = None
    model: Path | None = None  # the new model's folder once done
    finished: int = 0  # jobs ended so far (any outcome): pages refresh the picker when it moves

    @property
    def running(self) -> bool:
        return self.stage in ("prepare", "train", "readout")

    @property
    def done(self) -> bool:
        return self.stage == "done"


class CharacterJobs:
    """start/cancel/status for the one job this server runs at a time."""

    def __init__(self, root: Path, base: Path | None = None, steps: int | None = None,
                 config: Path | None = None, min_pictures: int = 10, cache_dir: Path | None = None):
        self.root, self.base, self.steps, self.config = Path(root), base, steps, config
        self.min_pictures, self.cache_dir = min_pictures, cache_dir
        self._lock = threading.Lock()
        self._state = JobState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def status(self) -> JobState:
        with self._lock:
            return self._state

    def check_free(self) -> None:
        """Raises JobError, naming the running job, while one runs."""
        s = self.status()
        if s.running:
            raise JobError(busy(s))

    def default_steps(self) -> int:
        """The steps a job trains unless told otherwise: --character-steps, else the recipe's."""
        if self.steps is not None:
            return self.steps
        try:
            return load_config(self.config or DEFAULT_CONFIG).train.steps
        except (ConfigError, OSError) as exc:
            raise JobError(f"the character recipe: {exc}") from None

    def start(self, name: str, pictures: list[tuple[Path, str]], steps: int | None = None) -> JobState:
        """Train a character model NAME from (file, shown name) pictures for `steps` (default:
        default_steps(); 0: no training, the default model with the pictures' palette), in the
        background. Raises JobError while another job runs, or on a bad name, too few pictures or
        steps out of range."""
        if steps is not None and not 0 <= steps <= MAX_STEPS:
            raise JobError(f"Steps must be between 0 and {MAX_STEPS}, not {steps}.")
        with self._lock:
            if self._state.running:
                raise JobError(busy(self._state))
            try:
                name = check_name(name)
            except CharacterError as exc:
                raise JobError(str(exc)) from None
            if (self.root / name).exists():
                raise JobError(f"{name}: a character model of that name exists already ({self.root / name}).")
            if len(pictures) < self.min_pictures:
                raise JobError(f"{name}: {len(pictures)} pictures; a character needs {self.min_pictures} or more.")
            # Own copies under their shown names: Gradio's upload cache is pruned while a job may run.
            folder = Path(tempfile.mkdtemp(prefix=f"colorize-character-{name}-"))
            data = [copy_as(path, folder, shown, i) for i, (path, shown) in enumerate(pictures)]
            self._stop.clear()
            self._state = JobState(name=name, stage="prepare", finished=self._state.finished)
            self._thread = threading.Thread(target=self._run, args=(name, data, folder, self.steps if steps is None else steps),
                                            name=f"character-{name}", daemon=True)
            self._thread.start()
            return self._state

    def cancel(self) -> bool:
        """Ask the running job to stop at its next step; False when none runs."""
        with self._lock:
            if not self._state.running:
                return False
            self._stop.set()
            return True

    def wait(self, timeout: float | None = None) -> JobState:
        thread = self._thread
        if thread:
            thread.join(timeout)
        return self.status()

    def _progress(self, p: Progress) -> None:
        with self._lock:
            if not self._state.running:
                return
            if p.stage in ("prepare", "train"):
                self._state = replace(self._state, stage=p.stage, step=p.step, steps=p.steps, loss=p.loss,
                                      elapsed_s=p.elapsed_s, eta_s=p.eta_s)
            else:  # readout, done: the bar stays at the training's last step until the thread ends
                self._state = replace(self._state, stage="readout", elapsed_s=p.elapsed_s, eta_s=None)

    def _run(self, name: str, data: list[Path], folder: Path, steps: int | None) -> None:
        end: dict = {"stage": "failed"}
        try:
            out = self.root / name
            model = train_character(name, data, out=out, base=self.base, steps=steps, config=self.config,
                                    progress=self._progress, should_stop=self._stop.is_set,
                                    min_pictures=self.min_pictures, cache_dir=self.cache_dir)
            trained = train_steps(Path(model))  # a palette-only job (0 steps) reported only pictures
            end = {"stage": "done", "model": Path(model), "eta_s": 0.0, "step": trained, "steps": trained}
        except Cancelled:  # step 0: before training began (prepare counts pictures, not steps)
            end = {"stage": "cancelled", "step": self.status().step if self.status().stage == "train" else 0}
        except CharacterError as exc:
            end["error"] = str(exc)
        except Exception as exc:  # a job must never take the server down; the log keeps the traceback
            log.exception("training character %s failed", name)
            end["error"] = f"{name}: training failed ({type(exc).__name__}: {exc})"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            with self._lock:
                self._state = replace(self._state, finished=self._state.finished + 1, **end)
            log.info("character %s: %s", name, self._state.error or self._state.stage)


def train_steps(model: Path) -> int:
    """The steps a finished character model trained, from its card."""
    from colorize.checkpoint import read_card

    return int(read_card(model)["character"]["steps"])


def copy_as(path: Path, folder: Path, shown: str, index: int) -> Path:
    """A copy of an upload in `folder`, named as the user's file (numbered when names repeat)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(shown).name)[:80] or "picture.png"
    target = folder / safe
    if target.exists():
        target = folder / f"{index:03d}-{safe}"
    shutil.copyfile(path, target)
    return target


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def busy(s: JobState) -> str:
    return f"Training {s.name!r} is running ({describe(s)}); wait for it to finish or cancel it."


def describe(s: JobState) -> str:
    """The state in a few words: 'step 12 / 50, loss 0.531, 1 min 20 s left'."""
    if s.stage == "prepare":
        return "preparing the pictures" + (f", {s.step} / {s.steps}" if s.steps else "")
    if s.stage == "readout":
        return "writing the model and its sample picture"
    parts = [f"step {s.step} / {s.steps}"]
    if s.loss is not None:
        parts.append(f"loss {s.loss:.3f}")
    if s.eta_s is not None and s.running:
        parts.append(f"{duration(s.eta_s)} left")
    return ", ".join(parts)

