"""Data-parallel training: strategies, local workers, faults, resume, and no orphan workers.

The multi-worker tests start real worker processes on loopback ports, as a cluster would,
on small slices of MNIST. Every test that starts workers checks afterwards that none of
them is still alive (`no_orphans`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from made_records import made_record
from worker_processes import MARKER_ENV, marked_processes, worker_pid

from mnist_book import distributed, launch, run_log, strategies, training
from mnist_book.conclusions import ClaimError
from mnist_book.config import TrainConfig
from mnist_book.paths import RUN_LOG_ENV
from mnist_book.results import Distribution

SMALL = TrainConfig(epochs=2, batch_size=64, train_size=3_000)


@pytest.fixture
def no_orphans(monkeypatch):
    """A marker in the environment of every process started; none may outlive the test."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_ENV, marker)
    yield marker
    deadline = time.monotonic() + 10  # a killed process may take a moment to be reaped
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = marked_processes(marker)
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    assert not leftover, f"worker processes outlived the test: {sorted(leftover)}"


def start_worker(index: int, addresses: list[str], *options: str) -> subprocess.Popen[str]:
    """One worker of the cluster at `addresses`, as a user would start it on a host."""
    env = {
        **os.environ,
        "TF_CONFIG": launch.tf_config(addresses, index),
        "TF_NUM_INTRAOP_THREADS": "1",
    }
    command = [sys.executable, "-m", "mnist_book.cli", "train", *options, "--cluster"]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def loopback(workers: int) -> list[str]:
    return [f"127.0.0.1:{port}" for port in launch.free_ports(workers)]


# Batches, learning rate, cache key ----------------------------------------------------------


def test_global_batch_must_split_evenly_over_the_replicas():
    assert distributed.per_replica_batch(SMALL, 2) == 32
    with pytest.raises(ValueError, match=r"divide evenly over 3 replicas.*192"):
        distributed.per_replica_batch(SMALL, 3)


def test_linear_scaling_rule():
    scaled = distributed.scale_for_replicas(SMALL, replicas=4, per_replica=64)
    assert scaled.batch_size == 256
    assert scaled.learning_rate == pytest.approx(SMALL.learning_rate * 4)
    assert scaled.epochs == SMALL.epochs


def test_the_distribution_makes_its_own_cache_key():
    two = Distribution("multi_worker", 2, 2, ("/device:CPU:0",))
    four = Distribution("multi_worker", 4, 4, ("/device:CPU:0",))
    mirrored = Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1"))
    plain = training.cache_key("single_layer", SMALL)
    keys = {distributed.cache_key("single_layer", SMALL, d) for d in (two, four, mirrored)}
    assert len(keys) == 3 and plain not in keys
    on_gpus = Distribution("mirrored", 1, 2, ("/device:GPU:0", "/device:GPU:1"))
    assert distributed.cache_key("single_layer", SMALL, on_gpus) == distributed.cache_key(
        "single_layer", SMALL, mirrored
    )


def test_comparison_measures_throughput_against_the_first_row():
    def trained(seconds, replicas=None):
        spread = Distribution("mirrored", 1, replicas, ("/device:CPU:0",)) if replicas else None
        record = made_record(
            name="convnet",
            config=SMALL,
            images_per_epoch=SMALL.images_per_epoch(),
            history={"seconds": seconds},
            distribution=spread,
        )
        return training.TrainResult(record, model=None)

    table = distributed.comparison({"one": trained([2.0, 1.0], 1), "two": trained([3.0, 3.0], 2)})
    assert SMALL.images_per_epoch() == 2_688  # 42 whole batches of the 2,700 fitted images
    assert table["images/s"].tolist() == [2_688 / 1.5, 2_688 / 3.0]
    assert table["speed-up"].tolist() == [1.0, 0.5]
    assert table["efficiency"].tolist() == [1.0, 0.25]
    assert table["per replica"].tolist() == [64, 32]
    fit = trained([4.5])  # a model.fit result: the same whole batches
    assert fit.samples_per_second == 2_688 / 4.5


# One definition of a training -----------------------------------------------------------------

