"""The chapters' exercises: a reader's answers judged, the pages' solutions held to the judges."""

import re
from pathlib import Path

import numpy as np
import pytest

from mnist_book import data, exercises
from mnist_book.conclusions import ClaimError
from mnist_book.evaluation import Evaluation
from mnist_book.models import build_model

DOCS = Path(__file__).parents[1] / "docs"
CHAPTERS = sorted(
    path.stem for path in DOCS.glob("*.py") if "# %%" in path.read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return data.load_mnist()


def said(feedback) -> str:
    return str(feedback)


# The pages and the registry ---------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_ends_with_two_to_four_exercises_each_checked_and_solved(chapter):
    """The page's headings, check cells, solution cells and the registry agree, in order."""
    script = (DOCS / f"{chapter}.py").read_text(encoding="utf-8")
    headings = [int(n) for n in re.findall(r"^# ### Exercise (\d+): ", script, re.M)]
    checks = re.findall(rf'^exercises\.check\("{chapter}", (\d+), \.\.\.\)$', script, re.M)
    solved = re.findall(rf'^Markdown\(exercises\.solution\("{chapter}", (\d+), ', script, re.M)
    registered = sorted(number for name, number in exercises.EXERCISES if name == chapter)
    assert 2 <= len(registered) <= 4
    assert headings == [int(n) for n in checks] == [int(n) for n in solved] == registered
    titles = re.findall(r"^# ### Exercise \d+: (.+)$", script, re.M)
    assert titles == [exercises.get_exercise(chapter, n).title for n in registered]
    # Each solution is one run of cells tagged "solution", the check cell just before it.
    runs = re.findall(r'(?:# %% tags=\["solution"[^\n]*\n(?:(?!# %%).*\n)*)+', script)
    assert len(runs) == len(registered)


def test_every_registered_exercise_is_on_a_page():
    assert {chapter for chapter, _ in exercises.EXERCISES} == set(CHAPTERS)


def test_an_unknown_exercise_names_what_there_is():
    with pytest.raises(KeyError, match=r"The mnist-data chapter has exercises \[1, 2\], not 9"):
        exercises.check("mnist-data", 9, 1)
    with pytest.raises(KeyError, match=r"No chapter .nope. has exercises; chapters: .*hidden"):
        exercises.check("nope", 1, 1)


def test_no_answer_yet_asks_for_one():
    feedback = exercises.check("single-layer", 1, ...)
    assert not feedback.right
    assert "in place of `...`" in feedback._repr_markdown_()


# A reader's answers: right, or what is off and a hint, never the answer ---------------------------


def judged(chapter, number, answer):
    feedback = exercises.check(chapter, number, answer)
    return feedback.right, said(feedback)


def test_counting_the_fives(mnist):
    (_, y_train), (_, y_test) = mnist
    fives = int(np.sum(y_train == 5))
    assert judged("mnist-data", 1, fives)[0]
    for wrong in (int(np.sum(y_test == 5)), int(np.sum(y_train == 3)), fives + 1000):
        right, says = judged("mnist-data", 1, wrong)
        assert not right and str(fives) not in says.replace(",", "")
    assert judged("mnist-data", 1, 5421.0)[1].startswith("Not yet. Give the number of fives")


def test_the_share_of_ink(mnist):
    (x_train, _), _ = mnist
    ink = float(np.mean(x_train > 0))
    assert judged("mnist-data", 2, ink)[0]
    right, says = judged("mnist-data", 2, 1 - ink)
    assert not right and "blank" in says
    assert not judged("mnist-data", 2, 19)[0]


def test_counting_a_dense_layers_parameters():
    single = build_model("single_layer").count_params()
    assert judged("single-layer", 1, single)[0]
    right, says = judged("single-layer", 1, 784 * 10)
    assert not right and "bias" in says and str(single) not in says


def test_a_wider_hidden_layer_counted_against_keras():
    import keras

    wider = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(300), keras.layers.Dense(10)]
    ).count_params()
    assert judged("hidden-layer", 1, wider)[0]
    right, says = judged("hidden-layer", 1, 784 * 300 + 300)
    assert not right and "output layer" in says


def test_a_learning_rate_too_small_needs_a_clear_gap():
    assert judged("single-layer", 2, (0.88, 0.08))[0]
    assert not judged("single-layer", 2, (0.88, 0.80))[0]
    right, says = judged("single-layer", 2, (0.5, 0.9))
    assert not right and "fresh weights" in says
    assert "as a pair" in judged("single-layer", 2, 0.88)[1]
    assert "fractions" in judged("single-layer", 2, (88, 8))[1]


