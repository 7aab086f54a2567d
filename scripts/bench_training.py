"""Benchmark: one epoch of every model on the full training set.

Prints a table of seconds per epoch and samples per second for each model (at the batch size
of its site recipe), then the same as one JSON line, last. Nothing is cached: every model is
trained from scratch, after one warm-up step so TensorFlow's tracing is not counted.

    python scripts/bench_training.py            # or: make bench
"""

from __future__ import annotations

import json
import os
import platform
import time

from mnist_book.config import recipe
from mnist_book.data import load_mnist
from mnist_book.models import MODEL_NAMES, build_model, prepare_images


def bench(name: str, x_train, y_train) -> dict:
    batch_size = recipe(name).batch_size
    images = prepare_images(name, x_train)
    model = build_model(name)
    model.fit(images[:batch_size], y_train[:batch_size], batch_size=batch_size, verbose=0)
    started = time.perf_counter()
    model.fit(images, y_train, epochs=1, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - started
    return {
        "model": name,
        "batch_size": batch_size,
        "seconds_per_epoch": round(seconds, 2),
        "samples_per_second": round(len(images) / seconds),
    }


def main() -> None:
    (x_train, y_train), _ = load_mnist()
    rows = [bench(name, x_train, y_train) for name in MODEL_NAMES]
    print(f"{'model':<14}{'batch':>7}{'s/epoch':>10}{'samples/s':>12}")
    for row in rows:
        print(
            f"{row['model']:<14}{row['batch_size']:>7}{row['seconds_per_epoch']:>10.2f}"
            f"{row['samples_per_second']:>12,}"
        )
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"benchmark": "training", "machine": machine, "models": rows}))


if __name__ == "__main__":
    main()