WARM_UP = TrainConfig(
    epochs=3, batch_size=64, train_size=1_000, schedule="cosine", warmup_epochs=1, seed=3
)


def schedule_of(model):
    """The learning rate `model`'s optimiser took at each of its steps so far."""
    optimizer = model.optimizer
    rate = optimizer.get_config()["learning_rate"]
    if isinstance(rate, dict):
        schedule = training.keras.optimizers.schedules.deserialize(rate)
        return [float(schedule(step)) for step in range(int(optimizer.iterations.numpy()))]
    return [float(rate)] * int(optimizer.iterations.numpy())


@pytest.mark.slow
def test_a_data_parallel_warm_up_recipe_follows_trains_learning_rate_step_for_step(
    isolated_cache,
):
    quiet = {"use_cache": False, "log": lambda line: None}
    fitted = training.train("single_layer", WARM_UP, **quiet)
    spread = distributed.train("single_layer", WARM_UP, strategies.one_device_strategy(), **quiet)
    rates = schedule_of(fitted.model)
    assert len(rates) == 3 * (900 // 64)  # whole batches of the 900 fitted images
    assert rates[0] == 0.0 and max(rates) == pytest.approx(WARM_UP.learning_rate)  # warm-up
    assert schedule_of(spread.model) == rates
    # The same images in the same order, steps and rates: on one replica, the same training.
    assert (spread.test_loss, spread.test_accuracy) == (fitted.test_loss, fitted.test_accuracy)
    assert spread.history["loss"] == pytest.approx(fitted.history["loss"], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "data-parallel"])
def test_both_loops_fit_exactly_the_images_of_kerass_own_split(loop, isolated_cache, monkeypatch):
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    config = TrainConfig(epochs=1, batch_size=50, train_size=3_001)  # 2,700.9 to fit
    images = np.arange(config.train_size)
    (kerass_fit, kerass_validation) = train_validation_split((images,), config.validation_split)
    prepared = []

    def recording(name, images):
        prepared.append(len(images))
        return training.models.prepare_images(name, images)

    for module in (training, distributed):
        monkeypatch.setattr(module, "prepare_images", recording)
    quiet = {"use_cache": False, "log": lambda line: None}
    if loop == "fit":
        training.train("single_layer", config, **quiet)
    else:
        distributed.train("single_layer", config, strategies.one_device_strategy(), **quiet)
    fitted, validated, tested = prepared[0], prepared[1], prepared[-1]
    assert (fitted, validated, tested) == (len(kerass_fit[0]), len(kerass_validation[0]), 10_000)
    assert (fitted, validated) == (2_700, 301)


