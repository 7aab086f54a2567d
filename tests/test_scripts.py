"""The benchmark scripts start: each imports what it uses and answers --help.

They run by hand (`make bench` and friends), not in CI, so a helper they import that moves
would otherwise be found only by the next person to benchmark.
"""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_a_benchmark_script_answers_help(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_the_exercises_benchmark_sums_the_cells_after_the_exercises_heading():
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location(
        "bench_exercises", SCRIPTS[0].parent / "bench_exercises.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def timed(start, end):
        times = {
            "iopub.execute_input": f"2026-12-05T10:00:{start:02d}.000000Z",
            "shell.execute_reply": f"2026-12-05T10:00:{end:02d}.500000Z",
        }
        return nbformat.v4.new_code_cell("x", metadata={"execution": times})

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        timed(0, 10),
        nbformat.v4.new_markdown_cell("## Exercises\n\n### Exercise 1: a"),
        timed(11, 12),
        nbformat.v4.new_markdown_cell("### Exercise 2: b"),
        timed(13, 15),
        nbformat.v4.new_code_cell("untimed"),
    ]
    assert bench.exercise_seconds(notebook) == (2, 1.5 + 2.5, 10.5 + 1.5 + 2.5)
    notebook.cells = notebook.cells[:1]
    assert bench.exercise_seconds(notebook) == (0, 0.0, 10.5)


def test_the_sharded_projection_is_the_longest_share_plus_the_cached_build():
    sys.path.insert(0, str(SCRIPTS[0].parent))
    try:
        import bench_build_sharded
    finally:
        sys.path.pop(0)
    plan = {"trainings": [{"expected_minutes": m} for m in (10.0, 6.0, 4.0, 2.0, None)]}
    projected = bench_build_sharded.projection(plan, build_seconds=90.0)
    assert projected == {1: 22 * 60 + 90.0, 2: 12 * 60 + 90.0, 4: 10 * 60 + 90.0, 8: 690.0}
