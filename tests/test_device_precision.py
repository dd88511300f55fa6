"""The precision decision (colorize.device): "auto" from the CPU's capability and bf16 features, or
from timings where those cannot tell; forced precisions warned about where this machine runs the
other faster. The decision is given its facts here, so these tests hold on any machine; only the
last ones look at this machine's torch, and none is timed."""

import os
import platform
import subprocess
import sys

import pytest
import torch

from colorize import device as dev
from colorize.config import Config
from colorize.device import CpuFacts, DeviceError, decide_precision, resolve_precision
from colorize.diagnose.precision import check_precision

ZEN4 = CpuFacts("AVX512", "x86_64", ("avx512_bf16",), "", "AMD EPYC")  # native bf16
SAPPHIRE = CpuFacts("AVX512", "x86_64", ("avx512_bf16", "amx_bf16"), "", "Intel Xeon")
ICELAKE = CpuFacts("AVX512", "x86_64", (), "", "Intel Xeon")  # AVX-512 without bf16
HASWELL = CpuFacts("AVX2", "x86_64", (), "", "Intel Core i7")  # AVX2 only
GRAVITON3 = CpuFacts("SVE256", "aarch64", ("bf16", "sve_bf16"), "", "Neoverse-V1")
OLD_ARM = CpuFacts("DEFAULT", "aarch64", (), "", "Cortex-A72")


def auto(facts, timings=None):
    return decide_precision("auto", "cpu", cpu=facts, timings=timings)


@pytest.mark.parametrize("facts", [ZEN4, SAPPHIRE, CpuFacts("AVX512", "x86_64", ("amx_bf16",))])
def test_auto_is_bf16_on_a_cpu_with_native_bf16(facts):
    choice = auto(facts)
    assert choice.precision == "bf16" and choice.native_bf16 is True and not choice.needs_measurement
    assert choice.reason.startswith("auto: native bf16") and "AVX512" in choice.reason
    assert choice.warning is None and choice.facts["cpu_capability"] == "AVX512"


@pytest.mark.parametrize("facts, words", [
    (HASWELL, "AVX2"),
    (ICELAKE, "no avx512_bf16"),
    (CpuFacts("NO AVX", "x86_64", ()), "NO AVX"),
    # torch made to run its AVX2 kernels (ATEN_CPU_CAPABILITY=avx2) on a CPU that has bf16
    (CpuFacts("AVX2", "x86_64", ("avx512_bf16",)), "torch runs its AVX2 kernels"),
    # oneDNN, which runs the convolutions, capped below its bf16 instructions
    (CpuFacts("AVX512", "x86_64", ("avx512_bf16",), "avx2"), "oneDNN is capped at AVX2"),
    (CpuFacts("AVX512", "x86_64", ("avx512_bf16",), "AVX512_CORE_VNNI"), "AVX512_CORE_VNNI"),
])
def test_auto_is_fp32_where_bf16_would_be_emulated(facts, words):
    choice = auto(facts)
    assert choice.precision == "fp32" and choice.native_bf16 is False and not choice.needs_measurement
    assert words in choice.reason and "emulated" in choice.reason


def test_a_onednn_cap_that_keeps_bf16_leaves_it_native():
    assert auto(CpuFacts("AVX512", "x86_64", ("avx512_bf16",), "AVX512_CORE_BF16")).precision == "bf16"
    assert auto(CpuFacts("AVX512", "x86_64", ("amx_bf16",), "AVX10_1_512_AMX")).precision == "bf16"


def test_the_facts_win_over_timings_where_they_tell():
    """A noisy measurement must not flip a decision the capability makes."""
    assert auto(ZEN4, {"fp32": 1.0, "bf16": 1.5}).precision == "bf16"
    assert auto(HASWELL, {"fp32": 1.5, "bf16": 1.0}).precision == "fp32"


def test_where_the_facts_cannot_tell_the_measurement_decides():
    unmeasured = auto(GRAVITON3)
    assert unmeasured.precision == "fp32" and unmeasured.needs_measurement and unmeasured.native_bf16 is None
    assert "not measured" in unmeasured.reason
    fast = auto(GRAVITON3, {"fp32": 1.0, "bf16": 0.6})
    assert fast.precision == "bf16" and not fast.needs_measurement
    assert "measured 1 s fp32 vs 0.6 s bf16" in fast.reason and fast.timings == {"fp32": 1.0, "bf16": 0.6}
    assert auto(GRAVITON3, {"fp32": 1.0, "bf16": 1.8}).precision == "fp32"
    # bf16 must win clearly: within the margin fp32, the more exact, stays
    assert auto(GRAVITON3, {"fp32": 1.0, "bf16": 0.97}).precision == "fp32"
    # unknown features (an older torch without get_capabilities) on x86: measured too
    assert auto(CpuFacts("AVX512", "x86_64", None)).needs_measurement


def test_a_cpu_without_any_bf16_needs_no_measurement():
    choice = auto(OLD_ARM)
    assert choice.precision == "fp32" and choice.native_bf16 is False and not choice.needs_measurement