# One process ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_device_training_reports_caches_and_reloads(isolated_cache, tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_LOG_ENV, str(tmp_path / "runs.jsonl"))
    lines: list[str] = []
    strategy = strategies.one_device_strategy()
    result = distributed.train("hidden_layer", SMALL, strategy, log=lines.append)
    assert result.test_accuracy > 0.8
    assert result.distribution.strategy == "one_device" and len(result.replica_weights) == 1
    assert [line[:11] for line in lines if line.startswith("Epoch")] == [
        "Epoch  1/2:",
        "Epoch  2/2:",
    ]
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    again = distributed.train("hidden_layer", SMALL, strategy, log=lines.append)
    assert again.from_cache and again.test_accuracy == result.test_accuracy
    for mine, loaded in zip(result.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, loaded)
    events, _ = run_log.read(tmp_path / "runs.jsonl")
    kinds = [event.kind for event in events]
    assert kinds == ["training", "epoch", "epoch", "result", "loaded", "result"]
    assert events[3].result.distribution.strategy == "one_device"
    assert events[3].result == events[5].result == result.record


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_from_the_command_line(isolated_cache):
    """A fresh process: TensorFlow splits the CPU only before it first runs anything."""
    command = [sys.executable, "-m", "mnist_book.cli", "train", "single_layer", "--devices", "2"]
    options = ["--epochs", "2", "--batch-size", "64", "--train-size", "3000"]
    done = subprocess.run([*command, *options], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith("single_layer on 2 devices (CPU): test accuracy")
    assert "weights identical on all 2 replicas" in summary


# Several workers -----------------------------------------------------------------------------


@pytest.mark.slow
def test_workers_end_with_bit_identical_weights(isolated_cache, tmp_path, no_orphans):
    addresses = loopback(2)
    options = ["convnet", "--epochs", "2", "--batch-size", "64", "--train-size", "3000"]
    workers = [
        start_worker(i, addresses, *options, f"--save-model={tmp_path}/worker-{i}.keras")
        for i in range(2)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    first, second = (
        training.keras.saving.load_model(tmp_path / f"worker-{i}.keras") for i in range(2)
    )
    for mine, theirs in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert any(weights.std() > 0 for weights in first.get_weights())  # trained, not empty
    for output in outputs:
        # The result line; TensorFlow may log after it as the workers part (gRPC, on stderr).
        (summary,) = [line for line in output.splitlines() if ": test accuracy" in line]
        assert "weights identical on all 2 replicas" in summary


@pytest.mark.slow
def test_a_worker_that_never_starts_fails_the_others_in_bounded_time(isolated_cache, no_orphans):
    options = ["single_layer", "--epochs", "1", "--train-size", "3000", "--timeout", "15"]
    started = time.monotonic()
    alone = start_worker(0, loopback(2), *options)  # worker 1 never comes
    output = alone.communicate(timeout=120)[0]
    assert time.monotonic() - started < 60
    assert alone.returncode == 1
    error = next(line for line in output.splitlines() if line.startswith("mnist-book: error:"))
    assert "Worker 0 of 2" in error and "never started" in error


@pytest.mark.slow
@pytest.mark.parametrize("victim", [1, 0], ids=["worker-1-killed", "chief-killed"])
def test_a_crashed_worker_fails_the_other_within_60_s(isolated_cache, no_orphans, victim):
    addresses = loopback(2)
    options = ["convnet", "--epochs", "20", "--batch-size", "64", "--train-size", "3000"]
    workers = [start_worker(i, addresses, *options, "--no-cache") for i in range(2)]
    for line in workers[0].stdout:  # the chief reports its epochs
        if line.startswith("Epoch  1/20"):
            break
    workers[victim].kill()
    killed = time.monotonic()
    survivor = workers[1 - victim]
    output = survivor.communicate(timeout=120)[0]
    assert time.monotonic() - killed < 60
    assert survivor.returncode == 1
    error = next(line for line in output.splitlines() if line.startswith("mnist-book: error:"))
    assert f"Worker {1 - victim} of 2: lost contact with the other workers" in error
    workers[victim].wait()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_worker_outlives_its_launcher(isolated_cache, no_orphans, stop):
    """Ctrl-C stops the workers; even a launcher killed outright takes them with it."""
    code = (
        "import sys; from mnist_book.cli import main; "
        "sys.exit(main(['train', 'convnet', '--workers', '2', '--epochs', '20', "
        "'--train-size', '3000', '--batch-size', '64']))"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in launcher.stdout:
        if line.startswith("Epoch  1/20"):
            break
    assert len(marked_processes(no_orphans)) == 3  # the launcher and its two workers
    launcher.send_signal(stop)
    err = launcher.communicate(timeout=60)[1]
    if stop == signal.SIGINT:
        assert launcher.returncode == 130 and err.endswith("mnist-book: interrupted\n")
    deadline = time.monotonic() + 10
    while marked_processes(no_orphans) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not marked_processes(no_orphans)


@pytest.mark.slow
def test_killed_worker_then_restart_resumes_and_ends_as_uninterrupted(
    isolated_cache, tmp_path, monkeypatch, no_orphans
):
    config = TrainConfig(epochs=3, batch_size=64, train_size=3_000)
    reference = launch.train_on_local_workers("convnet", config, use_cache=False, log=print)
    # Nothing cached and no checkpoint left: only the lock trainings take turns with.
    assert [path.name for path in (isolated_cache / "models").iterdir()] == ["training.lock"]

    monkeypatch.setenv(RUN_LOG_ENV, str(tmp_path / "runs.jsonl"))
    seen: list[str] = []

    def kill_worker_1_after_epoch_2(line: str) -> None:
        seen.append(line)
        if line.startswith("Epoch  2/3"):
            os.kill(worker_pid(no_orphans, 1), signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(launch.WorkerFailed, match=r"Worker 1 of 2 was killed by SIGKILL"):
        launch.train_on_local_workers("convnet", config, log=kill_worker_1_after_epoch_2)
    assert time.monotonic() - started < 240
    assert not marked_processes(no_orphans)  # the chief was stopped with it

    lines: list[str] = []
    resumed = launch.train_on_local_workers("convnet", config, log=lines.append)
    assert any(line.startswith("Resuming from the checkpoint after epoch 2") for line in lines)
    assert [line[:11] for line in lines if line.startswith("Epoch")] == ["Epoch  3/3:"]
    assert not resumed.from_cache
    assert resumed.test_accuracy == reference.test_accuracy
    assert resumed.replica_weights == reference.replica_weights
    for mine, theirs in zip(
        resumed.model.get_weights(), reference.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)
    assert len(resumed.history["val_accuracy"]) == 3

    # The chief alone reported, once per event; asked again, the training is a cache load.
    events = [event.kind for event in run_log.read(tmp_path / "runs.jsonl")[0]]
    assert events == ["training", "epoch", "epoch", "training", "epoch", "result"]
    again = launch.train_on_local_workers("convnet", config, log=lines.append)
    assert again.from_cache and again.replica_weights == reference.replica_weights


@pytest.mark.slow
def test_a_failing_worker_fails_the_build_naming_page_and_cell_and_leaves_no_worker(
    tmp_path, isolated_cache, no_orphans
):
    """The page's kernel kills worker 1 mid-training; the build must fail and clean up."""
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        "site_name: test\nnav:\n  - Page: page.py\nplugins:\n  - mnist-book:\n"
        "      cell_timeout: 300\n  - mkdocs-jupyter:\n      execute: false\n"
    )
    helpers = Path(__file__).with_name("worker_processes.py")
    page = f"""\
    # %%
    import importlib.util, os, signal
    spec = importlib.util.spec_from_file_location("helpers", {str(helpers)!r})
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    from mnist_book.launch import train_on_local_workers
    from mnist_book.training import TrainConfig

    # %%
    def kill_worker_1(line):
        if line.startswith("Epoch  1/"):
            os.kill(helpers.worker_pid({no_orphans!r}, 1), signal.SIGKILL)

    config = TrainConfig(epochs=20, batch_size=64, train_size=3000)
    train_on_local_workers("convnet", config, log=kill_worker_1)
    """
    (root / "docs" / "page.py").write_text(textwrap.dedent(page))
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert built.returncode != 0
    assert "Tutorial page page.py: code cell 2 (`def kill_worker_1(line):`)" in built.stderr
    assert "Worker 1 of 2 was killed by SIGKILL" in built.stderr


def speed_table(two_devices=1000.0, two_workers=1000.0, fit=1000.0, accuracy=(0.98, 0.98, 0.98)):
    """`comparison`'s table for one process at 1,000 images/s and the other set-ups' rates."""
    rows = {
        "one process": (1, 1000.0, accuracy[0]),
        "2 devices": (2, two_devices, accuracy[1]),
        "2 workers": (2, two_workers, accuracy[2]),
        "model.fit": (1, fit, accuracy[0]),
    }
    frame = pd.DataFrame(
        {
            "replicas": [replicas for replicas, _, _ in rows.values()],
            "test accuracy": [accuracy for _, _, accuracy in rows.values()],
            "images/s": [rate for _, rate, _ in rows.values()],
        },
        index=list(rows),
    )
    frame["speed-up"] = frame["images/s"] / 1000.0
    frame["efficiency"] = frame["speed-up"] / frame["replicas"]
    return frame


SPREADS = ["2 devices", "2 workers"]


def test_the_pages_words_on_speed_come_from_its_own_figures():
    def summary(two_devices=1000.0, two_workers=1000.0, fit=1000.0):
        table = speed_table(two_devices, two_workers, fit)
        return distributed.scaling_summary(table, "one process", SPREADS, "model.fit")

    same = summary(1010.0, 990.0)
    assert "2 devices ran about as fast as one process (1.01x, a scaling efficiency of 50%)" in same
    assert "and 2 workers ran about as fast as one process (0.99x" in same
    assert "spreading the training gained nothing" in same
    slower = summary(1010.0, 600.0)
    assert "2 workers ran slower than one process (0.60x, a scaling efficiency of 30%)" in slower
    assert "gained nothing" in slower  # the better of the two was about as fast
    only_slower = summary(800.0, 600.0)
    assert "only cost time" in only_slower and "gained nothing" not in only_slower
    faster = summary(1980.0, 1200.0)
    assert "2 devices ran faster than one process (1.98x, a scaling efficiency of 99%)" in faster
    assert "paid: 2 devices processed 1.98 times the images per second of one process" in faster
    assert "loop was about as fast as Keras's `model.fit` (0.95x) on the same" in summary(
        fit=1000 / 0.95
    )
    assert "loop was faster than Keras's `model.fit` (1.14x its images per second)" in summary(
        fit=1000 / 1.14
    )
    assert "loop was slower than Keras's `model.fit` (0.50x its" in summary(fit=2000.0)


def test_the_pages_words_on_accuracy_come_from_its_own_figures():
    def summary(*accuracy):
        table = speed_table(accuracy=accuracy)
        return distributed.accuracy_summary(table, "one process", SPREADS)

    exact = summary(0.985, 0.985, 0.985)
    assert exact.startswith("On 2 replicas, the training reaches exactly the accuracy of one")
    assert "(98.50% on one process, 98.50% on 2 devices and 98.50% on 2 workers)" in exact
    assert "not *what* is learned." in exact
    close = summary(0.985, 0.9855, 0.9841)
    assert "reaches the accuracy of one replica" in close and "exactly" not in close
    apart = summary(0.985, 0.9878, 0.985)
    assert "ends within 0.28 points of one replica" in apart and "rounds differently" in apart
    with pytest.raises(ClaimError) as failed:
        summary(0.985, 0.975, 0.985)
    # The failure says the sentence and the figures it was judged on.
    assert "ends within 1.00 points of one replica" in str(failed.value)
    assert "one process=0.985, 2 devices=0.975, 2 workers=0.985" in str(failed.value)


def test_the_step_times_come_from_the_throughput():
    table = speed_table(two_workers=640.0)
    said = distributed.step_times(table, "one process", "2 workers", 128, 34_826)
    assert said.startswith("Here a step of 128 images took 128.0 ms on one process and 200.0 ms")
    assert "all-reduced 34,826 gradients" in said and "72.0 ms more per step" in said
    table = speed_table(two_workers=1600.0)
    said = distributed.step_times(table, "one process", "2 workers", 128, 34_826)
    assert "80.0 ms on 2 workers" in said and "48.0 ms less per step" in said
    table = speed_table(two_workers=1050.0)
    assert "about as long" in distributed.step_times(table, "one process", "2 workers", 128, 1)


def test_identical_copies_are_checked_and_the_runs_compared_from_their_hashes():
    def run(*digests):
        return made_record(config=SMALL, replica_weights=digests)

    same = {"one process": run("a" * 64), "2 devices": run("a" * 64, "a" * 64)}
    said = distributed.replica_agreement(same)
    assert said.startswith(
        "Within each run, every replica holds the same weights, to the last bit."
    )
    assert "agree too: one process and 2 devices end with the same weights" in said
    apart = {**same, "2 workers": run("b" * 64, "b" * 64)}
    said = distributed.replica_agreement(apart)
    assert "2 different sets of weights (one process and 2 devices; 2 workers)" in said
    assert "adds those of 64 images at once" in said  # SMALL's global batch
    all_apart = {**apart, "2 devices": run("c" * 64, "c" * 64)}
    assert "all 3 end with different weights" in distributed.replica_agreement(all_apart)
    with pytest.raises(ClaimError, match=r"every replica holds the same weights.*'cccccccccccc'"):
        distributed.replica_agreement({**apart, "2 devices": run("a" * 64, "c" * 64)})
