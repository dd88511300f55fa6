"""`python -m colorize sweep`: short seeded training runs over a hyper-parameter grid, then a table
of the validation metric per point (also in TensorBoard's HPARAMS tab).

    --grid "train.lr_g=1e-4,2e-4,4e-4 loss.lambda_mse=10,100"

is the 3 x 2 grid of those config values. Grids are meant to be log-scale (each value a constant
factor from the next). With --jitter every point moves at random inside its grid cell, in log
space: random search finds structure that a regular grid steps over (Bergstra and Bengio, 2012),
while each point keeps its place in the table. A best point on the edge of the grid means the
optimum may lie outside it: the sweep warns and says which way to extend it."""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import logging
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from colorize.fileio import atomic_write_text

log = logging.getLogger("colorize.training.sweep")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="base TOML run configuration")
    p.add_argument("--data", required=True, help="folder of color images, as for train")
    p.add_argument("--grid", required=True,
                   help='space-separated SECTION.KEY=V1,V2,... e.g. "train.lr_g=1e-4,2e-4,4e-4 loss.lambda_mse=10,100"')
    p.add_argument("--steps", type=int, required=True, help="training steps per point")
    p.add_argument("--out", default="runs/sweep", help="sweep folder: one run folder per point, sweep.json, tb/")
    p.add_argument("--jitter", action="store_true", help="move each point at random inside its grid cell (log scale)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run (and of the jitter)")
    p.add_argument("--metric", help="validation metric to compare (default log.best_metric)")
    p.add_argument("--cache-dir", help="pre-resized image cache (default as for train)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one base config value; repeatable")


def parse_grid(text: str) -> dict[str, list[Any]]:
    """'a.b=1,2 c.d=x,y' -> {'a.b': [1, 2], 'c.d': ['x', 'y']} (numbers parsed, order kept)."""
    grid: dict[str, list[Any]] = {}
    for item in text.split():
        key, sep, values = item.partition("=")
        if not sep or "." not in key or not values:
            raise ValueError(f"--grid item {item!r}: expected SECTION.KEY=V1,V2,...")
        if key in grid:
            raise ValueError(f"--grid: {key} given twice")
        parsed = []
        for v in values.split(","):
            try:
                parsed.append(ast.literal_eval(v))
            except (ValueError, SyntaxError):
                parsed.append(v)
        grid[key] = parsed
    if not grid:
        raise ValueError("--grid is empty")
    return grid