def test_forced_precisions_run_as_asked_with_a_warning_where_slower():
    forced = decide_precision("bf16", "cpu", cpu=HASWELL)
    assert forced.precision == "bf16" and forced.requested == "bf16"
    assert forced.reason.startswith("forced by precision = bf16") and "AVX2" in forced.reason
    assert "runs fp32 faster" in forced.warning and 'use precision = "auto"' in forced.warning
    assert "runs bf16 faster" in decide_precision("fp32", "cpu", cpu=ZEN4).warning
    assert decide_precision("bf16", "cpu", cpu=ZEN4).warning is None
    assert decide_precision("fp32", "cpu", cpu=HASWELL).warning is None
    # unclear facts: no warning without a measurement, one with it (beyond 10%)
    assert decide_precision("bf16", "cpu", cpu=GRAVITON3).warning is None
    assert decide_precision("bf16", "cpu", cpu=GRAVITON3, timings={"fp32": 1.0, "bf16": 2.0}).warning
    assert decide_precision("bf16", "cpu", cpu=GRAVITON3, timings={"fp32": 1.0, "bf16": 1.05}).warning is None
    # a measurement is the direct evidence, over the facts
    assert decide_precision("bf16", "cpu", cpu=ZEN4, timings={"fp32": 1.0, "bf16": 6.5}).warning


def test_cuda():
    assert decide_precision("auto", "cuda", cuda_bf16=True, gpu="H200").precision == "bf16"
    old = decide_precision("auto", "cuda", cuda_bf16=False, gpu="T4")
    assert old.precision == "fp32" and "T4 has no bf16" in old.reason
    with pytest.raises(DeviceError, match="T4 has no bf16 support"):
        decide_precision("bf16", "cuda", cuda_bf16=False, gpu="T4")
    assert decide_precision("fp32", "cuda", cuda_bf16=True, gpu="H200").warning


def test_unknown_precision_is_refused():
    with pytest.raises(DeviceError, match="train.precision = 'fp16'"):
        decide_precision("fp16", "cpu", cpu=ZEN4)


def test_resolve_measures_only_where_the_facts_cannot_tell():
    calls = []

    def measure():
        calls.append(1)
        return {"fp32": 1.0, "bf16": 0.5}

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, measure, facts=HASWELL).precision == "fp32"
    assert resolve_precision("auto", cpu, measure, facts=ZEN4).precision == "bf16"
    assert resolve_precision("fp32", cpu, measure, facts=GRAVITON3).precision == "fp32"
    assert calls == []
    choice = resolve_precision("auto", cpu, measure, facts=GRAVITON3)
    assert calls == [1] and choice.precision == "bf16" and choice.timings == {"fp32": 1.0, "bf16": 0.5}


def test_the_choice_is_recorded_with_its_facts():
    d = auto(HASWELL).to_dict()
    assert d["precision"] == "fp32" and d["requested"] == "auto" and "AVX2" in d["reason"]
    assert d["facts"]["cpu_model"] == "Intel Core i7" and d["facts"]["cpu_native_bf16"] is False
    assert "warning" not in d and "timings" not in d  # None fields are left out


def test_measuring_a_config_leaves_the_rng_and_the_models_alone(monkeypatch):
    """The measured path end to end, on a tiny model: both timings, and no trace in the run."""
    monkeypatch.setattr(dev, "cpu_facts", lambda: GRAVITON3)
    cfg = Config()
    cfg.data.batch_size, cfg.data.size = 2, 32
    cfg.model.generator_kwargs = {"base": 4, "depth": 2}
    cfg.model.discriminator_kwargs = {"base": 4, "layers": 2}
    G, D = dev.config_models(cfg)
    before = [p.detach().clone() for p in G.parameters()]
    torch.manual_seed(7)
    state = torch.get_rng_state()
    choice = dev.precision_for_config(cfg, torch.device("cpu"), lambda: (G, D), passes=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
    assert all(p.grad is None for p in G.parameters())
    assert set(choice.timings) == {"fp32", "bf16"} and min(choice.timings.values()) > 0
    assert "measured" in choice.reason and choice.precision in ("fp32", "bf16")


def test_the_diagnose_check_warns_about_a_forced_or_a_measured_slower_precision():
    assert check_precision(auto(ZEN4), {"fp32": 1.0, "bf16": 0.8}).status == "PASS"
    forced = check_precision(decide_precision("bf16", "cpu", cpu=HASWELL), None)
    assert forced.status == "WARN" and "forced" in forced.messages()[0]
    assert forced.summary.startswith("bf16 (forced by precision = bf16")
    contradicted = check_precision(auto(ZEN4), {"fp32": 1.0, "bf16": 1.5})
    assert contradicted.status == "WARN" and "fp32 measured 1.50x faster" in contradicted.messages()[0]
    assert check_precision(auto(ZEN4), {"fp32": 1.0, "bf16": 1.05}).status == "PASS"  # within noise


def test_this_machine_facts_are_torch_s():
    facts = dev.cpu_facts()
    assert facts.capability == torch.backends.cpu.get_cpu_capability()
    assert facts.name and facts.architecture


def test_the_onednn_cap_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert dev.cpu_facts().onednn_max_isa == "AVX2"
    assert resolve_precision("auto", torch.device("cpu")).precision == "fp32"


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 capability override")
def test_an_aten_capability_override_is_honoured():
    """ATEN_CPU_CAPABILITY=avx2 (how the bench emulates a CPU without native bf16): torch reports
    AVX2 and "auto" is fp32, whatever this CPU has."""
    code = ("import torch; from colorize.device import resolve_precision; "
            "c = resolve_precision('auto', torch.device('cpu')); "
            "print(torch.backends.cpu.get_cpu_capability(), c.precision)")
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "ATEN_CPU_CAPABILITY": "avx2"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["AVX2", "fp32"]


def test_inference_stays_fp32_on_any_cpu_and_autocast_follows_the_choice():
    cpu = torch.device("cpu")
    assert dev.inference_precision(cpu) == "fp32"
    with dev.autocast(cpu, True):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    with dev.autocast(cpu, False):
        assert not torch.is_autocast_enabled("cpu")
