"""Train a registered model on MNIST with Keras's `model.fit`, with results cached on disk.

`train("hidden_layer")` trains with the site's recipe for that model (`mnist_book.config`),
evaluates on the test set and returns a `TrainResult`: the model and its
`mnist_book.results.TrainingRecord`. The trained model and its record are saved in the model
cache (`mnist_book.model_cache`) under a key of everything that determines the result
(`mnist_book.cache_identity`), so asking for the same training again loads it in well under
a second instead of retraining.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_book import cache_identity, data, model_cache, models, plan, run_log
from mnist_book._keras import keras
from mnist_book._keras import tensorflow as tf
from mnist_book.config import TrainConfig, recipe
from mnist_book.data import load_mnist
from mnist_book.evaluation import Evaluation, ensemble, evaluate, shift_images
from mnist_book.models import build_model, prepare_images
from mnist_book.results import Distribution, TrainingRecord
from mnist_book.run_log import Event

EVALUATION_BATCH = 1024
"""The batch of validation and test passes: larger than training's, for speed alone."""

_METRIC_ORDER = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class TrainResult:
    """A trained model with its `TrainingRecord` (whose fields it reads through)."""

    record: TrainingRecord
    model: keras.Model = field(repr=False)
    from_cache: bool = False

    @property
    def name(self) -> str:
        """The registered model's name."""
        return self.record.name

    @property
    def config(self) -> TrainConfig:
        """How it was trained."""
        return self.record.config

    @property
    def history(self) -> dict[str, list[float]]:
        """One value per epoch of each metric, and the epoch's seconds."""
        return self.record.history

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the 10,000 test images."""
        return self.record.test_accuracy

    @property
    def test_loss(self) -> float:
        """Cross-entropy loss on the 10,000 test images."""
        return self.record.test_loss

    @property
    def train_seconds(self) -> float:
        """How long the training took, in seconds."""
        return self.record.train_seconds

    @property
    def params(self) -> int:
        """The model's number of parameters."""
        return self.record.params

    @property
    def samples_per_second(self) -> float:
        """Training images per second (`TrainingRecord.samples_per_second`)."""
        return self.record.samples_per_second

    @property
    def distribution(self) -> Distribution | None:
        """How a data-parallel training was spread; None for `train`'s."""
        return self.record.distribution

    @property
    def replica_weights(self) -> tuple[str, ...]:
        """A data-parallel training's SHA-256 of every replica's weights."""
        return self.record.replica_weights

    @property
    def description(self) -> str:
        """Where it trained, in words: "one process", or the distribution's description."""
        return self.distribution.description if self.distribution else "one process"

    def evaluate(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        shifts: Sequence[tuple[int, int]] = ((0, 0),),
    ) -> Evaluation:
        """Predictions and error analysis on MNIST `images` (uint8, as loaded) and `labels`.

        With several `shifts` (such as `mnist_book.evaluation.TTA_SHIFTS`), test-time
        augmentation: the model sees each image moved by each (down, right) shift in pixels,
        and its probabilities are averaged over the views.
        """
        views = [
            evaluate(self.model, prepare_images(self.name, shift_images(images, dy, dx)), labels)
            for dy, dx in shifts
        ]
        return ensemble(views)


def cache_key(name: str, config: TrainConfig) -> str:
    """The model-cache key of training `name` with `config` by `train`."""
    return cache_identity.cache_key(name, config, TRAINING_PROCEDURE)


