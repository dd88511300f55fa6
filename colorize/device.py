"""One place that turns a device name into a torch.device, and the precision setting into what
runs on that device: training, the diagnostics, the sweep, the benchmark and the Colorizer.

Precision is a fact about the machine, not about the recipe. bf16 autocast is faster than fp32
on a CPU that runs bf16 natively (avx512_bf16 or AMX-BF16: the default model's training step takes
1.6x less CPU time on the bench machine) and many times slower on one that only emulates it (AVX2:
16x for the default model); see bench/RESULTS.md, "Precision".
So `precision = "auto"`, which every shipped config uses, is decided here, for this machine:

- CUDA: bf16 where the GPU supports it, fp32 otherwise.
- x86 CPU: bf16 when torch runs its AVX-512 kernels (`torch.backends.cpu.get_cpu_capability()`,
  which honours an ATEN_CPU_CAPABILITY override), the CPU has avx512_bf16 or amx_bf16, and oneDNN,
  which runs the convolutions, is not capped below AVX512_CORE_BF16 (ONEDNN_MAX_CPU_ISA); fp32
  otherwise.
- Other CPUs (ARM, POWER, s390x): torch's capability string does not say, so a short measurement of
  the run's own model decides (a few forward+backward passes in each precision; bf16 must be 5%
  faster to win). Without a model to measure: fp32.

"fp32" and "bf16" in a config force that precision; where this machine runs it slower the choice
carries a warning (the trainer logs it, `diagnose precision` reports it).

`decide_precision` is the decision: a pure function of the facts (capability string, bf16
features, oneDNN cap, GPU support, timings). `resolve_precision` gathers them (`cpu_facts`,
`time_precisions`) and calls it; `precision_for_config` adds the measurement of a config's models."""

from __future__ import annotations

import copy
import os
import platform
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
BF16_FEATURES = ("avx512_bf16", "amx_bf16", "sve_bf16", "bf16")  # keys of torch.cpu.get_capabilities()
X86 = ("x86_64", "amd64", "i386", "i686", "x86")
# torch.backends.cpu.get_cpu_capability() values that only an x86 CPU reports ("DEFAULT": none forced)
X86_CAPABILITIES = ("AVX512", "AVX2", "NO AVX")
# ONEDNN_MAX_CPU_ISA values below AVX512_CORE_BF16: oneDNN then has no bf16 instructions to use
# (AVX2_VNNI_2 only converts to and from bf16)
ONEDNN_NO_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")
MARGIN = 0.05  # measured, bf16 wins only when this much faster: otherwise fp32 (more exact) is kept
WARN_MARGIN = 0.10  # measured, a forced precision is "slower" only when this much slower (noise)


class DeviceError(ValueError):
    """A device or precision that this machine cannot provide (one line)."""


