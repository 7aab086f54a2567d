"""Published MNIST results, as their authors reported them (none of them is run here).

The records chapter draws them beside the site's own models, so that a reader sees where a
model trained in minutes on a laptop's CPU stands against two decades of papers. The
chapter's tables live here too: `published_table`, `ladder_table` (what each ingredient
bought) and `vote` (one model against a `committee` chosen on validation digits, with and
without test-time augmentation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mnist_book.evaluation import TTA_SHIFTS, Evaluation, ensemble

if TYPE_CHECKING:
    from mnist_book.training import TrainResult

TEST_IMAGES = 10_000


@dataclass(frozen=True)
class PublishedResult:
    """A test error on the 10,000 MNIST test images reported in a paper."""

    label: str
    """Short label for figures: authors and year."""
    error: float
    """Reported test error, as a fraction (0.0035 for 0.35 %)."""
    ensemble: bool
    """Whether the result is a committee of several models rather than one."""
    method: str
    """What was trained, in a few words."""
    source: str
    """Where it was published."""

    @property
    def accuracy(self) -> float:
        """The reported test accuracy, as a fraction."""
        return 1.0 - self.error


PUBLISHED: tuple[PublishedResult, ...] = (
    PublishedResult(
        "LeCun et al. 1998",
        0.0095,
        False,
        "LeNet-5 convnet, no distortions",
        "Gradient-based learning applied to document recognition, Proc. IEEE 86(11)",
    ),
    PublishedResult(
        "Simard et al. 2003",
        0.0040,
        False,
        "convnet with elastic distortions",
        "Best practices for convolutional neural networks applied to visual document "
        "analysis, ICDAR 2003",
    ),
    PublishedResult(
        "Ciresan et al. 2011",
        0.0035,
        False,
        "deep convnet with elastic and affine distortions",
        "Flexible, high performance convolutional neural networks for image "
        "classification, IJCAI 2011 (arXiv:1102.0183)",
    ),
    PublishedResult(
        "Ciresan et al. 2012",
        0.0023,
        True,
        "committee of 35 convnets",
        "Multi-column deep neural networks for image classification, CVPR 2012 (arXiv:1202.2745)",
    ),
    PublishedResult(
        "Wan et al. 2013",
        0.0021,
        True,
        "DropConnect, committee of 5 networks",
        "Regularization of neural networks using DropConnect, ICML 2013",
    ),
    PublishedResult(
        "Byerly et al. 2020",
        0.0017,
        False,
        "convnet with homogeneous vector capsules",
        "No routing needed between capsules, Neurocomputing 463 (arXiv:2001.09136)",
    ),
    PublishedResult(
        "Byerly et al. 2020 (ensemble)",
        0.0013,
        True,
        "ensemble of capsule convnets",
        "No routing needed between capsules, Neurocomputing 463 (arXiv:2001.09136)",
    ),
)
"""Landmark published MNIST results, oldest first."""


SINGLE_MODEL_BAR: PublishedResult = next(r for r in PUBLISHED if r.label == "Ciresan et al. 2011")
"""The records chapter's bar for one model trained here: Ciresan et al. 2011, 99.65 %."""


@dataclass(frozen=True)
class EarlierTraining:
    """How a step of the records chapter trained before its recipe was shortened (measured)."""

    step: str
    """The step's label in the chapter's ladder."""
    epochs: int
    minutes: float
    """Training minutes on the 2-core machine the site is built on (no GPU)."""
    test_accuracy: float


EARLIER_RECIPES: tuple[EarlierTraining, ...] = (
    EarlierTraining("+ augmentation", 15, 205 / 60, 0.9896),
    EarlierTraining("+ cosine schedule", 15, 266 / 60, 0.9917),
    EarlierTraining("+ batch norm", 15, 386 / 60, 0.9896),
    EarlierTraining("+ distortions, bigger, longer", 40, 594 / 60, 0.9961),
)
"""The chapter's steps as they were trained until December 2026 (commit 0acd161): seconds
from a cold build on the site's 2-core machine, test accuracies of seed 0 (deterministic
there). Their recipes were 15 epochs each (a constant learning rate, then cosine schedules at
0.003 with a warm-up) and 40 epochs for `deeper_convnet`, with one training step per call
into TensorFlow."""


def time_saved_table(
    ladder: Mapping[str, TrainResult], earlier: Sequence[EarlierTraining] = EARLIER_RECIPES
) -> pd.DataFrame:
    """Each step of `earlier` beside its training in `ladder` (label -> training) now.

    Columns: epochs, seconds per epoch, minutes and test accuracy, before and now. A step of
    `earlier` missing from `ladder` is a KeyError.
    """
    rows = []
    for before in earlier:
        now = ladder[before.step]
        rows.append(
            {
                "step": before.step,
                "epochs before": before.epochs,
                "epochs now": now.config.epochs,
                "seconds per epoch before": before.minutes * 60 / before.epochs,
                "seconds per epoch now": now.train_seconds / now.config.epochs,
                "minutes before": before.minutes,
                "minutes now": now.train_seconds / 60,
                "test accuracy before": before.test_accuracy,
                "test accuracy now": now.test_accuracy,
            }
        )
    return pd.DataFrame(rows).set_index("step")


