import pytest
import torch

from colorize.config import Config, ConfigError, load_config


def test_toml_then_overrides(tiny_config):
    cfg = load_config(tiny_config, ["train.lr_g=1e-3", "model.generator_kwargs.base=12", "log.git_tag=true"])
    assert cfg.data.size == 32
    assert cfg.train.lr_g == pytest.approx(1e-3)
    assert cfg.model.generator_kwargs == {"base": 12, "depth": 2}
    assert cfg.log.git_tag is True
    assert cfg.data.split == (0.6, 0.3, 0.1)


def test_defaults_without_file():
    assert load_config(None).to_dict() == Config().to_dict()


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.nope=1", "unknown key"),
        ("nosection.x=1", "unknown section"),
        ("train.steps=abc", "cannot parse"),
        ("train.lr_g", "expected section.key=value"),
        ("log.git_tag=maybe", "true/false"),
    ],
)
def test_bad_overrides_name_the_problem(tiny_config, override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(tiny_config, [override])


def test_bad_toml_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nsize = ")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(bad)


@pytest.mark.parametrize("name", ["cpu-tiny", "gpu-256", "gpu-512", "default-model", "default-model-average"])
def test_shipped_configs_load(name):
    from conftest import ROOT

    cfg = load_config(ROOT / "configs" / f"{name}.toml")
    assert cfg.data.size % 2 ** cfg.model.generator_kwargs["depth"] == 0


def test_precision_is_one_setting_and_old_flags_still_read(tmp_path):
    from colorize.config import from_dict
    from colorize.device import DeviceError, resolve_precision

    assert not hasattr(Config().train, "amp") and not hasattr(Config().train, "cpu_bf16")
    assert Config().train.precision == "auto"
    assert from_dict({"train": {"cpu_bf16": True}}).train.precision == "bf16"  # older configs and cards
    assert from_dict({"train": {"amp": False}}).train.precision == "fp32"
    assert from_dict({"train": {"amp": True, "cpu_bf16": False}}).train.precision == "auto"
    cpu = torch.device("cpu")  # what "auto" is depends on the CPU: tests/test_device_precision.py
    assert resolve_precision("auto", cpu).precision in ("fp32", "bf16")
    assert resolve_precision("bf16", cpu).precision == "bf16" and resolve_precision("fp32", cpu).precision == "fp32"
    with pytest.raises(DeviceError, match="train.precision = 'fp16'"):
        resolve_precision("fp16", cpu)


def test_rebalance_outside_its_range_is_refused_in_one_line():
    # rebalance 0 weighs a class the color prior never saw by 1/0: the first step's loss is NaN
    for bad in ("0", "-0.5", "1.5"):
        with pytest.raises(ConfigError, match=r"loss\.rebalance.*above 0 and at most 1"):
            load_config(None, [f"loss.rebalance={bad}"])
    assert load_config(None, ["loss.rebalance=1.0"]).loss.rebalance == 1.0
