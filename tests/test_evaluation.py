"""Predictions, confusion matrices and error analysis on small hand-made arrays."""

import dataclasses

import numpy as np
import pytest

from mnist_book import evaluation
from mnist_book.evaluation import (
    ConfusedPair,
    Evaluation,
    comparison_table,
    confusion_matrix,
    evaluate,
    misclassified_by_all,
    misclassified_indices,
    most_confused_pairs,
    per_class_accuracy,
    predict_proba,
)


class FakeModel:
    """A Keras-like model: predicts `outputs` and records how `predict` was called."""

    def __init__(self, outputs):
        self.outputs = np.asarray(outputs)
        self.calls = []

    def predict(self, x, batch_size=None, verbose="auto"):
        self.calls.append({"n": len(x), "batch_size": batch_size, "verbose": verbose})
        return self.outputs


def one_hot_probabilities(predictions, confidence=0.91):
    """Probabilities putting `confidence` on each prediction and the rest spread evenly."""
    probabilities = np.full((len(predictions), 10), (1 - confidence) / 9)
    probabilities[np.arange(len(predictions)), predictions] = confidence
    return probabilities


@pytest.fixture
def random_evaluation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    logits = rng.normal(size=(500, 10))
    logits[np.arange(500), labels] += 2.0  # right most of the time, not always
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Evaluation.from_probabilities(probabilities, labels)


# confusion_matrix and per_class_accuracy


def test_confusion_matrix_of_a_hand_computed_example():
    labels = [0, 0, 1, 2, 2, 2]
    predictions = [0, 1, 1, 2, 0, 2]
    expected = [
        [1, 1, 0],
        [0, 1, 0],
        [1, 0, 2],
    ]
    np.testing.assert_array_equal(confusion_matrix(labels, predictions, num_classes=3), expected)


def test_confusion_matrix_has_ten_classes_by_default_and_counts_every_pair():
    labels = np.array([9, 9, 0, 3], dtype=np.uint8)  # as MNIST labels come
    predictions = np.array([9, 4, 0, 3])
    confusion = confusion_matrix(labels, predictions)
    assert confusion.shape == (10, 10)
    assert confusion.sum() == 4
    assert confusion[9, 9] == 1 and confusion[9, 4] == 1 and confusion[4, 9] == 0


def test_per_class_accuracy_is_recall_of_each_true_class():
    labels = [0, 0, 1, 2, 2, 2]
    predictions = [0, 1, 1, 2, 0, 2]
    np.testing.assert_allclose(per_class_accuracy(labels, predictions, 3), [0.5, 1.0, 2 / 3])


def test_per_class_accuracy_is_nan_for_a_class_without_examples():
    accuracy = per_class_accuracy([0, 0, 2], [0, 2, 2], num_classes=3)
    np.testing.assert_allclose(accuracy[[0, 2]], [0.5, 1.0])
    assert np.isnan(accuracy[1])


# most_confused_pairs


def test_most_confused_pairs_largest_first_ties_by_true_then_predicted():
    confusion = np.array(
        [
            [90, 0, 0, 3],
            [5, 80, 0, 0],
            [0, 3, 70, 0],
            [0, 0, 1, 60],
        ]
    )
    assert most_confused_pairs(confusion, top=10) == [
        ConfusedPair(true=1, predicted=0, count=5),
        ConfusedPair(true=0, predicted=3, count=3),
        ConfusedPair(true=2, predicted=1, count=3),
        ConfusedPair(true=3, predicted=2, count=1),
    ]


def test_most_confused_pairs_keeps_the_top_ones_and_ignores_the_diagonal():
    confusion = np.diag([100] * 10)
    confusion[4, 9] = 7
    confusion[7, 2] = 2
    assert most_confused_pairs(confusion, top=1) == [ConfusedPair(4, 9, 7)]
    assert most_confused_pairs(np.diag([100] * 10)) == []
    assert all(isinstance(p.count, int) for p in most_confused_pairs(confusion))


def test_most_confused_pairs_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="square"):
        most_confused_pairs(np.zeros((10, 9), dtype=int))


def test_confused_pair_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ConfusedPair(1, 7, 3).count = 4


# misclassified_indices and misclassified_by_all


