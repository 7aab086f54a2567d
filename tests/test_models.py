"""The model registry: names, architectures, compilation and input preparation."""

import numpy as np
import pytest

from mnist_book._keras import keras
from mnist_book.models import (
    MODEL_NAMES,
    TRAINING_ONLY_LAYERS,
    augmented_examples,
    build_model,
    distortion,
    get_spec,
    inference_model,
    layer_table,
    prepare_images,
)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("single_layer", 7_850),
        ("hidden_layer", 79_510),
        ("flatten", 79_510),
        ("convnet", 34_826),
        ("convnet_augmented", 34_826),
        ("convnet_bn", 35_114),
        ("deeper_convnet", 317_066),
    ],
)
def test_parameter_counts(name, params):
    assert build_model(name).count_params() == params


def test_registry_order_is_the_site_order():
    assert MODEL_NAMES == (
        "single_layer",
        "hidden_layer",
        "flatten",
        "convnet",
        "convnet_augmented",
        "convnet_bn",
        "deeper_convnet",
    )


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="single_layer, hidden_layer, flatten, convnet, "):
        get_spec("resnet")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_compiled_with_adam_sparse_cross_entropy_and_accuracy(name):
    compiled = build_model(name).get_compile_config()
    assert compiled["optimizer"]["class_name"] == "Adam"
    assert compiled["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert compiled["metrics"] == ["accuracy"]


@pytest.mark.parametrize(
    ("name", "shape"),
    [("single_layer", (3, 784)), ("flatten", (3, 28, 28)), ("convnet", (3, 28, 28, 1))],
)
def test_prepare_images_scales_and_shapes_for_the_model(name, shape):
    images = np.full((3, 28, 28), 255, dtype=np.uint8)
    prepared = prepare_images(name, images)
    assert prepared.shape == shape
    assert prepared.dtype == np.float32
    assert prepared.max() == 1.0


def test_output_layers_match_the_seed_notebook():
    assert build_model("single_layer").layers[-1].activation.__name__ == "sigmoid"
    assert build_model("hidden_layer").layers[0].activation.__name__ == "relu"
    assert build_model("convnet").layers[-1].activation.__name__ == "softmax"


def test_flatten_model_is_the_hidden_layer_model_on_images():
    """Same weights give the same predictions: Flatten only reshapes."""
    hidden, flatten = build_model("hidden_layer"), build_model("flatten")
    flatten.set_weights(hidden.get_weights())
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(
        hidden.predict(prepare_images("hidden_layer", images), verbose=0),
        flatten.predict(prepare_images("flatten", images), verbose=0),
    )


def test_layer_table_lists_every_layer_with_its_parameters():
    model = build_model("flatten")
    table = layer_table(model)
    assert list(table.index) == ["flatten", "hidden", "output"]
    assert list(table["type"]) == ["Flatten", "Dense", "Dense"]
    assert list(table["output shape"]) == ["(None, 784)", "(None, 100)", "(None, 10)"]
    assert table["parameters"].sum() == model.count_params()


@pytest.mark.parametrize("name", ["convnet_augmented", "convnet_bn", "deeper_convnet"])
def test_augmentation_moves_digits_only_while_training(name):
    model = build_model(name)
    augment = keras.Sequential(
        [layer for layer in model.layers if isinstance(layer, TRAINING_ONLY_LAYERS)]
    )
    digits = prepare_images(name, np.eye(28, dtype=np.uint8)[None].repeat(4, axis=0) * 255)
    # Inference (evaluation, the exported model, the draw page) sees the digits as they are.
    np.testing.assert_array_equal(augment(digits, training=False), digits)
    moved = keras.ops.convert_to_numpy(augment(digits, training=True))
    assert moved.shape == digits.shape
    assert not np.allclose(moved, digits)
    assert not np.allclose(moved[0], moved[1])  # each image its own transformation
    assert moved.min() >= 0.0 and moved.max() <= 1.0 + 1e-6


def test_augmentation_is_reproducible_for_a_seed():
    digits = prepare_images("convnet_augmented", np.eye(28, dtype=np.uint8)[None] * 255)

    def augmented(seed):
        # As `training` does: the run's seed, then the model.
        keras.utils.set_random_seed(seed)
        augment = keras.Sequential(build_model("convnet_augmented").layers[:3])
        return keras.ops.convert_to_numpy(augment(digits, training=True))

    np.testing.assert_array_equal(augmented(1), augmented(1))
    assert not np.allclose(augmented(1), augmented(2))


def test_augmented_examples_are_seeded_and_leave_the_global_seed_alone():
    digits = np.eye(28, dtype=np.uint8)[None].repeat(3, axis=0) * 255
    keras.utils.set_random_seed(5)
    before = keras.random.uniform((3,), seed=None)
    keras.utils.set_random_seed(5)
    first = augmented_examples(digits, seed=1)
    after = keras.random.uniform((3,), seed=None)
    np.testing.assert_array_equal(first, augmented_examples(digits, seed=1))
    assert not np.array_equal(first, augmented_examples(digits, seed=2))
    assert first.shape == digits.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(before, after)  # the run's random numbers are untouched
    distorted = augmented_examples(digits, seed=1, augment=distortion)
    np.testing.assert_array_equal(distorted, augmented_examples(digits, seed=1, augment=distortion))
    assert not np.array_equal(distorted, first)


def test_inference_model_drops_augmentation_and_keeps_the_predictions():
    model = build_model("convnet_bn")
    inference = inference_model(model)
    assert [type(layer).__name__ for layer in inference.layers][:2] == [
        "Conv2D",
        "BatchNormalization",
    ]
    assert inference.count_params() == model.count_params()
    digits = prepare_images("convnet_bn", np.eye(28, dtype=np.uint8)[None].repeat(3, axis=0) * 255)
    np.testing.assert_allclose(
        inference.predict(digits, verbose=0), model.predict(digits, verbose=0)
    )
    plain = build_model("convnet")
    assert inference_model(plain) is plain
    distorted = build_model("deeper_convnet")
    assert type(inference_model(distorted).layers[0]).__name__ == "Conv2D"
