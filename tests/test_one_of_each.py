"""One of each: one GAN step, one device picker, one luma definition, one near-duplicate definition,
no dead sampler, and no import cycle between training and the diagnostics. Each test reads the code
as it is."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "colorize"


def sources(*roots: Path):
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            yield path, path.read_text()


def defined(name: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p, text in sources(PACKAGE, ROOT / "bench")
            for node in ast.walk(ast.parse(text)) if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name]


def test_one_device_picker():
    assert defined("pick_device") == ["colorize/device.py"]


def test_one_gan_step():
    """The discriminator loss is computed in colorize/training/gan_step.py only: nobody else runs a GAN step."""
    users = [str(p.relative_to(ROOT)) for p, text in sources(PACKAGE, ROOT / "bench") if "d_loss(" in text]
    assert sorted(users) == ["colorize/training/gan_step.py", "colorize/training/losses.py"]
    assert defined("GanStep") == ["colorize/training/gan_step.py"]


def test_one_luma_definition():
    literal = [str(p.relative_to(ROOT)) for p, text in sources(PACKAGE) if "0.587" in text]
    assert literal == ["colorize/chroma.py"]


def test_one_near_duplicate_definition():
    """The cleaner and `diagnose data` hash and compare images in colorize/near_duplicates.py only."""
    users = [str(p.relative_to(ROOT)) for p, text in sources(PACKAGE, ROOT / "scraper", ROOT / "bench")
             if any(word in text for word in ("imagehash", "bit_count", "bitwise_count"))]
    assert users == ["colorize/near_duplicates.py"]


def test_no_dead_sampler():
    assert defined("EpochSampler") == []


def test_training_does_not_import_the_diagnostics():
    code = "import sys, colorize.training.train; print(sorted(m for m in sys.modules if m.startswith('colorize.diagnose')))"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
