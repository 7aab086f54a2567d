"""Looking inside trained Keras models: filters, activations, attributions, features, attacks.

Every function takes a model of `mnist_book.models` (trained, such as `train(name).model`)
and images already prepared for it by `mnist_book.models.prepare_images`, and returns NumPy
arrays. The training-only augmentation layers (`mnist_book.models.TRAINING_ONLY_LAYERS`) are
left out everywhere: they are identities outside training.

- `first_filters` and `filter_maps`: the first convolution's kernels, and its output maps for
  one digit.
- `activations`: one digit's output at every layer.
- `weight_templates`: a single dense layer's kernel as ten 28x28 images.
- `integrated_gradients`: how much each pixel counted for a class's probability
  (Sundararajan et al. 2017), which adds up to the change of that probability from a black
  image, `gain_from_black` (completeness); `class_probabilities` gives the probabilities.
- `penultimate_features`, `fit_feature_map` and `FeatureMap`: the features the last layer
  reads, mapped to two dimensions by PCA.
- `fgsm`, `fgsm_accuracy` and `smallest_flipping_epsilon`: adversarial images by the fast
  gradient sign method (Goodfellow et al. 2015).
- `reading_model` and `reading`: everything one reading computes, every layer's output
  (`reading_layers`) and the evidence maps, whose cells add up to the logits
  (`evidence_geometry`, `evidence_bias`); `inference_layers`, `last_layer_reads` and
  `predictions` serve them and the draw page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mnist_book._keras import keras
from mnist_book._keras import tensorflow as tf
from mnist_book.models import TRAINING_ONLY_LAYERS, inference_model

BATCH = 1024
"""Images per forward (and backward) pass."""


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers inference runs, in order (no augmentation)."""
    return [layer for layer in model.layers if not isinstance(layer, TRAINING_ONLY_LAYERS)]


def _outputs_model(model: keras.Model, layers: Sequence[keras.layers.Layer]) -> keras.Model:
    """A functional model, sharing `model`'s weights, whose outputs are those of `layers`.

    The graph is built anew over the inference layers (rather than from `layer.output`,
    which belongs to the first graph a layer joined, with the augmentation in it).
    """
    inputs = keras.Input(shape=model.input_shape[1:])
    x, outputs = inputs, {}
    for layer in _layers(model):
        x = outputs[id(layer)] = layer(x)
    return keras.Model(inputs=inputs, outputs=[outputs[id(layer)] for layer in layers])


