"""Two processes on the CPU (gloo): one run, rank 0 writes, rank 0 decides, every rank stops together."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from train_helpers import ROOT


def torchrun(args, out, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "colorize", "train", *map(str, args), "--out", str(out), "--set", "train.device=cpu"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def test_torchrun_two_processes_on_cpu(tiny_config, color_dir, tmp_path):
    out = tmp_path / "ddp"
    res = torchrun(["--config", tiny_config, "--data", color_dir, "--steps", "4"], out)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if "loss/g_mse" in r]
    assert train_steps == [1, 2, 3, 4]  # logged once, by rank 0
    card = json.loads((out / "checkpoints" / "step-00000004" / "card.json").read_text())
    assert card["step"] == 4 and card["world_size"] == 2
    # Throughput counts both ranks' batches.
    assert rows[0]["speed/images_per_s"] > 0


def test_early_stopping_under_ddp_ends_every_rank_cleanly(tiny_config, color_dir, tmp_path):
    """A generator that cannot change (lr 0, no batch norm) scores the same at every validation:
    with patience 1 the second round (step 8) stops the run, on both ranks, and nothing hangs."""
    out = tmp_path / "stop"
    res = torchrun(["--config", tiny_config, "--data", color_dir, "--steps", "40",
                    "--set", "train.lr_g=0", "--set", "model.generator_kwargs.norm='none'",
                    "--set", "log.early_stop_patience=1"], out, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_early"] is True and summary["steps"] == 8 and summary["best_step"] == 4
    assert res.stderr.count("early stop at step 8") == 2, res.stderr[-3000:]  # each rank left at step 8
    assert (out / "checkpoints" / "step-00000008" / "card.json").exists()


DECIDE = textwrap.dedent("""
    import json, os, sys
    import torch.distributed as dist
    from colorize.training import distributed
    from colorize.training.train import Progress, decide

    info = distributed.setup("cpu")
    progress = Progress()
    # Each rank "measured" something different, as ranks with their own batch-norm statistics do:
    # rank 0 sees a steady improvement, rank 1 sees none after its first round.
    mine = {0: [3.0, 2.0, 1.0], 1: [1.0, 2.0, 3.0]}[info.rank]
    decisions = []
    for step, v in zip((4, 8, 12), mine):
        progress.step = step
        val = {"val/color_score": v}
        decisions.append(decide(progress, val if info.is_main else None, "val/color_score", 1, info))
    print(json.dumps({"rank": info.rank, "decisions": decisions, "best_step": progress.best_step}))
    distributed.teardown(info)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rank_zero_decides_best_and_stop_for_every_rank():
    """A rank that decided on its own figures would stop alone (rank 1 here: no improvement after
    its first round, patience 1) and leave rank 0 waiting in the next all-reduce."""
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, "-c", DECIDE], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2",
                                                  MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1"))
             for r in range(2)]
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr[-2000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert results[0]["decisions"] == results[1]["decisions"] == [[True, False], [True, False], [True, False]]
    assert results[0]["best_step"] == results[1]["best_step"] == 12


def test_ddp_is_applied_before_compile(tmp_path):
    """PyTorch documents DDP(model) then torch.compile, not the other way round."""
    import torch.distributed as dist

    from colorize.models import unwrap
    from colorize.training.distributed import DistInfo
    from colorize.training.train import wrap_models

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        G, D = nn.Conv2d(1, 3, 3), nn.Conv2d(4, 1, 3)
        G_run, D_run = wrap_models(G, D, DistInfo(0, 2, 0), torch.device("cpu"), compile_=True)
        for run, plain in ((G_run, G), (D_run, D)):
            assert isinstance(run, torch._dynamo.eval_frame.OptimizedModule)
            assert isinstance(run._orig_mod, DDP) and run._orig_mod.module is plain
            assert unwrap(run) is plain
    finally:
        dist.destroy_process_group()
