"""Exploration: shorter recipes for the records chapter (issue 27), measured one at a time.

Trains candidate recipes the way the site trains (`mnist_book.config.TrainConfig`'s split,
epoch order and schedule, `mnist_book.training.fit_batches`, the seed set by
`keras.utils.set_random_seed`) and prints, per candidate: the validation accuracy it ends on
(what a recipe is chosen by), its test accuracy (reported, never chosen on), and its minutes.
Nothing here is cached or reaches the site; a candidate that pays becomes a recipe in
`mnist_book.config.RECIPES` and `mnist_book.models`.

    python scripts/explore_records.py --list
    python scripts/explore_records.py deeper deeper-ema --seeds 0 1 2

Run it with the machine to itself: two trainings at once each run at half speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from mnist_book import models
from mnist_book._keras import keras
from mnist_book.config import TrainConfig, recipe
from mnist_book.data import load_mnist
from mnist_book.training import EVALUATION_BATCH, fit_batches

layers = keras.layers


@dataclass(frozen=True)
class Candidate:
    """A network (its layers after the input) and how to train it."""

    layers: Callable[[], list[keras.layers.Layer]]
    config: TrainConfig
    ema: float = 0.0  # Adam's ema_momentum: an average of the weights the model ends with
    policy: str = "float32"  # or "mixed_bfloat16"
    label_smoothing: float = 0.0


class FusedBatchNorm(keras.layers.Layer):
    """Measurement only: batch normalisation through TensorFlow's fused kernel.

    Keras 3's `BatchNormalization` computes moments and normalises in separate operations;
    this asks how much of `convnet_bn`'s epoch that costs on a CPU.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.gamma = self.add_weight(shape=channels, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=channels, initializer="zeros", trainable=False, name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=channels, initializer="ones", trainable=False, name="moving_variance"
        )

    def call(self, inputs, training=False):
        from mnist_book._keras import tensorflow as tf

        gamma, beta = tf.convert_to_tensor(self.gamma), tf.convert_to_tensor(self.beta)
        if not training:
            return tf.compat.v1.nn.fused_batch_norm(
                inputs,
                gamma,
                beta,
                mean=tf.convert_to_tensor(self.moving_mean),
                variance=tf.convert_to_tensor(self.moving_variance),
                epsilon=self.epsilon,
                is_training=False,
            )[0]
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, gamma, beta, epsilon=self.epsilon, is_training=True
        )
        keep = self.momentum
        self.moving_mean.assign(self.moving_mean * keep + mean * (1 - keep))
        self.moving_variance.assign(self.moving_variance * keep + variance * (1 - keep))
        return outputs


def _convnet_fused_bn() -> list[keras.layers.Layer]:
    def block(filters):
        return [layers.Conv2D(filters, 3, use_bias=False), FusedBatchNorm(), layers.ReLU()]

    return [
        *models.augmentation(),
        *block(32),
        layers.MaxPooling2D(),
        *block(64),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]


def _deeper_pooled() -> list[keras.layers.Layer]:
    """deeper_convnet with a third convolution and global pooling instead of Dense(256)."""
    return [
        *models.distortion(),
        layers.Conv2D(32, 5, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 5, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(128, 3, activation="relu", padding="same"),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.25),
        layers.Dense(10, activation="softmax"),
    ]


def _deeper_bfloat16() -> list[keras.layers.Layer]:
    """deeper_convnet under mixed_bfloat16: its distortion and its softmax kept in float32."""
    from mnist_book.distortion import RandomDistortion

    distort, *middle, output = models.get_spec("deeper_convnet").build_layers()
    assert isinstance(distort, RandomDistortion)
    return [
        RandomDistortion(dtype="float32"),
        *middle,
        layers.Dense(output.units, activation="softmax", dtype="float32"),
    ]