def validation_accuracy(result: TrainResult) -> float:
    """The last epoch's accuracy on the held-out validation digits: what chooses a model."""
    return result.history["val_accuracy"][-1]


def committee(results: Mapping[str, TrainResult], size: int = 3) -> dict[str, TrainResult]:
    """The `size` trainings of `results` (label -> training) best on the validation digits.

    Chosen without looking at the test set; returned best last, with their labels.
    """
    ranked = sorted(results.items(), key=lambda item: validation_accuracy(item[1]))
    return dict(ranked[-size:])


def published_table(published: tuple[PublishedResult, ...] = PUBLISHED) -> pd.DataFrame:
    """The published results as a table: error, accuracy, one model or a committee, method."""
    return pd.DataFrame(
        {
            "test error": [r.error for r in published],
            "test accuracy": [r.accuracy for r in published],
            "kind": ["ensemble" if r.ensemble else "one model" for r in published],
            "method": [r.method for r in published],
        },
        index=pd.Index([r.label for r in published], name="reported by"),
    )


def ladder_table(results: Mapping[str, TrainResult]) -> pd.DataFrame:
    """One row per step of an ablation ladder: what it trained and what it bought.

    `results` maps each step's label to its training, in the ladder's order. The columns
    give the model, epochs and schedule, the last epoch's validation accuracy, the test
    accuracy and errors, the errors saved against the step before, and training minutes.
    """
    rows = []
    for step, result in results.items():
        errors = round((1 - result.test_accuracy) * TEST_IMAGES)
        rows.append(
            {
                "step": step,
                "model": result.name,
                "epochs": result.config.epochs,
                "schedule": result.config.schedule,
                "validation accuracy": validation_accuracy(result),
                "test accuracy": result.test_accuracy,
                "test errors": errors,
                "errors saved": (rows[-1]["test errors"] - errors) if rows else 0,
                "training minutes": result.train_seconds / 60,
            }
        )
    return pd.DataFrame(rows).set_index("step")


@dataclass(frozen=True)
class Votes:
    """One model against a committee, each without and with test-time augmentation (`vote`)."""

    table: pd.DataFrame
    """Rows: "single model", "single model, TTA", "ensemble of N", "ensemble of N, TTA";
    columns: "<set> accuracy" for each labelled set."""
    members_tta: dict[str, list[Evaluation]]
    """Each set's evaluations of the committee's members, with test-time augmentation."""
    evaluations: dict[str, dict[str, Evaluation]]
    """Each set's evaluation of each row of `table`: ``evaluations["test"]["single model"]``."""

    def committee_tta(self, set_name: str) -> Evaluation:
        """The committee's vote, with test-time augmentation, on the set `set_name`."""
        return ensemble(self.members_tta[set_name])

    def chosen(self, by: str = "validation") -> str:
        """The row with the best accuracy on the set `by` (the first of equals)."""
        return str(self.table[f"{by} accuracy"].idxmax())


def vote(
    single: TrainResult,
    members: Sequence[TrainResult],
    sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
    shifts: Sequence[tuple[int, int]] = TTA_SHIFTS,
) -> Votes:
    """Accuracy of one model and of a committee, each without and with test-time augmentation.

    The single model alone, it with TTA (its answers averaged over `shifts`), the committee
    of `members` (their probabilities averaged) and the committee with TTA, on each labelled
    set in `sets` (name -> images, labels). Each evaluation is made once.
    """
    plain = ((0, 0),)
    committee_name = f"ensemble of {len(members)}"
    names = ["single model", "single model, TTA", committee_name, f"{committee_name}, TTA"]
    columns, members_tta, evaluations = {}, {}, {}
    for set_name, (images, labels) in sets.items():
        members_tta[set_name] = [m.evaluate(images, labels, shifts=shifts) for m in members]
        rows = [
            single.evaluate(images, labels, shifts=plain),
            single.evaluate(images, labels, shifts=shifts),
            ensemble([m.evaluate(images, labels, shifts=plain) for m in members]),
            ensemble(members_tta[set_name]),
        ]
        evaluations[set_name] = dict(zip(names, rows, strict=True))
        columns[f"{set_name} accuracy"] = [row.accuracy for row in rows]
    table = pd.DataFrame(columns, index=pd.Index(names, name="prediction"))
    return Votes(table, members_tta, evaluations)
