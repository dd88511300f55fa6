"""One config object for prepare, train and eval: dataclasses loaded from TOML, overridable with
`--set section.key=value`. Every run writes its resolved config beside its checkpoints."""

from __future__ import annotations

import ast
import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DataConfig:
    size: int = 128  # training crop side, pixels
    cache_side: int = 0  # short side of the pre-resized cache; 0 = derived from size (size * 1.25)
    split: tuple[float, float, float] = (0.7, 0.2, 0.1)  # train / val / test, by content hash
    batch_size: int = 8
    workers: int = 0
    # Probability of each input kind synthesized from a color image; normalized at use.
    p_gray: float = 0.3
    p_xdog: float = 0.4
    p_edges: float = 0.3
    scale_min: float = 0.8  # random-resized-crop scale range (fraction of the cached image area)
    flip: bool = True
    augment: bool = True
    # Color hints (colorize.hints): the share of training samples given hints made from the truth
    # (0 = a hint-free model's 1-channel input), and among those, the share with turned hues.
    hints: float = 0.0
    hint_recolor: float = 0.0


@dataclass
class ModelConfig:
    generator: str = "unet"
    generator_kwargs: dict[str, Any] = field(default_factory=lambda: {"base": 32, "depth": 4})
    discriminator: str = "patchgan"
    # Spectral norm, no batch norm: a D that judges each sample on its own (see models/patchgan.py).
    discriminator_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"base": 32, "layers": 3, "norm": "none", "spectral_norm": True})


@dataclass
class LossConfig:
    gan: str = "lsgan"  # vanilla | lsgan | hinge
    lambda_gan: float = 1.0
    lambda_mse: float = 100.0
    lambda_l1: float = 0.0
    # What the generator is trained to reconstruct. "rgb": MSE (+ L1) on RGB. "chroma_classes":
    # rebalanced cross-entropy over quantized (Cb, Cr) classes + lambda_mse x MSE on chroma +
    # lambda_luma x MSE on coarse brightness (a "chroma-unet" generator; see colorize/chroma.py).
    objective: str = "rgb"
    lambda_ce: float = 1.0
    lambda_luma: float = 1.0
    rebalance: float = 0.5  # class weights 1 / ((1 - r) prior + r / Q); 1 = no rebalancing


@dataclass
class TrainConfig:
    steps: int = 1000
    seed: int = 0
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0
    cosine: bool = False
    grad_clip: float = 0.0  # 0 = off
    # Exponential moving average of the generator's weights (and batch-norm statistics), the
    # weights that validate, ship and checkpoint as generator.safetensors; 0 = off. 0.999 averages
    # over about the last thousand steps, smoothing the step-to-step swings of a GAN's colors.
    ema: float = 0.0
    # auto | fp32 | bf16 (bf16 autocast), decided for this machine by colorize.device.resolve_precision:
    # auto = bf16 on a GPU with bf16 and on a CPU that runs bf16 natively (avx512_bf16 / AMX), fp32
    # where bf16 would be emulated (16x slower for the default model: bench/RESULTS.md). fp32 / bf16
    # force it. Cards record the resolved value and why.
    precision: str = "auto"
    channels_last: bool = True  # memory format for convolutions (CUDA and CPU)
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads; 0 = torch's default


@dataclass
class LogConfig:
    log_every: int = 10
    val_every: int = 100
    val_images: int = 16  # validation images colored at the working size per round (see validation.py)
    image_every: int = 100
    hist_every: int = 100
    ckpt_every: int = 100
    keep_last: int = 2
    best_metric: str = "val/color_score"  # lower is better; psnr/ssim higher; see colorize/training/validation.py
    early_stop_patience: int = 0  # validation rounds without improvement; 0 = off
    git_tag: bool = False


@dataclass
class InferConfig:
    """The Colorizer's defaults for this model, written to the card's "infer" section. 0 / "" =
    the Colorizer's own default."""

    size: int = 0  # working long side, pixels
    shading: float = 1.0
    background: str = "keep"  # keep | color


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    infer: InferConfig = field(default_factory=InferConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        from colorize.fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


class ConfigError(ValueError):
    pass


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Give a TOML or command-line value the type of the field's default."""
    if isinstance(current, bool):
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return bool(value)
    if isinstance(value, str) and not isinstance(current, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(f"{where}: cannot parse {value!r}") from exc
    if isinstance(current, float) and isinstance(value, int):
        return float(value)
    if isinstance(current, tuple):
        return tuple(value)
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if current is not None and not isinstance(value, type(current)):
        raise ConfigError(f"{where}: expected {type(current).__name__}, got {value!r}")
    return value


def _apply(cfg: Config, section: str, key: str, value: Any, origin: str) -> None:
    where = f"{origin}: {section}.{key}"
    if not hasattr(cfg, section):
        raise ConfigError(f"{origin}: unknown section [{section}]")
    sub = getattr(cfg, section)
    parts = key.split(".", 1)
    if not hasattr(sub, parts[0]):
        raise ConfigError(f"{where}: unknown key")
    current = getattr(sub, parts[0])
    if len(parts) == 2:  # e.g. model.generator_kwargs.base=48
        if not isinstance(current, dict):
            raise ConfigError(f"{where}: {parts[0]} is not a table")
        new = dict(current)
        new[parts[1]] = ast.literal_eval(value) if isinstance(value, str) else value
        setattr(sub, parts[0], new)
    else:
        setattr(sub, parts[0], _coerce(value, current, where))
        check_range(section, parts[0], getattr(sub, parts[0]), where)


# Values outside these ranges fail later and far from the cause, e.g. rebalance 0 weighs a class
# the prior never saw by 1/0 and the first step's loss is NaN.
RANGES = {("loss", "rebalance"): (0.0, 1.0, "above 0 and at most 1 (1: no rebalancing)")}


def check_range(section: str, key: str, value: Any, where: str) -> None:
    if (section, key) in RANGES:
        lo, hi, text = RANGES[section, key]
        if not lo < value <= hi:
            raise ConfigError(f"{where}: {value!r} must be {text}")


# Keys of older configs and cards, read into today's: (section, key) -> (new key, value -> new value).
LEGACY = {
    ("train", "cpu_bf16"): ("precision", lambda v: "bf16" if v in (True, "true", "True", 1) else None),
    ("train", "amp"): ("precision", lambda v: None if v in (True, "true", "True", 1) else "fp32"),
    ("log", "val_batches"): ("val_images", lambda v: None),  # validation now colors whole pictures
}


def _legacy(section: str, table: dict[str, Any]) -> dict[str, Any]:
    """`train.amp = false` -> precision fp32; `train.cpu_bf16 = true` -> precision bf16."""
    out = {k: v for k, v in table.items() if (section, k) not in LEGACY}
    for key, value in table.items():
        if (section, key) in LEGACY:
            new_key, convert = LEGACY[section, key]
            if convert(value) is not None and new_key not in table:
                out[new_key] = convert(value)
    return out


def from_dict(raw: dict[str, Any], origin: str = "config") -> Config:
    cfg = Config()
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: top-level key {section!r} must be a table")
        for key, value in _legacy(section, table).items():
            _apply(cfg, section, key, value, origin)
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the TOML file, then `section.key=value` overrides, in that order."""
    if path is None:
        cfg = Config()
    else:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: no such config file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        cfg = from_dict(raw, str(path))
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        dotted, value = item.split("=", 1)
        section, key = dotted.split(".", 1)
        _apply(cfg, section, key, value, "--set")
    return cfg
