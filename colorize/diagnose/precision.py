"""`diagnose precision`: the precision training runs at on this machine, and why (colorize.device:
from the CPU's capability and bf16 features, or the GPU's bf16 support), with a few
forward+backward passes of the config's models in each precision measured beside it, so the
verdict shows what the choice is worth here. WARN when the config forces a precision this machine
runs slower (bf16 on a CPU without native bf16: several times slower), or when "auto" chose the
one that measured slower."""

from __future__ import annotations

from colorize.device import PrecisionChoice, measured, model_pass, resolve_precision, time_precisions
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Setup

SLOWER = 1.10  # "runs slower": by more than this factor (two passes each are noisy)


def check_precision(choice: PrecisionChoice, timings: dict[str, float] | None) -> CheckResult:
    """The verdict on a decided precision, given what each precision measured (or None)."""
    r = CheckResult("precision")
    r.figures.update(choice.to_dict())
    if timings:
        r.figures["measured"] = dict(timings)
    r.summary = f"{choice.precision} ({choice.reason})"
    if timings and "measured" not in choice.reason:
        r.summary += f"; {measured(timings)}"
    if choice.warning:
        r.warn(choice.warning)
    elif timings and choice.requested == "auto":
        other = "fp32" if choice.bf16 else "bf16"
        if timings[choice.precision] > SLOWER * timings[other]:
            r.warn(f"auto chose {choice.precision} from this machine's facts, but {other} measured "
                   f"{timings[choice.precision] / timings[other]:.2f}x faster here: set precision = \"{other}\" "
                   "for this machine, and report it (colorize/device.py decides)")
    return r


def run(setup: Setup, passes: int = 2) -> CheckResult:
    choice = setup.precision_choice()
    timings = choice.timings
    if timings is None:
        cfg = setup.cfg
        fwd = model_pass(setup.generator(), setup.discriminator(), cfg.data.batch_size, cfg.data.size, setup.device,
                         cfg.train.channels_last)
        timings = time_precisions(fwd, setup.device, passes)
    if choice.requested != "auto":  # a forced precision is judged by the measurement
        choice = resolve_precision(choice.requested, setup.device, timings=timings)
    return check_precision(choice, timings)
