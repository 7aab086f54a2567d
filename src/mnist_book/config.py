"""How a model trains: the configuration, the site's recipes, and what every loop derives from them.

A `TrainConfig` is the one owner of each fact a training loop needs, so that Keras's
`model.fit` (`mnist_book.training`) and the custom data-parallel loop
(`mnist_book.distributed`) cannot drift apart:

- `TrainConfig.split`: which images are fitted and which are held out for validation (the
  last `validation_split` of them, the split floored as Keras's ``validation_split`` does);
- `TrainConfig.steps_per_epoch`: an epoch is whole batches only (every loop takes the same
  steps, on any number of replicas);
- `TrainConfig.epoch_order`: the shuffled order of each epoch's images, a function of the
  seed and the epoch alone;
- `TrainConfig.learning_rate_schedule`: Adam's learning rate at every optimiser step, warm-up and
  cosine decay included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mnist_book import data

if TYPE_CHECKING:  # Keras takes seconds to import: records and run logs are read without it
    from mnist_book._keras import keras


@dataclass(frozen=True)
class TrainConfig:
    """How to train: epochs, batch size, learning rate, random seed and validation fraction.

    `schedule` is "constant" (Adam at `learning_rate` throughout) or "cosine" (decaying from
    `learning_rate` to 0 along a cosine over the whole training, after a linear warm-up from
    0 over the first `warmup_epochs` if that is not 0). `train_size` limits training to the
    first N training images (quick experiments and tests); None uses all 60,000. Validation
    takes the last `validation_split` of them. `steps_per_execution` is how many training
    steps Keras's `fit` hands TensorFlow per call from Python: a matter of speed alone (the
    same batches, the same steps, the same numbers), which pays most for batch normalisation
    (convnet_bn's 8 epochs: 144 s with 1, 98 s with 32). The site's recipes keep 1: with 32,
    Keras warned that the input ran out and TensorFlow that it retraced its prediction
    functions, in the pages' outputs.
    """

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_epochs: float = 0.0
    seed: int = 0
    validation_split: float = 0.1
    train_size: int | None = None
    steps_per_execution: int = 1

    def __post_init__(self) -> None:
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}.")
        if self.epochs < 1 or self.batch_size < 1 or self.steps_per_execution < 1:
            raise ValueError(
                f"epochs, batch_size and steps_per_execution must be positive, got {self}."
            )
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}.")
        if self.warmup_epochs and (self.schedule != "cosine" or self.warmup_epochs < 0):
            raise ValueError(f"warmup_epochs needs the cosine schedule and >= 0, got {self}.")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs must be shorter than the training, got {self}.")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"train_size must be positive or None, got {self.train_size}.")

    # The images ---------------------------------------------------------------------------

    def training_images(self) -> int:
        """How many of MNIST's training images this training uses, validation included."""
        return min(self.train_size or data.TRAIN_IMAGES, data.TRAIN_IMAGES)

    def fitted_images(self, images: int | None = None) -> int:
        """How many of `images` (default: `training_images`) are fitted, the rest validate.

        Floored, as Keras's ``validation_split`` splits.
        """
        images = self.training_images() if images is None else images
        return math.floor(images * (1.0 - self.validation_split))

    def split(
        self, images: np.ndarray, labels: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``(fitted images, labels), (validation images, labels)`` of the training set.

        `images` and `labels` are the whole training set as loaded; of its first
        `train_size` images, the last `validation_split` are held out.
        """
        images, labels = images[: self.train_size], labels[: self.train_size]
        at = self.fitted_images(len(images))
        return (images[:at], labels[:at]), (images[at:], labels[at:])

    def validation_data(
        self, images: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The images and labels a training with this config holds out for validation."""
        return self.split(images, labels)[1]

    # The steps ----------------------------------------------------------------------------

    def steps_per_epoch(self, fitted: int | None = None) -> int:
        """Optimiser steps per epoch over `fitted` images (default: `fitted_images()`).

        Whole batches only: each epoch leaves out a different remainder of fewer than
        `batch_size` images, and a global batch always splits evenly over replicas.
        """
        fitted = self.fitted_images() if fitted is None else fitted
        steps = fitted // self.batch_size
        if steps == 0:
            raise ValueError(
                f"{fitted} fitted images make no batch of {self.batch_size}: use a smaller "
                "batch size or more training images."
            )
        return steps

    def images_per_epoch(self, fitted: int | None = None) -> int:
        """The images one epoch trains on: `steps_per_epoch` whole batches."""
        return self.steps_per_epoch(fitted) * self.batch_size

    def epoch_order(self, epoch: int, fitted: int | None = None) -> np.ndarray:
        """The indices of the fitted images that `epoch` (from 0) trains on, in order.

        A permutation drawn from the seed and the epoch number alone (the same on every
        worker and in every loop), cut to whole batches.
        """
        fitted = self.fitted_images() if fitted is None else fitted
        order = np.random.default_rng([self.seed, epoch]).permutation(fitted)
        return order[: self.images_per_epoch(fitted)]

    def learning_rate_schedule(
        self, fitted: int | None = None
    ) -> float | keras.optimizers.schedules.LearningRateSchedule:
        """Adam's learning rate over the optimiser steps of a training on `fitted` images.

        A constant, or a cosine decay to 0 over every step, after a linear warm-up from 0
        over the first `warmup_epochs` (rounded to whole steps).
        """
        if self.schedule == "constant":
            return self.learning_rate
        from mnist_book._keras import keras

        per_epoch = self.steps_per_epoch(fitted)
        steps = per_epoch * self.epochs
        warmup = round(self.warmup_epochs * per_epoch)
        if not warmup:
            return keras.optimizers.schedules.CosineDecay(self.learning_rate, decay_steps=steps)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps - warmup, warmup_target=self.learning_rate, warmup_steps=warmup
        )


RECIPES: dict[str, TrainConfig] = {
    "single_layer": TrainConfig(epochs=10, batch_size=32),
    "hidden_layer": TrainConfig(epochs=15, batch_size=128),
    "flatten": TrainConfig(epochs=20, batch_size=128, schedule="cosine"),
    "convnet": TrainConfig(epochs=15, batch_size=128),
    # The records chapter's stages (docs/records.py), chosen on validation digits: 8 epochs
    # where 15 were, and 15 where 40 were (what each saved: records.EARLIER_RECIPES).
    "convnet_augmented": TrainConfig(epochs=8, batch_size=128),
    "convnet_bn": TrainConfig(
        epochs=8,
        batch_size=128,
        learning_rate=5e-3,
        schedule="cosine",
        warmup_epochs=1,
    ),
    "deeper_convnet": TrainConfig(
        epochs=15,
        batch_size=128,
        learning_rate=1e-3,
        schedule="cosine",
        warmup_epochs=1,
    ),
}
"""The configuration the site trains each registered model with."""


def recipe(name: str) -> TrainConfig:
    """The site's training configuration for the registered model `name`."""
    from mnist_book.models import get_spec  # a ValueError naming the registered models

    get_spec(name)
    return RECIPES[name]
