"""The scraper against the local Safebooru look-alike (tests/fakebooru.py): the API request rate
it achieves next to --rate, and how long a re-run (resume) takes over a manifest of 100,000
already-downloaded posts. One JSON line per measurement.

    .venv/bin/python bench/scrape.py                 # rates 1, 5, 20 req/s; 100,000-post resume
    .venv/bin/python bench/scrape.py --quick         # tiny smoke setting (seconds)
    .venv/bin/python bench/scrape.py --posts 20000 --rates 2 --repeats 5

Lines:
- scrape/api_rate: `fetch --list-only` at each --rate; the rate is measured at the server from the
  arrival times of the requests, (n - 1) / (last - first); max_rate_from_min_gap is 1 / the
  closest two requests came. Target: within 10% of --rate and never above it.
- scrape/list: the first listing of the resume set at --rate 0 (setup, not a target): how fast
  pages of 1000 posts are fetched, parsed and recorded.
- scrape/resume: wall time of `python -m scraper fetch` (the whole process: start-up, lock,
  .part sweep, on-disk check of every verified file, manifest queries) re-run over N posts that
  are all downloaded, with the same command that built them. Target: under 10 s for 100,000.
  requests_seen must be 0: the manifest knows the listing reached the end.
- scrape/relist: a re-run with --relist --limit 0 --rate 0, looking for posts newer than the
  N known ones: it reads the first page, sees only known posts and stops (requests_seen: 1).
Every child's peak resident memory comes from wait4().
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from fakebooru import FakeBooru, FakePost  # noqa: E402

TAGS = "1girl solo"


def run_child(cmd: list[str]) -> tuple[float, int, float, str]:
    """(wall seconds, exit status, peak RSS in MiB, stdout) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, usage.ru_maxrss / 1024, out


def fetch_cmd(booru: FakeBooru, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scraper", "fetch", "--tags", TAGS, "--out", str(out),
            "--base-url", booru.url, *extra]


def summary(values: list[float], digits: int = 3) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def bench_rate(rate: float, requests: int, repeats: int, tmp: Path, emit) -> None:
    page = 5
    booru = FakeBooru([FakePost(i, f"post {i}".encode()) for i in range(1, page * requests + 1)]).start()
    try:
        achieved, fastest, rss = [], [], []
        for r in range(repeats):
            seen = len(booru.hits("api"))
            wall, code, peak, out = run_child(fetch_cmd(
                booru, tmp / f"rate{rate}-{r}", "--list-only", "--rate", str(rate), "--page-size", str(page),
                "--limit", str(page * requests)))
            if code != 0:
                raise SystemExit(f"fetch failed ({code}):\n{out}")
            times = [h.t for h in booru.hits("api")[seen:]]
            achieved.append((len(times) - 1) / (times[-1] - times[0]))
            fastest.append(1.0 / min(b - a for a, b in zip(times, times[1:])))
            rss.append(peak)
    finally:
        booru.stop()
    worst_low = min(achieved) / rate
    emit("scrape/api_rate", config={"rate": rate, "requests_per_run": requests, "page_size": page},
         unit="requests/s", **summary(achieved), ratio_to_rate=round(statistics.median(achieved) / rate, 4),
         max_rate_from_min_gap=round(max(fastest), 3), repeats=repeats, peak_rss_mb=round(max(rss), 1),
         target="0.9*rate <= achieved <= rate",
         meets_target=bool(worst_low >= 0.9 and max(achieved) <= rate))


