"""What a training produced, as a typed, versioned record that crosses processes and files.

A `TrainingRecord` is written by the training (`mnist_book.training`,
`mnist_book.distributed`) and read by every consumer: the model cache's ``result.json``, the
run log a page's kernel writes for the site build, the executed-page cache, the published
``results.json``, the draw page's manifest and ``mnist-book results``. It goes to JSON with
`TrainingRecord.to_json` and comes back with `TrainingRecord.from_json`, which checks its
`SCHEMA`; nothing reads a result by string keys.

Schema 1 (before records carried a version) is read on purpose where it is complete, as the
model cache stored it: every field of schema 2 but the images per epoch, which it derives as
that code's loops took them. Schema 1 as the run log, the page cache and ``results.json``
held it had no history: it raises `RecordError`, as a record of any other schema or a
malformed one does, and its reader discards it (the page is executed again).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from mnist_book.config import RECIPES, TrainConfig

SCHEMA = 2
"""The version of `TrainingRecord`'s JSON form that this code writes."""


class RecordError(ValueError):
    """A stored result that this code cannot read: another schema, or malformed."""


@dataclass(frozen=True)
class Distribution:
    """How a training is spread: the strategy, its workers, replicas and their devices.

    `strategy` is "one_device", "mirrored" or "multi_worker"; `replicas` counts the model
    copies that train in step (`num_replicas_in_sync`), over all `workers`; `devices` are
    this worker's devices, such as ``("/device:CPU:0", "/device:CPU:1")``.
    """

    strategy: str
    workers: int
    replicas: int
    devices: tuple[str, ...]

    @property
    def description(self) -> str:
        """In words: "2 workers, 2 replicas (CPU)", "2 devices (CPU)", "one device (CPU)"."""
        kinds = "/".join(sorted({device.split(":")[-2] for device in self.devices}))
        if self.strategy == "multi_worker":
            return f"{self.workers} workers, {self.replicas} replicas ({kinds})"
        if self.strategy == "mirrored":
            return f"{self.replicas} devices ({kinds})"
        return f"one device ({kinds})"