def test_two_layers_without_an_activation_are_one_layer():
    import keras

    def network(activation):
        return keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(16, activation=activation),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    keras.utils.set_random_seed(1)
    assert judged("hidden-layer", 2, network(None))[0]  # untrained weights collapse too
    right, says = judged("hidden-layer", 2, network("relu"))
    assert not right and "relu" in says
    assert not judged("hidden-layer", 2, build_model("convnet"))[0]


def test_shapes_of_a_flattened_batch_and_of_pooled_maps():
    import keras

    flattened = tuple(keras.layers.Flatten()(np.zeros((32, 28, 28))).shape)
    assert judged("flatten-layer", 1, flattened)[0]
    assert "batch axis" in judged("flatten-layer", 1, flattened[1:])[1]
    assert not judged("flatten-layer", 1, list(flattened))[0]
    convnet = build_model("convnet")
    pooled = tuple(convnet.layers[1].output.shape[1:])
    assert judged("convolutional-network", 2, pooled)[0]
    convolved = tuple(convnet.layers[0].output.shape[1:])
    assert "now pool" in judged("convolutional-network", 2, convolved)[1]
    first = convnet.layers[0]
    assert judged("convolutional-network", 1, first.count_params())[0]
    assert not judged("convolutional-network", 1, first.count_params() - first.filters)[0]


def test_learning_rates_from_the_schedule_and_the_scaling_rule():
    from mnist_book.config import recipe

    config = recipe("flatten")
    steps = config.steps_per_epoch() * config.epochs
    assert judged("flatten-layer", 2, float(config.learning_rate_schedule()(steps // 2)))[0]
    assert "starts" in judged("flatten-layer", 2, config.learning_rate)[1]
    rate = recipe("convnet").learning_rate
    assert judged("distributed-training", 1, rate * 2)[0]
    assert "not with the workers" in judged("distributed-training", 1, rate * 4)[1]
    steps = recipe("convnet").steps_per_epoch()
    assert judged("distributed-training", 2, steps)[0]
    assert "take turns" in judged("distributed-training", 2, steps // 2)[1]


def test_errors_behind_accuracies(monkeypatch):
    from mnist_book.records import SINGLE_MODEL_BAR

    bar = round((1 - SINGLE_MODEL_BAR.accuracy) * 10_000)
    assert judged("records", 1, bar)[0] and not judged("records", 1, bar + 1)[0]

    class Trained:
        test_accuracy = 0.9950

    monkeypatch.setattr("mnist_book.training.trained", lambda name: Trained())
    assert judged("records", 2, 50 - bar)[0]
    assert "sign" in judged("records", 2, bar - 50)[1]


def scored(labels, predictions):
    """An evaluation with these predictions (tiny made-up arrays: the judges' logic only)."""
    return Evaluation.from_probabilities(np.eye(10)[predictions], labels)


def test_mistakes_read_from_confusion_matrices(monkeypatch):
    labels = np.array([3, 3, 3, 5, 5, 7, 7, 1, 9, 9])
    convnet = scored(labels, np.array([5, 5, 3, 3, 5, 7, 1, 1, 4, 9]))  # 3 -> 5 twice
    single = scored(labels, np.array([5, 8, 8, 3, 5, 1, 1, 7, 9, 4]))
    by_name = {"convnet": convnet, "single_layer": single}
    monkeypatch.setattr(exercises, "_test_scores", by_name.__getitem__)

    assert judged("error-analysis", 1, (3, 5))[0]
    assert "other way round" in judged("error-analysis", 1, (5, 3))[1]
    assert "diagonal" in judged("error-analysis", 1, (3, 3))[1]
    right, says = judged("error-analysis", 1, (7, 1))
    assert not right and "1 times" in says

    both = int(np.sum((convnet.predictions != labels) & (single.predictions != labels)))
    assert judged("error-analysis", 2, both)[0]
    assert "one model's" in judged("error-analysis", 2, int(convnet.misclassified.size))[1]

    assert judged("what-networks-learned", 2, 3)[0]  # two 3s misread, more than any other
    assert not judged("what-networks-learned", 2, 7)[0]
    assert "0 to 9" in judged("what-networks-learned", 2, 12)[1]


# The pages' solutions -----------------------------------------------------------------------------


def test_a_right_solution_is_its_explanation():
    sentence = exercises.solution("single-layer", 1, build_model("single_layer").count_params())
    assert sentence == str(exercises.check("single-layer", 1, 7850)).removeprefix("Right. ")
    assert "784 x 10 + 10" in sentence


def test_a_solution_no_longer_right_names_chapter_exercise_and_figures():
    with pytest.raises(ClaimError) as failed:
        exercises.solution("single-layer", 1, 784 * 10)
    message = str(failed.value)
    assert "exercise 1 of the single-layer chapter ('Count the parameters')" in message
    assert f"answer={784 * 10}" in message and "parameters=" in message
