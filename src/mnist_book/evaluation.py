"""Predictions, confusion matrices and error analysis, on plain NumPy arrays.

`evaluate(model, images, labels)` runs a model once and returns an `Evaluation`: its
probabilities, predictions and the true labels, from which accuracy, the confusion matrix,
per-digit accuracy and the list of mistakes follow. The functions behind those properties
are public too, for labels and predictions that did not come from a model of this package.
Nothing here imports Keras: a model is anything with a Keras-like `predict` method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

NUM_CLASSES = 10
"""The number of classes: the digits 0 to 9."""


class Predictor(Protocol):
    """Anything with a Keras-like `predict`, such as a `keras.Model`."""

    def predict(self, x: Any, *, batch_size: int, verbose: int) -> Any:
        """Class scores of shape (n, classes) for the n inputs `x`."""
        ...


def predict_proba(model: Predictor, images: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities of `model` for `images`, as an (n, 10) float array.

    The images must already be prepared for the model (scaled and shaped). The values are the
    model's outputs: softmax probabilities, or independent per-digit scores in (0, 1) for a
    sigmoid output layer.
    """
    probabilities = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=float)
    expected = (len(images), NUM_CLASSES)
    if probabilities.shape != expected:
        raise ValueError(
            f"The model returned an array of shape {probabilities.shape}, expected {expected}."
        )
    return probabilities


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A model's probabilities and predictions on a labelled set, and what follows from them.

    Attributes:
        probabilities: (n, 10) class probabilities, one row per image.
        predictions: (n,) predicted digits.
        labels: (n,) true digits.
    """

    probabilities: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        probabilities = np.asarray(self.probabilities, dtype=float)
        if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES:
            raise ValueError(
                f"probabilities must have shape (n, {NUM_CLASSES}), got {probabilities.shape}."
            )
        labels = _as_classes(self.labels, "labels")
        predictions = _as_classes(self.predictions, "predictions")
        _check_same_length(
            {"labels": labels, "predictions": predictions, "probabilities": probabilities}
        )
        # The documented way to normalise the fields of a frozen dataclass.
        object.__setattr__(self, "probabilities", probabilities)
        object.__setattr__(self, "predictions", predictions)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def from_probabilities(cls, probabilities: npt.ArrayLike, labels: npt.ArrayLike) -> Evaluation:
        """An evaluation whose predictions are the most probable digit of each row."""
        probabilities = np.asarray(probabilities, dtype=float)
        if probabilities.ndim != 2:
            raise ValueError(f"probabilities must be 2-D, got shape {probabilities.shape}.")
        return cls(probabilities, probabilities.argmax(axis=1), np.asarray(labels))

    def __repr__(self) -> str:
        return f"Evaluation(images={self.labels.size}, accuracy={self.accuracy:.4f})"

    @property
    def accuracy(self) -> float:
        """The fraction of images whose predicted digit is the true one."""
        return float(np.mean(self.predictions == self.labels)) if self.labels.size else float("nan")

    @property
    def confusion(self) -> np.ndarray:
        """The 10x10 confusion matrix: rows are true digits, columns predicted digits."""
        return confusion_matrix(self.labels, self.predictions)

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """For each digit, the fraction of its images predicted correctly (its recall)."""
        return per_class_accuracy(self.labels, self.predictions)

    @property
    def misclassified(self) -> np.ndarray:
        """Indices of the mistakes, the most confidently wrong first."""
        return misclassified_indices(self.labels, self.predictions, self.probabilities)

    @property
    def confidence(self) -> np.ndarray:
        """The highest probability of each image: how sure the model is of its answer."""
        return self.probabilities.max(axis=1)


def evaluate(model: Predictor, images: np.ndarray, labels: npt.ArrayLike) -> Evaluation:
    """Run `model` on the prepared `images` and compare its predictions with `labels`."""
    labels = _as_classes(labels, "labels")
    _check_same_length({"images": images, "labels": labels})
    return Evaluation.from_probabilities(predict_proba(model, images), labels)


def confusion_matrix(
    labels: npt.ArrayLike, predictions: npt.ArrayLike, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Count every (true, predicted) pair: a `num_classes` square matrix, rows are true classes."""
    labels = _as_classes(labels, "labels", num_classes)
    predictions = _as_classes(predictions, "predictions", num_classes)
    _check_same_length({"labels": labels, "predictions": predictions})
    cells = labels * num_classes + predictions
    return np.bincount(cells, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(
    labels: npt.ArrayLike, predictions: npt.ArrayLike, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """For each class, the fraction of its examples predicted correctly; NaN if it has none."""
    confusion = confusion_matrix(labels, predictions, num_classes)
    totals = confusion.sum(axis=1)
    correct = np.diag(confusion).astype(float)
    return np.divide(correct, totals, out=np.full(num_classes, np.nan), where=totals > 0)


@dataclass(frozen=True)
class ConfusedPair:
    """A kind of mistake: images of digit `true` predicted as `predicted`, `count` times."""

    true: int
    predicted: int
    count: int


def most_confused_pairs(confusion: npt.ArrayLike, top: int = 5) -> list[ConfusedPair]:
    """The `top` most frequent mistakes in a confusion matrix, the most frequent first.

    Ties are listed by true digit, then predicted digit; pairs never confused are left out.
    """
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {confusion.shape}.")
    if top < 0:
        raise ValueError(f"top must be zero or positive, got {top}.")
    mistakes = confusion.copy()
    np.fill_diagonal(mistakes, 0)
    true, predicted = np.nonzero(mistakes)  # in (true, predicted) order
    counts = mistakes[true, predicted]
    order = np.argsort(-counts, kind="stable")[:top]
    return [ConfusedPair(int(true[i]), int(predicted[i]), int(counts[i])) for i in order]


def misclassified_indices(
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    probabilities: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Indices where the prediction is wrong.

    With `probabilities`, the most confident mistakes come first (by the probability given to
    the wrong prediction, ties by index); without, in ascending index order.
    """
    labels = _as_classes(labels, "labels")
    predictions = _as_classes(predictions, "predictions")
    _check_same_length({"labels": labels, "predictions": predictions})
    wrong = np.flatnonzero(labels != predictions)
    if probabilities is None:
        return wrong
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES:
        raise ValueError(
            f"probabilities must have shape (n, {NUM_CLASSES}), got {probabilities.shape}."
        )
    _check_same_length({"labels": labels, "probabilities": probabilities})
    confidence_in_mistake = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence_in_mistake, kind="stable")]


def misclassified_by_all(
    labels: npt.ArrayLike, predictions_by_model: Mapping[str, npt.ArrayLike]
) -> np.ndarray:
    """Indices, ascending, of the images that every model in `predictions_by_model` gets wrong."""
    if not predictions_by_model:
        raise ValueError(
            "predictions_by_model is empty: give the predictions of at least one model."
        )
    labels = _as_classes(labels, "labels")
    wrong_everywhere = np.ones(labels.size, dtype=bool)
    for name, predictions in predictions_by_model.items():
        predictions = _as_classes(predictions, f"predictions of {name!r}")
        _check_same_length({"labels": labels, "predictions": predictions})
        wrong_everywhere &= predictions != labels
    return np.flatnonzero(wrong_everywhere)


def unanimous_mistakes(
    labels: npt.ArrayLike, predictions_by_model: Mapping[str, npt.ArrayLike]
) -> np.ndarray:
    """Indices, ascending, where every model predicts the same digit and it is not the label.

    When independently trained models all agree against the label, the image often looks
    more like their digit than like its label: a candidate for a labelling mistake, or a
    digit a person would misread too.
    """
    wrong = misclassified_by_all(labels, predictions_by_model)
    stacked = np.stack([_as_classes(p, name) for name, p in predictions_by_model.items()])
    return wrong[np.all(stacked[:, wrong] == stacked[0, wrong], axis=0)]


def ensemble(evaluations: Sequence[Evaluation]) -> Evaluation:
    """A committee: the mean of several models' probabilities on the same labelled images."""
    if not evaluations:
        raise ValueError("evaluations is empty: give at least one model's evaluation.")
    labels = evaluations[0].labels
    if any(not np.array_equal(e.labels, labels) for e in evaluations[1:]):
        raise ValueError("The evaluations are of different images: their labels differ.")
    probabilities = np.mean([e.probabilities for e in evaluations], axis=0)
    return Evaluation.from_probabilities(probabilities, labels)


def shift_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`images` (n, height, width) moved `dy` pixels down and `dx` right; new pixels are 0."""
    images = np.asarray(images)
    shifted = np.zeros_like(images)
    height, width = images.shape[1:3]
    rows = slice(max(dy, 0), height + min(dy, 0))
    cols = slice(max(dx, 0), width + min(dx, 0))
    source_rows = slice(max(-dy, 0), height + min(-dy, 0))
    source_cols = slice(max(-dx, 0), width + min(-dx, 0))
    shifted[:, rows, cols] = images[:, source_rows, source_cols]
    return shifted


TTA_SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
"""Test-time augmentation's views: the image itself and its four one-pixel shifts."""


def comparison_table(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """Per-digit accuracy of several models: one row per digit 0-9, one column per model."""
    if not evaluations:
        raise ValueError("evaluations is empty: give at least one model's evaluation.")
    table = pd.DataFrame(
        {name: evaluation.per_class_accuracy for name, evaluation in evaluations.items()},
        index=pd.RangeIndex(NUM_CLASSES, name="digit"),
    )
    table.columns.name = "model"
    return table


def _as_classes(values: npt.ArrayLike, name: str, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """`values` as a 1-D int64 array, checked to hold class numbers 0 to num_classes - 1."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}.")
    if array.size == 0:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}.")
    low, high = array.min(), array.max()
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(f"{name} must be class numbers 0 to {num_classes - 1}, found {bad}.")
    return array.astype(np.int64)


def _check_same_length(arrays: Mapping[str, np.ndarray]) -> None:
    """Raise ValueError unless all `arrays` have the same length, naming them if not."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ValueError(f"Lengths differ: {described}.")
