"""Benchmark: the site's training loops, every model, on the full training set.

For each model, trains two epochs of its site recipe (batch size, learning rate) with
`mnist_book.training.train` (Keras's `model.fit` over `mnist_book.config`'s whole batches)
and times the second, so TensorFlow's tracing is not counted; then the convnet once more with
the custom data-parallel loop on one process (`mnist_book.distributed.train`), the loop the
distributed page compares with `model.fit`. Nothing is cached. An epoch's seconds include its
validation pass, as the pages report them. Prints a table, then the same as one JSON line.

    python scripts/bench_training.py            # or: make bench
    python scripts/bench_training.py --models convnet deeper_convnet
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform

from mnist_book import distributed, strategies, training
from mnist_book.config import recipe
from mnist_book.models import MODEL_NAMES

CUSTOM_LOOP = "convnet (custom loop)"


def bench(name: str, custom_loop: bool = False) -> dict:
    """Two epochs of `name`'s recipe; the second epoch's seconds and images per second."""
    config = dataclasses.replace(recipe(name), epochs=2, schedule="constant", warmup_epochs=0)
    quiet = {"use_cache": False, "log": lambda line: None}
    if custom_loop:
        result = distributed.train(name, config, strategies.one_device_strategy(), **quiet)
    else:
        result = training.train(name, config, **quiet)
    seconds = result.history["seconds"][-1]
    return {
        "model": CUSTOM_LOOP if custom_loop else name,
        "batch_size": config.batch_size,
        "seconds_per_epoch": round(seconds, 2),
        "samples_per_second": round(result.record.images_per_epoch / seconds),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    names = parser.parse_args(argv).models
    rows = [bench(name) for name in names]
    if "convnet" in names:
        rows.append(bench("convnet", custom_loop=True))
    print(f"{'model':<22}{'batch':>7}{'s/epoch':>10}{'samples/s':>12}")
    for row in rows:
        print(
            f"{row['model']:<22}{row['batch_size']:>7}{row['seconds_per_epoch']:>10.2f}"
            f"{row['samples_per_second']:>12,}"
        )
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"benchmark": "training", "machine": machine, "models": rows}))


if __name__ == "__main__":
    main()