def build_done_dataset(booru: FakeBooru, posts: list[FakePost], out: Path, emit) -> None:
    """What a finished `fetch` leaves: list everything for real, then put the files in place and
    mark them downloaded (downloading 100,000 files over HTTP would only slow the setup)."""
    wall, code, peak, log = run_child(fetch_cmd(booru, out, "--list-only", "--rate", "0", "--page-size", "1000",
                                                "--limit", str(len(posts))))
    if code != 0:
        raise SystemExit(f"listing failed ({code}):\n{log}")
    emit("scrape/list", config={"posts": len(posts), "page_size": 1000, "rate": 0}, unit="s",
         **summary([wall]), posts_per_s=round(len(posts) / wall, 1), repeats=1, peak_rss_mb=round(peak, 1))
    images = out / "images"
    now = time.time()
    files = []
    for p in posts:
        name = f"{p.id}_{p.md5}.{p.ext}"
        (images / name).write_bytes(p.data)
        files.append((p.md5, p.id, f"images/{name}", len(p.data), now))
    db = sqlite3.connect(out / "manifest.sqlite")
    with db:
        db.executemany("INSERT INTO files (md5, post_id, path, bytes, verified, downloaded_at) VALUES (?,?,?,?,1,?)",
                       files)
        db.execute("UPDATE posts SET status='downloaded'")
    db.close()


def bench_resume(n: int, repeats: int, tmp: Path, emit) -> None:
    # The post bodies are short strings, not images: nothing is downloaded in this benchmark.
    posts = [FakePost(i, f"post {i}".encode()) for i in range(1, n + 1)]
    booru = FakeBooru(posts).start()
    out = tmp / "resume"
    try:
        build_done_dataset(booru, posts, out, emit)
        runs = (("scrape/resume", ["--limit", str(n), "--rate", "1"]),
                ("scrape/relist", ["--limit", "0", "--relist", "--rate", "0"]))
        for what, extra in runs:
            walls, rss, seen = [], [], []
            for _ in range(repeats):
                before_api, before_img = len(booru.hits("api")), len(booru.hits("image"))
                wall, code, peak, log = run_child(fetch_cmd(booru, out, "--page-size", "1000", *extra))
                if code != 0 or f"dataset: {n} verified images" not in log:
                    raise SystemExit(f"re-run failed ({code}):\n{log}")
                walls.append(wall)
                rss.append(peak)
                seen.append((len(booru.hits("api")) - before_api, len(booru.hits("image")) - before_img))
            fields = {"requests_seen": {"api": seen[-1][0], "image": seen[-1][1]}}
            if what == "scrape/resume":
                # The target is set for 100,000 posts; smaller (--quick) runs only report.
                fields.update(target="< 10 s for 100,000 posts, no request",
                              meets_target=bool(max(walls) < 10 and seen[-1] == (0, 0)) if n >= 100_000 else None)
            emit(what, config={"posts": n, "files_on_disk": n, "page_size": 1000}, unit="s", **summary(walls),
                 repeats=repeats, peak_rss_mb=round(max(rss), 1), **fields)
    finally:
        booru.stop()


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except OSError:
        return None


def cpu_context() -> dict:
    """CPU model, torch's capability and bf16 support (colorize.device.cpu_facts), asked of a child
    process: importing torch here would add its memory to this benchmark's resident-set figures."""
    code = ("import json; from colorize.device import cpu_facts; "
            "print(json.dumps(cpu_facts().summary()))")
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return {"cpu_model": platform.processor() or None, "cpu_capability": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny setting: one rate, 1,000 posts, 1 repeat")
    parser.add_argument("--rates", default="1,5,20", help="comma separated --rate values to measure")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    parser.add_argument("--posts", type=int, default=100_000, help="size of the resume manifest")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.rates, args.seconds, args.posts, args.repeats = "20", 0.25, 1000, 1

    common = {
        "device": "cpu", "threads": 2, "cpu": platform.machine(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "torch": _version("torch"), "requests": _version("requests"),
        "commit": git_commit(), "quick": args.quick, **cpu_context(),
    }

    def emit(what: str, **fields) -> None:
        # threads: the scraper's download workers (default 2); the API itself is one thread.
        print(json.dumps({"what": what, **common, **fields}), flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-scrape-") as tmp:
        for rate in (float(r) for r in args.rates.split(",") if r.strip()):
            bench_rate(rate, max(3, int(rate * args.seconds) + 1), args.repeats, Path(tmp), emit)
        bench_resume(args.posts, args.repeats, Path(tmp), emit)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
