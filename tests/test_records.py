"""The published results and the records chapter's ablation table."""

from pathlib import Path

import numpy as np
import pytest

from mnist_book import records
from mnist_book.config import TrainConfig
from mnist_book.evaluation import Evaluation
from mnist_book.results import TrainingRecord
from mnist_book.training import TrainResult


def test_published_results_are_oldest_first_and_fractions():
    errors = [r.error for r in records.PUBLISHED]
    assert all(0 < e < 0.01 for e in errors)
    assert records.PUBLISHED[0].label == "LeCun et al. 1998"
    table = records.published_table()
    assert list(table.index) == [r.label for r in records.PUBLISHED]
    assert (table["test accuracy"] + table["test error"]).tolist() == pytest.approx([1.0] * 7)
    assert set(table["kind"]) == {"one model", "ensemble"}


def _trained(name, accuracy, seconds, val, config):
    # A TrainResult without its model: the tables read its record alone.
    record = TrainingRecord(
        name=name,
        config=config,
        test_accuracy=accuracy,
        test_loss=0.03,
        train_seconds=seconds,
        params=100_000,
        images_per_epoch=53_888,
        history={"val_accuracy": [0.5, val], "seconds": [seconds / 2] * 2},
    )
    return TrainResult(record, model=None)


def test_ladder_table_counts_the_errors_each_step_saves():
    constant = TrainConfig(epochs=15, batch_size=128)
    cosine = TrainConfig(epochs=30, batch_size=128, schedule="cosine")
    table = records.ladder_table(
        {
            "baseline": _trained("convnet", 0.9922, 90.0, 0.991, constant),
            "+ augmentation": _trained("convnet_augmented", 0.9941, 120.0, 0.993, constant),
            "+ longer": _trained("deeper_convnet", 0.9938, 600.0, 0.995, cosine),
        }
    )
    assert list(table.index) == ["baseline", "+ augmentation", "+ longer"]
    assert table["test errors"].tolist() == [78, 59, 62]
    assert table["errors saved"].tolist() == [0, 19, -3]  # a step can cost errors too
    assert table["training minutes"].tolist() == pytest.approx([1.5, 2.0, 10.0])
    assert table["validation accuracy"].tolist() == [0.991, 0.993, 0.995]
    assert table.loc["+ longer", ["model", "epochs", "schedule"]].tolist() == [
        "deeper_convnet",
        30,
        "cosine",
    ]


class _Voter:
    """A stand-in for a TrainResult: fixed answers for the plain view and for TTA."""

    def __init__(self, plain, tta):
        self.answers = {1: np.asarray(plain), 5: np.asarray(tta)}

    def evaluate(self, images, labels, *, shifts):
        probabilities = np.eye(10)[self.answers[len(shifts)][: len(labels)]]
        return Evaluation.from_probabilities(probabilities, labels)


def test_vote_scores_single_model_committee_and_tta_on_each_set():
    labels = np.array([0, 1, 2, 3])
    # Three voters, each wrong on a different digit: the majority is always right.
    a = _Voter([9, 1, 2, 3], [0, 1, 2, 3])
    b = _Voter([0, 9, 2, 3], [0, 9, 2, 3])
    c = _Voter([0, 1, 9, 3], [0, 9, 9, 3])
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    votes = records.vote(a, [a, b, c], {"validation": (images, labels)})
    assert list(votes.table.index) == [
        "single model",
        "single model, TTA",
        "ensemble of 3",
        "ensemble of 3, TTA",
    ]
    assert votes.table["validation accuracy"].tolist() == [0.75, 1.0, 1.0, 0.75]
    tta_answers = [e.predictions.tolist() for e in votes.members_tta["validation"]]
    assert tta_answers == [[0, 1, 2, 3], [0, 9, 2, 3], [0, 9, 9, 3]]
    assert votes.committee_tta("validation").predictions.tolist() == [0, 9, 2, 3]
    assert votes.chosen("validation") == "single model, TTA"  # the first of two equals
    chosen = votes.evaluations["validation"]["ensemble of 3, TTA"]
    assert chosen.predictions.tolist() == [0, 9, 2, 3]


def test_the_committee_is_chosen_on_validation_digits_not_the_test_set():
    constant = TrainConfig(epochs=15, batch_size=128)
    results = {
        "a": _trained("convnet", 0.999, 60.0, 0.990, constant),  # best on test, worst on val
        "b": _trained("convnet", 0.990, 60.0, 0.995, constant),
        "c": _trained("convnet", 0.991, 60.0, 0.993, constant),
        "d": _trained("convnet", 0.992, 60.0, 0.994, constant),
    }
    assert list(records.committee(results, size=3)) == ["c", "d", "b"]
    assert list(records.committee(results, size=1)) == ["b"]
    assert records.validation_accuracy(results["b"]) == 0.995


def test_the_single_model_bar_is_ciresan_2011():
    assert records.SINGLE_MODEL_BAR.accuracy == pytest.approx(0.9965)
    assert not records.SINGLE_MODEL_BAR.ensemble


def test_time_saved_table_sets_each_earlier_step_beside_this_builds():
    earlier = (
        records.EarlierTraining("+ augmentation", 15, 3.0, 0.9896),
        records.EarlierTraining("+ longer", 40, 10.0, 0.9961),
    )
    ladder = {
        "baseline": _trained("convnet", 0.9911, 90.0, 0.990, TrainConfig(epochs=15)),
        "+ augmentation": _trained("convnet_augmented", 0.9904, 60.0, 0.991, TrainConfig(epochs=8)),
        "+ longer": _trained("deeper_convnet", 0.9958, 150.0, 0.995, TrainConfig(epochs=15)),
    }
    table = records.time_saved_table(ladder, earlier)
    assert list(table.index) == ["+ augmentation", "+ longer"]  # the baseline was not shortened
    assert table["epochs now"].tolist() == [8, 15]
    assert table["minutes now"].tolist() == pytest.approx([1.0, 2.5])
    assert table["seconds per epoch before"].tolist() == pytest.approx([12.0, 15.0])
    assert table["seconds per epoch now"].tolist() == pytest.approx([7.5, 10.0])
    assert table["test accuracy now"].tolist() == [0.9904, 0.9958]
    with pytest.raises(KeyError):
        records.time_saved_table({"baseline": ladder["baseline"]}, earlier)


def test_the_earlier_recipes_name_steps_of_the_chapters_ladder():
    page = (Path(__file__).parents[1] / "docs" / "records.py").read_text()
    for step in records.EARLIER_RECIPES:
        assert f'"{step.step}":' in page, step
