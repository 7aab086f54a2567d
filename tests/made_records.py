"""Training records made up for tests of what reads and writes them (no training)."""

from dataclasses import replace
from typing import Any

from mnist_book.config import TrainConfig
from mnist_book.results import TrainingRecord

CONFIG = TrainConfig(epochs=1, train_size=2_000)

RECORD = TrainingRecord(
    name="m",
    config=CONFIG,
    test_accuracy=0.5,
    test_loss=1.5,
    train_seconds=2.0,
    params=7_850,
    images_per_epoch=CONFIG.images_per_epoch(),
    history={"val_accuracy": [0.5], "seconds": [2.0]},
    cache_key="ab" * 32,
)
"""A record of a one-epoch training of a model named "m"."""


def made_record(**changes: Any) -> TrainingRecord:
    """`RECORD` with `changes` (any of its fields)."""
    return replace(RECORD, **changes)