def pick_device(device: str = "auto", local_rank: int | None = None) -> torch.device:
    """"auto" (CUDA when present), "cpu", "cuda" or "cuda:N". Under torchrun (`local_rank` given)
    CUDA means this process's GPU, made the current one."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} asked for, but this torch sees no CUDA GPU")
        if local_rank is not None:
            torch.cuda.set_device(local_rank)
            return torch.device("cuda", local_rank)
    return torch.device(device)


# -- the decision (pure) --------------------------------------------------------------------------

@dataclass(frozen=True)
class CpuFacts:
    """What the CPU path decides from."""

    capability: str  # torch.backends.cpu.get_cpu_capability(): "AVX512", "AVX2", "SVE256", ...
    architecture: str = ""  # x86_64, aarch64, ...
    bf16_features: tuple[str, ...] | None = None  # the hardware's bf16 features; None = unknown
    onednn_max_isa: str = ""  # ONEDNN_MAX_CPU_ISA, when set
    name: str = ""  # CPU model name (for logs, cards and benchmarks only)

    def summary(self) -> dict[str, Any]:
        """The fields benchmarks and cards record beside a figure."""
        native, _ = cpu_bf16(self)
        out = {"cpu_model": self.name, "cpu_capability": self.capability, "cpu_architecture": self.architecture,
               "cpu_bf16_features": list(self.bf16_features) if self.bf16_features is not None else None,
               "cpu_native_bf16": native}
        if self.onednn_max_isa:
            out["onednn_max_cpu_isa"] = self.onednn_max_isa
        return out


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str  # "fp32" | "bf16": what runs
    requested: str  # "auto" | "fp32" | "bf16": what the config asked for
    reason: str  # one line: why
    device_type: str = "cpu"
    native_bf16: bool | None = None  # CPU: does it run bf16 natively (None: cannot tell)
    timings: dict[str, float] | None = None  # seconds per forward+backward pass, when measured
    warning: str | None = None  # a forced precision that this machine runs slower
    facts: dict[str, Any] = field(default_factory=dict)  # capability, CPU or GPU name

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    @property
    def needs_measurement(self) -> bool:
        """"auto" on a CPU whose facts do not tell, not measured yet."""
        return self.requested == "auto" and self.device_type != "cuda" and self.native_bf16 is None \
            and self.timings is None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def cpu_bf16(facts: CpuFacts) -> tuple[bool | None, str]:
    """Does this CPU run bf16 natively, as torch will use it? (True / False / None = cannot tell,
    measure), with the reason in words."""
    cap, feats = facts.capability, facts.bf16_features
    have = ", ".join(feats) if feats else ""
    if facts.architecture.lower() in X86 or cap in X86_CAPABILITIES:
        if feats is None:
            return None, f"torch capability {cap}; the CPU's bf16 features are unknown"
        if not feats:
            return False, f"no native bf16 (torch capability {cap}; no avx512_bf16 or amx_bf16): bf16 is emulated"
        limits = [f"torch runs its {cap} kernels (capability {cap}: ATEN_CPU_CAPABILITY?)"] if cap != "AVX512" else []
        isa = facts.onednn_max_isa.upper()
        if isa in ONEDNN_NO_BF16:
            limits.append(f"oneDNN is capped at {isa} (ONEDNN_MAX_CPU_ISA)")
        if limits:
            return False, f"the CPU has {have}, but {' and '.join(limits)}: bf16 is emulated"
        return True, f"native bf16 (torch capability {cap}, {have})"
    if feats is not None and not feats:
        return False, f"no bf16 in this {facts.architecture or 'CPU'} (torch capability {cap})"
    return None, (f"torch capability {cap} on {facts.architecture or 'this CPU'}"
                  + (f" with {have}" if have else "") + ": whether bf16 is faster is not known")


def faster(timings: dict[str, float], margin: float = MARGIN) -> str:
    """The faster precision of a measurement; bf16 must win by `margin` (fp32 is more exact)."""
    return "bf16" if timings["bf16"] * (1 + margin) < timings["fp32"] else "fp32"


def measured(timings: dict[str, float]) -> str:
    return f"measured {timings['fp32']:.3g} s fp32 vs {timings['bf16']:.3g} s bf16 per forward+backward"


def decide_precision(requested: str, device_type: str = "cpu", *, cpu: CpuFacts | None = None,
                     cuda_bf16: bool = False, gpu: str = "", timings: dict[str, float] | None = None
                     ) -> PrecisionChoice:
    """The precision that runs for `requested` ("auto" | "fp32" | "bf16") on this device, and why.
    CPU: the `cpu` facts decide "auto"; `timings` ({"fp32": s, "bf16": s} per pass) only where
    they cannot tell. A forced precision runs as asked, with a warning where this machine runs the
    other faster: judged by `timings` when given (the direct evidence), else by the facts."""
    if requested not in PRECISIONS:
        raise DeviceError(f"train.precision = {requested!r}: expected one of {', '.join(PRECISIONS)}")
    if device_type == "cuda":
        return _decide_cuda(requested, cuda_bf16, gpu)
    cpu = cpu or CpuFacts("DEFAULT")
    native, why = cpu_bf16(cpu)
    facts = cpu.summary()
    base = {"requested": requested, "device_type": device_type, "native_bf16": native, "timings": timings,
            "facts": facts}
    by_facts = None if native is None else ("bf16" if native else "fp32")
    if requested == "auto":
        if by_facts is not None:
            return PrecisionChoice(by_facts, reason=f"auto: {why}", **base)
        if timings:
            return PrecisionChoice(faster(timings), reason=f"auto: {why}; {measured(timings)}", **base)
        return PrecisionChoice("fp32", reason=f"auto: {why}; not measured, so fp32", **base)
    other = "fp32" if requested == "bf16" else "bf16"
    if timings:
        slower = timings[requested] > (1 + WARN_MARGIN) * timings[other]
    else:
        slower = by_facts == other
    reason = f"forced by precision = {requested}; this CPU: {why}" + (f"; {measured(timings)}" if timings else "")
    warning = None
    if slower:
        warning = (f"precision = {requested} is forced, but this machine runs {other} faster "
                   f"({measured(timings) if timings else why}): use precision = \"auto\"")
    return PrecisionChoice(requested, reason=reason, warning=warning, **base)


def _decide_cuda(requested: str, cuda_bf16: bool, gpu: str) -> PrecisionChoice:
    gpu = gpu or "this GPU"
    base = {"requested": requested, "device_type": "cuda", "facts": {"gpu": gpu, "cuda_bf16": cuda_bf16}}
    if requested == "bf16" and not cuda_bf16:
        raise DeviceError(f"train.precision = bf16, but {gpu} has no bf16 support")
    if requested == "auto":
        return PrecisionChoice("bf16" if cuda_bf16 else "fp32", reason=f"auto: {gpu} "
                               + ("supports bf16" if cuda_bf16 else "has no bf16 support"), **base)
    warning = (f"precision = fp32 is forced, but {gpu} supports bf16, which runs faster: use precision = \"auto\""
               if requested == "fp32" and cuda_bf16 else None)
    return PrecisionChoice(requested, reason=f"forced by precision = {requested}", warning=warning, **base)


# -- the facts (thin) -----------------------------------------------------------------------------

def cpu_name(caps: dict[str, Any] | None = None) -> str:
    """The CPU's model name: torch's cpuinfo, else /proc/cpuinfo, else platform."""
    name = (caps or {}).get("cpu_name")
    if not name:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith(("model name", "cpu model", "hardware")):
                    name = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    return str(name or platform.processor() or platform.machine() or "unknown")


def cpu_facts() -> CpuFacts:
    """This process's CPU as torch will use it: the capability torch dispatches to (honouring
    ATEN_CPU_CAPABILITY), the hardware's bf16 features (cpuinfo), the oneDNN cap."""
    try:
        caps = dict(torch.cpu.get_capabilities())
    except (AttributeError, RuntimeError):  # older torch: features unknown, so "auto" measures
        caps = {}
    feats = tuple(k for k in BF16_FEATURES if caps.get(k) is True) if caps else None
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    return CpuFacts(torch.backends.cpu.get_cpu_capability(), str(caps.get("architecture") or platform.machine()),
                    feats, isa.strip(), cpu_name(caps))


