"""What a run leaves behind: checkpoints with cards, metrics, TensorBoard events; and how it fails."""

import json
import os
import statistics

import pytest
import torch
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from train_helpers import cli, run_inprocess

from colorize.checkpoint import CheckpointError, load_generator, save_checkpoint
from colorize.fileio import atomic_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, color_dir):
    from conftest import TINY_TOML

    tmp = tmp_path_factory.mktemp("run")
    (tmp / "tiny.toml").write_text(TINY_TOML)
    out = tmp / "run"
    summary = run_inprocess(tmp / "tiny.toml", color_dir, out)
    assert summary["steps"] == 12
    return out


def test_checkpoints_cards_and_pruning(run_dir):
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["best", "step-00000008", "step-00000012"]  # keep_last = 2, plus the best
    card = json.loads((run_dir / "checkpoints" / "step-00000012" / "card.json").read_text())
    assert card["step"] == 12
    assert card["generator"] == {"name": "unet", "kwargs": {"base": 8, "depth": 2}}
    assert card["config"]["data"]["size"] == 32
    assert card["data"]["counts"]["train"] > 0 and len(card["data"]["files"]) == 12
    assert "val/psnr" in card["metrics"]
    assert card["torch"] == torch.__version__
    assert card["command"].startswith(("python -m pytest", "pytest"))  # the command that ran the training
    state = torch.load(run_dir / "checkpoints" / "step-00000012" / "train_state.pt", weights_only=True)
    assert {"opt_g", "opt_d", "sched_g", "rng", "progress"} <= set(state)
    model, _ = load_generator(run_dir / "checkpoints" / "best")
    assert not model.training
    resolved = json.loads((run_dir / "config.json").read_text())
    assert resolved["train"]["steps"] == 12
    splits = json.loads((run_dir / "splits.json").read_text())
    assert sum(splits["counts"][k] for k in ("train", "val", "test")) == 12


def test_metrics_jsonl_has_every_step(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "loss/g_mse" in r]
    assert steps == list(range(1, 13))
    assert all({"loss/d", "loss/g_adv", "loss/g_total", "lr/generator"} <= set(r) for r in rows if "loss/g_mse" in r)
    assert [r["step"] for r in rows if "val/psnr" in r] == [4, 8, 12]