def test_misclassified_sorted_by_confidence_in_the_wrong_answer_ties_by_index():
    labels = np.array([0, 1, 2, 3, 4, 5])
    predictions = np.array([1, 1, 0, 0, 4, 0])  # wrong at 0, 2, 3, 5
    probabilities = one_hot_probabilities(predictions)
    probabilities[0, 1] = 0.6
    probabilities[2, 0] = 0.99
    probabilities[3, 0] = 0.6
    probabilities[5, 0] = 0.8
    np.testing.assert_array_equal(
        misclassified_indices(labels, predictions, probabilities), [2, 5, 0, 3]
    )


def test_misclassified_without_probabilities_in_index_order():
    np.testing.assert_array_equal(misclassified_indices([3, 1, 2, 5], [0, 1, 9, 5]), [0, 2])


def test_misclassified_by_all_models():
    labels = np.array([0, 1, 2, 3])
    predictions = {"a": np.array([1, 1, 0, 0]), "b": np.array([2, 0, 2, 0])}
    np.testing.assert_array_equal(misclassified_by_all(labels, predictions), [0, 3])
    with pytest.raises(ValueError, match="empty"):
        misclassified_by_all(labels, {})


# Evaluation


def test_evaluation_properties_are_consistent(random_evaluation):
    scores = random_evaluation
    np.testing.assert_array_equal(scores.predictions, scores.probabilities.argmax(axis=1))
    assert 0.4 < scores.accuracy < 1.0  # not trivially all right or all wrong
    assert scores.accuracy == pytest.approx(np.trace(scores.confusion) / scores.confusion.sum())
    np.testing.assert_array_equal(
        scores.confusion.sum(axis=1), np.bincount(scores.labels, minlength=10)
    )
    np.testing.assert_allclose(
        scores.per_class_accuracy, np.diag(scores.confusion) / scores.confusion.sum(axis=1)
    )
    np.testing.assert_array_equal(scores.confidence, scores.probabilities.max(axis=1))
    np.testing.assert_array_equal(
        np.sort(scores.misclassified), np.flatnonzero(scores.predictions != scores.labels)
    )
    assert np.all(np.diff(scores.confidence[scores.misclassified]) <= 0)
    assert scores.misclassified.size == round((1 - scores.accuracy) * scores.labels.size)


def test_evaluation_converts_labels_to_integers_and_is_frozen():
    scores = Evaluation.from_probabilities(
        one_hot_probabilities([3, 4]), np.array([3, 5], np.uint8)
    )
    assert scores.labels.dtype == np.int64
    assert scores.accuracy == 0.5
    assert repr(scores) == "Evaluation(images=2, accuracy=0.5000)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        scores.labels = np.array([3, 4])


@pytest.mark.parametrize(
    ("probabilities", "labels", "message"),
    [
        (one_hot_probabilities([1, 2, 3]), [1, 2], "Lengths differ: labels 2, predictions 3"),
        (one_hot_probabilities([1, 2]), [1, 10], "labels must be class numbers 0 to 9, found 10"),
        (one_hot_probabilities([1, 2]), [-1, 2], "found -1"),
        (one_hot_probabilities([1, 2]), [1.0, 2.0], "labels must be integers"),
        (one_hot_probabilities([1, 2])[:, :9], [1, 2], r"shape \(n, 10\)"),
        (np.zeros(10), [1], "2-D"),
    ],
)
def test_evaluation_rejects_inconsistent_inputs(probabilities, labels, message):
    with pytest.raises(ValueError, match=message):
        Evaluation.from_probabilities(probabilities, labels)


