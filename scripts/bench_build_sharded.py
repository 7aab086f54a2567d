"""Benchmark: a cold build spread over machines, simulated on this one.

On a scratch copy of the repository it makes the plan for N machines (`mnist-book plan
--json --machines N`; expected minutes from this checkout's model cache), then runs N
"machines" at once: processes pinned to one core each (`taskset`), each with an empty cache
of its own, each training its share into a directory (`mnist-book train-share I/N --plan`).
It merges the shares (`mnist-book merge-cache`) and builds the whole site from the merged
cache with ``MNIST_BOOK_REQUIRE_CACHED=1`` (a page that would train fails the build), then
checks that the build trained nothing and that every model's test accuracy equals that of
the same training in this checkout's cache (the one-machine build's).

It prints the wall times (shares, merge, build, in all), beside a one-machine cold build's
(measured with ``--cold``, or given with ``--cold-seconds``), and the expected wall time on
1, 2, 4 and 8 machines from the plan's minutes: the longest share plus the cached build.
One JSON line last.

    python scripts/bench_build_sharded.py [--machines 2] [--cold | --cold-seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_build import build, scratch_copy

from mnist_book import model_cache, paths

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "mnist-book")
TRAINING_LINE = re.compile(r"mnist_book: .*: training \w+ for \d+ epochs")


def plan_for(machines: int, env: dict[str, str]) -> dict:
    """The plan for `machines`, as its JSON (expected minutes from `env`'s model cache)."""
    made = subprocess.run(
        [CLI, "plan", "--json", "--machines", str(machines)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(made.stdout)


def projection(plan: dict, build_seconds: float) -> dict[int, float]:
    """Expected wall seconds on 1, 2, 4 and 8 machines: the longest share, then the build."""
    minutes = [row["expected_minutes"] or 0.0 for row in plan["trainings"]]
    projected = {}
    for machines in (1, 2, 4, 8):
        loads = [0.0] * machines
        for each in sorted(minutes, reverse=True):  # as `mnist_book.plan.shares` deals them
            loads[loads.index(min(loads))] += each
        projected[machines] = round(max(loads) * 60 + build_seconds, 1)
    return projected


def train_shares(machines: int, plan_file: Path, work: Path, env: dict[str, str]) -> dict:
    """Each share trained by its own process on its own core and cache; wall seconds."""
    cores = os.cpu_count() or 1
    started, running = time.perf_counter(), []
    for index in range(1, machines + 1):
        machine_env = {**env, paths.CACHE_DIR_ENV: str(work / f"machine-{index}")}
        command = [CLI, "train-share", f"{index}/{machines}", "--plan", str(plan_file)]
        command += ["--into", str(work / f"share-{index}")]
        log = (work / f"share-{index}.log").open("w")
        pinned = ["taskset", "-c", str((index - 1) % cores), *command]
        running.append((index, subprocess.Popen(pinned, env=machine_env, stdout=log, stderr=log)))
    seconds = {}
    for index, process in running:
        if process.wait() != 0:
            sys.exit(f"share {index} failed: see {work / f'share-{index}.log'}")
        seconds[index] = round(time.perf_counter() - started, 1)
    return {"wall": round(time.perf_counter() - started, 1), "per_share": seconds}


def same_numbers(merged: Path) -> tuple[int, list[str]]:
    """How many merged models match this checkout's cache, and those that differ."""
    matched, differing = 0, []
    with tempfile.TemporaryDirectory() as scratch:
        from mnist_book import published_cache

        manifest = json.loads((merged / published_cache.MANIFEST).read_text())
        for name in manifest["entries"]:
            local = model_cache.models_dir() / Path(name).name
            mine = model_cache.stored_record(local)
            archive = (merged / (name + published_cache.ARCHIVE_SUFFIX)).read_bytes()
            unpacked = Path(scratch) / Path(name).name
            published_cache.unpack(archive, unpacked)
            theirs = model_cache.stored_record(unpacked)
            if mine is None or theirs is None:
                continue
            if mine.test_accuracy == theirs.test_accuracy:
                matched += 1
            else:
                differing.append(f"{name}: {theirs.test_accuracy} vs {mine.test_accuracy}")
    return matched, differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=2)
    cold = parser.add_mutually_exclusive_group()
    cold.add_argument("--cold", action="store_true", help="also time a one-machine cold build")
    cold.add_argument("--cold-seconds", type=float, help="a one-machine cold build's seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mnist-book-sharded-") as scratch:
        work = Path(scratch)
        repo = scratch_copy(work / "repo")
        env = {**os.environ, "PYTHONPATH": str(repo / "src"), "NO_MKDOCS_2_WARNING": "1"}
        plan = plan_for(args.machines, env)  # this checkout's cache: the measured minutes
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan))

        shares = train_shares(args.machines, plan_file, work, env)
        started = time.perf_counter()
        share_dirs = [str(work / f"share-{i}") for i in range(1, args.machines + 1)]
        subprocess.run(
            [CLI, "merge-cache", *share_dirs, "--into", str(work / "merged")],
            env=env,
            check=True,
            capture_output=True,
        )
        merge_seconds = round(time.perf_counter() - started, 1)
        build_env = {
            **env,
            paths.CACHE_DIR_ENV: str(repo / "cache"),
            paths.PUBLISHED_CACHE_DIR_ENV: str(work / "merged"),
            paths.REQUIRE_CACHED_ENV: "1",
        }
        cached_build = build(repo, build_env)
        matched, differing = same_numbers(work / "merged")
        trained_lines = [
            line
            for index in range(1, args.machines + 1)
            for line in (work / f"share-{index}.log").read_text().splitlines()
            if TRAINING_LINE.search(line)
        ]
        cold_seconds = args.cold_seconds
        if args.cold:
            cold_repo = scratch_copy(work / "cold")
            cold_env = {**env, "PYTHONPATH": str(cold_repo / "src")}
            cold_env[paths.CACHE_DIR_ENV] = str(cold_repo / "cache")
            cold_seconds = build(cold_repo, cold_env)["seconds"]

    total = round(shares["wall"] + merge_seconds + cached_build["seconds"], 1)
    projected = projection(plan, cached_build["seconds"])
    print(f"plan: {len(plan['trainings'])} trainings over {args.machines} machines")
    print(f"shares (one core each, at once): {shares['wall']} s  {shares['per_share']}")
    print(f"merge: {merge_seconds} s; build from the merged cache: {cached_build['seconds']} s")
    print(f"sharded cold build in all: {total} s; one machine: {cold_seconds or '?'} s")
    print(f"models equal to this checkout's: {matched}; differing: {differing or 'none'}")
    print("expected wall time (longest share + cached build):")
    for machines, seconds in projected.items():
        print(f"  {machines} machine(s): {seconds / 60:5.1f} min")
    print(
        json.dumps(
            {
                "machines": args.machines,
                "shares_s": shares["wall"],
                "per_share_s": shares["per_share"],
                "merge_s": merge_seconds,
                "cached_build_s": cached_build["seconds"],
                "cached_build_pages": cached_build["pages"],
                "sharded_total_s": total,
                "one_machine_cold_s": cold_seconds,
                "trainings_in_shares": len(trained_lines),
                "models_equal": matched,
                "models_differing": differing,
                "projected_s": projected,
                "load_average": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
