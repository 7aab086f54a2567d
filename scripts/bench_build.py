"""Benchmark: how fast the site rebuilds after the edits authors make.

On a scratch copy of the repository, with empty caches of its own, it times five builds in a
row and reports which pages each re-executed and which models each retrained:

1. cold: empty caches;
2. nothing changed;
3. a prose edit in one page (a Markdown cell);
4. a code edit in one page that does not change training;
5. an edit to the `mnist_book` package (plotting, which training does not depend on).

With `--sequential` it also times a cold build on one kernel at a time, to show whether
executing pages in parallel pays. Prints a table, the per-page execution times of the cold
build, and one JSON line last.

    python scripts/bench_build.py [--sequential]      # or: make bench-build
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDITED_PAGE = "docs/single-layer.py"


def scratch_copy(target: Path) -> Path:
    """The repository's tracked files (as in the working tree) copied to `target`."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def build(repo: Path, env: dict[str, str]) -> dict:
    """One `mkdocs build`: wall seconds, pages executed (with seconds), models trained."""
    models = repo / "cache" / "models"
    before = set(models.glob("*/")) if models.exists() else set()
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"build failed:\n{run.stderr[-3000:]}")
    executed = dict(re.findall(r"Executed (\S+\.py) in ([\d.]+) s", run.stderr))
    trained = set(models.glob("*/")) - before
    return {
        "seconds": round(seconds, 1),
        "pages": sorted(executed),
        "page_seconds": {page: float(s) for page, s in executed.items()},
        "models_trained": sorted(path.name.rsplit("-", 1)[0] for path in trained),
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        sys.exit(f"benchmark edit failed: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action="store_true", help="also time a 1-kernel build")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mnist-book-bench-") as scratch:
        repo = scratch_copy(Path(scratch) / "repo")
        env = {
            **os.environ,
            "PYTHONPATH": str(repo / "src"),  # mkdocs and the kernels use the scratch copy
            "MNIST_BOOK_CACHE_DIR": str(repo / "cache"),
            "NO_MKDOCS_2_WARNING": "1",
        }
        page = repo / EDITED_PAGE
        results = {"cold": build(repo, env), "nochange": build(repo, env)}
        edit(page, "# ## The model\n", "# ## The model\n#\n# (An edited sentence.)\n")
        results["prose_edit"] = build(repo, env)
        edit(page, "rows=3, cols=7)", "rows=2, cols=7)")
        results["page_code_edit"] = build(repo, env)
        plotting = repo / "src" / "mnist_book" / "plotting.py"
        plotting.write_text(plotting.read_text() + "\n# An edit to the package.\n")
        results["package_edit"] = build(repo, env)
        if args.sequential:
            shutil.rmtree(repo / "cache")
            shutil.rmtree(repo / ".cache")
            edit(repo / "mkdocs.yml", "workers: 2", "workers: 1")
            results["cold_sequential"] = build(repo, env)

    print(f"{'situation':<18}{'seconds':>9}  pages re-executed / models retrained")
    for situation, result in results.items():
        pages = ", ".join(p.removesuffix(".py") for p in result["pages"]) or "none"
        models = ", ".join(result["models_trained"]) or "none"
        print(f"{situation:<18}{result['seconds']:>9.1f}  {pages} / {models}")
    print("\ncold build, per page (seconds, executed two at a time):")
    for name, seconds in sorted(results["cold"]["page_seconds"].items(), key=lambda i: -i[1]):
        print(f"  {name:<28}{seconds:>7.1f}")
    report = {f"{situation}_s": result["seconds"] for situation, result in results.items()}
    report["pages_reexecuted"] = {situation: r["pages"] for situation, r in results.items()}
    report["models_retrained"] = {s: r["models_trained"] for s, r in results.items()}
    report["page_seconds_cold"] = results["cold"]["page_seconds"]
    report["load_average"] = os.getloadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