def train(
    name: str,
    config: TrainConfig | None = None,
    *,
    use_cache: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train model `name` (with the site's recipe unless `config` is given) and evaluate it.

    Prints a line per epoch through `log` (about 20 of a longer training: `epoch_shown`);
    a page that uses a model another page trains asks `trained` instead.
    With `use_cache`, a previous identical training is loaded from the model cache instead
    of retraining, and says the lines that training said (`training_lines`): a page reads
    the same either way. An unreadable cache entry is discarded with a warning and retrained.
    Waits for another training, and the load itself, concern whoever runs the code:
    `mnist_book.run_log.tell` keeps them off a page that a site build executes.
    """
    config = config or recipe(name)
    plan.require_planned(name, config, distribution=None)
    if not use_cache:
        result = _train_and_evaluate(name, config, log, key=None)
    else:
        key = cache_key(name, config)
        entry = model_cache.entry(name, key)
        same = f"Waiting for another process that trains {name} the same way."
        with model_cache.entry_lock(entry, _waiting(name, same, log)):
            result = load_entry(entry, name, config)
            if result is None:
                result = _train_and_evaluate(name, config, log, key)
                model_cache.save(entry, result.record, result.model)
            else:
                announce_loaded(result, log)
    report(result.record, log)
    return result


def report(
    record: TrainingRecord, log: Callable[[str], None], *, record_event: bool = True
) -> None:
    """Say a training's test results through `log`, and (`record_event`) in the run log.

    The record carries its model-cache key, so a process whose code is older than the
    page's (a long `mkdocs serve`) still finds the very model the page trained.
    """
    log(f"Test accuracy {record.test_accuracy:.2%}, test loss {record.test_loss:.4f}.")
    if record_event:
        run_log.record(Event(run_log.RESULT, record.name, result=record))


def announce_loaded(result: TrainResult, log: Callable[[str], None]) -> None:
    """Say the lines of `result`'s training again, which came from the model cache.

    That it was loaded is machinery: the run log records it, and `log` says it only outside
    a site build (`mnist_book.run_log.tell`). The page shows the training as it happened.
    """
    loaded = (
        f"Loaded {result.record.label} from the cache; "
        f"its training took {result.train_seconds:.1f} s:"
    )
    run_log.tell(Event(run_log.LOADED, result.name), loaded, log)
    for line in training_lines(result.record):
        log(line)


def training_lines(record: TrainingRecord) -> list[str]:
    """What the training of `record` said before its test result: its header, its epochs.

    The epoch lines are those `epoch_shown`, from the record's history, seconds included.
    """
    where = record.distribution.description if record.distribution else ""
    epochs = record.config.epochs
    return [
        training_header(record.name, epochs, record.params, where),
        *(
            epoch_line(epoch, epochs, record.history)
            for epoch in range(epochs)
            if epoch_shown(epoch, epochs)
        ),
    ]


def training_header(name: str, epochs: int, params: int, where: str = "") -> str:
    """`Training convnet (34,826 parameters) for 15 epochs.` (on `where`, if given)."""
    on = f" on {where}" if where else ""
    length = f"{epochs} epoch{'s' if epochs > 1 else ''}"
    return f"Training {name} ({params:,} parameters){on} for {length}."


def cached_record(name: str, config: TrainConfig | None = None) -> TrainingRecord | None:
    """The stored result of training `name` with `config` (default: its recipe), if cached.

    Never trains, never loads the model: None unless the cache holds a complete entry for
    exactly this training.
    """
    config = config or recipe(name)
    record = model_cache.stored_record(cache_entry(name, config))
    if record is None or record.name != name or record.config != config:
        return None
    return record


def load_cached(
    name: str, config: TrainConfig | None = None, *, key: str | None = None
) -> TrainResult | None:
    """The cached training of `name` with `config` (default: its recipe), loaded; else None.

    Never trains: returns None unless the cache (or the published cache) holds a readable
    entry for exactly this training (an unreadable one is discarded with a warning, as
    `train` would). `key` is
    its cache key when known (a page's result carries it), else computed here.
    """
    config = config or recipe(name)
    entry = model_cache.entry(name, key or cache_key(name, config))
    with model_cache.entry_lock(entry):
        return load_entry(entry, name, config)


def trained(name: str) -> TrainResult:
    """The site's training of `name`, for a page that uses a model another page teaches.

    Loaded from the model cache without a word (the page that trains it shows its training),
    or, if that page has not run yet, trained here with the recipe, saying so as `train` does.
    """
    return load_cached(name) or train(name)


def cache_entry(name: str, config: TrainConfig) -> Path:
    """The model-cache entry of training `name` with `config` by `train`."""
    return model_cache.entry(name, cache_key(name, config))


def load_entry(entry: Path, name: str, config: TrainConfig) -> TrainResult | None:
    """The training of `name` with `config` stored in the model-cache `entry`, else None.

    An unreadable entry, or one of another training, is discarded with a warning
    (`mnist_book.model_cache.load`).
    """
    stored = model_cache.load(entry, name, config)
    return None if stored is None else TrainResult(*stored, from_cache=True)


def _waiting(name: str, message: str, log: Callable[[str], None]) -> Callable[[], None]:
    """What a training of `name` does when it must wait: record the wait, tell `message`.

    A `run_log.WAITING` event tells the site build's watchdog the cell is not stuck, and
    the build's log says the wait; `message` goes through `log` only outside a build
    (`mnist_book.run_log.tell`): a page's reader does not see the build's waits.
    """

    def waiting() -> None:
        run_log.tell(Event(run_log.WAITING, name), message, log)

    return waiting


@contextmanager
def training_turn(name: str, log: Callable[[str], None] = print) -> Iterator[None]:
    """Hold this machine's turn to train `name`, waiting for another training (see `_waiting`).

    Trainings take turns through a lock in the model cache: two at once would each run at
    half speed on a small machine, and their training times would mean nothing.
    """

    turn = "Waiting for another training to finish: one at a time uses the CPU best."
    lock = model_cache.models_dir() / model_cache.TRAINING_LOCK
    with model_cache.file_lock(lock, _waiting(name, turn, log)):
        yield


def announce_training(
    name: str, config: TrainConfig, log: Callable[[str], None], where: str = ""
) -> None:
    """Say that `name` starts training (on `where`, if given), and record it in the run log."""
    log(training_header(name, config.epochs, build_model(name).count_params(), where))
    run_log.record(Event(run_log.TRAINING, name, epochs=config.epochs, distribution=where or None))


def _train_and_evaluate(
    name: str, config: TrainConfig, log: Callable[[str], None], key: str | None
) -> TrainResult:
    model_cache.refuse_training_if_required(name, key)
    announce_training(name, config, log)
    epoch_log = _EpochLog(name, config.epochs, log)
    with training_turn(name, log):
        started = time.perf_counter()
        model, history, test_loss, test_accuracy = _fit(name, config, [epoch_log])
        train_seconds = time.perf_counter() - started
    record = TrainingRecord(
        name=name,
        config=config,
        test_accuracy=test_accuracy,
        test_loss=test_loss,
        train_seconds=train_seconds,
        params=model.count_params(),
        images_per_epoch=config.images_per_epoch(),
        history={**history, "seconds": epoch_log.seconds},
        cache_key=key,
    )
    return TrainResult(record, model)


def _fit(
    name: str, config: TrainConfig, callbacks: list[keras.callbacks.Callback]
) -> tuple[keras.Model, dict[str, list[float]], float, float]:
    """Train `name` with `config` and evaluate it: the model, its history and test results.

    This and the functions it relies on (`TRAINING_PROCEDURE`) are what decides the numbers,
    and are part of the cache key; the callbacks must only observe.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = config.split(x_train, y_train)
    keras.utils.set_random_seed(config.seed)
    model = build_model(name, config.learning_rate_schedule(len(x_fit)), config.steps_per_execution)
    fitted = model.fit(
        fit_batches(name, x_fit, y_fit, config),
        shuffle=False,  # the batches come in `config.epoch_order`
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch(len(x_fit)),
        validation_data=(prepare_images(name, x_val), y_val) if len(x_val) else None,
        validation_batch_size=EVALUATION_BATCH,
        callbacks=callbacks,
        verbose=0,
    )
    history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
    test_loss, test_accuracy = model.evaluate(
        prepare_images(name, x_test), y_test, batch_size=EVALUATION_BATCH, verbose=0
    )
    return model, history, float(test_loss), float(test_accuracy)


def fit_batches(
    name: str, images: np.ndarray, labels: np.ndarray, config: TrainConfig
) -> tf.data.Dataset:
    """Every epoch's batches of the fitted `images` and `labels`, in `config.epoch_order`.

    The images stay in memory, prepared for model `name` once; each batch is gathered by
    index and made ready while the previous step runs.
    """
    order = np.stack([config.epoch_order(epoch, len(images)) for epoch in range(config.epochs)])
    batches = order.reshape(-1, config.batch_size)
    prepared = tf.constant(prepare_images(name, images))
    targets = tf.constant(labels)
    return (
        tf.data.Dataset.from_tensor_slices(batches)
        .map(lambda index: (tf.gather(prepared, index), tf.gather(targets, index)))
        .prefetch(2)
    )


TRAINING_PROCEDURE: tuple[cache_identity.Code, ...] = (
    _fit,
    fit_batches,
    TrainConfig,
    build_model,
    models.compile_model,
    prepare_images,
    data.scale_pixels,
)
"""The code that decides a training's numbers, part of its cache key (`cache_key`)."""


def epoch_shown(epoch: int, epochs: int, lines: int = 20) -> bool:
    """Whether a training of `epochs` epochs prints a line for `epoch` (counted from 0).

    Every epoch of a training of up to `lines` epochs; of a longer one, about `lines`
    evenly spaced epochs, always with the first and the last, so a page stays readable.
    """
    every = math.ceil(epochs / lines)
    return epoch == 0 or (epoch + 1) % every == 0 or epoch + 1 == epochs


class _EpochLog(keras.callbacks.Callback):
    """A line per epoch (`epoch_shown`) instead of Keras's progress bars; records seconds.

    Every epoch is also recorded in the run log (`mnist_book.run_log`), for the site build's
    progress lines.
    """

    def __init__(self, name: str, epochs: int, log: Callable[[str], None]):
        super().__init__()
        self.name, self.epochs, self.log = name, epochs, log
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self.started)
        history = {key: [float(value)] for key, value in (logs or {}).items()}
        history["seconds"] = self.seconds[-1:]
        report_epoch(self.name, epoch, self.epochs, history, self.log)


def report_epoch(
    name: str, epoch: int, epochs: int, history: dict[str, list[float]], log: Callable[[str], None]
) -> None:
    """Say epoch `epoch` (from 0) of `epochs` if `epoch_shown`, and record it in the run log.

    `history` holds this epoch's values last.
    """
    if epoch_shown(epoch, epochs):
        log(epoch_line(epoch, epochs, history, index=-1))
    accuracy = history.get("val_accuracy", [None])[-1]
    run_log.record(
        Event(run_log.EPOCH, name, epoch=epoch + 1, epochs=epochs, val_accuracy=accuracy)
    )


def epoch_line(
    epoch: int, epochs: int, history: dict[str, list[float]], index: int | None = None
) -> str:
    """`Epoch 3/10: loss 0.2706 - accuracy 0.9253 - ... (1.4 s)`, from `history[key][index]`.

    `index` defaults to `epoch` (a whole training's history); -1 for the last values.
    """
    index = epoch if index is None else index
    metrics = " - ".join(
        f"{key} {history[key][index]:.4f}" for key in _METRIC_ORDER if key in history
    )
    return f"Epoch {epoch + 1:>2}/{epochs}: {metrics} ({history['seconds'][index]:.1f} s)"