def _deeper_bn() -> list[keras.layers.Layer]:
    """deeper_convnet with batch normalisation after each convolution."""

    def block(filters):
        return [
            layers.Conv2D(filters, 5, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]

    return [
        *models.distortion(),
        *block(32),
        layers.MaxPooling2D(),
        *block(64),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(10, activation="softmax"),
    ]


def _spec_layers(name: str) -> Callable[[], list[keras.layers.Layer]]:
    return models.get_spec(name).build_layers


def _recipe(name: str, **changes) -> TrainConfig:
    return dataclasses.replace(recipe(name), **changes)


CANDIDATES: dict[str, Candidate] = {
    # The chapter's stages as the site trains them (steps_per_execution from the recipes).
    "augmented": Candidate(_spec_layers("convnet_augmented"), _recipe("convnet_augmented")),
    "scheduled": Candidate(
        _spec_layers("convnet_augmented"),
        _recipe("convnet_augmented", learning_rate=3e-3, schedule="cosine", warmup_epochs=1),
    ),
    "bn": Candidate(_spec_layers("convnet_bn"), _recipe("convnet_bn")),
    "bn-lr3e-3": Candidate(_spec_layers("convnet_bn"), _recipe("convnet_bn", learning_rate=3e-3)),
    "bn-fused": Candidate(_convnet_fused_bn, _recipe("convnet_bn")),
    "deeper": Candidate(_spec_layers("deeper_convnet"), _recipe("deeper_convnet")),
    # Levers tried on the single model.
    "deeper-10": Candidate(_spec_layers("deeper_convnet"), _recipe("deeper_convnet", epochs=10)),
    "deeper-ema": Candidate(_spec_layers("deeper_convnet"), _recipe("deeper_convnet"), ema=0.999),
    "deeper-20-ema": Candidate(
        _spec_layers("deeper_convnet"), _recipe("deeper_convnet", epochs=20), ema=0.999
    ),
    "deeper-lr2": Candidate(
        _spec_layers("deeper_convnet"), _recipe("deeper_convnet", learning_rate=2e-3)
    ),
    "deeper-b256": Candidate(
        _spec_layers("deeper_convnet"),
        _recipe("deeper_convnet", batch_size=256, learning_rate=2e-3),
    ),
    "deeper-ls": Candidate(
        _spec_layers("deeper_convnet"), _recipe("deeper_convnet"), label_smoothing=0.1
    ),
    "deeper-bn": Candidate(_deeper_bn, _recipe("deeper_convnet", learning_rate=3e-3)),
    "deeper-bf16": Candidate(_deeper_bfloat16, _recipe("deeper_convnet"), policy="mixed_bfloat16"),
    "pooled-ema": Candidate(_deeper_pooled, _recipe("deeper_convnet"), ema=0.999),
}
"""What to try, by name; each is the site's recipe but for what its name says."""


def _loss(label_smoothing: float) -> keras.losses.Loss | Callable:
    """The site's loss, or with `label_smoothing` a cross-entropy against smoothed targets."""
    if not label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy()

    def loss(labels, probabilities):  # one-hot targets, which label smoothing needs
        targets = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32"), 10)
        return keras.losses.categorical_crossentropy(
            targets, probabilities, label_smoothing=label_smoothing
        )

    return loss


def run(name: str, seed: int) -> dict:
    """Train candidate `name` with `seed`; its validation and test accuracy and seconds."""
    candidate = CANDIDATES[name]
    config = dataclasses.replace(candidate.config, seed=seed)
    keras.mixed_precision.set_global_policy(candidate.policy)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = config.split(x_train, y_train)
    keras.utils.set_random_seed(config.seed)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *candidate.layers()])
    model.compile(
        optimizer=keras.optimizers.Adam(
            config.learning_rate_schedule(len(x_fit)),
            use_ema=bool(candidate.ema),
            ema_momentum=candidate.ema or 0.99,
        ),
        loss=_loss(candidate.label_smoothing),
        metrics=["accuracy"],
        steps_per_execution=config.steps_per_execution,
    )
    prepare = lambda images: models.prepare_images("deeper_convnet", images)  # noqa: E731
    started = time.perf_counter()
    model.fit(
        fit_batches("deeper_convnet", x_fit, y_fit, config),
        shuffle=False,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch(len(x_fit)),
        verbose=0,
    )
    seconds = time.perf_counter() - started
    # Evaluated after fit, so a candidate with EMA is judged on the weights it ends with.
    _, validation = model.evaluate(prepare(x_val), y_val, batch_size=EVALUATION_BATCH, verbose=0)
    _, test = model.evaluate(prepare(x_test), y_test, batch_size=EVALUATION_BATCH, verbose=0)
    keras.mixed_precision.set_global_policy("float32")
    return {
        "candidate": name,
        "seed": seed,
        "validation_accuracy": round(float(validation), 4),
        "test_accuracy": round(float(test), 4),
        "seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / config.epochs, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", metavar="candidate")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--list", action="store_true", help="list the candidates and stop")
    arguments = parser.parse_args(argv)
    if arguments.list or not arguments.candidates:
        for name, candidate in CANDIDATES.items():
            print(f"{name:16} {candidate.config} ema={candidate.ema} {candidate.policy}")
        return
    unknown = [name for name in arguments.candidates if name not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}; --list shows them")
    for name in arguments.candidates:
        for seed in arguments.seeds:
            print(json.dumps(run(name, seed)), flush=True)


if __name__ == "__main__":
    main()
