"""A check's result: a status (PASS / WARN / FAIL), one summary line with the measured numbers,
the problems found, the figures as JSON and the pictures as PNG files."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torchvision.utils import save_image

from colorize.fileio import atomic_path, atomic_write_bytes, atomic_write_text

ORDER = {"PASS": 0, "WARN": 1, "FAIL": 2}


@dataclass
class CheckResult:
    check: str
    summary: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)  # (WARN | FAIL, message)
    figures: dict[str, Any] = field(default_factory=dict)
    images: dict[str, Image.Image | torch.Tensor] = field(default_factory=dict)  # file name -> picture
    files: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.problems.append(("WARN", message))

    def fail(self, message: str) -> None:
        self.problems.append(("FAIL", message))

    @property
    def status(self) -> str:
        return max((s for s, _ in self.problems), key=ORDER.__getitem__, default="PASS")

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def verdict(self) -> str:
        return f"{self.status} {self.check}: {self.summary}"

    def messages(self, severity: str | None = None) -> list[str]:
        return [m for s, m in self.problems if severity in (None, s)]

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "summary": self.summary,
            "problems": [{"severity": s, "message": m} for s, m in self.problems],
            "figures": self.figures,
            "files": self.files,
        }


def _plain(value: Any) -> Any:
    """JSON without NaN/inf tokens (invalid JSON): non-finite floats become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _plain(value.tolist())
    return value


def save_png(picture: Image.Image | torch.Tensor, path: Path) -> None:
    """A PIL image, or a [C, H, W] / [N, C, H, W] tensor in [0, 1] (a batch becomes a grid)."""
    if isinstance(picture, torch.Tensor):
        with atomic_path(path) as tmp:
            save_image(picture.detach().float().cpu().clamp(0, 1), tmp, format="PNG")
    else:
        buf = io.BytesIO()
        picture.save(buf, format="PNG")
        atomic_write_bytes(path, buf.getvalue())


def save_result(result: CheckResult, out_dir: str | Path) -> Path:
    """Write the pictures and result.json into out_dir; returns the JSON path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, picture in result.images.items():
        save_png(picture, out_dir / name)
        if name not in result.files:
            result.files.append(name)
    path = out_dir / "result.json"
    atomic_write_text(path, json.dumps(_plain(result.to_json()), indent=2) + "\n")
    return path


def print_result(result: CheckResult) -> None:
    print(result.verdict(), flush=True)
    for severity, message in result.problems:
        print(f"  {severity}: {message}", flush=True)


def summary_table(results: list[CheckResult]) -> str:
    width = max((len(r.check) for r in results), default=5)
    lines = [f"{'check':<{width}}  status  summary", f"{'-' * width}  ------  -------"]
    lines += [f"{r.check:<{width}}  {r.status:<6}  {r.summary}" for r in results]
    return "\n".join(lines)
