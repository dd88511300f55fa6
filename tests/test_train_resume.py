"""Resume with changed settings: what may change takes effect (and the card says so), what may not
is refused with one line naming the keys; weights of another architecture give one line too."""

import json
import shutil

import pytest
from safetensors.torch import save_file
from train_helpers import cli, run_inprocess

from colorize.checkpoint import CheckpointError
from colorize.models import build_generator


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, color_dir):
    from conftest import TINY_TOML

    tmp = tmp_path_factory.mktemp("resume")
    (tmp / "tiny.toml").write_text(TINY_TOML)
    run_inprocess(tmp / "tiny.toml", color_dir, tmp / "run", ["train.steps=8"])
    return tmp


def copy_run(base_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(base_run / "run", out)
    return out


def test_a_new_learning_rate_takes_effect_is_logged_and_carded(base_run, color_dir, tmp_path):
    out = copy_run(base_run, tmp_path)
    summary = run_inprocess(base_run / "tiny.toml", color_dir, out, ["train.steps=12", "train.lr_g=1e-5"], resume=True)
    assert summary["steps"] == 12
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    lr = {r["step"]: r["lr/generator"] for r in rows if "lr/generator" in r}
    assert lr[8] == pytest.approx(2e-4) and all(lr[s] == pytest.approx(1e-5) for s in (9, 10, 11, 12))
    assert all(r["lr/discriminator"] == pytest.approx(2e-4) for r in rows if "lr/discriminator" in r)
    card = json.loads((out / "checkpoints" / "step-00000012" / "card.json").read_text())
    assert card["config"]["train"]["lr_g"] == 1e-5
    assert card["config_changes"] == [{"step": 8, "changes": {"train.lr_g": [2e-4, 1e-5], "train.steps": [8, 12]}}]


def test_changed_architecture_or_loss_is_refused_naming_the_keys(base_run, color_dir, tmp_path):
    out = copy_run(base_run, tmp_path)
    res = cli(["train", "--config", base_run / "tiny.toml", "--data", color_dir, "--out", out, "--resume",
               "--steps", 12, "--set", "model.generator_kwargs.base=16", "--set", "loss.gan=hinge"])
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "step-00000008: cannot resume with changed" in errors[0]
    assert "loss.gan ('lsgan' -> 'hinge')" in errors[0] and "model.generator_kwargs.base (8 -> 16)" in errors[0]
    assert not (out / "checkpoints" / "step-00000012").exists()


def test_weights_of_another_architecture_give_the_one_line_checkpoint_error(base_run, color_dir, tmp_path):
    out = copy_run(base_run, tmp_path)
    ckpt = out / "checkpoints" / "step-00000008"
    other = build_generator("unet", {"base": 16, "depth": 2})  # the card says base 8
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(ckpt / "generator.safetensors"))
    with pytest.raises(CheckpointError) as err:
        run_inprocess(base_run / "tiny.toml", color_dir, out, ["train.steps=12"], resume=True)
    message = str(err.value)
    assert "\n" not in message and str(ckpt) in message and "has shape" in message