def _predict(model: keras.Model, images: np.ndarray) -> list[np.ndarray]:
    """`model`'s outputs (always a list) for prepared `images`, batched, as float arrays.

    Called eagerly rather than through `model.predict`, whose compiled function would be
    traced anew for every one of these throwaway models (and TensorFlow warn about it).
    """
    images = np.asarray(images, dtype="float32")
    batches = []
    for start in range(0, len(images), BATCH):
        outputs = model(images[start : start + BATCH], training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        batches.append([keras.ops.convert_to_numpy(output) for output in outputs])
    return [np.concatenate(parts) for parts in zip(*batches, strict=True)]


def _first_convolution(model: keras.Model) -> keras.layers.Conv2D:
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            return layer
    raise ValueError(f"Model {model.name!r} has no convolution.")


def first_filters(model: keras.Model) -> np.ndarray:
    """The first convolution's kernels, one per filter: shape (filters, height, width).

    The weights each filter multiplies a patch of the (one-channel) image with, as images.
    """
    kernel = np.asarray(_first_convolution(model).kernel)  # (height, width, channels, filters)
    if kernel.shape[2] != 1:
        raise ValueError(f"The first convolution reads {kernel.shape[2]} channels, not one.")
    return np.moveaxis(kernel[:, :, 0, :], -1, 0)


def filter_maps(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """The first convolution's output for one prepared `image`: shape (filters, height, width).

    Map `i` is filter `i` slid over the image, plus its bias, through the layer's activation
    (ReLU in the site's convnets, so only where the filter's pattern is present).
    """
    (maps,) = _predict(_outputs_model(model, [_first_convolution(model)]), image[np.newaxis])
    return np.moveaxis(maps[0], -1, 0)


def activations(model: keras.Model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """One prepared `image`'s output at every layer, as (layer name, array) pairs in order.

    The arrays have no batch axis: the last is the model's prediction. Training-only layers
    are left out; `Dropout` is an identity here, as in every prediction.
    """
    layers = _layers(model)
    outputs = _predict(_outputs_model(model, layers), image[np.newaxis])
    return [(layer.name, output[0]) for layer, output in zip(layers, outputs, strict=True)]


def weight_templates(model: keras.Model) -> np.ndarray:
    """A dense layer over 784 pixels as ten 28x28 images: shape (10, 28, 28).

    Template `d` is column `d` of the first `Dense` layer's kernel, in the pixels' places: the
    layer's score for digit `d` is the sum of the image times that template, plus a bias.
    """
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel)
            if kernel.shape[0] != 28 * 28:
                raise ValueError(f"Layer {layer.name!r} reads {kernel.shape[0]} values, not 784.")
            return kernel.T.reshape(-1, 28, 28)
    raise ValueError(f"Model {model.name!r} has no Dense layer.")


def class_probabilities(
    model: keras.Model, images: np.ndarray, classes: npt.ArrayLike
) -> np.ndarray:
    """The model's output for class `classes[i]` on prepared image `images[i]`: shape (n,)."""
    (outputs,) = _predict(inference_model(model), images)
    return outputs[np.arange(len(outputs)), np.asarray(classes, dtype=int)].astype(float)


def gain_from_black(model: keras.Model, images: np.ndarray, classes: npt.ArrayLike) -> np.ndarray:
    """F(x) - F(black) for each prepared image x: what its integrated gradients add up to.

    F is the model's output for class `classes[i]`, as in `class_probabilities`.
    """
    images = np.asarray(images)
    black = np.zeros_like(images)
    return class_probabilities(model, images, classes) - class_probabilities(model, black, classes)


def integrated_gradients(
    model: keras.Model,
    images: np.ndarray,
    classes: npt.ArrayLike,
    *,
    steps: int = 256,
) -> np.ndarray:
    """Integrated gradients of class `classes[i]`'s probability on each prepared image.

    With F the model's output for the class and the black image as baseline x', the
    attribution of pixel j is `(x_j - x'_j)` times the average of `dF/dx_j` along the straight
    path from x' to x, here a trapezoid sum over `steps` evenly spaced points (Sundararajan
    et al. 2017). Completeness: the attributions of an image add up to F(x) - F(x')
    (`gain_from_black`), to within the sum's error, which shrinks as `steps` grows.

    Returns:
        Attributions shaped like `images`, as float64.
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}.")
    images = np.asarray(images, dtype="float32")
    classes = np.asarray(classes, dtype=int)
    if len(classes) != len(images):
        raise ValueError(f"{len(images)} images but {len(classes)} classes.")
    inference = inference_model(model)
    alphas = np.linspace(0.0, 1.0, steps, dtype="float32")
    weights = np.full(steps, 1.0 / (steps - 1))  # the trapezoid rule's weights on [0, 1]
    weights[[0, -1]] /= 2
    per_batch = max(1, BATCH // steps)
    attributions = np.empty(images.shape, dtype=float)
    for start in range(0, len(images), per_batch):
        batch, batch_classes = images[start : start + per_batch], classes[start : start + per_batch]
        path = alphas.reshape((1, steps) + (1,) * (images.ndim - 1)) * batch[:, np.newaxis]
        gradients = _class_gradients(
            inference, path.reshape((-1, *images.shape[1:])), np.repeat(batch_classes, steps)
        ).reshape(path.shape)
        average = np.tensordot(weights, np.moveaxis(gradients, 1, 0), axes=1)
        attributions[start : start + len(batch)] = batch * average
    return attributions


def _class_gradients(model: keras.Model, images: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The gradient of output `classes[i]` with respect to `images[i]`, for every i."""
    inputs = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs, training=False)
        chosen = tf.gather(outputs, classes, axis=1, batch_dims=1)
    return tape.gradient(chosen, inputs).numpy().astype(float)


def penultimate_features(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """What the last layer reads for each prepared image: shape (n, features).

    The output of the layer before the last (for the convnet, the flattened pooled maps).
    """
    layers = _layers(model)
    if len(layers) < 2:
        raise ValueError(f"Model {model.name!r} has a single layer: nothing comes before it.")
    (features,) = _predict(_outputs_model(model, [layers[-2]]), images)
    return features.reshape(len(features), -1)


@dataclass(frozen=True)
class FeatureMap:
    """A 2-D map of feature vectors by principal component analysis.

    Attributes:
        mean: The mean feature vector of the data the map was fitted on, shape (features,).
        components: The directions of largest variance (two, unless told otherwise), unit
            vectors as rows, shape (2, features); each is signed so that its largest entry
            is positive.
        explained: The share of the data's variance along each direction, shape (2,).
        points: The fitting data's places on the map, shape (n, 2).
    """

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    points: np.ndarray

    def project(self, features: npt.ArrayLike) -> np.ndarray:
        """Places on the map of new feature vectors (n, features): shape (n, 2).

        Centred by the fitting data's mean, then multiplied by `components` transposed:
        nothing else, so a browser can do the same with the two arrays.
        """
        return (np.asarray(features, dtype=float) - self.mean) @ self.components.T


def fit_feature_map(features: npt.ArrayLike, dimensions: int = 2) -> FeatureMap:
    """The 2-D PCA map of `features` (n, features): centred, by SVD, signs fixed.

    With `dimensions` more than 2, the map keeps that many directions (the first two are the
    same): places in more dimensions, whose distances say more about the features.
    The directions are the top singular vectors of the centred features' covariance matrix
    (features x features, which for many images is far cheaper to decompose than the data
    itself, with the same vectors). Deterministic: the same features give the same map,
    with the sign of each direction chosen so that its largest entry is positive.
    """
    features = np.asarray(features, dtype=float)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be (n, features) with n >= 2, got {features.shape}.")
    mean = features.mean(axis=0)
    centred = features - mean
    _, variances, rows = np.linalg.svd(centred.T @ centred / len(centred), hermitian=True)
    components = rows[:dimensions]
    largest = np.argmax(np.abs(components), axis=1)
    components = components * np.sign(components[np.arange(len(components)), largest])[:, None]
    explained = variances[:dimensions] / np.sum(variances)
    return FeatureMap(mean, components, explained, centred @ components.T)


def _loss_gradient_signs(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The sign of the cross-entropy's gradient with respect to each prepared image."""
    inference = inference_model(model)
    signs = np.empty(images.shape, dtype="float32")
    for start in range(0, len(images), BATCH):
        inputs = tf.convert_to_tensor(images[start : start + BATCH])
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = inference(inputs, training=False)
            loss = keras.losses.sparse_categorical_crossentropy(
                labels[start : start + BATCH], outputs
            )
        signs[start : start + len(inputs)] = np.sign(tape.gradient(loss, inputs).numpy())
    return signs


def _fgsm_inputs(images: np.ndarray, labels: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels, dtype=int)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    return images, labels


def fgsm(
    model: keras.Model, images: np.ndarray, labels: npt.ArrayLike, epsilon: float
) -> np.ndarray:
    """Adversarial versions of prepared `images` by the fast gradient sign method.

    Each pixel moves by `epsilon` in the direction that increases the model's cross-entropy
    loss for the true `labels` (the sign of its gradient, Goodfellow et al. 2015), and is
    clipped back to [0, 1]. With `epsilon` = 0 the images come back unchanged.
    """
    images, labels = _fgsm_inputs(images, labels)
    return np.clip(images + epsilon * _loss_gradient_signs(model, images, labels), 0.0, 1.0)


def fgsm_accuracy(
    model: keras.Model,
    images: np.ndarray,
    labels: npt.ArrayLike,
    epsilons: Sequence[float],
) -> np.ndarray:
    """Accuracy on `fgsm(model, images, labels, epsilon)` for each of `epsilons`: shape (k,)."""
    images, labels = _fgsm_inputs(images, labels)
    signs = _loss_gradient_signs(model, images, labels)
    inference = inference_model(model)
    return np.array(
        [
            np.mean(
                _predict(inference, np.clip(images + epsilon * signs, 0.0, 1.0))[0].argmax(axis=1)
                == labels
            )
            for epsilon in epsilons
        ]
    )


def smallest_flipping_epsilon(
    model: keras.Model,
    images: np.ndarray,
    labels: npt.ArrayLike,
    epsilons: Sequence[float],
) -> np.ndarray:
    """For each prepared image, the smallest of `epsilons` whose FGSM image is misread.

    Misread means the model's most probable digit is not the label. NaN where no epsilon of
    the grid does it. Returns shape (n,).
    """
    images, labels = _fgsm_inputs(images, labels)
    signs = _loss_gradient_signs(model, images, labels)
    inference = inference_model(model)
    smallest = np.full(len(images), np.nan)
    for epsilon in sorted(epsilons, reverse=True):
        predictions = _predict(inference, np.clip(images + epsilon * signs, 0.0, 1.0))[0]
        smallest[predictions.argmax(axis=1) != labels] = epsilon
    return smallest


def reading_model(model: keras.Model) -> keras.Model:
    """A functional model, sharing `model`'s weights, that shows everything one reading computes.

    Its outputs are the output of each of `reading_layers`, in order (the last is the
    prediction), then, where `evidence_geometry` finds one, the evidence maps: shape
    (batch, 10, h, w), map ``c`` being the last `Dense` layer's weights for digit ``c``
    times what that layer reads, summed over channels. The maps of digit ``c`` add up, with
    the layer's bias, to the layer's input to its activation (the logit):
    ``logit_c = sum(W_c * A) + b_c``.
    """
    inputs = keras.Input(shape=model.input_shape[1:])
    layers = _layers(model)
    x, tensors = inputs, []
    for layer in layers:
        x = layer(x)
        tensors.append(x)
    shown = reading_layers(model)
    outputs = [tensor for layer, tensor in zip(layers, tensors, strict=True) if layer in shown]
    geometry = evidence_geometry(model)
    if geometry is not None:
        source = inputs if geometry.reads is None else tensors[geometry.index]
        outputs.append(_Evidence(layers[-1], geometry.shape)(source))
    return keras.Model(inputs=inputs, outputs=outputs, name=f"{model.name}_reading")


def reading_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The inference layers whose outputs `reading_model` gives: all but `Dropout`.

    A `Dropout` layer passes its input on unchanged when reading: an output of its own would
    be a second name for one tensor, which the ONNX converter resolves differently from one
    run to the next.
    """
    return [layer for layer in _layers(model) if not isinstance(layer, keras.layers.Dropout)]


class _Evidence(keras.layers.Layer):
    """The evidence maps of `reading_model`: (batch, digits, rows, columns).

    Reads the dense layer's kernel when called, so that an export holds it as a constant.
    """

    def __init__(self, dense: keras.layers.Dense, shape: tuple[int, int, int]) -> None:
        super().__init__(name="evidence")
        self.dense = dense
        self.grid = shape

    def call(self, source: Any) -> Any:
        rows, columns, channels = self.grid
        weights = keras.ops.reshape(self.dense.kernel, (rows, columns, channels, -1))
        weights = keras.ops.transpose(weights, (3, 0, 1, 2))  # (digits, rows, columns, channels)
        read = keras.ops.reshape(source, (-1, 1, rows, columns, channels))
        return keras.ops.sum(read * weights, axis=-1)


@dataclass(frozen=True)
class EvidenceGeometry:
    """Where the last `Dense` layer's evidence lies in the image.

    Attributes:
        reads: The layer whose output the last layer reads (through `Flatten` and `Dropout`
            only), or None for the model's input.
        index: That layer's position among the inference layers (-1 for the input).
        shape: What it reads as (rows, columns, channels); the input's 784 pixels are 28x28x1.
        start: The input pixel (row or column) at the centre of the first cell's receptive
            field; cell ``i`` is centred at ``start + i * step``.
        step: The distance in input pixels between neighbouring cells' centres.
    """

    reads: str | None
    index: int
    shape: tuple[int, int, int]
    start: float
    step: float


_PASS_THROUGH = (keras.layers.Flatten, keras.layers.Dropout)
_SPATIAL = (keras.layers.Conv2D, keras.layers.MaxPooling2D)
_ELEMENTWISE = (keras.layers.ReLU, keras.layers.BatchNormalization)


def evidence_geometry(model: keras.Model) -> EvidenceGeometry | None:
    """Where the last layer's evidence lies, when that layer is `Dense` reading an image.

    None unless the last layer is `Dense` and reads, through `Flatten` and `Dropout` only, a
    map (rows, columns, channels) made from the input by valid convolutions and poolings, or
    the input itself (28x28 images, or their 784 pixels in a row).
    """
    layers = _layers(model)
    if not layers or not isinstance(layers[-1], keras.layers.Dense):
        return None
    index = last_layer_reads(model)
    start, step = 0.0, 1.0
    for layer in layers[: index + 1]:
        if isinstance(layer, _ELEMENTWISE):
            continue
        if not isinstance(layer, _SPATIAL) or layer.padding != "valid":
            return None
        size = layer.kernel_size if isinstance(layer, keras.layers.Conv2D) else layer.pool_size
        strides = layer.strides
        if size[0] != size[1] or strides[0] != strides[1]:
            return None
        start += (size[0] - 1) / 2 * step
        step *= strides[0]
    if index >= 0:
        shape = tuple(layers[index].output.shape[1:])
    else:
        shape = tuple(model.input_shape[1:])
        shape = (28, 28, 1) if shape == (28 * 28,) else shape
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        return None
    reads = layers[index].name if index >= 0 else None
    return EvidenceGeometry(reads, index, shape, start, step)


def evidence_bias(model: keras.Model) -> np.ndarray:
    """The last layer's bias: with the sum of digit ``c``'s evidence map, its logit."""
    return np.asarray(_layers(model)[-1].bias, dtype=float)


def reading(model: keras.Model, images: np.ndarray) -> list[np.ndarray]:
    """`reading_model(model)`'s outputs for prepared `images`, each with a batch axis."""
    return _predict(reading_model(model), images)


def inference_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers inference runs, in order (no augmentation)."""
    return _layers(model)


def predictions(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The digit `model` reads in each prepared image: shape (n,)."""
    (outputs,) = _predict(inference_model(model), images)
    return outputs.argmax(axis=1)


def last_layer_reads(model: keras.Model) -> int:
    """The position among the inference layers of the layer whose output the last one reads.

    `Flatten` and `Dropout` (an identity when reading) are looked through; -1 is the input.
    """
    layers = _layers(model)
    index = len(layers) - 2
    while index >= 0 and isinstance(layers[index], _PASS_THROUGH):
        index -= 1
    return index


@dataclass(frozen=True)
class GradientStep:
    """One step of plain gradient descent on one image, seen from its digit's output unit.

    Attributes:
        image: the (28, 28) image, scaled to [0, 1].
        label: its digit.
        gradient: (28, 28) the loss's gradient with respect to the 784 weights of the label's
            output unit, in the pixels' places.
        learning_rate: the step's size: every weight moved by -learning_rate x its gradient.
        score_before: the label's score before the step.
        score_after: the label's score after it.
        loss_before: the image's loss before the step.
        loss_after: the image's loss after it.
    """

    image: np.ndarray
    label: int
    gradient: np.ndarray
    learning_rate: float
    score_before: float
    score_after: float
    loss_before: float
    loss_after: float


def gradient_step(
    model: keras.Model, image: np.ndarray, label: int, learning_rate: float = 0.01
) -> GradientStep:
    """One plain gradient-descent step of a single dense layer over 784 pixels, on `image`.

    `model` (compiled, such as `build_model("single_layer")`) is not changed: the step is
    taken on a copy. `image` is prepared for it (784 values in [0, 1]).
    """
    pixels = np.asarray(image, dtype=np.float32).reshape(1, -1)
    (dense,) = [layer for layer in _layers(model) if isinstance(layer, keras.layers.Dense)]
    targets = np.array([label])
    with tf.GradientTape() as tape:
        scores = model(pixels, training=True)
        loss = model.loss(targets, scores)
    gradients = tape.gradient(loss, model.trainable_variables)
    stepped = keras.models.clone_model(model)
    stepped.set_weights(
        [
            np.asarray(weight) - learning_rate * np.asarray(gradient)
            for weight, gradient in zip(model.trainable_variables, gradients, strict=True)
        ]
    )
    after = stepped(pixels, training=False)
    kernel_gradient = np.asarray(gradients[model.trainable_variables.index(dense.kernel)])
    return GradientStep(
        image=pixels.reshape(28, 28),
        label=int(label),
        gradient=kernel_gradient[:, label].reshape(28, 28),
        learning_rate=learning_rate,
        score_before=float(scores[0, label]),
        score_after=float(after[0, label]),
        loss_before=float(loss),
        loss_after=float(model.loss(targets, after)),
    )


def convolve(image: np.ndarray, kernel: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """What a 'valid' 2-D convolution with one filter computes, before its activation.

    At each position the kernel's weights multiply the pixels under it and are summed, with
    `bias`, as `keras.layers.Conv2D` does (no flipping: deep learning's "convolution" is a
    cross-correlation). `image` (h, w) and `kernel` (kh, kw); returns (h - kh + 1, w - kw + 1).
    """
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel) + bias


def keras_convolve(image: np.ndarray, kernel: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """`convolve`, computed by a `keras.layers.Conv2D` given `kernel` and `bias` as weights."""
    layer = keras.layers.Conv2D(1, kernel.shape)
    layer.build((None, *np.shape(image), 1))
    layer.set_weights([np.asarray(kernel, np.float32)[..., None, None], np.array([bias])])
    pixels = np.asarray(image, np.float32)[None, ..., None]
    return np.asarray(layer(pixels))[0, ..., 0]
