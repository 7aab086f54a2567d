"""The sentences that interpret a page's numbers: worded from those numbers, or checked by them.

A tutorial's conclusions must stay true when a build's numbers move (another CPU, a new
library, a changed recipe). Each sentence that draws one is made here, in one of two ways:

- **worded from the numbers**: a function that takes the figures and chooses what to say
  (`error_change`, `learning_curves`, `per_digit_change`, `accuracy_against_size`): a
  schedule that did not help is said not to have helped;
- **checked**: `checked(sentence, holds, **figures)` returns the sentence while `holds`, and
  otherwise raises `ClaimError` with the sentence and the figures, which fails the page's
  build (the build names the page and the cell).

Nothing here imports Keras: the arguments are numbers, NumPy arrays and
`mnist_book.evaluation.Evaluation` objects.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mnist_book.config import TrainConfig
from mnist_book.evaluation import Evaluation

if TYPE_CHECKING:  # Keras takes seconds to import: conclusions read numbers
    from mnist_book.inspection import GradientStep

CHANCE_LEVEL = 0.05
"""A difference is called real when chance alone would give one as large less often than this."""


class ClaimError(AssertionError):
    """A sentence on a page that the page's own numbers no longer support."""


def checked(sentence: str, holds: bool, **figures: object) -> str:
    """`sentence` if `holds`; otherwise a `ClaimError` naming the sentence and `figures`.

    The figures are what the claim was judged on, so the error says why it failed:
    ``checked("The convnet beats the hidden layer.", a > b, convnet=a, hidden_layer=b)``.
    """
    if not holds:
        shown = ", ".join(f"{name}={_figure(value)}" for name, value in figures.items())
        raise ClaimError(f"No longer true: {sentence!r} ({shown or 'no figures given'}).")
    return sentence