def resolve_precision(precision: str, device: torch.device, measure: Callable[[], dict[str, float]] | None = None,
                      *, facts: CpuFacts | None = None, timings: dict[str, float] | None = None
                      ) -> PrecisionChoice:
    """`precision` ("auto" | "fp32" | "bf16") decided for `device` (see decide_precision). `measure`
    is called only when "auto" cannot be decided from the facts (it returns time_precisions' dict);
    `timings` already measured may be given instead. `facts` replaces cpu_facts() (tests)."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return decide_precision(precision, "cuda", cuda_bf16=ok, gpu=torch.cuda.get_device_name(device))
    facts = facts or cpu_facts()
    choice = decide_precision(precision, device.type, cpu=facts, timings=timings)
    if choice.needs_measurement and measure is not None:
        choice = decide_precision(precision, device.type, cpu=facts, timings=measure())
    return choice


def autocast(device: torch.device | str, bf16: bool) -> AbstractContextManager:
    """bf16 autocast on `device`, or nothing."""
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else nullcontext()


def inference_precision(device: torch.device) -> str:
    """The Colorizer's precision: bf16 on a CUDA GPU that supports it, fp32 on the CPU, even one
    with native bf16. Measured on the bench machine (AMD EPYC Zen 4, avx512_bf16, 2 threads), one
    1024x1456 page through the default model at its 448 px working size: 0.40-0.57 s fp32 against
    0.25-0.36 s bf16, colors within 3/255 (bench/RESULTS.md, "Precision"). About 0.15 s of a
    0.7-0.8 s page: not worth colors that differ by CPU from the fp32 ones the model was validated
    and its vividness chosen with (and bf16 would be far slower on a CPU that emulates it)."""
    return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"


# -- the measurement (thin) -----------------------------------------------------------------------

def time_precisions(forward: Callable[[], torch.Tensor], device: torch.device, passes: int = 2
                    ) -> dict[str, float]:
    """Seconds of one forward+backward pass (`forward()` returns a scalar loss) in fp32 and under
    bf16 autocast: the fastest of `passes`, after one untimed pass each; the two alternate, so a
    neighbour's load hits both alike. The global RNG state is left as it was."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device.type == "cuda" else []):
        for i in range(passes + 1):
            for name in times:
                t0 = time.perf_counter()
                with autocast(device, name == "bf16"):
                    loss = forward()
                loss.float().backward()
                sync()
                if i:
                    times[name].append(time.perf_counter() - t0)
    return {k: round(min(v), 4) for k, v in times.items()}