def points(grid: dict[str, list[Any]], jitter: bool = False, seed: int = 0,
           int_keys: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every combination as {key: value, ...} plus '_index': {key: position in its list}. With
    jitter, a positive numeric value v_i moves by a log-uniform factor within half the distance (in
    log space) to its neighbours; values of `int_keys` (integer config fields) stay integers."""
    keys = list(grid)
    rng = np.random.default_rng(seed)
    out = []
    for combo in itertools.product(*(range(len(grid[k])) for k in keys)):
        point: dict[str, Any] = {"_index": dict(zip(keys, combo))}
        for key, i in zip(keys, combo):
            values = grid[key]
            v = values[i]
            numeric = all(isinstance(x, int | float) and not isinstance(x, bool) and x > 0 for x in values)
            if jitter and numeric and len(values) > 1:
                logs = np.log([float(x) for x in values])
                lo = (logs[i] - logs[i - 1]) / 2 if i > 0 else (logs[1] - logs[0]) / 2
                hi = (logs[i + 1] - logs[i]) / 2 if i + 1 < len(values) else (logs[-1] - logs[-2]) / 2
                moved = float(np.exp(logs[i] + rng.uniform(-abs(lo), abs(hi))))
                v = max(1, round(moved)) if key in int_keys else moved
            point[key] = v
        out.append(point)
    return out


def _is_int_field(cfg, key: str) -> bool:
    section, _, name = key.partition(".")
    value = getattr(getattr(cfg, section, None), name, None)
    return isinstance(value, int) and not isinstance(value, bool)


def run_name(i: int, point: dict[str, Any]) -> str:
    parts = [f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
             for k, v in point.items() if k != "_index"]
    return re.sub(r"[^A-Za-z0-9_.=,-]+", "_", f"{i:02d}-" + ",".join(parts))


def edge_warnings(grid: dict[str, list[Any]], best: dict[str, Any]) -> list[str]:
    """One warning per parameter whose best value sits at the end of its list."""
    warnings = []
    for key, values in grid.items():
        if len(values) < 2:
            continue
        i = best["_index"][key]
        if i in (0, len(values) - 1):
            side = "lowest" if i == 0 else "highest"
            way = "below" if i == 0 else "above"
            warnings.append(f"best {key}={best[key]:.3g} is the grid's {side} value: extend the grid {way} it"
                            if isinstance(best[key], float) else
                            f"best {key}={best[key]} is the grid's {side} value: extend the grid {way} it")
    return warnings


def format_table(grid: dict[str, list[Any]], rows: list[dict[str, Any]], metric: str) -> str:
    keys = list(grid)
    head = ["#", *keys, metric, "status"]
    lines = []
    for r in rows:
        vals = [f"{r['point'][k]:.4g}" if isinstance(r["point"][k], float) else str(r["point"][k]) for k in keys]
        value = r["value"]
        lines.append([str(r["index"]), *vals, "nan" if value is None or not math.isfinite(value) else f"{value:.4f}",
                      r["status"]])
    widths = [max(len(h), *(len(line[c]) for line in lines)) for c, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*x) for x in lines])


def sweep(config: str | Path, data: str | Path, grid: dict[str, list[Any]], steps: int, out: str | Path,
          jitter: bool = False, seed: int = 0, metric: str | None = None, overrides: list[str] | None = None,
          cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Train one short run per point (skipping points whose run already finished with the same
    config), then rank them by the validation metric."""
    from torch.utils.tensorboard import SummaryWriter

    from colorize.config import load_config
    from colorize.device import pick_device, precision_for_config
    from colorize.metrics import higher_is_better
    from colorize.training.gan_step import TrainingDiverged
    from colorize.training.train import train

    out = Path(out)
    base = load_config(config, overrides)
    metric = metric or base.log.best_metric
    higher = higher_is_better(metric)
    rows = []
    todo = points(grid, jitter, seed, {k for k in grid if _is_int_field(base, k)})
    writer = SummaryWriter(str(out / "tb"))
    try:
        for i, point in enumerate(todo):
            sets = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in point.items() if k != "_index"]
            cfg = load_config(config, [*(overrides or []), *sets, f"train.steps={steps}", f"train.seed={seed}"])
            cfg.log.val_every = min(cfg.log.val_every, steps)
            cfg.log.ckpt_every = steps  # only the final checkpoint (and best/)
            # config.json records the precision as resolved for the device: compare like with like.
            # Decided once per point (colorize.device, measured on its models if need be) and
            # handed to train, so the run's card says why.
            precision = precision_for_config(cfg, pick_device(cfg.train.device))
            resolved = cfg.to_dict()
            resolved["train"]["precision"] = precision.precision
            name = run_name(i, point)
            run_dir = out / name
            summary_path = run_dir / "summary.json"
            done = (summary_path.exists() and (run_dir / "config.json").exists()
                    and json.loads((run_dir / "config.json").read_text()) == json.loads(json.dumps(resolved)))
            status = "ok"
            if done:
                summary = json.loads(summary_path.read_text())
                log.info("point %d (%s): already done, reusing %s", i, name, summary_path)
            else:
                log.info("point %d/%d: %s", i + 1, len(todo), " ".join(sets))
                try:
                    summary = train(cfg, data, run_dir, cache_dir=cache_dir, precision=precision)
                except TrainingDiverged as exc:  # a diverged point is a result, not the end of the sweep
                    log.warning("point %d diverged: %s", i, exc)
                    summary, status = {"error": str(exc)}, "diverged"
            final = summary.get("last_val", {}).get(metric)
            best = summary.get("best_value") if summary.get("best_metric") == metric else None
            value = best if best is not None else final
            if status == "ok" and value is None:
                status = "no validation"
            rows.append({"index": i, "run": name, "point": {k: v for k, v in point.items() if k != "_index"},
                         "grid_index": point["_index"], "value": value, "final": final, "status": status})
            hparams = {k: v for k, v in point.items() if k != "_index"}
            writer.add_hparams(hparams, {f"hparam/{metric}": value if value is not None else float("nan")},
                               run_name=name)
    finally:
        writer.close()

    scored = [r for r in rows if r["value"] is not None and math.isfinite(r["value"])]
    ranked = sorted(scored, key=lambda r: r["value"], reverse=higher)
    warnings: list[str] = []
    best_row = ranked[0] if ranked else None
    if best_row is not None:
        warnings = edge_warnings(grid, {**best_row["point"], "_index": best_row["grid_index"]})
    result = {
        "metric": metric,
        "higher_is_better": higher,
        "steps": steps,
        "seed": seed,
        "jitter": jitter,
        "grid": grid,
        "runs": rows,
        "ranking": [r["index"] for r in ranked],
        "best": best_row,
        "warnings": warnings,
    }
    atomic_write_text(out / "sweep.json", json.dumps(result, indent=2, default=str) + "\n")
    return result


def main(args: argparse.Namespace) -> int:
    from colorize.config import ConfigError
    from colorize.data import DataError

    try:
        grid = parse_grid(args.grid)
        result = sweep(args.config, args.data, grid, args.steps, args.out, args.jitter, args.seed, args.metric,
                       args.overrides, args.cache_dir)
    except (ValueError, ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = sorted(result["runs"], key=lambda r: result["ranking"].index(r["index"])
                  if r["index"] in result["ranking"] else len(result["runs"]))
    direction = "higher" if result["higher_is_better"] else "lower"
    print(f"\n{len(rows)} points, {result['steps']} steps each, ranked by {result['metric']} ({direction} is better)")
    print(format_table(grid, rows, result["metric"]))
    for w in result["warnings"]:
        print(f"WARN: {w}")
    if result["best"] is not None:
        print(f"best: {result['best']['run']}  ({result['metric']} {result['best']['value']:.4f})")
    print(f"sweep: {Path(args.out) / 'sweep.json'}   TensorBoard: tensorboard --logdir {Path(args.out) / 'tb'}")
    return 0 if result["best"] is not None else 1
