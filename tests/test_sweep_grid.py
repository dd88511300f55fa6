"""sweep: grid parsing, jitter inside the grid cells, edge warnings; and a real 2 x 2 sweep of tiny
training runs: table, sweep.json, TensorBoard hparams, reuse of finished points."""

import json
import math

import numpy as np
import pytest
import torch
from diagnose_helpers import write_color_pngs
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from colorize.cli import main
from colorize.training.sweep import edge_warnings, parse_grid, points

torch.set_num_threads(1)


def test_parse_grid():
    g = parse_grid("train.lr_g=1e-4,2e-4,4e-4  loss.lambda_mse=10,100 loss.gan=lsgan,hinge")
    assert g == {"train.lr_g": [1e-4, 2e-4, 4e-4], "loss.lambda_mse": [10, 100], "loss.gan": ["lsgan", "hinge"]}
    for bad in ["", "train.lr_g", "lr=1,2", "train.lr_g=1 train.lr_g=2"]:
        with pytest.raises(ValueError):
            parse_grid(bad)


def test_points_cover_the_grid_and_jitter_stays_in_its_cell():
    grid = {"train.lr_g": [1e-4, 1e-3, 1e-2], "data.batch_size": [4, 16]}
    plain = points(grid)
    assert len(plain) == 6 and plain[0] == {"_index": {"train.lr_g": 0, "data.batch_size": 0},
                                            "train.lr_g": 1e-4, "data.batch_size": 4}
    jittered = points(grid, jitter=True, seed=3, int_keys={"data.batch_size"})
    assert jittered == points(grid, jitter=True, seed=3, int_keys={"data.batch_size"})  # seeded
    assert jittered != points(grid, jitter=True, seed=4, int_keys={"data.batch_size"})
    for p in jittered:
        i = p["_index"]["train.lr_g"]
        centre = math.log10(grid["train.lr_g"][i])
        assert abs(math.log10(p["train.lr_g"]) - centre) <= 0.5 + 1e-9  # half a decade: within its cell
        assert isinstance(p["data.batch_size"], int) and 2 <= p["data.batch_size"] <= 32
    assert len({p["train.lr_g"] for p in jittered}) == 6  # off the grid lines


def test_edge_warnings():
    grid = {"train.lr_g": [1e-4, 1e-3, 1e-2], "loss.lambda_mse": [10.0, 100.0, 1000.0]}
    inside = {"train.lr_g": 1e-3, "loss.lambda_mse": 100.0, "_index": {"train.lr_g": 1, "loss.lambda_mse": 1}}
    assert edge_warnings(grid, inside) == []
    high = {"train.lr_g": 1e-2, "loss.lambda_mse": 100.0, "_index": {"train.lr_g": 2, "loss.lambda_mse": 1}}
    (w,) = edge_warnings(grid, high)
    assert "train.lr_g" in w and "highest" in w and "above" in w


TINY = """
[data]
size = 32
batch_size = 4
[model]
generator_kwargs = { base = 8, depth = 2 }
discriminator_kwargs = { base = 8, layers = 2 }
[train]
threads = 1
"""


def test_a_real_sweep(tmp_path, capsys):
    write_color_pngs(tmp_path / "images", n=12)
    (tmp_path / "tiny.toml").write_text(TINY)
    out = tmp_path / "sweep"
    argv = ["sweep", "--config", str(tmp_path / "tiny.toml"), "--data", str(tmp_path / "images"),
            "--grid", "train.lr_g=1e-4,1e-3 loss.lambda_mse=10,100", "--steps", "3", "--out", str(out),
            "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "ranked by val/color_score (lower is better)" in text and "train.lr_g" in text
    result = json.loads((out / "sweep.json").read_text())
    assert len(result["runs"]) == 4 and all(r["status"] == "ok" for r in result["runs"])
    values = [r["value"] for r in result["runs"]]
    assert all(np.isfinite(values))
    ranked = [result["runs"][i]["value"] for i in result["ranking"]]
    assert ranked == sorted(ranked) and result["best"]["value"] == min(values)
    assert len(result["warnings"]) == 2  # a 2-value grid: the best is always on an edge
    for r in result["runs"]:
        summary = json.loads((out / r["run"] / "summary.json").read_text())
        assert summary["steps"] == 3 and summary["best_value"] == pytest.approx(r["value"])
        config = json.loads((out / r["run"] / "config.json").read_text())
        assert config["train"]["lr_g"] == r["point"]["train.lr_g"] and config["train"]["steps"] == 3
    # TensorBoard's HPARAMS tab: one session per point with its hyper-parameters and metric
    ea = EventAccumulator(str(out / "tb" / result["runs"][0]["run"]))
    ea.Reload()
    start = plugin_data_pb2.HParamsPluginData.FromString(
        ea.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["train.lr_g"].number_value == pytest.approx(1e-4)
    assert ea.Scalars("hparam/val/color_score")[0].value == pytest.approx(result["runs"][0]["value"], rel=1e-5)
    # a second call reuses the finished points instead of training them again
    stamp = (out / result["runs"][0]["run"] / "summary.json").stat().st_mtime_ns
    assert main(argv) == 0
    assert (out / result["runs"][0]["run"] / "summary.json").stat().st_mtime_ns == stamp


def test_bad_grid_or_metric_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "tiny.toml").write_text(TINY)
    base = ["sweep", "--config", str(tmp_path / "tiny.toml"), "--data", str(tmp_path), "--steps", "1",
            "--out", str(tmp_path / "o")]
    assert main([*base, "--grid", "lr=1,2"]) == 2
    assert "expected SECTION.KEY=V1,V2" in capsys.readouterr().err
    assert main([*base, "--grid", "train.lr_g=1e-3", "--metric", "val/banana"]) == 2
    assert "unknown metric" in capsys.readouterr().err
