"""Data-parallel training under `tf.distribute`: the training loop, checkpoints, results.

Data parallelism keeps a full copy of the model on every *replica* (a GPU, a logical CPU
device, or a worker process on another machine). Each training step splits the *global*
batch into one *per-replica* batch per replica, every replica computes the gradients of its
share of the loss, an **all-reduce** sums the gradients across replicas, and every replica
applies the same sum to its copy: the copies stay identical, step after step.

`train` trains any registered model under any strategy of `mnist_book.strategies` (local
devices, or a cluster of workers) exactly as `mnist_book.training.train` does with Keras's
`model.fit`: the same images in the same order, the same steps and learning rate (all from
`mnist_book.config`), the same `TrainResult`, epoch lines, run-log events and model cache;
on one replica it ends with the same test results. It adds a checkpoint after every epoch
to resume from. `comparison` sets trainings side by side: throughput,
speed-up and scaling efficiency; `accuracy_summary`, `scaling_summary`, `step_times` and
`replica_agreement` say what they show, in words chosen from their figures or checked by
them (`mnist_book.conclusions`).

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585), so
`train` runs its own training step: `tf.GradientTape`, `strategy.run`, the loss averaged
over the global batch (`tf.nn.compute_average_loss`) and `optimizer.apply_gradients`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mnist_book import (
    cache_identity,
    conclusions,
    data,
    model_cache,
    models,
    paths,
    plan,
    training,
)
from mnist_book._keras import keras
from mnist_book._keras import tensorflow as tf
from mnist_book.conclusions import listed
from mnist_book.config import TrainConfig, recipe
from mnist_book.data import load_mnist
from mnist_book.models import build_model, prepare_images
from mnist_book.results import Distribution, TrainingRecord
from mnist_book.strategies import (
    ClusterError,
    distribution_of,
    is_chief,
    local_strategy,
    lost_peers,
    without_info_logs,
)
from mnist_book.training import EVALUATION_BATCH, TrainResult

SAVED_TO = "Saved in the model cache: "
"""How the chief of several workers says where it stored the result (a line of its log)."""

_CHECKPOINT_WEIGHTS = "checkpoint.npz"
_CHECKPOINT_STATE = "checkpoint.json"


STEPS_PER_CALL = 32
"""Training steps per call of the compiled step function, as Keras's ``steps_per_execution``:
returning to Python after every step would cost more than a small model's step."""


