"""`diagnose all`: every check in order (data, init, precision, zero-lr, gradients, overfit, lr-range,
features), each into its own sub-folder, then one summary table (printed and in summary.json)."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

from colorize.diagnose.report import CheckResult, print_result, save_result, summary_table
from colorize.diagnose.setup import Setup
from colorize.fileio import atomic_write_text


def run_all(setup: Setup, out_dir: str | Path, opts: dict[str, dict] | None = None) -> list[CheckResult]:
    from colorize.diagnose import CHECKS

    out_dir = Path(out_dir)
    results = []
    for check, module in CHECKS.items():
        t0 = time.perf_counter()
        try:
            result = importlib.import_module(module).run(setup, **(opts or {}).get(check, {}))
        except Exception as exc:  # one broken check must not hide the others' verdicts
            result = CheckResult(check, summary=f"crashed: {type(exc).__name__}: {exc}")
            result.fail(f"the check itself crashed: {type(exc).__name__}: {exc}")
        result.figures["seconds"] = round(time.perf_counter() - t0, 2)
        save_result(result, out_dir / check)
        print_result(result)
        results.append(result)
    table = summary_table(results)
    print("\n" + table, flush=True)
    atomic_write_text(out_dir / "summary.json", json.dumps(
        [{"check": r.check, "status": r.status, "summary": r.summary, "problems": r.messages()} for r in results],
        indent=2) + "\n")
    return results