def test_a_cpu_run_logs_the_share_of_cpu_time_it_got(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    shares = [r["speed/cpu_share"] for r in rows if "speed/cpu_share" in r]
    # threads outside torch's pool (data, event writer) can take a window over 1; a tiny run's
    # millisecond windows are noisy, so the bound by the machine's cores is on the median
    assert len(shares) == 12 and all(s > 0 for s in shares)
    assert statistics.median(shares) <= os.cpu_count() + 0.1


def test_tensorboard_tags(run_dir):
    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    scalars, hists = set(tags["scalars"]), set(tags["histograms"])
    for tag in ["loss/g_mse", "loss/d", "loss/g_adv", "lr/generator", "grad_norm/generator",
                "grad_norm/discriminator", "speed/images_per_s", "val/psnr", "val/color_score"]:
        assert tag in scalars, tag
    assert "samples/input|output|target" in tags["images"]
    assert "features/filters" in tags["images"]
    assert any(t.startswith("features/features/") for t in tags["images"])
    for kind in ["weights", "gradients", "preactivations"]:
        assert any(t.startswith(f"generator/{kind}/") for t in hists), kind
    assert any(t.startswith("generator/dead_relu_fraction/") for t in scalars)
    assert any(t.startswith("generator/update_ratio/") for t in scalars)
    ratio = [t for t in scalars if t.startswith("generator/update_ratio/")][0]
    assert 0 < acc.Scalars(ratio)[-1].value < 1
    assert [e.step for e in acc.Scalars("loss/g_mse")] == list(range(1, 13))


def test_checkpoints_list_command(run_dir):
    res = cli(["checkpoints", "list", run_dir])
    assert res.returncode == 0, res.stderr
    assert "step-00000012" in res.stdout and "val/psnr=" in res.stdout


def test_card_mismatch_is_a_clear_error(run_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir / "checkpoints" / "best", bad)
    card = json.loads((bad / "card.json").read_text())
    card["generator"]["kwargs"]["base"] = 16
    (bad / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match=r"bad: generator weight .* has shape"):
        load_generator(bad)
    card["generator"]["kwargs"]["depth"] = 3
    card["generator"]["kwargs"]["base"] = 8
    (bad / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not match the card's architecture"):
        load_generator(bad)
    card["generator"]["name"] = "transformer"
    (bad / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="unknown generator architecture 'transformer'"):
        load_generator(bad)


def test_checkpoint_write_is_atomic(run_dir, tmp_path):
    import shutil

    target = tmp_path / "ckpt"
    shutil.copytree(run_dir / "checkpoints" / "best", target)
    before = (target / "generator.safetensors").read_bytes()

    def half_then_crash(tmp):
        (tmp / "generator.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_dir(target, half_then_crash)
    assert (target / "generator.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary folder left
    model, card = load_generator(target)
    save_checkpoint(tmp_path / "new", card, model)
    assert load_file(str(tmp_path / "new" / "generator.safetensors")).keys() == load_file(
        str(target / "generator.safetensors")).keys()


def test_non_finite_loss_stops_and_keeps_last_checkpoint(run_dir, tmp_path, tiny_config, color_dir):
    import shutil

    out = tmp_path / "diverge"
    shutil.copytree(run_dir, out)
    last = out / "checkpoints" / "step-00000012"
    weights = (last / "generator.safetensors").read_bytes()
    # 1e39 overflows float32: the loss becomes inf at the first resumed step.
    res = cli(["train", "--config", tiny_config, "--data", color_dir, "--out", out, "--resume",
               "--steps", 20, "--set", "loss.lambda_mse=1e39"])
    assert res.returncode == 1
    error = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "step 13: loss g_total is inf" in error[0], error
    assert (last / "generator.safetensors").read_bytes() == weights
    assert not (out / "checkpoints" / "step-00000016").exists()


def test_fine_tune_with_frozen_encoder(run_dir, tmp_path, tiny_config, color_dir):
    src = run_dir / "checkpoints" / "best"
    out = tmp_path / "ft"
    run_inprocess(tiny_config, color_dir, out, ["train.steps=3", "log.ckpt_every=3"],
                  init_from=src, freeze=("encoder",))
    before = load_file(str(src / "generator.safetensors"))
    after = load_file(str(out / "checkpoints" / "step-00000003" / "generator.safetensors"))
    encoder = [k for k in before if k.startswith(("stem.", "encoder."))]
    decoder = [k for k in before if k.startswith(("decoder.", "head.")) and before[k].dtype.is_floating_point]
    assert encoder and decoder
    assert all(torch.equal(before[k], after[k]) for k in encoder)  # weights and BN statistics
    assert any(not torch.equal(before[k], after[k]) for k in decoder)
    card = json.loads((out / "checkpoints" / "step-00000003" / "card.json").read_text())
    assert card["init_from"] == str(src) and card["frozen"] == ["encoder"]
    # the parent's provenance travels in the child's card: its files may be replaced later
    parent = json.loads((src / "card.json").read_text())
    assert card["parent"]["step"] == parent["step"] and card["parent"]["git"] == parent["git"]
    assert card["parent"]["data"]["files"]["count"] == len(parent["data"]["files"]) > 0


def test_export_ships_weights_and_card_only(run_dir, tmp_path):
    dest = tmp_path / "shipped"
    res = cli(["checkpoints", "export", run_dir / "checkpoints" / "step-00000012", dest])
    assert res.returncode == 0, res.stdout + res.stderr
    shipped = {p.name for p in dest.iterdir()}
    # code.diff only when the tests run on a dirty work tree; never the optimizer state.
    assert shipped - {"code.diff"} == {"card.json", "discriminator.safetensors", "generator.safetensors"}
    model, card = load_generator(dest)
    assert card["step"] == 12
    bad = cli(["checkpoints", "export", tmp_path, tmp_path / "nothing"])
    assert bad.returncode == 1 and "not a checkpoint" in bad.stdout
    assert not (tmp_path / "nothing").exists()


def test_precision_bf16_trains_and_is_recorded_as_resolved(tiny_config, color_dir, tmp_path):
    summary = run_inprocess(tiny_config, color_dir, tmp_path / "bf16", ["train.steps=4", "train.precision=bf16"])
    assert summary["steps"] == 4 and summary["precision"] == "bf16"
    rows = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["loss/g_mse"] > 0 for r in rows if "loss/g_mse" in r)
    card = json.loads((tmp_path / "bf16" / "checkpoints" / "step-00000004" / "card.json").read_text())
    assert card["precision"] == "bf16" and card["config"]["train"]["precision"] == "bf16"


def test_precision_auto_is_recorded_as_what_ran(run_dir):
    """"auto" runs what colorize.device decides for this machine; the card says what ran (never
    "auto" or a CUDA-only flag) and why, with the CPU's facts."""
    from colorize.device import resolve_precision

    expected = resolve_precision("auto", torch.device("cpu"))
    card = json.loads((run_dir / "checkpoints" / "step-00000012" / "card.json").read_text())
    ran = expected.precision
    assert card["precision"] == ran and card["config"]["train"]["precision"] == ran
    assert "amp" not in card["config"]["train"] and "cpu_bf16" not in card["config"]["train"]
    assert json.loads((run_dir / "config.json").read_text())["train"]["precision"] == ran
    choice = card["precision_choice"]
    assert choice["requested"] == "auto" and choice["precision"] == ran and choice["reason"] == expected.reason
    assert choice["facts"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and choice["facts"]["cpu_model"]
    assert json.loads((run_dir / "summary.json").read_text())["precision_reason"] == expected.reason


def test_the_log_says_which_precision_ran_and_why_first(tiny_config, color_dir, tmp_path, monkeypatch, caplog):
    """A CPU without native bf16 (facts given): "auto" trains fp32, and a forced bf16 trains
    bf16 with a warning; the log's first line says so."""
    import logging

    from colorize import device
    from colorize.device import CpuFacts

    monkeypatch.setattr(device, "cpu_facts", lambda: CpuFacts("AVX2", "x86_64", (), "", "Intel Core i7"))
    with caplog.at_level(logging.INFO, logger="colorize.training.train"):
        summary = run_inprocess(tiny_config, color_dir, tmp_path / "auto", ["train.steps=1"])
    assert summary["precision"] == "fp32" and "AVX2" in summary["precision_reason"]
    assert caplog.messages[0].startswith("precision fp32: auto: no native bf16 (torch capability AVX2")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="colorize.training.train"):
        summary = run_inprocess(tiny_config, color_dir, tmp_path / "bf16", ["train.steps=1", "train.precision=bf16"])
    assert summary["precision"] == "bf16"
    assert caplog.messages[0].startswith("precision bf16: forced by precision = bf16")
    assert any(r.levelname == "WARNING" and "runs fp32 faster" in r.message for r in caplog.records)


def test_freeze_without_init_from_is_refused(tiny_config, color_dir, tmp_path):
    res = cli(["train", "--config", tiny_config, "--data", color_dir, "--out", tmp_path / "f", "--freeze", "encoder"])
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("error: --freeze encoder needs --init-from")
    assert not (tmp_path / "f").exists()
    with pytest.raises(ValueError, match="needs --init-from"):
        run_inprocess(tiny_config, color_dir, tmp_path / "g", freeze=("encoder",))