def model_pass(G: nn.Module, D: nn.Module | None, batch: int, size: int, device: torch.device,
               channels_last: bool = True) -> Callable[[], torch.Tensor]:
    """A forward pass of copies of the run's generator (and discriminator, judging the drawing
    with the generator's colors, as in training) on a random batch: the trained models are not
    touched."""
    G = copy.deepcopy(G).to(device).train()
    D = copy.deepcopy(D).to(device).train() if D is not None else None
    # the drawing's channels (hint channels, where a model takes them, it fills with "no hints")
    in_ch = getattr(G, "in_ch", None) or next(m.in_channels for m in G.modules() if isinstance(m, nn.Conv2d))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, in_ch, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=fmt)

    def forward() -> torch.Tensor:
        out = G(x)
        fake = out[0] if isinstance(out, tuple) else out
        loss = fake.float().mean()
        if D is not None:
            loss = loss + D(x[:, :1], fake).float().mean()
        return loss

    return forward


def precision_for_config(cfg, device: torch.device,
                         models: Callable[[], tuple[nn.Module, nn.Module | None]] | None = None,
                         passes: int = 2) -> PrecisionChoice:
    """cfg.train.precision decided for `device`; where the facts cannot tell, measured on the run's
    models (`models()` -> (G, D or None); default: built from cfg.model) at the config's batch and
    crop size. Only then are the models made, and the RNG is left as it was."""

    def measure() -> dict[str, float]:
        with torch.random.fork_rng(devices=[]):  # building models draws from the RNG
            G, D = models() if models is not None else config_models(cfg)
            fwd = model_pass(G, D, cfg.data.batch_size, cfg.data.size, device, cfg.train.channels_last)
        return time_precisions(fwd, device, passes)

    return resolve_precision(cfg.train.precision, device, measure)


def config_models(cfg) -> tuple[nn.Module, nn.Module | None]:
    """A fresh generator and (when the GAN term is on) discriminator as cfg.model describes them."""
    from colorize.models import build_discriminator, build_generator

    G = build_generator(cfg.model.generator, dict(cfg.model.generator_kwargs))
    if cfg.loss.lambda_gan <= 0:
        return G, None
    return G, build_discriminator(cfg.model.discriminator, dict(cfg.model.discriminator_kwargs))
