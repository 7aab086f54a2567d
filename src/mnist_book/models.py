"""The site's models, built by name from one registry.

Every page, test and benchmark refers to a model by its registry name, so the names in the
site's results are the names in the code:

| name | architecture | parameters |
| --- | --- | --- |
| `single_layer` | 784 flattened pixels -> Dense(10, sigmoid) | 7,850 |
| `hidden_layer` | 784 -> Dense(100, relu) -> Dense(10, sigmoid) | 79,510 |
| `flatten` | 28x28 -> Flatten -> Dense(100, relu) -> Dense(10, sigmoid) | 79,510 |
| `convnet` | keras.io's MNIST convnet | 34,826 |
| `convnet_augmented` | `convnet` seeing randomly rotated, zoomed and shifted digits | 34,826 |
| `convnet_bn` | `convnet_augmented` with batch normalisation after each convolution | 35,114 |
| `deeper_convnet` | distortions, 5x5 convolutions (32, 64), a Dense(256) hidden layer | 317,066 |

The last three are the records chapter's. Their augmentation sits at the model's input and
is active only while it trains, so validation and test images, the exported ONNX models and
the draw page see the digits as they are: Keras preprocessing layers (`augmentation`) for the
convnets, and `mnist_book.distortion.RandomDistortion` (`distortion`), which adds elastic
bends in the same single resampling, for `deeper_convnet`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mnist_book._keras import keras
from mnist_book.data import scale_pixels
from mnist_book.distortion import RandomDistortion

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
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv_1"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_1"),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv_2"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_2"),
        layers.Flatten(name="flatten"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(10, activation="softmax", name="output"),
    ]


# Milder than the usual 10 degrees, 10 % and 2.8 pixels: on the validation digits, 8 epochs
# of convnet_augmented scored 99.10 % with these against 99.08 %, and 99.25 % against 99.05 %
# with the cosine schedule (scripts/explore_records.py, seed 0).
ROTATION_DEGREES = 8.0
ZOOM = 0.08
SHIFT_PIXELS = 1.4


def augmentation(seed: int | None = None) -> list[keras.layers.Layer]:
    """Random small rotations (up to 8 degrees), zooms (8 %) and shifts (1.4 pixels).

    Keras preprocessing layers: they change the images only when the model is called with
    ``training=True`` (in `fit`), and fill the corners they uncover with black, MNIST's
    background. Without a `seed` they draw from the seed `training` sets for the run.
    """
    shift = SHIFT_PIXELS / 28
    seeds = [None] * 3 if seed is None else [seed, seed + 1, seed + 2]
    return [
        layers.RandomRotation(
            ROTATION_DEGREES / 360, fill_mode="constant", seed=seeds[0], name="rotate"
        ),
        layers.RandomZoom(ZOOM, fill_mode="constant", seed=seeds[1], name="zoom"),
        layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seeds[2], name="shift"),
    ]


def distortion(seed: int | None = None) -> list[keras.layers.Layer]:
    """Random rotations, scalings, shifts and elastic bends, in one resampling per image.

    `mnist_book.distortion.RandomDistortion` with its defaults: like `augmentation`, only
    active in training, and seeded by the run unless given a `seed`.
    """
    return [RandomDistortion(seed=seed, name="distort")]


TRAINING_ONLY_LAYERS = (
    layers.RandomRotation,
    layers.RandomZoom,
    layers.RandomTranslation,
    RandomDistortion,
)
"""The layer types of `augmentation` and `distortion`: identities outside training."""


def inference_model(model: keras.Model) -> keras.Model:
    """`model` without its `augmentation` layers, sharing its weights: what inference runs.

    The same predictions as `model`; exporters (ONNX) need it, since the random layers keep
    their training-time operations in a traced graph.
    """
    kept = [layer for layer in model.layers if not isinstance(layer, TRAINING_ONLY_LAYERS)]
    if len(kept) == len(model.layers):
        return model
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]), *kept], name=model.name)


def augmented_examples(
    images: np.ndarray,
    seed: int = 0,
    augment: Callable[[int], list[keras.layers.Layer]] | None = None,
) -> np.ndarray:
    """MNIST `images` (uint8, as loaded) as `augment` shows them to a model in training.

    `augment` is `augmentation` (the default) or `distortion`. Returns uint8 images of the
    same shape, each with its own random transformation.
    """
    transform = keras.Sequential((augment or augmentation)(seed))
    images = np.asarray(images)
    batch = scale_pixels(images).reshape((-1, 28, 28, 1))
    moved = keras.ops.convert_to_numpy(transform(batch, training=True))
    return np.clip(np.rint(moved * 255), 0, 255).astype(np.uint8).reshape(images.shape)


def _convnet_augmented() -> list[keras.layers.Layer]:
    return [*augmentation(), *_convnet()]


def _conv_bn(filters: int, kernel_size: int) -> list[keras.layers.Layer]:
    """A convolution, batch normalisation (which makes the convolution's bias redundant), ReLU."""
    return [
        layers.Conv2D(filters, kernel_size, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
    ]


def _convnet_bn() -> list[keras.layers.Layer]:
    return [
        *augmentation(),
        *_conv_bn(32, 3),
        layers.MaxPooling2D(pool_size=(2, 2)),
        *_conv_bn(64, 3),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax", name="output"),
    ]


def _deeper_convnet() -> list[keras.layers.Layer]:
    return [
        *distortion(),
        layers.Conv2D(32, kernel_size=(5, 5), activation="relu", name="conv_1"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_1"),
        layers.Conv2D(64, kernel_size=(5, 5), activation="relu", name="conv_2"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_2"),
        layers.Flatten(name="flatten"),
        layers.Dense(256, activation="relu", name="hidden"),
        layers.Dropout(0.25, name="dropout"),
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
        ModelSpec(
            "convnet_augmented",
            "keras.io convnet trained on rotated, zoomed and shifted digits",
            (28, 28, 1),
            _convnet_augmented,
        ),
        ModelSpec(
            "convnet_bn",
            "augmented keras.io convnet with batch normalisation",
            (28, 28, 1),
            _convnet_bn,
        ),
        ModelSpec(
            "deeper_convnet",
            "elastic distortions, 2x (5x5 Conv + MaxPool), Dense(256), Dropout",
            (28, 28, 1),
            _deeper_convnet,
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
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile with Adam, sparse categorical cross-entropy and accuracy (returns `model`).

    `steps_per_execution`: training steps per call from Python into TensorFlow (speed only).
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def build_model(
    name: str,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    steps_per_execution: int = 1,
) -> keras.Model:
    """A new Keras model for the registered `name`, compiled by `compile_model`."""
    spec = get_spec(name)
    model = keras.Sequential(
        [keras.Input(shape=spec.input_shape), *spec.build_layers()], name=spec.name
    )
    return compile_model(model, learning_rate, steps_per_execution)


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
