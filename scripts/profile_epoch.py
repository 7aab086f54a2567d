"""Profile: where one training epoch's time goes, for each model of the site.

For each model, on a quarter of an epoch of its recipe's whole batches (scaled to a full
epoch of 54,000 images), times in this order, each after a warm-up:

- ``pipeline``: producing the batches alone (`mnist_book.training.fit_batches`);
- ``augment``: the training-only augmentation layers alone, on every batch;
- ``forward``: the network without augmentation, inference only;
- ``step``: training steps of the network without augmentation (forward, backward, Adam);
- ``epoch``: training steps of the model as the site trains it (augmentation included),
  one Python call per step; ``epoch/32``: the same, 32 steps per call
  (``steps_per_execution``): the difference is Python's overhead.

Prints a table in seconds per epoch, then the same as one JSON line. Threads are
TensorFlow's defaults; ``TF_NUM_INTRAOP_THREADS`` and ``TF_NUM_INTEROP_THREADS`` in the
environment change them, to compare.

    python scripts/profile_epoch.py                      # every model
    python scripts/profile_epoch.py --models convnet_bn
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

from mnist_book._keras import keras
from mnist_book._keras import tensorflow as tf
from mnist_book.config import recipe
from mnist_book.data import load_mnist
from mnist_book.models import (
    MODEL_NAMES,
    TRAINING_ONLY_LAYERS,
    build_model,
    compile_model,
    inference_model,
)
from mnist_book.training import fit_batches

FRACTION = 4  # a quarter of an epoch, scaled up


def timed(run: Callable[[], object]) -> float:
    run()  # warm-up: tracing and first allocations
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def profile(name: str, images, labels) -> dict:
    config = recipe(name)
    steps = config.steps_per_epoch(len(images)) // FRACTION
    batches = fit_batches(name, images, labels, config).take(steps).cache()
    list(batches)  # materialised once, so the other timings leave the pipeline out
    model = build_model(name)
    augmentation = [layer for layer in model.layers if isinstance(layer, TRAINING_ONLY_LAYERS)]
    plain = compile_model(inference_model(model))

    @tf.function
    def augment(x):
        for layer in augmentation:
            x = layer(x, training=True)
        return x

    @tf.function
    def forward(x):
        return plain(x, training=False)

    def fit(target: keras.Model, steps_per_execution: int) -> Callable[[], object]:
        target.compile(
            optimizer=keras.optimizers.Adam(),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
        return lambda: target.fit(batches, epochs=1, verbose=0)

    fresh = fit_batches(name, images, labels, config).take(steps)
    row = {
        "model": name,
        "pipeline": timed(lambda: [None for _ in fresh]),
        "augment": timed(lambda: [augment(x) for x, _ in batches]) if augmentation else 0.0,
        "forward": timed(lambda: [forward(x) for x, _ in batches]),
        "step": timed(fit(plain, 1)),
        "epoch": timed(fit(build_model(name), 1)),
        "epoch/32": timed(fit(build_model(name), 32)),
    }
    scaled = {key: round(value * FRACTION, 2) for key, value in row.items() if key != "model"}
    return {"model": name, **scaled}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    names = parser.parse_args(argv).models
    (x_train, y_train), _ = load_mnist()
    (images, labels), _ = recipe("convnet").split(x_train, y_train)
    rows = [profile(name, images, labels) for name in names]
    columns = ("pipeline", "augment", "forward", "step", "epoch", "epoch/32")
    print("seconds per epoch of 54,000 images")
    print(f"{'model':<19}" + "".join(f"{column:>10}" for column in columns))
    for row in rows:
        print(f"{row['model']:<19}" + "".join(f"{row[column]:>10.2f}" for column in columns))
    threads = {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "threads": threads}
    print(json.dumps({"benchmark": "epoch profile", "machine": machine, "models": rows}))


if __name__ == "__main__":
    main()
