"""The pages' conclusions follow their numbers: other numbers, other words, or a failed claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mnist_book.conclusions import (
    ClaimError,
    ErrorChange,
    accuracy_against_size,
    checked,
    error_change,
    learning_curves,
    per_digit_change,
)
from mnist_book.config import TrainConfig
from mnist_book.evaluation import Evaluation

SPLIT_6000 = TrainConfig(validation_split=0.1)  # 6,000 of MNIST's 60,000 images validate
SPLIT_600 = TrainConfig(validation_split=0.1, train_size=6_000)  # 600 validate


def _evaluation(labels: np.ndarray, wrong: np.ndarray) -> Evaluation:
    predictions = labels.copy()
    predictions[wrong] = (labels[wrong] + 1) % 10
    return Evaluation(np.eye(10)[predictions], predictions, labels)


def test_a_claim_that_holds_is_the_sentence_and_one_that_fails_names_its_figures() -> None:
    assert checked("Two beats one.", True, two=2.0, one=1.0) == "Two beats one."
    with pytest.raises(ClaimError, match=r"'Two beats one\.' \(two=1, one=2\)"):
        checked("Two beats one.", False, two=1, one=2)


def test_error_change_counts_fixed_and_broken_digits() -> None:
    labels = np.arange(100) % 10
    change = ErrorChange.between(
        _evaluation(labels, np.arange(0, 30)), _evaluation(labels, np.arange(20, 40))
    )
    assert (change.before, change.after, change.fixed, change.broken) == (30, 20, 20, 10)


def test_a_real_gain_and_a_tie_within_chance_are_worded_differently() -> None:
    gain = ErrorChange(before=741, after=232, fixed=540, broken=31)
    assert gain.real
    said = error_change(gain, "the single layer", "the hidden layer")
    assert "69% fewer mistakes" in said and "is real" in said

    tie = ErrorChange(before=232, after=235, fixed=92, broken=95)
    assert not tie.real
    said = error_change(tie, "the constant rate", "the schedule")
    assert "**more** mistakes" in said and "no real difference" in said
    assert "fewer mistakes" not in said and "%" in said  # never "101% of the errors"

    worse = ErrorChange(before=100, after=200, fixed=0, broken=100)
    assert "**more** mistakes" in error_change(worse, "a", "b") and worse.real


def test_mcnemar_p_value_of_an_even_split_is_one_and_of_a_lopsided_one_small() -> None:
    assert ErrorChange(10, 10, 5, 5).p_value == 1.0
    assert ErrorChange(10, 0, 10, 0).p_value == pytest.approx(2 / 2**10)
    assert ErrorChange(0, 0, 0, 0).p_value == 1.0


def _history(accuracy, validation, loss, val_loss) -> dict[str, list[float]]:
    return {"accuracy": accuracy, "val_accuracy": validation, "loss": loss, "val_loss": val_loss}


def test_validation_above_training_is_explained_by_dropout_or_by_keras_averaging() -> None:
    above = _history([0.90, 0.92, 0.925], [0.93, 0.935, 0.936], [0.4, 0.3, 0.29], [0.3, 0.28, 0.27])
    plain = learning_curves(above, config=SPLIT_6000)
    assert "above training accuracy in every epoch" in plain and "average over its batches" in plain
    assert "dropout" in learning_curves(above, config=SPLIT_6000, dropout=True)
    below = _history([0.95, 0.98, 0.995], [0.95, 0.96, 0.962], [0.2, 0.1, 0.02], [0.2, 0.18, 0.25])
    said = learning_curves(below, config=SPLIT_6000)
    assert "above validation" in said and "memorise" in said and "above training" not in said


def test_levelled_off_or_still_rising_follows_the_last_third() -> None:
    flat = [0.90, 0.92, 0.94, 0.95, 0.951, 0.950, 0.951, 0.951, 0.9535]
    rising = [0.9] * 6 + [0.93, 0.95, 0.97]
    common = {"accuracy": [0.9] * 9, "loss": [0.3] * 9, "val_loss": [0.3] * 9}
    flat_curves = {**common, "val_accuracy": flat}
    assert "levelled off" in learning_curves(flat_curves, config=SPLIT_6000)
    assert "within the noise" in learning_curves(flat_curves, config=SPLIT_6000)
    rising_curves = {**common, "val_accuracy": rising}
    assert "still rising" in learning_curves(rising_curves, config=SPLIT_6000)
    # One point more over the last third: beyond the noise on 6,000 images, not on 600.
    one_point = {**common, "val_accuracy": [0.9] * 5 + [0.95, 0.95, 0.955, 0.96]}
    assert "still rising" in learning_curves(one_point, config=SPLIT_6000)
    assert "levelled off" in learning_curves(one_point, config=SPLIT_600)


def test_per_digit_change_says_which_digits_got_worse() -> None:
    before = np.linspace(0.8, 0.98, 10)
    assert per_digit_change(before, before + 0.01, "a").startswith("Every digit improves")
    after = before + 0.01
    after[3] = before[3] - 0.01
    said = per_digit_change(before, after, "a")
    assert said.startswith("9 of the 10 digits improve (3 get worse)")


def test_accuracy_against_size_says_whether_the_best_is_the_largest() -> None:
    table = pd.DataFrame(
        {
            "test accuracy": [0.9268, 0.9768, 0.9911, 0.9961],
            "test errors": [732, 232, 89, 39],
            "parameters": [7850, 79510, 34826, 317066],
        },
        index=["single_layer", "hidden_layer", "convnet", "deeper_convnet"],
    )
    said = accuracy_against_size(table)
    assert "**deeper_convnet** is the most accurate" in said and "also the largest" in said
    assert "**convnet**, with 34,826 parameters, makes 89 errors" in said
    table.loc["deeper_convnet", "parameters"] = 20_000
    assert "only the 3rd largest" in accuracy_against_size(table)
    growing = table.assign(parameters=[1, 2, 3, 4], **{"test errors": [4, 3, 2, 1]})
    assert "every gain in accuracy came with more parameters" in accuracy_against_size(growing)


def test_a_choice_on_validation_that_does_worse_on_test_says_so() -> None:
    from mnist_book.conclusions import chosen_on_validation

    worse = chosen_on_validation("ensemble of 3, TTA", 0.9954, 0.9961)
    assert "**below** the single model's 99.61%: 7 test digits fewer right" in worse
    assert "7 more test digits right" in chosen_on_validation("ensemble of 3", 0.9968, 0.9961)
    assert "1 more test digit right" in chosen_on_validation("ensemble of 3", 0.9962, 0.9961)
    assert "itself" in chosen_on_validation("single model", 0.9961, 0.9961)


def test_each_ladder_step_is_judged_against_the_one_before() -> None:
    from mnist_book.conclusions import ladder_steps

    labels = np.arange(1000) % 10
    steps = {
        "base": _evaluation(labels, np.arange(0, 100)),
        "+ big gain": _evaluation(labels, np.arange(0, 30)),
        "+ nothing": _evaluation(labels, np.r_[np.arange(0, 28), np.arange(500, 503)]),
    }
    lines = ladder_steps(steps).splitlines()
    assert (
        lines[0].startswith("- **+ big gain**: 30 test errors against 100")
        and "real gain" in lines[0]
    )
    assert "no real difference" in lines[1] and "(2 fixed, 3 broken)" in lines[1]


def test_template_claims_fail_when_the_templates_say_otherwise() -> None:
    from mnist_book.conclusions import weight_templates

    ink = np.full((28, 28), 0.5)
    ink[:3, :] = 0.01  # rarely inked rows near the top edge
    templates = np.zeros((10, 28, 28))
    templates[0, 11:17, 11:17] = -1
    templates[1, 6:22, 12:16] = 1
    templates[:, :3, :] = -0.5
    assert "red in the middle" in weight_templates(templates, ink)
    templates[0, 11:17, 11:17] = 1
    with pytest.raises(ClaimError, match="centre_of_zero=1"):
        weight_templates(templates, ink)


def test_mistakes_at_borders_is_checked_against_the_map() -> None:
    from mnist_book.conclusions import mistakes_at_borders

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    angles = labels * 2 * np.pi / 10
    points = np.c_[np.cos(angles), np.sin(angles)] * 10 + rng.normal(0, 1, (500, 2))
    border = np.flatnonzero(labels == 0)[:5]
    points[border] = (points[border] + np.array([10 * np.cos(0.63), 10 * np.sin(0.63)])) / 2
    assert "gather where regions meet" in mistakes_at_borders(points, labels, border)
    centre = np.flatnonzero(labels == 3)[:5]
    points[centre] = np.array([10 * np.cos(3 * 0.628), 10 * np.sin(3 * 0.628)])
    with pytest.raises(ClaimError):
        mistakes_at_borders(points, labels, centre)


def test_time_bought_says_where_the_minutes_went_and_what_accuracy_did() -> None:
    from mnist_book.conclusions import time_bought

    table = pd.DataFrame(
        {
            "epochs before": [15, 15],
            "epochs now": [8, 8],
            "seconds per epoch before": [13.0, 25.0],
            "seconds per epoch now": [12.0, 12.5],
            "minutes before": [3.25, 6.25],
            "minutes now": [1.6, 1.67],
            "test accuracy before": [0.9896, 0.9917],
            "test accuracy now": [0.9904, 0.9890],
        },
        index=pd.Index(["+ augmentation", "+ batch norm"], name="step"),
    )
    sentence = time_bought(table)
    assert "took 9.5 minutes before and 3.3 minutes now (34% of the time)" in sentence
    assert "fewer epochs in every step" in sentence
    assert "faster epochs (+ batch norm: 2.0 times)" in sentence
    assert "+ augmentation, 98.96% to 99.04% (held)" in sentence
    assert "+ batch norm, 99.17% to 98.90% (fell)" in sentence
    table.loc["+ augmentation", "epochs now"] = 15
    assert "fewer epochs (+ batch norm)" in time_bought(table)
    table["epochs now"] = table["epochs before"]
    table["seconds per epoch now"] = table["seconds per epoch before"]
    assert "bought by" not in time_bought(table)
