"""Looking inside models: each function against Keras's own numbers, or its defining property."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mnist_book import data, figure_style, inspection, inspection_plots
from mnist_book._keras import keras
from mnist_book.models import build_model, prepare_images

layers = keras.layers


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return data.load_mnist(mnist_dir, download=False, progress=False)


@pytest.fixture(scope="module")
def digits(mnist):
    """256 real test digits and their labels."""
    _, (x_test, y_test) = mnist
    return x_test[:256], y_test[:256].astype(int)


@pytest.fixture(scope="module")
def small_convnet(mnist):
    """A small convnet behind a training-only augmentation layer, fitted briefly on real digits.

    Like the site's convnets (Conv, pooling, Flatten, Dropout, softmax), a few seconds to fit.
    """
    (x_train, y_train), _ = mnist
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.RandomRotation(0.02, fill_mode="constant", name="rotate"),
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.5, name="dropout"),
            layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x_train[:2048, ..., None] / 255.0, y_train[:2048], epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def single_layer(mnist):
    (x_train, y_train), _ = mnist
    keras.utils.set_random_seed(0)
    model = build_model("single_layer")
    model.fit(prepare_images("single_layer", x_train[:2048]), y_train[:2048], verbose=0)
    return model


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def prepared(digits):
    return prepare_images("convnet", digits[0])


def test_first_filters_are_the_first_convolutions_kernel(small_convnet):
    kernel = small_convnet.get_layer("conv").get_weights()[0]
    filters = inspection.first_filters(small_convnet)
    assert filters.shape == (4, 3, 3)
    for index in range(4):
        np.testing.assert_array_equal(filters[index], kernel[:, :, 0, index])


def test_filter_maps_are_the_filters_slid_over_the_digit(small_convnet, digits):
    image = prepared(digits)[0]
    kernel, bias = small_convnet.get_layer("conv").get_weights()
    maps = inspection.filter_maps(small_convnet, image)
    patches = np.lib.stride_tricks.sliding_window_view(image[..., 0], (3, 3))  # (26, 26, 3, 3)
    expected = np.maximum(
        np.einsum("ijkl,klf->fij", patches, kernel[:, :, 0, :]) + bias[:, None, None], 0
    )
    assert maps.shape == (4, 26, 26)
    np.testing.assert_allclose(maps, expected, atol=1e-5)
    assert maps.max() > 0  # the digit does excite some filter: not a comparison of zeros


def test_activations_are_kerass_layer_outputs_without_the_augmentation(small_convnet, digits):
    image = prepared(digits)[3]
    outputs = inspection.activations(small_convnet, image)
    assert [name for name, _ in outputs] == ["conv", "pool", "flatten", "dropout", "output"]
    x = image[np.newaxis]
    for (name, output), layer in zip(outputs, small_convnet.layers[1:], strict=True):
        x = layer(x, training=False)
        assert layer.name == name
        np.testing.assert_allclose(output, keras.ops.convert_to_numpy(x)[0], atol=1e-5)
    np.testing.assert_allclose(
        outputs[-1][1], small_convnet.predict(image[None], verbose=0)[0], atol=1e-5
    )


def test_weight_templates_are_the_dense_kernel_in_the_pixels_places(single_layer, digits):
    kernel, bias = single_layer.get_layer("output").get_weights()
    templates = inspection.weight_templates(single_layer)
    assert templates.shape == (10, 28, 28)
    for digit in range(10):
        np.testing.assert_array_equal(templates[digit].ravel(), kernel[:, digit])
    # A digit's score is the image times the template, summed, plus the bias.
    image = digits[0][0] / 255.0
    scores = 1 / (1 + np.exp(-((templates * image).sum(axis=(1, 2)) + bias)))
    predicted = single_layer.predict(prepare_images("single_layer", digits[0][:1]), verbose=0)[0]
    np.testing.assert_allclose(scores, predicted, atol=1e-5)


def test_weight_templates_need_a_dense_layer_over_784_pixels(small_convnet):
    with pytest.raises(ValueError, match="not 784"):
        inspection.weight_templates(small_convnet)


def test_integrated_gradients_are_complete(small_convnet, digits):
    """The attributions add up to F(x) - F(black) within 1 %, for the read and the true digit."""
    images, labels = prepared(digits)[:6], digits[1][:6]
    predicted = small_convnet.predict(images, verbose=0).argmax(axis=1)
    black = np.zeros_like(images)
    for classes in (predicted, labels):
        attributions = inspection.integrated_gradients(small_convnet, images, classes, steps=64)
        assert attributions.shape == images.shape
        gain = inspection.class_probabilities(
            small_convnet, images, classes
        ) - inspection.class_probabilities(small_convnet, black, classes)
        np.testing.assert_array_equal(
            inspection.gain_from_black(small_convnet, images, classes), gain
        )
        assert np.all(np.abs(gain) > 0.05)  # a change worth attributing
        np.testing.assert_allclose(attributions.sum(axis=(1, 2, 3)), gain, rtol=0.01)
    # Pixels that are black in the image get nothing: the path does not move them.
    assert np.all(attributions[images == 0] == 0)


def test_integrated_gradients_of_a_linear_score_are_weight_times_pixel(single_layer, digits):
    """Where F is linear in the pixels, IG is exact: weight times pixel (checks the scaling)."""
    images = prepare_images("single_layer", digits[0][:2])
    linear = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(10, name="linear")])
    kernel, bias = single_layer.get_layer("output").get_weights()
    linear.get_layer("linear").set_weights([kernel, bias])
    attributions = inspection.integrated_gradients(linear, images, [3, 7], steps=4)
    np.testing.assert_allclose(attributions[0], images[0] * kernel[:, 3], atol=1e-6)
    np.testing.assert_allclose(attributions[1], images[1] * kernel[:, 7], atol=1e-6)


def test_class_probabilities_pick_each_images_class(small_convnet, digits):
    images = prepared(digits)[:4]
    probabilities = small_convnet.predict(images, verbose=0)
    picked = inspection.class_probabilities(small_convnet, images, [0, 1, 2, 3])
    np.testing.assert_allclose(picked, probabilities[np.arange(4), [0, 1, 2, 3]], atol=1e-6)


def test_penultimate_features_are_what_the_last_layer_reads(small_convnet, digits):
    images = prepared(digits)[:8]
    features = inspection.penultimate_features(small_convnet, images)
    assert features.shape == (8, 13 * 13 * 4)
    kernel, bias = small_convnet.get_layer("output").get_weights()
    logits = features @ kernel + bias
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, small_convnet.predict(images, verbose=0), atol=1e-5)


def test_feature_map_is_pca_reproducible_and_projects_its_own_data_onto_its_points(
    small_convnet, digits
):
    features = inspection.penultimate_features(small_convnet, prepared(digits))
    first = inspection.fit_feature_map(features)
    again = inspection.fit_feature_map(features[::-1])  # the same data, in another order
    np.testing.assert_allclose(again.components, first.components, atol=1e-6)
    np.testing.assert_allclose(first.project(features), first.points, atol=1e-8)
    # The first direction is the covariance's top eigenvector; its variance, the top eigenvalue.
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(features.T, bias=True))
    np.testing.assert_allclose(first.points[:, 0].var(), eigenvalues[-1], rtol=1e-6)
    np.testing.assert_allclose(abs(first.components[0] @ eigenvectors[:, -1]), 1, atol=1e-6)
    np.testing.assert_allclose(first.components @ first.components.T, np.eye(2), atol=1e-10)
    assert first.explained[0] >= first.explained[1] > 0
    for component in first.components:
        assert component[np.argmax(np.abs(component))] > 0


def test_fgsm_with_epsilon_zero_changes_nothing(small_convnet, digits):
    images, labels = prepared(digits), digits[1]
    np.testing.assert_array_equal(inspection.fgsm(small_convnet, images, labels, 0.0), images)
    plain = np.mean(small_convnet.predict(images, verbose=0).argmax(axis=1) == labels)
    (accuracy,) = inspection.fgsm_accuracy(small_convnet, images, labels, [0.0])
    assert accuracy == plain


def test_fgsm_moves_each_pixel_by_epsilon_against_the_label_within_0_1(small_convnet, digits):
    images, labels = prepared(digits), digits[1]
    attacked = inspection.fgsm(small_convnet, images, labels, 0.1)
    change = attacked - images
    assert np.all((attacked >= 0) & (attacked <= 1))
    assert np.all(np.abs(change) <= 0.1 + 1e-6)
    assert np.mean(np.isclose(np.abs(change), 0.1)) > 0.3  # most pixels move the whole step
    loss = keras.losses.sparse_categorical_crossentropy
    before = keras.ops.convert_to_numpy(loss(labels, small_convnet.predict(images, verbose=0)))
    after = keras.ops.convert_to_numpy(loss(labels, small_convnet.predict(attacked, verbose=0)))
    assert after.mean() > before.mean()
    accuracies = inspection.fgsm_accuracy(small_convnet, images, labels, [0.0, 0.1, 0.3])
    assert accuracies[0] > accuracies[1] > accuracies[2]
    plain = np.mean(small_convnet.predict(attacked, verbose=0).argmax(axis=1) == labels)
    assert accuracies[1] == plain


def test_smallest_flipping_epsilon_is_the_first_on_the_grid_that_flips(small_convnet, digits):
    images, labels = prepared(digits)[:64], digits[1][:64]
    grid = [0.0, 0.05, 0.1, 0.2, 0.4]
    smallest = inspection.smallest_flipping_epsilon(small_convnet, images, labels, grid)
    misread = {
        epsilon: small_convnet.predict(
            inspection.fgsm(small_convnet, images, labels, epsilon), verbose=0
        ).argmax(axis=1)
        != labels
        for epsilon in grid
    }
    for index, epsilon in enumerate(smallest):
        flipping = [e for e in grid if misread[e][index]]
        if flipping:
            assert epsilon == flipping[0]
        else:
            assert np.isnan(epsilon)
    assert np.any(np.isfinite(smallest)) and np.any(smallest > 0)


def assert_described(figure):
    assert isinstance(figure, Figure)
    text = figure_style.description(figure)
    assert text and not text.startswith("A figure")
    return text


def test_filters_and_maps_figure(small_convnet, digits):
    image = prepared(digits)[0]
    filters = inspection.first_filters(small_convnet)
    figure = inspection_plots.filters_and_maps(
        filters, inspection.filter_maps(small_convnet, image), image
    )
    assert "The 4 3x3 filters" in assert_described(figure)


def test_layer_activations_figure_has_a_row_per_layer(small_convnet, digits):
    image = prepared(digits)[0]
    outputs = inspection.activations(small_convnet, image)
    figure = inspection_plots.layer_activations(outputs, image, channels=4)
    text = assert_described(figure)
    for name, _ in outputs:
        assert name in text
    predicted = int(outputs[-1][1].argmax())
    assert f"gives digit {predicted} the highest output" in text


def test_weight_templates_figure(single_layer):
    figure = inspection_plots.weight_templates_plot(inspection.weight_templates(single_layer))
    assert "10 28x28 images" in assert_described(figure)
    assert sum(1 for ax in figure.axes if ax.images) == 10
    assert len(figure.axes) == 11  # and the colour bar


def test_attribution_maps_figure_states_each_sum(small_convnet, digits):
    images, labels = prepared(digits)[:3], digits[1][:3]
    predicted = (labels + 1) % 10
    for_predicted = inspection.integrated_gradients(small_convnet, images, predicted, steps=8)
    for_true = inspection.integrated_gradients(small_convnet, images, labels, steps=8)
    figure = inspection_plots.attribution_maps(images, labels, predicted, for_predicted, for_true)
    text = assert_described(figure)
    article = "an" if labels[0] == 8 else "a"
    assert f"{article} {labels[0]} read as {predicted[0]}: {for_predicted[0].sum():+.2f}" in text


def test_feature_map_figure_marks_the_mistakes(small_convnet, digits):
    features = inspection.penultimate_features(small_convnet, prepared(digits))
    feature_map = inspection.fit_feature_map(features)
    figure = inspection_plots.feature_map_plot(
        feature_map.points, digits[1], [0, 5], explained=feature_map.explained
    )
    assert "2 misread images are marked" in assert_described(figure)


def test_adversarial_figure_gives_the_accuracies(digits):
    image = digits[0][0, ..., None] / 255.0
    attacked = np.clip(image + 0.1, 0, 1)
    figure = inspection_plots.adversarial_plot(
        [0.0, 0.1],
        [0.98, 0.5],
        image,
        attacked,
        label=7,
        epsilon=0.1,
        before=np.eye(10)[7] * 0.999,
        after=np.eye(10)[3] * 0.6,
    )
    text = assert_described(figure)
    assert "98.0% at ε = 0, 50.0% at ε = 0.1" in text
    assert "still reads as a 7 and the model as 3, with probability 60.0%" in text


def test_one_gradient_step_moves_the_digits_own_weights_along_the_digit(digits):
    keras.utils.set_random_seed(0)
    model = build_model("single_layer")
    images, labels = digits
    before = [np.asarray(w).copy() for w in model.get_weights()]
    step = inspection.gradient_step(model, prepare_images("single_layer", images[:1])[0], labels[0])
    image = images[0] / 255
    factor = step.gradient[image > 0].mean() / image[image > 0].mean()
    np.testing.assert_allclose(step.gradient, factor * image, rtol=1e-3, atol=1e-7)
    assert factor < 0 and step.score_after > step.score_before
    assert step.loss_after < step.loss_before
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    figure = inspection_plots.gradient_step_plot(step)
    assert f"from {step.score_before:.2f} to {step.score_after:.2f}" in figure_style.description(
        figure
    )
    plt.close("all")


def test_convolve_is_what_a_keras_conv2d_computes(digits):
    image = digits[0][3] / 255
    kernel = np.random.default_rng(0).normal(size=(3, 3))
    ours = inspection.convolve(image, kernel, bias=0.5)
    assert ours.shape == (26, 26)
    np.testing.assert_allclose(ours, inspection.keras_convolve(image, kernel, 0.5), atol=1e-5)
    figure = inspection_plots.convolution_plot(image, kernel)
    row, col = np.unravel_index(np.argmax(np.abs(ours - 0.5)), ours.shape)
    assert f"row {row}, column {col}" in figure_style.description(figure)
    plt.close("all")
