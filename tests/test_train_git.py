"""Checkpoints record and tag the code that made them: a real git repository in a temp folder."""

import json
import shutil
import subprocess

from train_helpers import ROOT, cli


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def make_code_copy(tmp_path, with_git: bool):
    repo = tmp_path / "code"
    shutil.copytree(ROOT / "colorize", repo / "colorize", ignore=shutil.ignore_patterns("__pycache__"))
    if with_git:
        git(tmp_path, "init", "-q", str(repo))
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "code")
    return repo


def train_from(repo, tiny_config, color_dir, out):
    # `python -m colorize` run from the copy imports the copy: its folder is the code under test.
    res = cli(["train", "--config", tiny_config, "--data", color_dir, "--out", out, "--steps", 4, "--git-tag"],
              cwd=repo)
    assert res.returncode == 0, res.stderr
    return json.loads((out / "checkpoints" / "step-00000004" / "card.json").read_text()), res


def test_clean_tree_is_tagged(tmp_path, tiny_config, color_dir):
    repo = make_code_copy(tmp_path, with_git=True)
    head = git(repo, "rev-parse", "HEAD")
    card, _ = train_from(repo, tiny_config, color_dir, tmp_path / "runA")
    assert card["git"]["commit"] == head and card["git"]["dirty"] is False
    assert card["git"]["tag"] == "ckpt/runA/4"
    assert card["command"].startswith("python -m colorize train --config")
    assert git(repo, "rev-parse", "ckpt/runA/4^{commit}") == head
    assert set(git(repo, "tag", "--list", "ckpt/runA/*").split()) == {"ckpt/runA/4"}
    assert not (tmp_path / "runA" / "checkpoints" / "step-00000004" / "code.diff").exists()


def test_dirty_tree_records_its_diff(tmp_path, tiny_config, color_dir):
    repo = make_code_copy(tmp_path, with_git=True)
    losses = repo / "colorize" / "training" / "losses.py"
    losses.write_text(losses.read_text() + "\n# an uncommitted experiment\n")
    card, _ = train_from(repo, tiny_config, color_dir, tmp_path / "runB")
    assert card["git"]["dirty"] is True
    assert card["git"]["diff_file"] == "code.diff"
    diff = (tmp_path / "runB" / "checkpoints" / "step-00000004" / "code.diff").read_text()
    assert "+# an uncommitted experiment" in diff
    # The README's recipe restores the exact code from a fresh clone, where the checkpoint tags are
    # absent (tags are not pushed with the branch): check out the card's commit, apply the diff.
    clone = tmp_path / "restore"
    git(tmp_path, "clone", "-q", "--no-tags", str(repo), str(clone))
    assert git(clone, "tag", "--list") == ""
    ckpt = tmp_path / "runB" / "checkpoints" / "step-00000004"
    recipe = readme_restore_recipe().replace("ckpt=checkpoints/default", f"ckpt={ckpt}", 1)
    assert f"ckpt={ckpt}" in recipe
    subprocess.run(["bash", "-euc", recipe], cwd=clone, check=True, capture_output=True, text=True)
    assert (clone / "colorize" / "training" / "losses.py").read_text() == losses.read_text()
    assert git(clone, "rev-parse", "HEAD") == card["git"]["commit"]


def readme_restore_recipe() -> str:
    """The shell lines of the README's restore recipe (the block after "Restore the code")."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("Restore the code"):]
    block = block[block.index("```bash") + len("```bash"):]
    return block[: block.index("```")].strip()


def test_card_paths_are_relative_to_the_repository(tmp_path, tiny_config, color_dir):
    repo = make_code_copy(tmp_path, with_git=True)
    shutil.copytree(color_dir, repo / "data" / "color")
    out = repo / "runs" / "rel"
    res = cli(["train", "--config", tiny_config, "--data", repo / "data" / "color", "--out", out, "--steps", 4],
              cwd=repo)  # imports the copy: its folder is the repository
    assert res.returncode == 0, res.stderr
    card = json.loads((out / "checkpoints" / "step-00000004" / "card.json").read_text())
    assert str(repo) not in card["command"], card["command"]
    assert "--data data/color --out runs/rel" in card["command"]
    assert str(tiny_config) in card["command"]  # outside the repository: kept as given
    assert card["data"]["data_dir"] == "data/color"


def test_outside_git_tagging_is_skipped_with_a_warning(tmp_path, tiny_config, color_dir):
    repo = make_code_copy(tmp_path, with_git=False)
    card, res = train_from(repo, tiny_config, color_dir, tmp_path / "runC")
    assert card["git"] is None
    assert "not a git checkout" in res.stderr