def test_functions_reject_mismatched_lengths_and_bad_labels():
    with pytest.raises(ValueError, match="Lengths differ"):
        confusion_matrix([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="predictions must be class numbers 0 to 2"):
        per_class_accuracy([0, 1], [0, 3], num_classes=3)
    with pytest.raises(ValueError, match="Lengths differ"):
        misclassified_indices([1, 2], [1, 2], one_hot_probabilities([1, 2, 3]))


# predict_proba and evaluate


def test_predict_proba_calls_predict_quietly_with_the_batch_size():
    outputs = one_hot_probabilities([7, 2, 1]).astype(np.float32)
    model = FakeModel(outputs)
    probabilities = predict_proba(model, np.zeros((3, 784)), batch_size=2)
    assert model.calls == [{"n": 3, "batch_size": 2, "verbose": 0}]
    assert probabilities.shape == (3, 10)
    assert np.issubdtype(probabilities.dtype, np.floating)
    np.testing.assert_allclose(probabilities, outputs)


def test_predict_proba_rejects_outputs_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(3, 9\), expected \(3, 10\)"):
        predict_proba(FakeModel(np.zeros((3, 9))), np.zeros((3, 784)))


def test_evaluate_runs_the_model_once_and_compares_with_labels():
    model = FakeModel(one_hot_probabilities([7, 2, 1, 0]))
    scores = evaluate(model, np.zeros((4, 28, 28)), [7, 2, 1, 6])
    assert len(model.calls) == 1 and model.calls[0]["batch_size"] == 1024
    np.testing.assert_array_equal(scores.predictions, [7, 2, 1, 0])
    assert scores.accuracy == 0.75
    np.testing.assert_array_equal(scores.misclassified, [3])


def test_evaluate_checks_lengths_before_predicting():
    model = FakeModel(one_hot_probabilities([7, 2]))
    with pytest.raises(ValueError, match="Lengths differ: images 2, labels 3"):
        evaluate(model, np.zeros((2, 784)), [7, 2, 1])
    assert model.calls == []


# comparison_table


def test_comparison_table_one_column_per_model_one_row_per_digit(random_evaluation):
    perfect = Evaluation.from_probabilities(
        one_hot_probabilities(random_evaluation.labels), random_evaluation.labels
    )
    table = comparison_table({"random": random_evaluation, "perfect": perfect})
    assert list(table.columns) == ["random", "perfect"]
    assert list(table.index) == list(range(10))
    assert table.index.name == "digit"
    np.testing.assert_allclose(table["random"], random_evaluation.per_class_accuracy)
    assert (table["perfect"] == 1.0).all()
    with pytest.raises(ValueError, match="empty"):
        comparison_table({})


def test_unanimous_mistakes_are_wrong_everywhere_and_agree():
    labels = np.array([0, 1, 2, 3, 4])
    predictions = {
        "a": np.array([0, 7, 5, 9, 4]),
        "b": np.array([0, 7, 6, 9, 1]),
        "c": np.array([0, 7, 5, 9, 4]),
    }
    # Image 1 and 3: all wrong, all the same digit. Image 2: all wrong, votes split.
    np.testing.assert_array_equal(evaluation.unanimous_mistakes(labels, predictions), [1, 3])


def test_ensemble_averages_probabilities_of_the_same_images():
    labels = np.array([0, 1])
    first = Evaluation.from_probabilities([[0.6, 0.4] + [0] * 8, [0.6, 0.4] + [0] * 8], labels)
    second = Evaluation.from_probabilities([[0.2, 0.8] + [0] * 8, [0.0, 1.0] + [0] * 8], labels)
    committee = evaluation.ensemble([first, second])
    np.testing.assert_allclose(committee.probabilities[:, :2], [[0.4, 0.6], [0.3, 0.7]])
    np.testing.assert_array_equal(committee.predictions, [1, 1])
    other_images = Evaluation.from_probabilities(second.probabilities, np.array([1, 1]))
    with pytest.raises(ValueError, match="different images"):
        evaluation.ensemble([first, other_images])
    with pytest.raises(ValueError, match="empty"):
        evaluation.ensemble([])


def test_shift_images_moves_pixels_and_fills_the_border_with_background():
    images = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3)
    np.testing.assert_array_equal(
        evaluation.shift_images(images, 1, 0)[0], [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    )
    np.testing.assert_array_equal(
        evaluation.shift_images(images, 0, -1)[0], [[2, 3, 0], [5, 6, 0], [8, 9, 0]]
    )
    np.testing.assert_array_equal(evaluation.shift_images(images, 0, 0), images)
    assert evaluation.shift_images(images, 1, 1).dtype == np.uint8
    assert (0, 0) in evaluation.TTA_SHIFTS and len(set(evaluation.TTA_SHIFTS)) == 5