@dataclass(frozen=True)
class TrainingRecord:
    """One training's result: what was trained, how, and how well.

    `history` holds one value per epoch for each of Keras's metrics (``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy``) and the epoch's ``seconds``.
    `cache_key` is the model-cache key of the training, where it went through the cache;
    `distribution` and `replica_weights` (the SHA-256 of every replica's copy of the
    trained weights) belong to a data-parallel training.
    """

    name: str
    config: TrainConfig
    test_accuracy: float
    test_loss: float
    train_seconds: float
    params: int
    images_per_epoch: int
    history: dict[str, list[float]] = field(repr=False)
    cache_key: str | None = None
    distribution: Distribution | None = None
    replica_weights: tuple[str, ...] = ()

    @property
    def epochs(self) -> int:
        """How many epochs it trained."""
        return self.config.epochs

    @property
    def samples_per_second(self) -> float:
        """Training images per second, averaged over the epochs (validation included)."""
        return self.images_per_epoch / float(np.mean(self.history["seconds"]))

    @property
    def label(self) -> str:
        """The training in words; trainings of a model with different configs read differently.

        The model's name, how its config departs from the model's site recipe (from
        `TrainConfig`'s defaults for a model without one: `config_changes`), and where it
        trained if data-parallel: "convnet", "convnet (2 epochs) on 2 devices (CPU)",
        "convnet_augmented (cosine schedule, learning rate 0.003, 1 warm-up epoch)".
        """
        changes = config_changes(self.config, RECIPES.get(self.name, TrainConfig()))
        how = f" ({', '.join(changes)})" if changes else ""
        where = f" on {self.distribution.description}" if self.distribution else ""
        return self.name + how + where

    def same_training(self, other: TrainingRecord) -> bool:
        """Whether `other` is the same training: model, config and distribution."""
        return (self.name, self.config, self.distribution) == (
            other.name,
            other.config,
            other.distribution,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values, with its `SCHEMA`."""
        values = asdict(self)
        values["replica_weights"] = list(self.replica_weights)
        if self.distribution is not None:
            values["distribution"]["devices"] = list(self.distribution.devices)
        return {"schema": SCHEMA, **values}

    @classmethod
    def from_json(cls, values: Any) -> TrainingRecord:
        """The record `to_json` wrote (or a schema-1 result); `RecordError` if unreadable."""
        if not isinstance(values, dict):
            raise RecordError(f"a training result is a JSON object, not {type(values).__name__}")
        schema = values.get("schema", 1)
        if schema not in (1, SCHEMA):
            raise RecordError(
                f"a training result of schema {schema!r}; this mnist-book reads 1 and {SCHEMA}"
            )
        try:
            config = TrainConfig(**_typed(values["config"], dict))
            for field_ in fields(TrainConfig):
                _typed(getattr(config, field_.name), _CONFIG_TYPES[field_.name])
            distribution = values.get("distribution")
            images = (
                values["images_per_epoch"]
                if schema == SCHEMA
                else _schema1_images_per_epoch(config, values)
            )
            history = _typed(values["history"], dict)
            return cls(
                name=_typed(values["name"], str),
                config=config,
                test_accuracy=float(_typed(values["test_accuracy"], (int, float))),
                test_loss=float(_typed(values["test_loss"], (int, float))),
                train_seconds=float(_typed(values["train_seconds"], (int, float))),
                params=_typed(values["params"], int),
                images_per_epoch=_typed(images, int),
                history={
                    _typed(key, str): [float(_typed(v, (int, float))) for v in _typed(vals, list)]
                    for key, vals in history.items()
                },
                cache_key=_typed(values.get("cache_key"), (str, type(None))),
                distribution=None
                if distribution is None
                else Distribution(
                    strategy=_typed(distribution["strategy"], str),
                    workers=_typed(distribution["workers"], int),
                    replicas=_typed(distribution["replicas"], int),
                    devices=tuple(_typed(d, str) for d in _typed(distribution["devices"], list)),
                ),
                replica_weights=tuple(
                    _typed(w, str) for w in _typed(values.get("replica_weights", []), list)
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RecordError(
                f"a malformed training result ({type(error).__name__}: {error})"
            ) from None


def config_changes(config: TrainConfig, reference: TrainConfig) -> list[str]:
    """How `config` departs from `reference`, in words, one phrase per field that differs.

    Distinct configs give distinct phrases: "cosine schedule", "learning rate 0.003",
    "1 warm-up epoch", "2 epochs", "batch 64", "the first 2,000 training images",
    "validation split 0.2", "seed 3", "32 steps per execution"; nothing for the same config.
    """
    phrases = {
        "schedule": "cosine schedule" if config.schedule == "cosine" else "constant learning rate",
        "learning_rate": f"learning rate {_number(config.learning_rate)}",
        "warmup_epochs": _count(config.warmup_epochs, "warm-up epoch")
        if config.warmup_epochs
        else "no warm-up",
        "epochs": _count(config.epochs, "epoch"),
        "batch_size": f"batch {config.batch_size}",
        "train_size": "all training images"
        if config.train_size is None
        else f"the first {config.train_size:,} training images",
        "validation_split": f"validation split {_number(config.validation_split)}",
        "seed": f"seed {config.seed}",
        "steps_per_execution": f"{config.steps_per_execution} step"
        + ("" if config.steps_per_execution == 1 else "s")
        + " per execution",
    }
    unphrased = [field_.name for field_ in fields(TrainConfig) if field_.name not in phrases]
    return [
        phrases.get(name, f"{name} {getattr(config, name)!r}")
        for name in [*phrases, *unphrased]
        if getattr(config, name) != getattr(reference, name)
    ]


def _number(value: float) -> str:
    """`value` short ("0.003"), but never so short that two different values read alike."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _count(value: float, noun: str) -> str:
    return f"{_number(value)} {noun}" + ("" if value == 1 else "s")


_CONFIG_TYPES: dict[str, type | tuple[type, ...]] = {
    "epochs": int,
    "batch_size": int,
    "learning_rate": (int, float),
    "schedule": str,
    "warmup_epochs": (int, float),
    "seed": int,
    "validation_split": (int, float),
    "train_size": (int, type(None)),
    "steps_per_execution": int,
}
"""The JSON types of `TrainConfig`'s fields, as a stored record holds them."""


def _typed(value: Any, types: type | tuple[type, ...]) -> Any:
    """`value` if it is of `types` (a bool is no number), else a TypeError."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TypeError(f"expected {types}, got {value!r}")
    if not isinstance(value, types):
        raise TypeError(f"expected {types}, got {value!r}")
    return value


def _schema1_images_per_epoch(config: TrainConfig, values: dict[str, Any]) -> int:
    """A schema-1 result's images per epoch: its ``history["images"]``, else Keras's split.

    Before schema 2, a data-parallel training recorded its images per epoch in its history;
    Keras's `fit` took every fitted image, the last batch partial.
    """
    images = values.get("history", {}).get("images")
    return int(images[0]) if images else config.fitted_images()