def _figure(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


# Two models on the same test images -----------------------------------------------------------


@dataclass(frozen=True)
class ErrorChange:
    """How a second model's mistakes on a test set compare with a first model's.

    Attributes:
        before: the first model's number of mistakes.
        after: the second model's number of mistakes.
        fixed: images the first model got wrong and the second right.
        broken: images the first model got right and the second wrong.
    """

    before: int
    after: int
    fixed: int
    broken: int

    @classmethod
    def between(cls, first: Evaluation, second: Evaluation) -> ErrorChange:
        """The change from `first` to `second`, two evaluations of the same labelled images."""
        if not np.array_equal(first.labels, second.labels):
            raise ValueError("The two evaluations are not of the same labelled images.")
        right_before = first.predictions == first.labels
        right_after = second.predictions == second.labels
        return cls(
            before=int(np.sum(~right_before)),
            after=int(np.sum(~right_after)),
            fixed=int(np.sum(~right_before & right_after)),
            broken=int(np.sum(right_before & ~right_after)),
        )

    @property
    def p_value(self) -> float:
        """How often chance alone splits the changed images at least this unevenly.

        McNemar's exact test: if neither model were better, each image that one gets right
        and the other wrong would be a fair coin flip between them. Two-sided.
        """
        changed = self.fixed + self.broken
        if changed == 0:
            return 1.0
        fewer = min(self.fixed, self.broken)
        tail = sum(math.comb(changed, k) for k in range(fewer + 1)) / 2**changed
        return min(1.0, 2 * tail)

    @property
    def real(self) -> bool:
        """Whether the difference is larger than chance explains (`CHANCE_LEVEL`)."""
        return self.p_value < CHANCE_LEVEL


def error_change(change: ErrorChange, before: str, after: str) -> str:
    """A paragraph saying how `after`'s test errors compare with `before`'s, and if it is real.

    `before` and `after` name the two models as the sentence should ("the single layer").
    """
    counts = (
        f"{_cap(after)} gets {change.fixed:,} digits right that {before} got wrong, and "
        f"{change.broken:,} wrong that it got right"
    )
    if change.after == change.before:
        verdict = f"{_cap(after)} makes as many mistakes as {before}: {change.after:,}."
    elif change.after < change.before:
        fewer = 1 - change.after / change.before
        verdict = (
            f"{_cap(after)} cuts the test errors from {change.before:,} to {change.after:,}: "
            f"**{fewer:.0%} fewer mistakes**."
        )
    else:
        more = change.after / change.before - 1
        verdict = (
            f"{_cap(after)} makes **more** mistakes than {before}: {change.after:,} against "
            f"{change.before:,} ({more:.0%} more)."
        )
    if change.real:
        odds = f"chance alone would split them this unevenly {_odds(change.p_value)}"
        return f"{verdict} {counts}; {odds}, so the difference is real."
    return (
        f"{verdict} {counts}: a split that chance alone gives {_odds(change.p_value)} "
        "(McNemar's test), so this run shows no real difference between them. One training "
        "of each with one random seed cannot tell a small gain from none."
    )


def _odds(p_value: float) -> str:
    if p_value < 0.001:
        return "less than once in a thousand"
    return f"{p_value:.0%} of the time" if p_value >= 0.01 else f"{p_value:.1%} of the time"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# One training's curves --------------------------------------------------------------------------


def learning_curves(
    history: Mapping[str, Sequence[float]], config: TrainConfig, *, dropout: bool = False
) -> str:
    """What a training's curves show: whether it levelled off, and validation against training.

    `history` holds one value per epoch of ``accuracy``, ``val_accuracy``, ``loss`` and
    ``val_loss`` (a training record's history) of a training with `config`, whose held-out
    images measure validation. `dropout`: the model has a Dropout layer, active while
    training and off while validating.
    """
    validation_images = config.training_images() - config.fitted_images()
    accuracy = np.asarray(history["accuracy"], dtype=float)
    validation = np.asarray(history["val_accuracy"], dtype=float)
    loss = np.asarray(history["loss"], dtype=float)
    val_loss = np.asarray(history["val_loss"], dtype=float)
    return " ".join(
        part
        for part in (
            _levelling(validation, validation_images),
            _validation_against_training(accuracy, validation, dropout),
            _memorising(loss, val_loss),
        )
        if part
    )


def _levelling(validation: np.ndarray, images: int) -> str:
    """Whether validation accuracy still moved, over the last third, by more than its noise.

    The noise is two standard errors of an accuracy measured on `images` images.
    """
    epochs = len(validation)
    start = epochs - max(1, epochs // 3)
    moved = validation[-1] - validation[start - 1] if start >= 1 else 0.0
    noise = 2 * math.sqrt(validation[-1] * (1 - validation[-1]) / images)
    span = f"over the last {epochs - start} of {epochs} epochs"
    if abs(moved) <= noise:
        return (
            f"Validation accuracy has levelled off: {span} it moved by {moved * 100:+.2f} "
            f"points, within the noise of a measure on {images:,} images "
            f"(±{noise * 100:.2f})."
        )
    if moved > 0:
        return (
            f"Validation accuracy is still rising at the end ({moved * 100:+.2f} points {span}, "
            f"more than the ±{noise * 100:.2f} of noise on {images:,} images): more epochs "
            "could still help."
        )
    return (
        f"Validation accuracy fell by {-moved * 100:.2f} points {span}, more than the "
        f"±{noise * 100:.2f} of noise on {images:,} images: the later epochs did not help it."
    )


def _validation_against_training(
    accuracy: np.ndarray, validation: np.ndarray, dropout: bool
) -> str:
    above = validation > accuracy
    end = f"{validation[-1]:.2%} against {accuracy[-1]:.2%} in the last epoch"
    if above[-1]:
        where = "in every epoch" if above.all() else f"in {above.sum()} of {above.size} epochs"
        if dropout:
            why = (
                "dropout silences half of the features while the network trains and none while "
                "it validates, so the training figures are those of a handicapped network"
            )
        else:
            why = (
                "Keras reports an epoch's training accuracy as the average over its batches, "
                "measured while the weights were still improving, and the validation accuracy "
                "with the weights at the end of the epoch"
            )
        return (
            f"Validation accuracy sits above training accuracy {where} ({end}). That is no "
            f"sign of luck: {why}."
        )
    gap = accuracy[-1] - validation[-1]
    if gap > 0.01:
        return (
            f"Training accuracy ends {gap * 100:.1f} points above validation ({accuracy[-1]:.2%} "
            f"against {validation[-1]:.2%} in the last epoch): the network does better on the "
            "images it learns from than on new ones."
        )
    return f"Validation accuracy stays close to training accuracy ({end})."


def _memorising(loss: np.ndarray, val_loss: np.ndarray) -> str:
    best = int(np.argmin(val_loss))
    epochs = len(val_loss)
    rise = val_loss[-1] - val_loss[best]
    if best < epochs - 1 and rise > 0.05 * val_loss[best] and loss[-1] < loss[best]:
        return (
            f"Validation loss was lowest after epoch {best + 1} and has risen "
            f"{rise / val_loss[best]:.0%} since, while training loss kept falling: the network "
            "has begun to memorise its training images, and grows over-confident on the ones "
            "it gets wrong."
        )
    return ""


# Digit by digit ---------------------------------------------------------------------------------


def per_digit_change(before: np.ndarray, after: np.ndarray, before_name: str) -> str:
    """How per-digit accuracy changed from `before` to `after` (10 values each, in [0, 1])."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    gains = after - before
    improved = int(np.sum(gains > 0))
    if improved == len(gains):
        opening = "Every digit improves"
    elif improved == 0:
        opening = "No digit improves"
    else:
        worse = ", ".join(str(d) for d in np.flatnonzero(gains < 0))
        opening = f"{improved} of the 10 digits improve ({worse or 'none'} get worse)"
    hardest = int(np.argmin(before))
    most = int(np.argmax(gains))
    if hardest == most:
        detail = (
            f"the digit {before_name} found hardest, **{hardest}**, gains most: "
            f"{before[hardest]:.1%} to {after[hardest]:.1%}"
        )
    else:
        detail = (
            f"**{most}** gains most ({before[most]:.1%} to {after[most]:.1%}); the digit "
            f"{before_name} found hardest, **{hardest}**, goes from {before[hardest]:.1%} to "
            f"{after[hardest]:.1%}"
        )
    return f"{opening}; {detail}."


# Many models ------------------------------------------------------------------------------------


def accuracy_against_size(summary: pd.DataFrame) -> str:
    """What a table of models (``test accuracy``, ``test errors``, ``parameters``) shows.

    Names the most accurate model and where it stands in size, then the pair that shows
    best that wiring can matter more than size: a model that is both smaller and more
    accurate than another, with the largest difference in errors.
    """
    best = summary["test accuracy"].idxmax()
    by_size = summary["parameters"].rank(ascending=False, method="min")
    rank = int(by_size[best])
    params = summary.loc[best, "parameters"]
    if rank == 1:
        size = f"with {params:,} parameters it is also the largest"
    else:
        size = f"with {params:,} parameters it is only the {_ordinal(rank)} largest"
    opening = (
        f"**{best}** is the most accurate, with {summary.loc[best, 'test errors']:,} errors, "
        f"and {size}."
    )
    pair = _smaller_and_better(summary)
    if pair is None:
        return f"{opening} Here, every gain in accuracy came with more parameters."
    small, large = pair
    return (
        f"{opening} Size is not what decides, though: **{small}**, with "
        f"{summary.loc[small, 'parameters']:,} parameters, makes "
        f"{summary.loc[small, 'test errors']:,} errors, against "
        f"{summary.loc[large, 'test errors']:,} for **{large}** and its "
        f"{summary.loc[large, 'parameters']:,}: how a network is wired can matter more than "
        "how many weights it has."
    )


def _smaller_and_better(summary: pd.DataFrame) -> tuple[str, str] | None:
    best_pair, best_gap = None, 0
    for small in summary.index:
        for large in summary.index:
            smaller = summary.loc[small, "parameters"] < summary.loc[large, "parameters"]
            gap = summary.loc[large, "test errors"] - summary.loc[small, "test errors"]
            if smaller and gap > best_gap:
                best_pair, best_gap = (small, large), gap
    return best_pair


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# One gradient step, and what sigmoid scores add up to ------------------------------------------


def gradient_step(step: GradientStep) -> str:
    """What one gradient step on one digit did, checked: the gradient is the digit, scaled.

    For a dense unit, the gradient of the loss with respect to its weights is the input image
    times one number (the loss's derivative by the unit's sum), so it has the digit's shape.
    """
    inked = step.image > 0
    ratios = step.gradient[inked] / step.image[inked]
    factor = float(np.median(ratios))
    proportional = bool(
        np.allclose(step.gradient, factor * step.image, rtol=1e-3, atol=1e-6 * abs(factor))
    )
    sentence = checked(
        "The gradient is the digit itself times one number: zero where the image is blank, "
        "and in proportion to the ink elsewhere.",
        proportional and factor != 0,
        factor=factor,
    )
    direction = "raises" if factor < 0 else "lowers"
    rose = step.score_after > step.score_before and step.loss_after < step.loss_before
    outcome = checked(
        f"So the step {direction} exactly the weights under the digit's ink, most where the ink "
        f"is darkest, and the score for {step.label} rises from {step.score_before:.2f} to "
        f"{step.score_after:.2f}.",
        rose,
        score_before=step.score_before,
        score_after=step.score_after,
        loss_before=step.loss_before,
        loss_after=step.loss_after,
    )
    return (
        f"{sentence} {outcome} Training takes thousands of such steps, each on a batch of "
        "images (the gradients of the batch averaged), and Adam scales each weight's step by "
        "the size of its recent gradients."
    )


def score_sums(sums: np.ndarray) -> str:
    """What the ten scores of each test image add up to: 1 for softmax, anything for sigmoid."""
    sums = np.asarray(sums, dtype=float)
    low, middle, high = np.percentile(sums, [5, 50, 95])
    if np.allclose(sums, 1.0, atol=1e-3):
        return "Its ten scores add up to 1 on every test image: they are probabilities."
    return (
        f"Its ten scores add up to anything from {sums.min():.2f} to {sums.max():.2f} "
        f"(median {middle:.2f}; 90% of the images between {low:.2f} and {high:.2f}): they "
        "are scores, not probabilities, so the score beside each digit below says how strongly "
        "that unit fired, not how likely the model thinks it is right."
    )


# A choice made on the validation digits ----------------------------------------------------------


def chosen_on_validation(chosen: str, test_accuracy: float, single_test_accuracy: float) -> str:
    """How the prediction chosen on validation did on test, against the single model's.

    `chosen` names it as the votes' table does ("single model", "ensemble of 3, TTA", ...).
    """
    test_images = 10_000
    difference = round((test_accuracy - single_test_accuracy) * test_images)
    if chosen == "single model":
        return "The validation digits chose the single model itself."
    if difference > 0:
        return (
            f"That is {difference} more test digit{'s' if difference > 1 else ''} right "
            "than the single model's "
            f"{single_test_accuracy:.2%}."
        )
    if difference == 0:
        return f"That is exactly the single model's {single_test_accuracy:.2%}: no gain."
    return (
        f"That is **below** the single model's {single_test_accuracy:.2%}: {-difference} test "
        "digits fewer right. The validation digits chose it, and on the test digits it did "
        "worse. On a few thousand validation digits the rows differ by a handful of images, "
        "close to a coin toss; choosing the best row on the test digits instead would report "
        "a figure that new digits would not confirm."
    )


def ladder_steps(evaluations: Mapping[str, Evaluation]) -> str:
    """One line per step of a ladder (label -> test evaluation, in order): what it changed.

    Each step is compared with the one before on the same test digits, and said to be a
    real gain, a real loss, or within chance (McNemar's test, `ErrorChange.real`).
    """
    labels = list(evaluations)
    lines = []
    for before, after in itertools.pairwise(labels):
        change = ErrorChange.between(evaluations[before], evaluations[after])
        if not change.real:
            verdict = f"within chance ({_odds(change.p_value)}): no real difference"
        elif change.after < change.before:
            verdict = f"a real gain (chance alone: {_odds(change.p_value)})"
        else:
            verdict = f"a real loss (chance alone: {_odds(change.p_value)})"
        lines.append(
            f"- **{after}**: {change.after:,} test errors against {change.before:,} "
            f"({change.fixed:,} fixed, {change.broken:,} broken), {verdict}."
        )
    return "\n".join(lines)


def time_bought(table: pd.DataFrame) -> str:
    """What shortening the chapter's recipes bought, from `records.time_saved_table`.

    The minutes before and now; for each step, whether the time came from fewer epochs or
    from faster ones (an epoch at least 20 % quicker); and, for each step, whether its test
    accuracy rose, held (within 0.1 point) or fell, with the figures.
    """
    before, now = table["minutes before"].sum(), table["minutes now"].sum()
    faster = table["seconds per epoch now"] < 0.8 * table["seconds per epoch before"]
    fewer = table["epochs now"] < table["epochs before"]
    reasons = []
    if fewer.all():
        reasons.append("fewer epochs in every step")
    elif fewer.any():
        reasons.append(f"fewer epochs ({listed(table.index[fewer])})")
    if faster.any():
        speedup = table["seconds per epoch before"] / table["seconds per epoch now"]
        reasons.append(
            "faster epochs ("
            + listed([f"{step}: {speedup[step]:.1f} times" for step in table.index[faster]])
            + ")"
        )
    change = table["test accuracy now"] - table["test accuracy before"]
    moves = []
    for step, difference in change.items():
        was, is_ = table.at[step, "test accuracy before"], table.at[step, "test accuracy now"]
        verb = "held" if abs(difference) < 0.001 else "rose" if difference > 0 else "fell"
        moves.append(f"{step}, {was:.2%} to {is_:.2%} ({verb})")
    saved = (
        f"The four trainings took {before:.1f} minutes before and {now:.1f} minutes now "
        f"({now / before:.0%} of the time)"
    )
    return (
        saved
        + (f", bought by {' and '.join(reasons)}" if reasons else "")
        + ". Test accuracy: "
        + "; ".join(moves)
        + "."
    )


def listed(items: Sequence[str] | pd.Index) -> str:
    """ "a", "a and b", "a, b and c": items in a sentence."""
    items = [str(item) for item in items]
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


# What the networks learned ----------------------------------------------------------------------


def weight_templates(templates: np.ndarray, ink_share: np.ndarray) -> str:
    """What a single dense layer's ten 28x28 templates show, each claim checked.

    `templates`: (10, 28, 28), positive weights rewarding ink. `ink_share`: (28, 28), the
    share of the test digits with ink on each pixel.
    """
    templates = np.asarray(templates, dtype=float)
    hole = float(templates[0, 11:17, 11:17].mean())
    band = float(templates[1, 6:22, 12:16].mean())
    rare = (ink_share > 0.001) & (ink_share < 0.02)
    against = int(np.sum(templates[:, rare].mean(axis=1) < 0))
    return " ".join(
        [
            checked(
                "The 0's template is red in the middle, where a 0 has its hole: ink there "
                "speaks against a 0.",
                hole < 0,
                centre_of_zero=hole,
            ),
            checked("The 1's has a blue band down the middle.", band > 0, middle_of_one=band),
            checked(
                f"Where ink is rare (on fewer than 2% of the digits), near the edges, the "
                f"weights are mostly red: a little ink there counts against {against} of "
                "the 10 digits.",
                against >= 7,
                digits_against=against,
            ),
            "Ten templates are all a linear model can learn, one picture per digit, which is "
            "why it cannot recognise a digit written in two very different ways.",
        ]
    )


def mistakes_at_borders(points: np.ndarray, labels: np.ndarray, mistakes: np.ndarray) -> str:
    """Whether a 2-D map's mistakes lie nearer the borders between digits than the rest.

    A point's margin is its distance to its own digit's centre on the map minus its
    distance to the nearest other digit's centre: the larger, the nearer a border.
    """
    points, labels = np.asarray(points, dtype=float), np.asarray(labels)
    centres = np.stack([points[labels == d].mean(axis=0) for d in range(10)])
    distances = np.linalg.norm(points[:, None, :] - centres[None], axis=2)
    own = distances[np.arange(len(points)), labels]
    distances[np.arange(len(points)), labels] = np.inf
    margin = own - distances.min(axis=1)
    wrong = np.zeros(len(points), bool)
    wrong[mistakes] = True
    nearer = float(np.mean(margin[wrong] > np.median(margin[~wrong])))
    return checked(
        f"The mistakes gather where regions meet: {nearer:.0%} of them lie nearer another "
        "digit's centre, relative to their own, than the median correctly read digit does.",
        nearer > 0.5,
        share_of_mistakes=nearer,
    )
