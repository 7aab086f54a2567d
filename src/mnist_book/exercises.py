"""The exercises at the end of each chapter: a reader's answer checked, a solution's claim too.

Every exercise has a *judge*, a function from an answer to a `Verdict`: right, with what the
answer shows in a sentence written from its figures, or not yet, with what is off and a hint,
never the answer itself. The judge is the one owner of the exercise's claim:

- a reader calls `check("hidden-layer", 2, answer)` in the notebook (downloaded, or in
  Colab) and reads the verdict;
- a page's solution ends with `solution("hidden-layer", 2, answer)`, the same judge on the
  solution's own answer: its sentence (Markdown) is the explanation the page shows, and a
  solution that stops being right raises `mnist_book.conclusions.ClaimError` naming the chapter, the
  exercise and the figures, which fails the build.

Chapters are named by their page (``docs/<chapter>.py``). Judges read the data, build models
and load the site's trained models only when called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_book.conclusions import ClaimError


@dataclass(frozen=True)
class Verdict:
    """A judge's finding on one answer.

    Attributes:
        right: whether the answer is right.
        says: for a right answer, what it shows; otherwise what is off, with a hint.
        figures: what the answer was judged on (named in a failing solution's error).
    """

    right: bool
    says: str
    figures: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its chapter (the page's name), its number there, its title and judge."""

    chapter: str
    number: int
    title: str
    judge: Callable[[Any], Verdict]

    @property
    def name(self) -> str:
        return f"exercise {self.number} of the {self.chapter} chapter ({self.title!r})"


EXERCISES: dict[tuple[str, int], Exercise] = {}
"""Every exercise, by (chapter, number)."""


def _exercise(chapter: str, number: int, title: str) -> Callable[[Callable], Callable]:
    def register(judge: Callable[[Any], Verdict]) -> Callable[[Any], Verdict]:
        EXERCISES[chapter, number] = Exercise(chapter, number, title, judge)
        return judge

    return register


def get_exercise(chapter: str, number: int) -> Exercise:
    """The exercise, or a `KeyError` listing the chapter's exercises (or the chapters)."""
    if (chapter, number) in EXERCISES:
        return EXERCISES[chapter, number]
    numbers = sorted(n for c, n in EXERCISES if c == chapter)
    if numbers:
        raise KeyError(f"The {chapter} chapter has exercises {numbers}, not {number}.")
    chapters = sorted({c for c, _ in EXERCISES})
    raise KeyError(f"No chapter {chapter!r} has exercises; chapters: {', '.join(chapters)}.")


@dataclass(frozen=True)
class Feedback:
    """What `check` tells a reader; shown as a sentence in a notebook."""

    exercise: Exercise
    verdict: Verdict | None  # None: no answer given yet

    @property
    def right(self) -> bool:
        return self.verdict is not None and self.verdict.right

    def __str__(self) -> str:
        if self.verdict is None:
            return "Write your answer in place of ..., then run the cell."
        lead = "Right." if self.verdict.right else "Not yet."
        return f"{lead} {self.verdict.says}"

    def _repr_markdown_(self) -> str:
        if self.verdict is None:
            return "Write your answer in place of `...`, then run the cell."
        lead = "**Right.**" if self.verdict.right else "**Not yet.**"
        return f"{lead} {self.verdict.says}"

    def __repr__(self) -> str:
        return str(self)


def check(chapter: str, number: int, answer: Any) -> Feedback:
    """A reader's `answer` to exercise `number` of `chapter`, judged: right, or a hint.

    ``...`` (the placeholder in the exercise's cell) means no answer yet.
    """
    exercise = get_exercise(chapter, number)
    return Feedback(exercise, None if answer is Ellipsis else exercise.judge(answer))


def solution(chapter: str, number: int, answer: Any) -> str:
    """The page's solution sentence for `answer`, judged as a reader's answer is.

    Raises `ClaimError` naming the chapter, the exercise and the figures if the judge does
    not find `answer` right: the solution no longer shows what it says.
    """
    exercise = get_exercise(chapter, number)
    verdict = exercise.judge(answer)
    if not verdict.right:
        shown = ", ".join(f"{name}={_figure(value)}" for name, value in verdict.figures.items())
        raise ClaimError(
            f"The solution to {exercise.name} is no longer right; its check says: "
            f"{verdict.says} ({shown})."
        )
    return verdict.says


def _figure(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def _whole_number(answer: Any, what: str) -> int | Verdict:
    """`answer` as an int, or a verdict saying that a whole number was expected."""
    if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
        return Verdict(False, f"Give {what} as a whole number (an int).", {"answer": answer})
    return int(answer)


def _number(answer: Any, what: str) -> float | Verdict:
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.number):
        return Verdict(False, f"Give {what} as a number.", {"answer": answer})
    return float(answer)


def _dense_parameters(inputs: int, units: int) -> int:
    return inputs * units + units


# The data ------------------------------------------------------------------------------------


@_exercise("mnist-data", 1, "Count the fives")
def _count_fives(answer: Any) -> Verdict:
    from mnist_book.data import load_mnist

    count = _whole_number(answer, "the number of fives")
    if isinstance(count, Verdict):
        return count
    (_, y_train), (_, y_test) = load_mnist()
    counts = np.bincount(y_train, minlength=10)
    fives = int(counts[5])
    figures = {"answer": count, "fives": fives}
    if count == fives:
        return Verdict(
            True,
            f"{fives:,} of the {y_train.size:,} training images show a 5, "
            f"{fives / y_train.size:.1%} of them, "
            + (
                "the fewest of any digit: the classes are close to balanced, not equal."
                if fives == counts.min()
                else "close to the 10 % a perfectly balanced set would give each digit."
            ),
            figures,
        )
    if count == int(np.sum(y_test == 5)):
        return Verdict(False, "That is the test set's count: count in y_train.", figures)
    if count in counts:
        other = int(np.flatnonzero(counts == count)[0])
        return Verdict(
            False, f"That is how many {other}s there are: compare the labels with 5.", figures
        )
    return Verdict(
        False,
        "Hint: y_train == 5 is an array of True and False, and summing it counts the Trues.",
        figures,
    )


@_exercise("mnist-data", 2, "How much of a digit is ink")
def _ink_share(answer: Any) -> Verdict:
    from mnist_book.data import load_mnist

    share = _number(answer, "the share")
    if isinstance(share, Verdict):
        return share
    (x_train, _), _ = load_mnist()
    ink = float(np.mean(x_train > 0))
    figures = {"answer": share, "ink": ink}
    if abs(share - ink) < 0.005:
        return Verdict(
            True,
            f"{ink:.1%} of the training images' pixels have any ink: the digits are thin strokes "
            f"on a blank ground, and {1 - ink:.0%} of what a model reads is exactly 0.",
            figures,
        )
    if abs(share - (1 - ink)) < 0.005:
        return Verdict(False, "That is the share of blank pixels: count those above 0.", figures)
    if share > 1:
        return Verdict(False, "Give a share between 0 and 1 (0.25 for a quarter).", figures)
    return Verdict(
        False,
        "Hint: x_train > 0 marks the inked pixels of every image; the mean of it is the share.",
        figures,
    )


# A single dense layer -----------------------------------------------------------------------


@_exercise("single-layer", 1, "Count the parameters")
def _single_layer_parameters(answer: Any) -> Verdict:
    count = _whole_number(answer, "the number of parameters")
    if isinstance(count, Verdict):
        return count
    expected = _dense_parameters(28 * 28, 10)
    figures = {"answer": count, "parameters": expected}
    if count == expected:
        return Verdict(
            True,
            f"Each of the 10 output units has a weight for each of the 784 pixels and one "
            f"bias: 784 x 10 + 10 = {expected:,} parameters, what the page's layer table says.",
            figures,
        )
    if count == 28 * 28 * 10:
        return Verdict(False, "Those are the weights: each unit also has a bias.", figures)
    return Verdict(
        False, "Hint: count one weight per pixel for each output unit, then the biases.", figures
    )


@_exercise("single-layer", 2, "A learning rate too small")
def _too_small_a_rate(answer: Any) -> Verdict:
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        return Verdict(
            False,
            "Give the two test accuracies as a pair: (with 0.001, with 0.000001).",
            {"answer": answer},
        )
    usual, tiny = (_number(value, "each accuracy") for value in answer)
    for value in (usual, tiny):
        if isinstance(value, Verdict):
            return value
    figures = {"usual_rate": usual, "tiny_rate": tiny}
    if not (0 <= usual <= 1 and 0 <= tiny <= 1):
        return Verdict(False, "Give accuracies as fractions (0.9 for 90 %).", figures)
    if usual - tiny >= 0.5:
        return Verdict(
            True,
            f"After one epoch the usual rate classifies {usual:.1%} of the test digits and a "
            f"rate a thousand times smaller {tiny:.1%}, near the 10 % of guessing: each step "
            "moves the weights so little that one epoch leaves them almost where they started.",
            figures,
        )
    if tiny >= usual:
        return Verdict(
            False,
            "The tiny rate did as well as the usual one: did the model that trained with "
            "learning_rate=1e-6 start from fresh weights (build a new model for each run)?",
            figures,
        )
    return Verdict(
        False,
        "The gap is small: train each for just one epoch, on the same images, each from a "
        "new model.",
        figures,
    )


# A hidden layer ------------------------------------------------------------------------------


@_exercise("hidden-layer", 1, "A wider hidden layer")
def _wider_hidden_layer(answer: Any) -> Verdict:
    count = _whole_number(answer, "the number of parameters")
    if isinstance(count, Verdict):
        return count
    hidden, output = _dense_parameters(784, 300), _dense_parameters(300, 10)
    expected = hidden + output
    figures = {"answer": count, "parameters": expected}
    if count == expected:
        return Verdict(
            True,
            f"784 x 300 + 300 = {hidden:,} in the hidden layer and 300 x 10 + 10 = {output:,} "
            f"in the output layer: {expected:,}, three times the 100-unit network's, almost all "
            "of them in the weights from the pixels.",
            figures,
        )
    if count == 784 * 300 + 300 * 10:
        return Verdict(False, "Those are the weights: add each unit's bias.", figures)
    if count == hidden:
        return Verdict(False, "That is the hidden layer: add the output layer's.", figures)
    return Verdict(
        False,
        "Hint: a Dense layer of n units on m inputs has m x n weights and n biases.",
        figures,
    )


@_exercise("hidden-layer", 2, "Take away the activation")
def _without_activation(model: Any) -> Verdict:
    import keras

    from mnist_book.data import load_mnist
    from mnist_book.models import prepare_images

    dense = [
        layer for layer in getattr(model, "layers", []) if isinstance(layer, keras.layers.Dense)
    ]
    if len(dense) != 2:
        return Verdict(
            False,
            "Give the Keras model: two Dense layers, a hidden one and the output.",
            {"dense_layers": len(dense)},
        )
    hidden, output = dense
    activation = keras.activations.serialize(hidden.activation)
    activation = activation if isinstance(activation, str) else activation.get("config", "")
    if activation != "linear":
        return Verdict(
            False,
            f"The hidden layer still has an activation ({activation}): give it none "
            "(activation=None).",
            {"activation": activation},
        )
    (_, _), (x_test, _) = load_mnist()
    images = prepare_images("hidden_layer", x_test)
    w1, b1 = (np.asarray(v, dtype=np.float64) for v in hidden.get_weights())
    w2, b2 = (np.asarray(v, dtype=np.float64) for v in output.get_weights())
    one_layer = images.reshape(len(images), -1) @ (w1 @ w2) + (b1 @ w2 + b2)
    same = int(np.sum(one_layer.argmax(axis=1) == model.predict(images, verbose=0).argmax(axis=1)))
    figures = {"same_predictions": same, "test_images": len(images)}
    if same >= 0.999 * len(images):
        return Verdict(
            True,
            f"Without an activation the two layers are one linear map: a single Dense layer "
            f"with weights W1·W2 and biases b1·W2 + b2 reads {same:,} of the "
            f"{len(images):,} test digits exactly as the two-layer network does. The hidden "
            "layer adds parameters but nothing a single layer could not compute.",
            figures,
        )
    return Verdict(
        False,
        "The network does not reduce to one layer: is the output layer's activation softmax, "
        "and the hidden layer's none?",
        figures,
    )


# The Flatten layer ---------------------------------------------------------------------------


@_exercise("flatten-layer", 1, "A flattened batch")
def _flattened_batch(answer: Any) -> Verdict:
    from mnist_book.models import build_model

    if not isinstance(answer, tuple):
        return Verdict(False, "Give the shape as a tuple, such as (2, 3).", {"answer": answer})
    flatten = build_model("flatten").layers[0]
    expected = tuple(flatten.compute_output_shape((32, 28, 28)))
    figures = {"answer": answer, "shape": expected}
    if answer == expected:
        return Verdict(
            True,
            f"Flatten keeps the batch axis and lays each 28 x 28 image out as one row: "
            f"{expected}, what the hidden-layer page did with reshape before the model.",
            figures,
        )
    if answer == expected[1:]:
        return Verdict(False, "That is one image's shape: the batch axis stays.", figures)
    return Verdict(False, "Hint: 28 rows of 28 pixels make one row of how many?", figures)


@_exercise("flatten-layer", 2, "Halfway down the schedule")
def _halfway_rate(answer: Any) -> Verdict:
    from mnist_book.config import recipe

    rate = _number(answer, "the learning rate")
    if isinstance(rate, Verdict):
        return rate
    config = recipe("flatten")
    steps = config.steps_per_epoch() * config.epochs
    halfway = float(config.learning_rate_schedule()(steps // 2))
    figures = {"answer": rate, "halfway": halfway, "start": config.learning_rate}
    if math.isclose(rate, halfway, rel_tol=0.02):
        return Verdict(
            True,
            f"Halfway through its {steps:,} steps the cosine is at half its height: "
            f"{halfway:.1e}, {halfway / config.learning_rate:.0%} of the starting "
            f"{config.learning_rate:.0e}. It falls slowly at the start and the end and fastest "
            "in the middle, so the last epochs take small, careful steps.",
            figures,
        )
    if math.isclose(rate, config.learning_rate):
        return Verdict(False, "That is where the schedule starts: it decays from there.", figures)
    return Verdict(
        False,
        "Hint: config.learning_rate_schedule() is a function of the step: call it with the "
        "step halfway through, steps_per_epoch() x epochs / 2.",
        figures,
    )


# A convnet -----------------------------------------------------------------------------------


def _first_convolution() -> Any:
    import keras

    from mnist_book.models import build_model

    model = build_model("convnet")
    return model, next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


@_exercise("convolutional-network", 1, "The first convolution's parameters")
def _convolution_parameters(answer: Any) -> Verdict:
    count = _whole_number(answer, "the number of parameters")
    if isinstance(count, Verdict):
        return count
    _, convolution = _first_convolution()
    height, width = convolution.kernel_size
    filters = convolution.filters
    weights = height * width * filters  # one input channel: grey levels
    figures = {"answer": count, "parameters": convolution.count_params()}
    if count == convolution.count_params():
        return Verdict(
            True,
            f"{filters} filters of {height} x {width} weights on one grey channel, and a bias "
            f"each: {weights} + {filters} = {count}, however large the image: a filter's "
            "weights are the same wherever it slides.",
            figures,
        )
    if count == weights:
        return Verdict(False, "Those are the weights: each filter also has a bias.", figures)
    return Verdict(
        False, "Hint: a filter has one weight per pixel of its window, and a bias.", figures
    )


@_exercise("convolutional-network", 2, "The shape after pooling")
def _shape_after_pooling(answer: Any) -> Verdict:
    import keras

    if not isinstance(answer, tuple):
        return Verdict(False, "Give the shape as a tuple, such as (2, 3, 4).", {"answer": answer})
    model, convolution = _first_convolution()
    pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D))
    after_convolution = tuple(convolution.output.shape[1:])
    expected = tuple(pooling.output.shape[1:])
    figures = {"answer": answer, "shape": expected}
    if answer == expected:
        return Verdict(
            True,
            f"A {convolution.kernel_size[0]} x {convolution.kernel_size[1]} window fits "
            f"{after_convolution[0]} times across 28 pixels, so the convolution gives "
            f"{after_convolution}; pooling 2 x 2 halves each side: {expected}, a map per filter.",
            figures,
        )
    if answer == after_convolution:
        return Verdict(False, "That is the convolution's output: now pool it.", figures)
    return Verdict(
        False,
        "Hint: without padding a 3-pixel window fits 28 - 2 times; pooling halves the sides; "
        "the channels are the filters.",
        figures,
    )


# Error analysis ------------------------------------------------------------------------------


def _test_scores(name: str) -> Any:
    """The site's trained `name` evaluated on the test set (`mnist_book.evaluation.Evaluation`)."""
    from mnist_book.data import load_mnist
    from mnist_book.training import trained

    _, (x_test, y_test) = load_mnist()
    return trained(name).evaluate(x_test, y_test)


def _digit_pair(answer: Any) -> tuple[int, int] | Verdict:
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return Verdict(False, "Give the pair as (true digit, predicted digit).", {"answer": answer})
    return int(answer[0]), int(answer[1])


@_exercise("error-analysis", 1, "The convnet's most frequent mistake")
def _most_frequent_mistake(answer: Any) -> Verdict:
    from mnist_book.evaluation import most_confused_pairs

    pair = _digit_pair(answer)
    if isinstance(pair, Verdict):
        return pair
    confusion = _test_scores("convnet").confusion
    top = most_confused_pairs(confusion, top=1)[0]
    count = int(confusion[pair])
    figures = {"answer": pair, "count": count, "most": top.count}
    if pair[0] != pair[1] and count == top.count:
        return Verdict(
            True,
            f"The convnet reads {top.count} test {pair[0]}s as {pair[1]}s, its most frequent "
            f"mistake, out of {int(confusion.sum() - np.trace(confusion))}: the largest number "
            "off the diagonal of its confusion matrix.",
            figures,
        )
    if pair[0] == pair[1]:
        return Verdict(False, "That is the diagonal: the digits read right.", figures)
    if int(confusion[pair[::-1]]) == top.count:
        return Verdict(
            False, "The other way round: rows are the true digits, columns the predicted.", figures
        )
    return Verdict(
        False,
        f"The convnet makes that mistake {count} times, and another one more often. Hint: "
        "set the diagonal of the confusion matrix to 0 and find its largest entry.",
        figures,
    )


@_exercise("error-analysis", 2, "Wrong for both")
def _wrong_for_both(answer: Any) -> Verdict:
    from mnist_book.evaluation import misclassified_by_all

    count = _whole_number(answer, "the number of test digits")
    if isinstance(count, Verdict):
        return count
    single, convnet = _test_scores("single_layer"), _test_scores("convnet")
    both = misclassified_by_all(
        single.labels, {"single_layer": single.predictions, "convnet": convnet.predictions}
    ).size
    figures = {
        "answer": count,
        "both": both,
        "single_layer": single.misclassified.size,
        "convnet": convnet.misclassified.size,
    }
    if count == both:
        return Verdict(
            True,
            f"{both} test digits defeat both: {both / convnet.misclassified.size:.0%} of the "
            f"convnet's {convnet.misclassified.size} mistakes, but only "
            f"{both / single.misclassified.size:.0%} of the single layer's "
            f"{single.misclassified.size}: "
            + (
                "most of the single layer's mistakes, the convnet reads right."
                if both < single.misclassified.size / 2
                else "the convnet fixes fewer than half of the single layer's mistakes."
            ),
            figures,
        )
    if count in (single.misclassified.size, convnet.misclassified.size):
        return Verdict(False, "That is one model's mistakes: keep those both make.", figures)
    return Verdict(
        False,
        "Hint: (predictions != labels) for each model, combined with &, then summed.",
        figures,
    )


# The records ----------------------------------------------------------------------------------


def _test_errors(accuracy: float, images: int = 10_000) -> int:
    return round((1 - accuracy) * images)


@_exercise("records", 1, "Errors behind a record")
def _errors_behind_a_record(answer: Any) -> Verdict:
    from mnist_book.records import SINGLE_MODEL_BAR as BAR

    count = _whole_number(answer, "the number of test errors")
    if isinstance(count, Verdict):
        return count
    errors = _test_errors(BAR.accuracy)
    figures = {"answer": count, "errors": errors, "accuracy": BAR.accuracy}
    if count == errors:
        return Verdict(
            True,
            f"{BAR.accuracy:.2%} of 10,000 test digits is {errors} mistakes: on MNIST, records "
            "are a handful of digits apart, and one digit is 0.01 %.",
            figures,
        )
    return Verdict(False, "Hint: the error rate is 1 - accuracy, of 10,000 digits.", figures)


@_exercise("records", 2, "How far from the bar")
def _distance_to_the_bar(answer: Any) -> Verdict:
    from mnist_book.records import SINGLE_MODEL_BAR as BAR
    from mnist_book.training import trained

    count = _whole_number(answer, "the number of test digits")
    if isinstance(count, Verdict):
        return count
    ours, bar = _test_errors(trained("deeper_convnet").test_accuracy), _test_errors(BAR.accuracy)
    figures = {"answer": count, "deeper_convnet_errors": ours, "bar_errors": bar}
    if count == ours - bar:
        more = f"{ours - bar} more test digits than" if ours > bar else "no more digits than"
        return Verdict(
            True,
            f"deeper_convnet misreads {ours} test digits and {BAR.label}'s network {bar}: "
            f"{more} the bar, in a few minutes of a laptop's processor.",
            figures,
        )
    if count == bar - ours:
        return Verdict(False, "The sign: count the page's model's errors minus the bar's.", figures)
    return Verdict(
        False,
        "Hint: turn both accuracies into errors out of 10,000, then subtract.",
        figures,
    )


# Several machines -----------------------------------------------------------------------------


@_exercise("distributed-training", 1, "Four workers' learning rate")
def _four_workers_rate(answer: Any) -> Verdict:
    from mnist_book.config import recipe
    from mnist_book.distributed import scale_for_replicas

    rate = _number(answer, "the learning rate")
    if isinstance(rate, Verdict):
        return rate
    config = recipe("convnet")
    scaled = scale_for_replicas(config, replicas=4, per_replica=64)
    figures = {"answer": rate, "scaled": scaled.learning_rate, "global_batch": scaled.batch_size}
    if math.isclose(rate, scaled.learning_rate, rel_tol=1e-6):
        return Verdict(
            True,
            f"Four workers of 64 images make a global batch of {scaled.batch_size}, "
            f"{scaled.batch_size // config.batch_size} times the page's {config.batch_size}: "
            f"an epoch takes that many times fewer steps, so each step's rate grows as much, "
            f"{config.learning_rate:g} to {scaled.learning_rate:g}.",
            figures,
        )
    if math.isclose(rate, config.learning_rate * 4):
        return Verdict(
            False, "The rule scales with the global batch, not with the workers.", figures
        )
    return Verdict(
        False, "Hint: multiply the rate by how many times larger the global batch is.", figures
    )


@_exercise("distributed-training", 2, "Steps with two workers")
def _steps_with_two_workers(answer: Any) -> Verdict:
    from mnist_book.config import recipe

    count = _whole_number(answer, "the number of steps")
    if isinstance(count, Verdict):
        return count
    config = recipe("convnet")
    steps = config.steps_per_epoch()
    figures = {"answer": count, "steps": steps}
    if count == steps:
        return Verdict(
            True,
            f"{steps} steps, as on one worker: each step's global batch of {config.batch_size} "
            f"is split, {config.batch_size // 2} images to each worker, and the two take every "
            "step together, adding their gradients. More workers make each step lighter, not "
            "the epoch shorter in steps.",
            figures,
        )
    if abs(count - steps / 2) <= 1:
        return Verdict(
            False,
            "The workers do not take turns: both take every step, each on half its batch.",
            figures,
        )
    return Verdict(False, "Hint: how many global batches of 128 fit in the fitted images?", figures)


# What the networks learned ---------------------------------------------------------------------


@_exercise("what-networks-learned", 1, "Another digit's background")
def _background_filters(answer: Any) -> Verdict:
    from mnist_book import inspection
    from mnist_book.data import load_mnist
    from mnist_book.models import prepare_images
    from mnist_book.training import trained

    count = _whole_number(answer, "the number of filters")
    if isinstance(count, Verdict):
        return count
    _, (x_test, y_test) = load_mnist()
    images = prepare_images("convnet", x_test)
    convnet = trained("convnet").model
    seven = images[np.flatnonzero(y_test == 7)[0]]
    maps = inspection.filter_maps(convnet, seven)
    background = int(np.sum(maps[:, 0, 0] > 0))
    first = int(np.sum(inspection.filter_maps(convnet, images[0])[:, 0, 0] > 0))
    figures = {"answer": count, "seven": background, "first_test_digit": first}
    if count == background and background == first:
        return Verdict(
            True,
            f"{background} of the {len(maps)} filters respond in the 7's blank corner, as they "
            "do for the page's digit: where the pixels are 0, a filter's output is its bias "
            "through the ReLU, whatever the digit.",
            figures,
        )
    if count == len(maps) - background:
        return Verdict(False, "Those are the silent ones: count the maps above 0.", figures)
    return Verdict(
        False,
        "Hint: filter_maps gives (filters, height, width); take every map's value at [0, 0].",
        figures,
    )


@_exercise("what-networks-learned", 2, "The digit misread most")
def _digit_misread_most(answer: Any) -> Verdict:
    digit = _whole_number(answer, "the digit")
    if isinstance(digit, Verdict):
        return digit
    scores = _test_scores("convnet")
    wrong = np.bincount(scores.labels[scores.misclassified], minlength=10)
    rates = 1 - scores.per_class_accuracy
    figures = {"answer": digit, "errors": wrong.tolist()}
    if not 0 <= digit <= 9:
        return Verdict(False, "Give a digit, 0 to 9.", figures)
    if wrong[digit] == wrong.max():
        return Verdict(
            True,
            f"The convnet misreads {wrong[digit]} test {digit}s, more than any other digit "
            f"({rates[digit]:.1%} of them); the next is the {_runner_up(wrong, digit)}. "
            "A count is not a rate: digits with more test images can lose more.",
            figures,
        )
    return Verdict(
        False,
        f"The convnet misreads {wrong[digit]} {digit}s, and another digit more often. Hint: "
        "count the true labels of scores.misclassified.",
        figures,
    )


def _runner_up(counts: np.ndarray, top: int) -> str:
    others = counts.copy()
    others[top] = -1
    second = int(others.argmax())
    return f"{second} with {counts[second]}"
