"""The site's models, built by name from one registry.

Every page, test and benchmark refers to a model by its registry name, so the names in the
site's results are the names in the code:

| name | architecture | parameters |
| --- | --- | --- |
| `single_layer` | 784 flattened pixels -> Dense(10, sigmoid) | 7,850 |
| `hidden_layer` | 784 -> Dense(100, relu) -> Dense(10, sigmoid) | 79,510 |
| `flatten` | 28x28 -> Flatten -> Dense(100, relu) -> Dense(10, sigmoid) | 79,510 |
| `convnet` | keras.io's MNIST convnet | 34,826 |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mnist_book._keras import keras
from mnist_book.data import scale_pixels

layers = keras.layers


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name, a one-line description, input shape and builder."""

    name: str
    description: str
    input_shape: tuple[int, ...]
    build_layers: Callable[[], list[keras.layers.Layer]]


def _single_layer() -> list[keras.layers.Layer]:
    return [layers.Dense(10, activation="sigmoid", name="output")]


def _hidden_layer() -> list[keras.layers.Layer]:
    return [
        layers.Dense(100, activation="relu", name="hidden"),
        layers.Dense(10, activation="sigmoid", name="output"),
    ]


def _flatten() -> list[keras.layers.Layer]:
    return [layers.Flatten(name="flatten"), *_hidden_layer()]


def _convnet() -> list[keras.layers.Layer]:
    return [
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax", name="output"),
    ]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("single_layer", "784 pixels -> Dense(10, sigmoid)", (784,), _single_layer),
        ModelSpec(
            "hidden_layer",
            "784 pixels -> Dense(100, relu) -> Dense(10, sigmoid)",
            (784,),
            _hidden_layer,
        ),
        ModelSpec(
            "flatten",
            "28x28 image -> Flatten -> Dense(100, relu) -> Dense(10, sigmoid)",
            (28, 28),
            _flatten,
        ),
        ModelSpec(
            "convnet", "keras.io convnet: 2x (Conv + MaxPool), Dropout", (28, 28, 1), _convnet
        ),
    )
}
"""Every model of the site, by name."""

MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
"""The registry's names in the order the site introduces them."""


def get_spec(name: str) -> ModelSpec:
    """The registry entry for `name`, or a ValueError listing the valid names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"Unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}."
        ) from None


def compile_model(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
) -> keras.Model:
    """Compile with Adam, sparse categorical cross-entropy and accuracy (returns `model`)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def build_model(
    name: str,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
) -> keras.Model:
    """A new Keras model for the registered `name`, compiled by `compile_model`."""
    spec = get_spec(name)
    model = keras.Sequential(
        [keras.Input(shape=spec.input_shape), *spec.build_layers()], name=spec.name
    )
    return compile_model(model, learning_rate)


def prepare_images(name: str, images: np.ndarray) -> np.ndarray:
    """MNIST uint8 images (n, 28, 28) scaled to [0, 1] and shaped for model `name`'s input."""
    return scale_pixels(images).reshape((-1, *get_spec(name).input_shape))


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer: type, output shape and parameters (`model.summary()` as a table)."""
    return pd.DataFrame(
        {
            "type": [type(layer).__name__ for layer in model.layers],
            "output shape": [str(tuple(layer.output.shape)) for layer in model.layers],
            "parameters": [layer.count_params() for layer in model.layers],
        },
        index=pd.Index([layer.name for layer in model.layers], name="layer"),
    )
