"""Benchmark: what the chapters' exercises add to a build, read from its executed pages.

Every code cell of an executed page carries the times Jupyter started and finished it
(``metadata.execution``). For each page of the last build (the page cache under
``.cache/mnist-book/pages``), this sums the cells of its exercises (from the "## Exercises"
heading on: the check cells and the solutions) and prints the seconds per chapter and in all,
then the same as one JSON line, last. The issue's budget: at most 3 minutes in all on a cold
build of this 2-core machine.

    python scripts/bench_exercises.py            # after make site
    python scripts/bench_exercises.py --pages DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime
from pathlib import Path

import nbformat

from mnist_book.site.page_cache import DEFAULT_DIR

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Exercises"


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    """How long Jupyter took to run `cell` (0 if it carries no times)."""
    times = cell.get("metadata", {}).get("execution", {})
    started, finished = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (started and finished):
        return 0.0
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def exercise_seconds(notebook: nbformat.NotebookNode) -> tuple[int, float, float]:
    """(exercises, their cells' seconds, the whole page's cells' seconds) of one page."""
    total = sum(cell_seconds(cell) for cell in notebook.cells if cell.cell_type == "code")
    starts = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "markdown" and HEADING in cell.source
    ]
    if not starts:
        return 0, 0.0, total
    cells = notebook.cells[starts[0] :]
    count = sum(
        cell.source.count("### Exercise ") for cell in cells if cell.cell_type == "markdown"
    )
    return count, sum(cell_seconds(cell) for cell in cells if cell.cell_type == "code"), total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=ROOT / DEFAULT_DIR)
    pages = sorted(parser.parse_args(argv).pages.glob("**/*.ipynb"))
    if not pages:
        raise SystemExit("No executed pages: run `make site` first.")
    rows = []
    for path in pages:
        count, seconds, total = exercise_seconds(nbformat.read(path, as_version=4))
        rows.append(
            {"page": path.stem, "exercises": count, "seconds": seconds, "page_seconds": total}
        )
    print(f"{'page':<40}{'exercises':>10}{'seconds':>9}{'of page':>9}")
    for row in rows:
        print(
            f"{row['page']:<40}{row['exercises']:>10}{row['seconds']:>9.1f}"
            f"{row['page_seconds']:>9.1f}"
        )
    seconds = sum(row["seconds"] for row in rows)
    print(f"{'all':<40}{sum(row['exercises'] for row in rows):>10}{seconds:>9.1f}")
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"benchmark": "exercises", "machine": machine, "pages": rows}))


if __name__ == "__main__":
    main()
