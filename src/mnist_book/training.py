"""Train a registered model on MNIST, with results cached on disk.

`train("hidden_layer")` trains with the site's recipe for that model, evaluates on the test
set and returns a `TrainResult`. The trained model and its history are saved under a key
made of everything that determines the result (model name, config, data checksums, the
source of the modules that train, and the Keras and TensorFlow versions), so asking for the
same training again loads it in well under a second instead of retraining.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import math
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from mnist_book import data, model_cache, models, run_log
from mnist_book._keras import keras, tensorflow
from mnist_book.data import load_mnist
from mnist_book.evaluation import Evaluation, ensemble, evaluate, shift_images
from mnist_book.models import build_model, get_spec, prepare_images

_METRIC_ORDER = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: epochs, batch size, learning rate, random seed and validation fraction.

    `schedule` is "constant" (Adam at `learning_rate` throughout) or "cosine" (decaying from
    `learning_rate` to 0 along a cosine over the whole training, after a linear warm-up from
    0 over the first `warmup_epochs` if that is not 0). `train_size` limits
    training to the first N training images (quick experiments and tests); None uses all
    60,000. Validation takes the last `validation_split` of them.
    """

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_epochs: float = 0.0
    seed: int = 0
    validation_split: float = 0.1
    train_size: int | None = None

    def validation_data(
        self, images: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The images and labels a training with this config holds out for validation.

        `images` and `labels` are the whole training set, as loaded; like Keras's
        ``validation_split``, the last `validation_split` of the first `train_size` images.
        """
        images, labels = images[: self.train_size], labels[: self.train_size]
        split_at = math.floor(len(images) * (1 - self.validation_split))
        return images[split_at:], labels[split_at:]

    def __post_init__(self) -> None:
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}.")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, got {self}.")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}.")
        if self.warmup_epochs and (self.schedule != "cosine" or self.warmup_epochs < 0):
            raise ValueError(f"warmup_epochs needs the cosine schedule and >= 0, got {self}.")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs must be shorter than the training, got {self}.")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"train_size must be positive or None, got {self.train_size}.")


RECIPES: dict[str, TrainConfig] = {
    "single_layer": TrainConfig(epochs=10, batch_size=32),
    "hidden_layer": TrainConfig(epochs=15, batch_size=128),
    "flatten": TrainConfig(epochs=20, batch_size=128, schedule="cosine"),
    "convnet": TrainConfig(epochs=15, batch_size=128),
    "convnet_augmented": TrainConfig(epochs=15, batch_size=128),
    "convnet_bn": TrainConfig(
        epochs=15, batch_size=128, learning_rate=3e-3, schedule="cosine", warmup_epochs=1
    ),
    "deeper_convnet": TrainConfig(
        epochs=40, batch_size=128, learning_rate=1e-3, schedule="cosine", warmup_epochs=1
    ),
}
"""The configuration the site trains each registered model with."""


@dataclass
class TrainResult:
    """A trained model with its per-epoch history and test-set results."""

    name: str
    config: TrainConfig
    model: keras.Model = field(repr=False)
    history: dict[str, list[float]] = field(repr=False)
    test_loss: float
    test_accuracy: float
    train_seconds: float
    params: int
    from_cache: bool

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

    def stored(self) -> dict[str, Any]:
        """What the model cache stores beside the model: `summary()` and the history."""
        return {**self.summary(), "history": self.history}

    def summary(self) -> dict[str, Any]:
        """The result as plain JSON-ready values (the site's `results.json` entries)."""
        return {
            "name": self.name,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "epochs": self.config.epochs,
            "train_seconds": self.train_seconds,
            "params": self.params,
            "config": asdict(self.config),
        }


def recipe(name: str) -> TrainConfig:
    """The site's training configuration for the registered model `name`."""
    get_spec(name)
    return RECIPES[name]


def cache_key(name: str, config: TrainConfig, distribution: dict[str, Any] | None = None) -> str:
    """A hash of everything that determines the result of training `name` with `config`.

    That is: the model as Keras serialises it once compiled for `config` (architecture,
    initialisers, optimiser, learning-rate schedule), the source of each module defining one
    of its layers that `mnist_book` defines (the layer and the helpers it calls), `config`,
    the data checksums, the code of the training procedure (`TRAINING_PROCEDURE`) and the
    versions of Keras, TensorFlow and NumPy. Nothing else: a change to a docstring, a
    comment, a log line or a module that does not train keeps the key, and the trained model
    with it.

    A distributed training adds its `distribution` (`mnist_book.distributed.key_material`:
    strategy, workers, replicas, batches, its own training procedure); without one, the key
    is what it has always been.
    """
    model = _build(name, config, min(config.train_size or data.TRAIN_IMAGES, data.TRAIN_IMAGES))
    identity = {
        "model": _without_layer_names(keras.saving.serialize_keras_object(model)),
        "custom_layers": sorted(
            {
                code_fingerprint(inspect.getmodule(type(layer)))
                for layer in model.layers
                if type(layer).__module__.startswith("mnist_book")
            }
        ),
        "config": asdict(config),
        "data": data.data_checksums(),
        "procedure": [code_fingerprint(step) for step in TRAINING_PROCEDURE],
        "versions": [keras.__version__, tensorflow.__version__, np.__version__],
    }
    if distribution is not None:
        identity["distribution"] = distribution
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def code_fingerprint(code: Callable[..., Any] | type | ModuleType) -> str:
    """A hash of a function's, class's or module's code, blind to docstrings, comments, layout.

    A function's or class's own name is left out too.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    if not inspect.ismodule(code):
        tree.body[0].name = ""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _without_layer_names(serialized: Any) -> Any:
    """A serialised Keras object without its layers' names, which Keras numbers per process."""
    if isinstance(serialized, list):
        return [_without_layer_names(item) for item in serialized]
    if not isinstance(serialized, dict):
        return serialized
    cleaned = {key: _without_layer_names(value) for key, value in serialized.items()}
    config = cleaned.get("config")
    if isinstance(config, dict) and cleaned.get("class_name") != "DTypePolicy":
        config.pop("name", None)
    return cleaned


def train(
    name: str,
    config: TrainConfig | None = None,
    *,
    use_cache: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train model `name` (with the site's recipe unless `config` is given) and evaluate it.

    Prints a line per epoch through `log` (about 20 of a longer training: `epoch_shown`).
    With `use_cache`, a previous identical training is loaded from
    `mnist_book.paths.cache_dir() / "models"` instead of retraining; an unreadable cache
    entry is discarded with a warning and retrained.
    """
    config = config or recipe(name)
    key = None
    if use_cache:
        key = cache_key(name, config)
        entry = model_cache.entry(name, key)
        same = f"Waiting for another process that trains {name} the same way."
        with model_cache.entry_lock(entry, _waiting(name, same, log)):
            result = load_entry(entry, name, config)
            if result is None:
                result = _train_and_evaluate(name, config, log)
                model_cache.save(entry, result.stored(), result.model)
            else:
                run_log.record("loaded", model=name)
                log(f"Loaded {name} from the cache (trained in {result.train_seconds:.1f} s).")
                log(epoch_line(config.epochs - 1, config.epochs, result.history))
    else:
        result = _train_and_evaluate(name, config, log)
    log(f"Test accuracy {result.test_accuracy:.2%}, test loss {result.test_loss:.4f}.")
    # The model cache key travels with the result, so a process whose code is older than the
    # page's (a long `mkdocs serve`) still finds the very model the page trained.
    run_log.record(run_log.RESULT, **result.summary(), **({"cache_key": key} if key else {}))
    return result


def cached_result(name: str, config: TrainConfig | None = None) -> dict[str, Any] | None:
    """The stored result of training `name` with `config` (default: its recipe), if cached.

    Never trains: returns None unless the cache holds a complete entry for exactly this
    training. The dict is the result's `TrainResult.summary()` plus its `history`.
    """
    config = config or recipe(name)
    stored = model_cache.stored_result(cache_entry(name, config))
    if stored is None or stored.get("name") != name or stored.get("config") != asdict(config):
        return None
    return stored


def load_cached(
    name: str, config: TrainConfig | None = None, *, key: str | None = None
) -> TrainResult | None:
    """The cached training of `name` with `config` (default: its recipe), loaded; else None.

    Never trains: returns None unless the cache holds a readable entry for exactly this
    training (an unreadable one is discarded with a warning, as `train` would). `key` is
    its `cache_key` when known (a page's result carries it), else computed here.
    """
    config = config or recipe(name)
    entry = model_cache.entry(name, key or cache_key(name, config))
    if not entry.exists():
        return None
    with model_cache.entry_lock(entry):
        return load_entry(entry, name, config)


def cache_entry(name: str, config: TrainConfig, distribution: dict[str, Any] | None = None) -> Path:
    """The model-cache entry of training `name` with `config` (and `distribution`, if any)."""
    return model_cache.entry(name, cache_key(name, config, distribution))


def load_entry(entry: Path, name: str, config: TrainConfig) -> TrainResult | None:
    """The training of `name` with `config` stored in the model-cache `entry`, else None.

    An unreadable entry, or one whose result lacks a field, is discarded with a warning
    (`mnist_book.model_cache.load`).
    """

    def read(stored: dict[str, Any], model: keras.Model) -> TrainResult:
        return TrainResult(
            name=name,
            config=config,
            model=model,
            history=stored["history"],
            test_loss=stored["test_loss"],
            test_accuracy=stored["test_accuracy"],
            train_seconds=stored["train_seconds"],
            params=model.count_params(),
            from_cache=True,
        )

    return model_cache.load(entry, name, asdict(config), read)


def _waiting(name: str, message: str, log: Callable[[str], None]) -> Callable[[], None]:
    """What a training of `name` does when it must wait: say `message`, and log the wait.

    A "waiting" run-log event tells the site build's watchdog the cell is not stuck.
    """

    def waiting() -> None:
        log(message)
        run_log.record("waiting", model=name)

    return waiting


@contextmanager
def training_turn(name: str, log: Callable[[str], None] = print) -> Iterator[None]:
    """Hold this machine's turn to train `name`, waiting (and saying so) for another training.

    Trainings take turns through a lock in the model cache: two at once would each run at
    half speed on a small machine, and their training times would mean nothing.
    """

    turn = "Waiting for another training to finish: one at a time uses the CPU best."
    lock = model_cache.models_dir() / model_cache.TRAINING_LOCK
    with model_cache.file_lock(lock, _waiting(name, turn, log)):
        yield


def _train_and_evaluate(name: str, config: TrainConfig, log: Callable[[str], None]) -> TrainResult:
    epochs = f"{config.epochs} epoch{'s' if config.epochs > 1 else ''}"
    log(f"Training {name} ({build_model(name).count_params():,} parameters) for {epochs}.")
    run_log.record("training", model=name, epochs=config.epochs)
    epoch_log = _EpochLog(name, config.epochs, log)
    with training_turn(name, log):
        started = time.perf_counter()
        model, history, test_loss, test_accuracy = _fit(name, config, [epoch_log])
        train_seconds = time.perf_counter() - started
    return TrainResult(
        name=name,
        config=config,
        model=model,
        history={**history, "seconds": epoch_log.seconds},
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        train_seconds=train_seconds,
        params=model.count_params(),
        from_cache=False,
    )


def _fit(
    name: str, config: TrainConfig, callbacks: list[keras.callbacks.Callback]
) -> tuple[keras.Model, dict[str, list[float]], float, float]:
    """Train `name` with `config` and evaluate it: the model, its history and test results.

    This and the functions it relies on (`TRAINING_PROCEDURE`) are what decides the numbers,
    and are part of the cache key; the callbacks must only observe.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if config.train_size is not None:
        x_train, y_train = x_train[: config.train_size], y_train[: config.train_size]
    keras.utils.set_random_seed(config.seed)
    model = _build(name, config, len(x_train))
    fitted = model.fit(
        prepare_images(name, x_train),
        y_train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        callbacks=callbacks,
        verbose=0,
    )
    history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
    test_loss, test_accuracy = model.evaluate(
        prepare_images(name, x_test), y_test, batch_size=1024, verbose=0
    )
    return model, history, float(test_loss), float(test_accuracy)


def _build(name: str, config: TrainConfig, train_images: int) -> keras.Model:
    """Model `name`, compiled with the learning rate (or schedule) of `config`."""
    return build_model(name, _learning_rate(config, train_images))


def _learning_rate(
    config: TrainConfig, train_images: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Adam's learning rate for `config`: a constant, or a schedule over its optimiser steps."""
    if config.schedule == "constant":
        return config.learning_rate
    fitted_images = int(train_images * (1 - config.validation_split))  # as Keras splits
    steps_per_epoch = math.ceil(fitted_images / config.batch_size)
    steps = steps_per_epoch * config.epochs
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - warmup, warmup_target=config.learning_rate, warmup_steps=warmup
    )


TRAINING_PROCEDURE: tuple[Callable[..., Any], ...] = (
    _fit,
    _build,
    _learning_rate,
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
        if epoch_shown(epoch, self.epochs):
            self.log(epoch_line(epoch, self.epochs, history, index=0))
        run_log.record(
            "epoch",
            model=self.name,
            epoch=epoch + 1,
            epochs=self.epochs,
            val_accuracy=(logs or {}).get("val_accuracy"),
        )


def epoch_line(
    epoch: int, epochs: int, history: dict[str, list[float]], index: int | None = None
) -> str:
    """`Epoch 3/10: loss 0.2706 - accuracy 0.9253 - ... (1.4 s)`, from `history[key][index]`.

    `index` defaults to `epoch` (a whole training's history); 0 for one epoch's history.
    """
    index = epoch if index is None else index
    metrics = " - ".join(
        f"{key} {history[key][index]:.4f}" for key in _METRIC_ORDER if key in history
    )
    return f"Epoch {epoch + 1:>2}/{epochs}: {metrics} ({history['seconds'][index]:.1f} s)"