def comparison(results: dict[str, TrainResult]) -> pd.DataFrame:
    """One row per labelled result: replicas, batch per replica, accuracy, throughput.

    The speed-up and scaling efficiency (speed-up / replicas) are relative to the first
    row, the single-replica baseline.
    """
    rows = []
    for result in results.values():
        replicas = result.distribution.replicas if result.distribution else 1
        rows.append(
            {
                "replicas": replicas,
                "per replica": result.config.batch_size // replicas,
                "test accuracy": result.test_accuracy,
                "images/s": result.samples_per_second,
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(list(results), name="trained on"))
    table["speed-up"] = table["images/s"] / table["images/s"].iloc[0]
    table["efficiency"] = table["speed-up"] / table["replicas"]
    return table


SAME_ACCURACY = 0.001
"""Test accuracies this close (0.1 points: 10 of the 10,000 test digits) read as the same."""

ROUNDING_SPREAD = 0.005
"""The largest test-accuracy difference (0.5 points) that rounding is held to explain between
trainings of the same batches and learning rate on different replicas; a larger one fails
the page (`accuracy_summary`)."""

FASTER = 1.1
"""A speed-up from this up is called faster, and one down to 1 / `FASTER` about as fast."""


def accuracy_summary(table: pd.DataFrame, baseline: str, spreads: Sequence[str]) -> str:
    """What `comparison`'s `table` shows of accuracy, in words chosen from its figures.

    `baseline` is the one-replica row, `spreads` the data-parallel rows of the same training.
    Within `SAME_ACCURACY` of the baseline, they reach its accuracy; within
    `ROUNDING_SPREAD`, they end close to it, rounding apart; beyond, the claim that data
    parallelism does not change what is learned fails (`conclusions.ClaimError`, with the
    sentence and every row's accuracy).
    """
    accuracy = table["test accuracy"]
    gap = max(abs(accuracy[row] - accuracy[baseline]) for row in spreads)
    replicas = _replicas_in_words(table, spreads)
    figures = listed([f"{accuracy[row]:.2%} on {row}" for row in [baseline, *spreads]])
    lesson = (
        "with the same global batch and learning rate, data parallelism changes *where* the "
        "gradients are computed, not *what* is learned"
    )
    if gap <= SAME_ACCURACY:
        reach = "exactly the accuracy" if gap == 0 else "the accuracy"
        return f"On {replicas}, the training reaches {reach} of one replica ({figures}): {lesson}."
    return conclusions.checked(
        f"On {replicas}, the training ends within {100 * gap:.2f} points of one replica "
        f"({figures}): {lesson}. The replicas add the same gradients in another order, though, "
        "and floating-point addition rounds differently in each order; over a training, those "
        "roundings grow into slightly different weights.",
        gap <= ROUNDING_SPREAD,
        **{row: float(accuracy[row]) for row in [baseline, *spreads]},
        largest_gap=float(gap),
        rounding_spread=ROUNDING_SPREAD,
    )


def scaling_summary(table: pd.DataFrame, baseline: str, spreads: Sequence[str], fit: str) -> str:
    """What `comparison`'s `table` measured of speed, in words chosen from its own figures.

    `baseline` is the one-process row of the custom loop, `spreads` the data-parallel rows
    and `fit` Keras's `model.fit` on the same training: how much faster (or not) each spread
    run was, whether spreading paid, and how close the custom loop came to `model.fit`.
    """
    speed_up = table["speed-up"]
    runs = []
    for row in spreads:
        if speed_up[row] >= FASTER:
            pace = f"faster than {baseline}"
        elif speed_up[row] > 1 / FASTER:
            pace = f"about as fast as {baseline}"
        else:
            pace = f"slower than {baseline}"
        efficiency = table.loc[row, "efficiency"]
        runs.append(
            f"{row} ran {pace} ({speed_up[row]:.2f}x, a scaling efficiency of {efficiency:.0%})"
        )
    best = max(spreads, key=lambda row: speed_up[row])
    if speed_up[best] >= FASTER:
        verdict = (
            f"Here, spreading the training paid: {best} processed {speed_up[best]:.2f} times "
            f"the images per second of {baseline}."
        )
    elif speed_up[best] > 1 / FASTER:
        verdict = "Here, spreading the training gained nothing."
    else:
        verdict = (
            "Here, spreading the training only cost time: coordinating the replicas took more "
            "than they gave."
        )
    loop = table.loc[baseline, "images/s"] / table.loc[fit, "images/s"]
    if loop >= FASTER:
        against_fit = f"was faster than Keras's `model.fit` ({loop:.2f}x its images per second)"
    elif loop > 1 / FASTER:
        against_fit = f"was about as fast as Keras's `model.fit` ({loop:.2f}x)"
    else:
        against_fit = f"was slower than Keras's `model.fit` ({loop:.2f}x its images per second)"
    return (
        f"On {_replicas_in_words(table, spreads)}, {listed(runs)}. {verdict} On one process, "
        f"this page's training loop {against_fit} on the same training."
    )


def step_times(
    table: pd.DataFrame, baseline: str, spread: str, batch_size: int, params: int
) -> str:
    """How long a training step took on `baseline` and on `spread`, from their throughput.

    A step is a global batch of `batch_size` images, at the end of which the replicas of
    `spread` all-reduce one gradient per parameter (`params`); validation and start-up are
    averaged in, as in the throughput.
    """
    rate = table["images/s"]
    one, spread_ms = (1000 * batch_size / rate[row] for row in (baseline, spread))
    said = (
        f"Here a step of {batch_size} images took {one:.1f} ms on {baseline} and "
        f"{spread_ms:.1f} ms on {spread}, whose replicas all-reduced {params:,} gradients at "
        "the end of every step"
    )
    if spread_ms >= FASTER * one:
        return f"{said}: {spread_ms - one:.1f} ms more per step."
    if spread_ms > one / FASTER:
        return f"{said}: about as long."
    return f"{said}: {one - spread_ms:.1f} ms less per step."


def replica_agreement(runs: Mapping[str, TrainingRecord | TrainResult]) -> str:
    """What the SHA-256 of every replica's trained weights show, for each labelled run.

    Checked: within each run, every replica holds the same weights (else
    `conclusions.ClaimError`, with each run's hashes). Chosen: whether the runs agree with
    each other.
    """
    within = conclusions.checked(
        "Within each run, every replica holds the same weights, to the last bit.",
        all(len(set(run.replica_weights)) == 1 for run in runs.values()),
        **{label: [digest[:12] for digest in run.replica_weights] for label, run in runs.items()},
    )
    groups: dict[str, list[str]] = {}
    for label, run in runs.items():
        groups.setdefault(run.replica_weights[0], []).append(label)
    if len(groups) == 1:
        agreeing = listed(list(runs))
        return f"{within} Across runs they agree too: {agreeing} end with the same weights."
    if len(groups) == len(runs):
        across = f"Across runs, all {len(runs)} end with different weights"
    else:
        sets = "; ".join(listed(labels) for labels in groups.values())
        across = f"Across runs they end with {len(groups)} different sets of weights ({sets})"
    batch = next(iter(runs.values())).config.batch_size
    return (
        f"{within} {across}: the replicas add the same gradients in another order (one "
        f"replica adds those of {batch} images at once, two add two halves and then the two "
        "sums), and floating-point addition rounds differently in each order."
    )


def _replicas_in_words(table: pd.DataFrame, rows: Sequence[str]) -> str:
    """ "2 replicas" if `rows` all have 2 replicas, else "2 and 4 replicas"."""
    counts = sorted({int(table.loc[row, "replicas"]) for row in rows})
    return f"{listed([str(count) for count in counts])} replicas"


# Batch and learning rate --------------------------------------------------------------------


def per_replica_batch(config: TrainConfig, replicas: int) -> int:
    """Each replica's share of the global batch `config.batch_size`."""
    if config.batch_size % replicas:
        raise ValueError(
            f"The global batch ({config.batch_size}) must divide evenly over {replicas} "
            f"replicas; use a multiple of {replicas}, such as {replicas * 64}."
        )
    return config.batch_size // replicas


def scale_for_replicas(config: TrainConfig, replicas: int, per_replica: int) -> TrainConfig:
    """`config` for `replicas` replicas of `per_replica` images each, learning rate scaled.

    The linear scaling rule (Goyal et al., 2017): multiplying the global batch by k takes
    k times fewer steps per epoch, so the learning rate is multiplied by k too.
    """
    batch = replicas * per_replica
    scale = batch / config.batch_size
    return replace(config, batch_size=batch, learning_rate=config.learning_rate * scale)


# Training -----------------------------------------------------------------------------------


def train(
    name: str,
    config: TrainConfig | None = None,
    strategy: tf.distribute.Strategy | None = None,
    *,
    use_cache: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train model `name` data-parallel under `strategy` (default: `local_strategy()`).

    `config.batch_size` is the global batch, split evenly over the replicas. Prints one
    line per epoch; only the chief (worker 0) writes to the run log and the cache. With
    `use_cache`, a single worker loads an identical earlier training from the model cache;
    several workers always train (each host has its own cache) and the chief stores the
    result. With `use_cache`, the chief also checkpoints every completed epoch beside the
    cache entry: a training that was interrupted resumes from its last completed epoch.
    """
    config = config or recipe(name)
    strategy = strategy or local_strategy()
    distribution = distribution_of(strategy)
    plan.require_planned(name, config, distribution)
    per_replica_batch(config, distribution.replicas)
    chief = is_chief(strategy)
    key = cache_key(name, config, distribution)
    entry = model_cache.entry(name, key)
    checkpoint = _checkpoint_dir(entry) if use_cache else None
    if use_cache and distribution.workers == 1:
        with model_cache.entry_lock(entry):
            cached = training.load_entry(entry, name, config)
            if cached is not None:
                return announce_loaded(cached, log)
            result = _train_and_evaluate(name, config, strategy, checkpoint, log, chief, key)
            model_cache.save(entry, result.record, result.model)
    else:
        result = _train_and_evaluate(
            name, config, strategy, checkpoint, log, chief, key if use_cache else None
        )
        if chief and use_cache:
            model_cache.save(entry, result.record, result.model)
            if entry.is_dir():  # where the local launcher finds the result
                log(f"{SAVED_TO}{entry}")
    if checkpoint is not None and chief:
        _remove_checkpoint(checkpoint)
    training.report(result.record, log, record_event=chief)
    return result


def key_material(distribution: Distribution, config: TrainConfig) -> dict[str, Any]:
    """What a distributed training adds to its cache key (`cache_key`).

    The strategy, the numbers of workers and replicas, and the global and per-replica batch:
    each changes the numbers. The device names do not (the same training on two GPUs or two
    logical CPUs has the same key).
    """
    return {
        "strategy": distribution.strategy,
        "workers": distribution.workers,
        "replicas": distribution.replicas,
        "global_batch": config.batch_size,
        "per_replica_batch": per_replica_batch(config, distribution.replicas),
    }


def cache_key(name: str, config: TrainConfig, distribution: Distribution) -> str:
    """The model-cache key of training `name` with `config` under `distribution`."""
    return cache_identity.cache_key(
        name, config, DISTRIBUTED_PROCEDURE, key_material(distribution, config)
    )


def entry_path(name: str, config: TrainConfig, distribution: Distribution) -> Path:
    """The model-cache directory of training `name` with `config` under `distribution`."""
    return model_cache.entry(name, cache_key(name, config, distribution))


def announce_loaded(result: TrainResult, log: Callable[[str], None]) -> TrainResult:
    """Say (through `log` and the run log) that `result` came from the model cache; return it."""
    training.announce_loaded(result, log)
    training.report(result.record, log)
    return result


def _train_and_evaluate(
    name: str,
    config: TrainConfig,
    strategy: tf.distribute.Strategy,
    checkpoint: Path | None,
    log: Callable[[str], None],
    chief: bool,
    key: str | None,
) -> TrainResult:
    model_cache.refuse_training_if_required(name, key)
    distribution = distribution_of(strategy)
    if chief:
        training.announce_training(name, config, log, where=distribution.description)
    else:
        log(f"Training {name} on {distribution.description}.")
    log(
        f"Global batch {config.batch_size}, "
        f"{per_replica_batch(config, distribution.replicas)} per replica."
    )
    # One process takes its turn to train; local workers train in the launcher's turn.
    turn = training.training_turn(name, log) if distribution.workers == 1 else nullcontext()
    started = time.perf_counter()
    try:
        with turn, without_info_logs():
            model, history, test_loss, test_accuracy, proof = _fit_distributed(
                name, config, strategy, checkpoint, log, chief
            )
    except tf.errors.OpError as error:
        raise lost_peers(strategy.cluster_resolver, error) from None
    record = TrainingRecord(
        name=name,
        config=config,
        test_accuracy=test_accuracy,
        test_loss=test_loss,
        train_seconds=time.perf_counter() - started,
        params=model.count_params(),
        images_per_epoch=config.images_per_epoch(),
        history=history,
        cache_key=key,
        distribution=distribution,
        replica_weights=tuple(proof),
    )
    return TrainResult(record, model)


def _fit_distributed(
    name: str,
    config: TrainConfig,
    strategy: tf.distribute.Strategy,
    checkpoint: Path | None,
    log: Callable[[str], None],
    chief: bool,
) -> tuple[keras.Model, dict[str, list[float]], float, float, list[str]]:
    """Train under `strategy` and evaluate: the model, history, test results, proof.

    This and `DISTRIBUTED_PROCEDURE` decide the numbers and are part of the cache key.
    The images, steps, learning rate and each epoch's order are `config`'s, as for
    `mnist_book.training.train`; worker w takes the w-th group of per-replica batches of
    every step (`tf.data.Dataset.shard`), so each image of a step is seen by exactly one
    replica. Every worker resumes from `checkpoint`, which the chief writes after each epoch.
    Validation and test use a plain copy of the model (`evaluator`), which is also the
    model returned.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = config.split(x_train, y_train)
    # In memory once, as tensors: each epoch's batches are gathered from them by index.
    x_fit, y_fit = tf.constant(prepare_images(name, x_fit)), tf.constant(y_fit.astype(np.int32))
    x_val = prepare_images(name, x_val)
    steps = config.steps_per_epoch(len(x_fit))
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = build_model(name, config.learning_rate_schedule(len(x_fit)))
        model.optimizer.build(model.trainable_variables)
    state = [*model.variables, *model.optimizer.variables]
    run_steps = _training_steps(model, strategy, config.batch_size)
    evaluator = build_model(name, config.learning_rate_schedule(len(x_fit)))
    evaluator.optimizer.build(evaluator.trainable_variables)
    history: dict[str, list[float]] = {}
    first = _restore(checkpoint, state, history, log) if checkpoint else 0
    first = _agree_on_epoch(strategy, first)
    seconds = history.pop("seconds", [])
    for epoch in range(first, config.epochs):
        started = time.perf_counter()
        iterator = iter(_epoch_batches(strategy, x_fit, y_fit, config, epoch))
        totals = np.zeros(2)
        for done in range(0, steps, STEPS_PER_CALL):
            count = tf.constant(min(STEPS_PER_CALL, steps - done))
            totals += [float(value) for value in run_steps(iterator, count)]
        logs = {"loss": totals[0] / steps, "accuracy": totals[1] / (steps * config.batch_size)}
        evaluator.set_weights(model.get_weights())
        if len(x_val):
            val_loss, val_accuracy = evaluator.evaluate(
                x_val, y_val, batch_size=EVALUATION_BATCH, verbose=0
            )
            logs |= {"val_loss": val_loss, "val_accuracy": val_accuracy}
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
        seconds.append(time.perf_counter() - started)
        if chief and checkpoint is not None:  # before the epoch is reported: then it is saved
            _save_checkpoint(checkpoint, state, epoch + 1, {**history, "seconds": seconds})
        epoch_history = {**history, "seconds": seconds}
        if chief:
            training.report_epoch(name, epoch, config.epochs, epoch_history, log)
        elif training.epoch_shown(epoch, config.epochs):
            log(training.epoch_line(epoch, config.epochs, epoch_history))
    evaluator.set_weights(model.get_weights())
    for copy, variable in zip(
        evaluator.optimizer.variables, model.optimizer.variables, strict=True
    ):
        copy.assign(variable.numpy())  # the optimizer's state too, to train on from there
    test_loss, test_accuracy = evaluator.evaluate(
        prepare_images(name, x_test), y_test, batch_size=EVALUATION_BATCH, verbose=0
    )
    proof = _replica_fingerprints(strategy, model)
    return evaluator, {**history, "seconds": seconds}, float(test_loss), float(test_accuracy), proof


def _training_steps(
    model: keras.Model, strategy: tf.distribute.Strategy, global_batch: int
) -> Callable[[Any, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """`count` steps on every replica: their summed mean losses and correct predictions.

    One call runs up to `STEPS_PER_CALL` steps in a compiled loop, as Keras's
    ``steps_per_execution`` does, so Python is not in the way of every step.
    """
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            # Divided by the *global* batch: summed over the replicas by the all-reduce,
            # the gradients are those of the mean loss over the whole global batch.
            loss = tf.nn.compute_average_loss(
                loss_fn(labels, probabilities), global_batch_size=global_batch
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        predicted = tf.argmax(probabilities, axis=-1, output_type=labels.dtype)
        return loss, tf.reduce_sum(tf.cast(predicted == labels, tf.float32))

    @tf.function
    def steps(iterator: Any, count: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        total = tf.distribute.ReduceOp.SUM
        losses, correct = tf.constant(0.0), tf.constant(0.0)
        for _ in tf.range(count):
            loss, right = strategy.run(replica_step, args=next(iterator))
            losses += strategy.reduce(total, loss, axis=None)
            correct += strategy.reduce(total, right, axis=None)
        return losses, correct

    return steps


def _epoch_batches(
    strategy: tf.distribute.Strategy,
    images: tf.Tensor,
    labels: tf.Tensor,
    config: TrainConfig,
    epoch: int,
) -> Any:
    """This worker's per-replica batches of `epoch`, as a distributed dataset.

    The batches are gathered by index from `images` and `labels`, which stay in memory: an
    epoch copies nothing but its batches.
    """
    order = config.epoch_order(epoch, len(images))
    replicas = strategy.num_replicas_in_sync

    def dataset(context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_replica = context.get_per_replica_batch_size(config.batch_size)
        local = replicas // context.num_input_pipelines  # replicas on this worker
        return (
            tf.data.Dataset.from_tensor_slices(order)
            .batch(per_replica)  # step s, replica r: batch s * replicas + r
            .batch(local)  # the batches of one worker's replicas for one step
            .shard(context.num_input_pipelines, context.input_pipeline_id)
            .unbatch()
            .map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
            .prefetch(2)
        )

    return strategy.distribute_datasets_from_function(dataset)


def _agree_on_epoch(strategy: tf.distribute.Strategy, epoch: int) -> int:
    """The epoch every worker resumes from; a `ClusterError` if they disagree."""
    if distribution_of(strategy).workers == 1:
        return epoch
    mine = tf.constant([float(epoch), float(epoch) ** 2])
    value = strategy.experimental_distribute_values_from_function(lambda _: mine)
    mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None).numpy()
    if mean[1] != mean[0] ** 2:  # a variance: zero when every worker has the same epoch
        raise ClusterError(
            "The workers found different checkpoints to resume from (this one: epoch "
            f"{epoch}); the checkpoints are written by worker 0 and must be readable by "
            f"every worker: put {paths.CACHE_DIR_ENV} on storage they share, or remove the "
            "checkpoints to start over."
        )
    return epoch


def _replica_fingerprints(strategy: tf.distribute.Strategy, model: keras.Model) -> list[str]:
    """SHA-256 of every replica's copy of the weights, gathered from every worker in order.

    Each replica reads its own copy (`strategy.run`); each worker hashes its replicas'
    copies; `strategy.gather` collects the hashes of every replica of every worker.
    """
    copies = tf.function(strategy.run)(lambda: [tf.identity(weight) for weight in model.weights])
    local = [strategy.experimental_local_results(copy) for copy in copies]
    chunks = []
    for index in range(len(local[0]) if local else 0):
        digest = hashlib.sha256()
        for weight in local:
            digest.update(np.ascontiguousarray(weight[index].numpy()).tobytes())
        # 16 bytes as 8 exact float32 numbers, for the collective to carry.
        chunks.append(np.frombuffer(digest.digest()[:16], dtype=np.uint16).astype(np.float32))
    value = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(chunks[context.replica_id_in_sync_group % len(chunks)][None])
    )
    gathered = strategy.gather(value, axis=0).numpy().astype(np.uint16)
    return [row.tobytes().hex() for row in gathered]


# Checkpoints --------------------------------------------------------------------------------


def _checkpoint_dir(entry: Path) -> Path:
    """Where the chief checkpoints the training of cache `entry`, after every epoch."""
    return entry.with_name(entry.name + ".checkpoint")


def _save_checkpoint(
    directory: Path, state: list[Any], epoch: int, history: dict[str, list[float]]
) -> None:
    """The variables and history after `epoch` epochs; each file replaced atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / ("tmp-" + _CHECKPOINT_WEIGHTS)
    with open(weights, "wb") as stream:
        np.savez(stream, *[np.asarray(variable.numpy()) for variable in state])
    os.replace(weights, directory / _CHECKPOINT_WEIGHTS)
    meta = directory / ("tmp-" + _CHECKPOINT_STATE)
    meta.write_text(json.dumps({"epoch": epoch, "history": history}))
    os.replace(meta, directory / _CHECKPOINT_STATE)


def _restore(
    directory: Path, state: list[Any], history: dict[str, list[float]], log: Callable[[str], None]
) -> int:
    """Load the checkpoint in `directory` into `state` and `history`: its epoch, or 0."""
    try:
        meta = json.loads((directory / _CHECKPOINT_STATE).read_text())
        with np.load(directory / _CHECKPOINT_WEIGHTS) as stored:
            values = [stored[f"arr_{index}"] for index in range(len(stored.files))]
        if len(values) != len(state) or any(
            value.shape != tuple(variable.shape)
            for value, variable in zip(values, state, strict=False)
        ):
            raise ValueError("its variables do not match the model")
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError) as error:
        log(f"Ignoring the unreadable checkpoint in {directory} ({error}); starting over.")
        return 0
    for variable, value in zip(state, values, strict=True):
        variable.assign(value)
    history.update(meta["history"])
    log(f"Resuming from the checkpoint after epoch {meta['epoch']} ({directory}).")
    return int(meta["epoch"])


def _remove_checkpoint(directory: Path) -> None:
    for name in (_CHECKPOINT_WEIGHTS, _CHECKPOINT_STATE):
        (directory / name).unlink(missing_ok=True)
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


DISTRIBUTED_PROCEDURE: tuple[Callable[..., Any], ...] = (
    _fit_distributed,
    _training_steps,
    _epoch_batches,
    TrainConfig,
    _agree_on_epoch,
    _restore,
    build_model,
    models.compile_model,
    data.scale_pixels,
    prepare_images,
)
"""The code that decides a distributed training's numbers, part of its cache key."""
