"""Benchmark: the records chapter's single-model recipe on several seeds.

Trains `deeper_convnet` with its site recipe (`mnist_book.config.recipe`) once per seed,
through the model cache (seed 0 is the build's own training, so it is loaded if the site was
built), and reports each seed's validation and test accuracy and training minutes against the
bar of Ciresan et al. 2011 (99.65 %), then their means and the lowest test accuracy. Prints
a table, then the same as one JSON line, last.

    python scripts/bench_records.py               # seeds 0 1 2; or: make bench-records
    python scripts/bench_records.py --seeds 3 4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform

from mnist_book.config import recipe
from mnist_book.records import SINGLE_MODEL_BAR as BAR
from mnist_book.training import train

MODEL = "deeper_convnet"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    seeds = parser.parse_args(argv).seeds
    rows = []
    for seed in seeds:
        result = train(MODEL, dataclasses.replace(recipe(MODEL), seed=seed))
        rows.append(
            {
                "seed": seed,
                "validation_accuracy": result.history["val_accuracy"][-1],
                "test_accuracy": result.test_accuracy,
                "minutes": round(result.train_seconds / 60, 2),
                "from_cache": result.from_cache,
                "meets_bar": result.test_accuracy >= BAR.accuracy,
            }
        )
    print(f"{MODEL}, {recipe(MODEL)}; bar: {BAR.label} {BAR.accuracy:.2%}")
    print(f"{'seed':>4}{'validation':>12}{'test':>9}{'minutes':>9}  bar")
    for row in rows:
        print(
            f"{row['seed']:>4}{row['validation_accuracy']:>12.2%}{row['test_accuracy']:>9.2%}"
            f"{row['minutes']:>9.1f}  {'met' if row['meets_bar'] else 'missed'}"
        )
    count = len(rows)
    mean = {
        key: sum(row[key] for row in rows) / count
        for key in ("validation_accuracy", "test_accuracy", "minutes")
    }
    print(
        f"{'mean':>4}{mean['validation_accuracy']:>12.2%}{mean['test_accuracy']:>9.2%}"
        f"{mean['minutes']:>9.1f}  lowest test {min(row['test_accuracy'] for row in rows):.2%}"
    )
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    summary = {"benchmark": "records", "machine": machine, "model": MODEL}
    print(json.dumps({**summary, "seeds": rows, "mean": mean}))


if __name__ == "__main__":
    main()
