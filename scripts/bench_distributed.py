"""Benchmark: data-parallel training of the convnet on one process, two devices, two workers.

Each set-up trains the convnet for two epochs on the full training set (global batch 128)
with the same training step (`mnist_book.distributed.train`), in a fresh process, without
the model cache; the second epoch is measured, so TensorFlow's tracing is not counted. It
prints images per second, the speed-up over one process and the scaling efficiency
(speed-up / replicas), with the load average before each run (other work on the machine
slows every figure), then the same as one JSON line, last.

    python scripts/bench_distributed.py            # or: make bench-distributed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

SETUPS = ("one process", "2 logical devices", "2 workers")
EPOCHS = 2


def run_setup(setup: str) -> dict:
    """Train in this process under `setup`; its figures (a fresh process each time)."""
    from mnist_book import distributed, launch, strategies
    from mnist_book.config import TrainConfig

    config = TrainConfig(epochs=EPOCHS, batch_size=128)
    quiet = {"use_cache": False, "log": lambda line: None}
    if setup == "one process":
        result = distributed.train("convnet", config, strategies.one_device_strategy(), **quiet)
    elif setup == "2 logical devices":
        result = distributed.train("convnet", config, strategies.local_strategy(2), **quiet)
    else:
        result = launch.train_on_local_workers("convnet", config, workers=2, **quiet)
    seconds = result.history["seconds"][-1]
    images = result.record.images_per_epoch
    return {
        "setup": setup,
        "replicas": result.distribution.replicas,
        "images_per_epoch": int(images),
        "seconds_per_epoch": round(seconds, 2),
        "samples_per_second": round(images / seconds),
        "test_accuracy": round(result.test_accuracy, 4),
        "identical_replicas": len(set(result.replica_weights)) == 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=SETUPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(run_setup(args.setup)))
        return
    rows = []
    for setup in SETUPS:
        load = os.getloadavg()
        done = subprocess.run(
            [sys.executable, __file__, "--setup", setup],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"{setup} failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({**row, "load_average_before": [round(value, 2) for value in load]})
    baseline = rows[0]["samples_per_second"]
    for row in rows:
        row["speed_up"] = round(row["samples_per_second"] / baseline, 3)
        row["efficiency"] = round(row["speed_up"] / row["replicas"], 3)
    print(
        f"{'set-up':<20}{'replicas':>9}{'s/epoch':>9}{'images/s':>10}{'speed-up':>10}"
        f"{'efficiency':>12}{'test acc.':>11}   load average"
    )
    for row in rows:
        print(
            f"{row['setup']:<20}{row['replicas']:>9}{row['seconds_per_epoch']:>9.2f}"
            f"{row['samples_per_second']:>10,}{row['speed_up']:>10.2f}{row['efficiency']:>12.0%}"
            f"{row['test_accuracy']:>11.2%}   {' '.join(map(str, row['load_average_before']))}"
        )
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"benchmark": "distributed", "machine": machine, "setups": rows}))


if __name__ == "__main__":
    main()
