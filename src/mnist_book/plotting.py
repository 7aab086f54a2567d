"""The figures of the site, each returned as a matplotlib `Figure`.

Every function draws in the site's style and returns its figure without showing it; in a
notebook the figure shows itself in a light and a dark variant, with a description of what
it shows as alt text (`mnist_book.figure_style`). Digits are drawn dark on a light
background; mistakes are always red.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)
from matplotlib.transforms import Bbox

from mnist_book.figure_style import current_theme, describe, figure_function, frame, show_digit

if TYPE_CHECKING:
    from mnist_book.records import PublishedResult


def _listing(items: Sequence[str], limit: int) -> str:
    """`items` joined by commas, the first `limit` of them and how many more."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@figure_function
def sample_grid(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    rows: int = 4,
    cols: int = 8,
    title: str | None = None,
) -> Figure:
    """The first `rows * cols` images, each titled with its label."""
    _check_same_length({"images": images, "labels": labels})
    count = min(rows * cols, len(images))
    figure, axes = _image_grid(count, rows, cols, cell_size=(1.0, 1.15))
    for ax, image, label in zip(axes, images[:count], labels[:count], strict=True):
        show_digit(ax, image)
        ax.set_title(str(label), fontsize=10, pad=3)
    if title:
        figure.suptitle(title)
    shown = [str(int(label)) for label in labels[:count]]
    describe(
        figure,
        f"{count} handwritten digits in a grid of {rows} rows, each titled with its label: "
        f"{_listing(shown, 12)}.",
        title,
    )
    return figure


@figure_function
def class_distribution(train_labels: np.ndarray, test_labels: np.ndarray) -> Figure:
    """The share of each digit in the training and in the test set, as grouped bars.

    Shares rather than counts put both sets on one scale (the training set is six times
    larger); the dashed line is a perfectly balanced 10%.
    """
    shares = {
        f"{name} ({len(labels):,} images)": 100 * np.bincount(labels, minlength=10) / len(labels)
        for name, labels in (("train", train_labels), ("test", test_labels))
    }
    tidy = (
        pd.DataFrame(shares)
        .rename_axis("digit")
        .reset_index()
        .melt(id_vars="digit", var_name="set", value_name="share")
    )

    figure, ax = plt.subplots(figsize=(8, 3.6))
    sns.barplot(tidy, x="digit", y="share", hue="set", palette=current_theme().palette[:2], ax=ax)
    ax.axhline(
        10, color=current_theme().reference, linestyle="--", linewidth=1, label="balanced (10%)"
    )
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set(xlabel="digit", ylabel="share of the set", title="How often each digit occurs")
    ax.grid(axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ranges = [
        f"in the {name} set ({len(labels):,} images) from {share.min():.1f}% (digit "
        f"{share.argmin()}) to {share.max():.1f}% (digit {share.argmax()})"
        for name, labels in (("training", train_labels), ("test", test_labels))
        for share in [100 * np.bincount(labels, minlength=10) / len(labels)]
    ]
    describe(
        figure,
        "Bar chart of each digit's share of the training and the test set, against a "
        f"dashed line at a perfectly balanced 10%: {'; '.join(ranges)}.",
    )
    return figure


@figure_function
def pixel_histogram(images: np.ndarray) -> Figure:
    """Histogram of all pixel intensities, on a log scale: most pixels are background (0)."""
    values = np.asarray(images).ravel()
    counts, edges = np.histogram(values, bins=64, range=(values.min(), values.max()))
    mean = values.mean()
    zero_share = np.mean(values == 0)

    figure, ax = plt.subplots(figsize=(8, 3.6))
    ax.stairs(counts, edges, fill=True, color=current_theme().palette[0], alpha=0.85)
    ax.axvline(
        mean,
        color=current_theme().palette[1],
        linestyle="--",
        linewidth=1.5,
        label=f"mean = {mean:.3g}",
    )
    ax.set_yscale("log")
    ax.annotate(
        f"{zero_share:.1%} of all pixels are 0",
        xy=(edges[1], counts[0]),
        xytext=(0.22, 0.93),
        textcoords="axes fraction",
        va="top",
        arrowprops={"arrowstyle": "->", "color": current_theme().reference},
    )
    ax.set(
        xlabel="pixel intensity",
        ylabel="number of pixels (log scale)",
        title=f"Pixel intensities of {len(images):,} images",
    )
    ax.grid(axis="y")
    ax.legend(loc="upper right")
    describe(
        figure,
        f"Histogram of the {values.size:,} pixel intensities of {len(images):,} images, on "
        f"a log scale: {zero_share:.1%} of the pixels are 0 (background) and the mean "
        f"intensity is {mean:.3g}; the rest spread over the whole range, with a peak at the "
        "brightest values (the strokes).",
    )
    return figure


@figure_function
def training_curves(history: Mapping[str, Sequence[float]], *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training and (if recorded) validation, side by side.

    Args:
        history: Per-epoch values by name, as in Keras's `History.history`: "loss" and
            "accuracy", and optionally "val_loss" and "val_accuracy".
        title: Title above both plots.
    """
    missing = [metric for metric in ("loss", "accuracy") if metric not in history]
    if missing:
        raise ValueError(f"history has no {missing}; its keys are {sorted(history)}.")

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, label, color in (
            (metric, "train", current_theme().palette[0]),
            (f"val_{metric}", "validation", current_theme().palette[1]),
        ):
            if key in history:
                values = history[key]
                epochs = range(1, len(values) + 1)
                ax.plot(epochs, values, marker="o", markersize=4, label=label, color=color)
        ax.set(xlabel="epoch", ylabel=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid()
        ax.legend()
    axes[1].yaxis.set_major_formatter(PercentFormatter(xmax=1))
    if title:
        figure.suptitle(title)
    describe(figure, _curves_text(history), title)
    return figure


def _curves_text(history: Mapping[str, Sequence[float]]) -> str:
    """The description of `training_curves`: final accuracies and whether they diverge."""
    epochs = len(history["loss"])
    train = history["accuracy"][-1]
    text = f"Loss and accuracy over {epochs} epochs, ending at {train:.2%} training accuracy"
    if "val_accuracy" not in history:
        return text + " (no validation data)."
    validation, val_loss = history["val_accuracy"][-1], list(history["val_loss"])
    best = int(np.argmin(val_loss))
    text += f" and {validation:.2%} validation accuracy. "
    if best < epochs - 1 and val_loss[-1] > 1.1 * val_loss[best]:
        return text + (
            f"The curves diverge: the validation loss was lowest at epoch {best + 1} "
            f"({val_loss[best]:.3f}) and rose to {val_loss[-1]:.3f} while the training loss "
            "kept falling, a sign of overfitting."
        )
    gap = train - validation
    if gap > 0.01:
        return text + (
            f"Training accuracy ends {gap:.1%} above validation accuracy: the model fits "
            "its training data better than new data."
        )
    if gap < -0.01:
        return text + (
            f"Validation accuracy ends {-gap:.1%} above training accuracy, as with dropout, "
            "which is active only while training."
        )
    return text + "The training and validation curves stay together: no sign of overfitting."


@figure_function
def prediction_grid(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    rows: int = 3,
    cols: int = 6,
    indices: Sequence[int] | np.ndarray | None = None,
) -> Figure:
    """Images titled with the predicted digit, its probability and the true digit.

    Mistakes have a red title and a red frame, correct predictions a green title.

    Args:
        images: The images, as loaded (28x28 each, or flattened).
        labels: The true digits.
        probabilities: (n, 10) probabilities, as in `Evaluation.probabilities`.
        rows: Rows of the grid.
        cols: Columns of the grid.
        indices: Which images to show, in order; the first `rows * cols` images if None.
    """
    probabilities = np.asarray(probabilities)
    _check_same_length({"images": images, "labels": labels, "probabilities": probabilities})
    shown = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=int)
    shown = shown[: rows * cols]

    figure, axes = _image_grid(len(shown), rows, cols, cell_size=(1.25, 1.55))
    for ax, index in zip(axes, shown, strict=True):
        predicted, true = int(probabilities[index].argmax()), int(labels[index])
        correct = predicted == true
        show_digit(ax, images[index])
        ax.set_title(
            f"pred {predicted} ({probabilities[index, predicted]:.0%})\ntrue {true}",
            fontsize=9,
            pad=3,
            color=current_theme().correct if correct else current_theme().wrong,
        )
        if not correct:
            frame(ax, current_theme().wrong, width=2.5)
    guesses = probabilities[shown].argmax(axis=1) if len(shown) else np.array([], dtype=int)
    truth = np.asarray(labels)[shown]
    wrong = [f"a {t} read as {p}" for t, p in zip(truth, guesses, strict=True) if t != p]
    verdict = f"{len(wrong)} of the {len(shown)} are wrong" if wrong else "all are right"
    describe(
        figure,
        f"{len(shown)} digits, each titled with the predicted digit, its probability and the "
        f"true digit: {verdict}" + (f" ({_listing(wrong, 6)})." if wrong else "."),
    )
    return figure


@figure_function
def confusion_heatmap(
    confusion: np.ndarray, *, normalize: bool = False, title: str | None = None
) -> Figure:
    """The confusion matrix as an annotated heatmap, rows true digits, columns predictions.

    Correct answers (the diagonal) are blue; mistakes are red, darker (lighter on a dark
    background) for more frequent ones on a log scale so that rare mistakes stay visible;
    cells with no mistakes are blank.

    Args:
        confusion: A square matrix of counts, as in `Evaluation.confusion`.
        normalize: Divide each row by its total and annotate percentages: the share of each
            true digit's images given each prediction.
        title: Title of the plot.
    """
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {confusion.shape}.")
    if normalize:
        totals = confusion.sum(axis=1, keepdims=True)
        values = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    else:
        values = confusion
    annotations = np.vectorize(_percent_text if normalize else str)(values)
    diagonal = np.eye(len(values), dtype=bool)
    mistakes = ~diagonal & (values > 0)

    figure, ax = plt.subplots(figsize=(6.6, 6))
    shared = {
        "annot": annotations,
        "fmt": "",
        "annot_kws": {"fontsize": 9},
        "cbar": False,
        "square": True,
        "linewidths": 1,
        "linecolor": current_theme().background,
        "ax": ax,
    }
    sns.heatmap(values, mask=~diagonal, cmap=_colormap("Blues"), vmin=0, **shared)
    if mistakes.any():
        errors = values[mistakes]
        norm = LogNorm(vmin=errors.min(), vmax=max(errors.max(), 2 * errors.min()))
        sns.heatmap(values, mask=~mistakes, cmap=_colormap("Reds"), norm=norm, **shared)
    ax.set(xlabel="Predicted digit", ylabel="True digit")
    ax.tick_params(length=0, rotation=0)
    if title:
        ax.set_title(title)
    describe(figure, _confusion_text(confusion), title)
    return figure


def _confusion_text(confusion: np.ndarray) -> str:
    """The description of `confusion_heatmap`: the diagonal's share and the largest mistakes."""
    total = int(confusion.sum())
    correct = int(np.trace(confusion))
    mistakes = confusion.copy()
    np.fill_diagonal(mistakes, 0)
    order = np.argsort(-mistakes, axis=None, kind="stable")[:3]
    largest = [
        f"{true} read as {predicted} ({mistakes[true, predicted]} times)"
        for true, predicted in zip(*np.unravel_index(order, mistakes.shape), strict=True)
        if mistakes[true, predicted] > 0
    ]
    text = (
        f"Confusion matrix of {total:,} images, true digits in rows and predicted digits in "
        f"columns: {correct / max(total, 1):.2%} lie on the diagonal (correct)."
    )
    if not largest:
        return text + " There are no mistakes."
    return text + f" The largest mistakes: {', '.join(largest)}."


@figure_function
def misclassified_gallery(
    images: np.ndarray,
    labels: np.ndarray,
    predictions_by_model: Mapping[str, np.ndarray],
    indices: Sequence[int] | np.ndarray,
    *,
    cols: int = 6,
) -> Figure:
    """Images with their true digit and every model's guess below it, wrong guesses in red.

    Args:
        images: The images, as loaded.
        labels: The true digits.
        predictions_by_model: Each model's predicted digits for all images, by model name.
        indices: Which images to show, in order.
        cols: Columns of the grid; there are as many rows as needed.
    """
    if not predictions_by_model:
        raise ValueError("predictions_by_model is empty: give at least one model's predictions.")
    _check_same_length({"images": images, "labels": labels, **predictions_by_model})
    indices = np.asarray(indices, dtype=int)
    names = list(predictions_by_model)
    rows = max(1, math.ceil(len(indices) / cols))
    caption_height = 0.0 if len(names) == 1 else 0.16 * len(names)

    figure, axes = _image_grid(len(indices), rows, cols, cell_size=(1.45, 1.45 + caption_height))
    for ax, index in zip(axes, indices, strict=True):
        true = int(labels[index])
        show_digit(ax, images[index])
        if len(names) == 1:
            predicted = int(predictions_by_model[names[0]][index])
            color = current_theme().correct if predicted == true else current_theme().wrong
            ax.set_title(f"pred {predicted}\ntrue {true}", fontsize=9, pad=3, color=color)
            continue
        ax.set_title(f"true {true}", fontsize=9, pad=3)
        for line, name in enumerate(names):
            predicted = int(predictions_by_model[name][index])
            ax.annotate(
                f"{name}: {predicted}",
                xy=(0.5, 0),
                xycoords="axes fraction",
                xytext=(0, -3 - 11 * line),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=8,
                color=current_theme().correct if predicted == true else current_theme().wrong,
            )
    wrong = {
        name: int(np.sum(np.asarray(predictions)[indices] != np.asarray(labels)[indices]))
        for name, predictions in predictions_by_model.items()
    }
    counts = ", ".join(f"{name} on {count}" for name, count in wrong.items())
    describe(
        figure,
        f"{len(indices)} digits, each with its true label and the guess of "
        f"{'each of ' + str(len(names)) + ' models' if len(names) > 1 else names[0]}. "
        f"Wrong guesses: {counts}.",
    )
    return figure


@figure_function
def model_comparison(
    names: Sequence[str],
    accuracies: Sequence[float],
    params: Sequence[int] | None = None,
) -> Figure:
    """Test accuracy of each model as bars and, if `params` is given, its size beside it.

    The accuracy axis starts a little below the worst model, so that differences of a
    fraction of a percent are visible; parameter counts are on a log scale.
    """
    _check_same_length(
        {"names": names, "accuracies": accuracies, "params": names if params is None else params}
    )
    percent = 100 * np.asarray(accuracies, dtype=float)
    positions = np.arange(len(names))
    palette = current_theme().palette
    colors = [palette[i % len(palette)] for i in positions]
    margin = max(2.0, (percent.max() - percent.min()) / 2)
    axis_start = max(0.0, math.floor(percent.min() - margin))

    panels = 1 if params is None else 2
    height = 1.3 + 0.5 * len(names)
    figure, axes = plt.subplots(
        1, panels, figsize=(5.2 * panels, height), sharey=True, squeeze=False
    )
    accuracy_ax = axes[0, 0]
    accuracy_ax.barh(positions, percent - axis_start, left=axis_start, color=colors, height=0.6)
    for position, value in zip(positions, percent, strict=True):
        accuracy_ax.annotate(
            f"{value:.2f}%",
            xy=(value, position),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            color=current_theme().on_bar,
            fontweight="bold",
        )
    accuracy_ax.set_xlim(axis_start, 100)
    accuracy_ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    accuracy_ax.set_yticks(positions, names)
    accuracy_ax.invert_yaxis()
    accuracy_ax.set(xlabel=f"test accuracy (axis starts at {axis_start:g}%)", title="Test accuracy")
    accuracy_ax.grid(axis="x")

    if params is not None:
        size_ax = axes[0, 1]
        size_ax.barh(positions, params, color=colors, height=0.6)
        for position, count in zip(positions, params, strict=True):
            size_ax.annotate(
                f"{count:,}",
                xy=(count, position),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
            )
        size_ax.set_xscale("log")
        size_ax.set_xlim(10 ** math.floor(math.log10(min(params))), 4 * max(params))
        size_ax.set(xlabel="parameters (log scale)", title="Parameters")
        size_ax.tick_params(axis="y", length=0)
        size_ax.grid(axis="x")
    best, worst = int(np.argmax(percent)), int(np.argmin(percent))

    def named(index: int) -> str:
        size = "" if params is None else f", {params[index]:,} parameters"
        return f"{names[index]} ({percent[index]:.2f}%{size})"

    describe(
        figure,
        f"Bar chart of the test accuracy of {len(names)} models"
        + ("" if params is None else " beside their sizes")
        + f": the best is {named(best)}, the worst {named(worst)}.",
    )
    return figure


@figure_function
def per_class_accuracy_plot(table: pd.DataFrame) -> Figure:
    """Accuracy on each digit for each model, one line of points per model.

    Args:
        table: Accuracy (0 to 1) with one row per digit and one column per model, as
            returned by `evaluation.comparison_table`.
    """
    tidy = (
        table.mul(100)
        .rename_axis(index="digit", columns="model")
        .reset_index()
        .melt(id_vars="digit", value_name="accuracy")
    )
    figure, ax = plt.subplots(figsize=(9, 4))
    sns.pointplot(
        tidy,
        x="digit",
        y="accuracy",
        hue="model",
        palette=current_theme().palette[: table.shape[1]],
        errorbar=None,
        dodge=0.3,
        markersize=5,
        linewidth=1.5,
        ax=ax,
    )
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set(xlabel="digit", ylabel="accuracy", title="Accuracy on each digit")
    ax.grid(axis="y")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    means = table.mean(axis=1)
    lowest = table.stack().idxmin()
    describe(
        figure,
        f"Accuracy on each digit for {table.shape[1]} models ({', '.join(map(str, table))}). "
        f"The hardest digit is {means.idxmin()} ({means.min():.1%} on average), the easiest "
        f"{means.idxmax()} ({means.max():.1%}); the lowest point is {lowest[1]} on digit "
        f"{lowest[0]} ({table.loc[lowest]:.1%}).",
    )
    return figure


@figure_function
def error_vs_minutes(
    names: Sequence[str],
    errors: Sequence[float],
    minutes: Sequence[float],
    *,
    published: Sequence[PublishedResult] = (),
) -> Figure:
    """Test error against training minutes for models trained here, beside published results.

    Both axes are logarithmic: each step down the error axis is a tenfold smaller error.
    Published results are drawn as dashed lines at the error their authors reported, labelled
    with their source: they were not run here, and their training times are not comparable.

    Args:
        names: The models (or ensembles) trained for this site.
        errors: Their test error, as a fraction (1 - accuracy).
        minutes: Their training time in minutes on this machine.
        published: Reported results to mark, such as `mnist_book.records.PUBLISHED`.
    """
    _check_same_length({"names": names, "errors": errors, "minutes": minutes})
    percent = 100 * np.asarray(errors, dtype=float)
    minutes = np.asarray(minutes, dtype=float)
    figure, ax = plt.subplots(figsize=(9, 5))
    reported_at = [100 * reported.error for reported in published]
    for reported, y, label_y in zip(
        published, reported_at, _spread_on_log_axis(reported_at, gap=0.07), strict=True
    ):
        ax.axhline(y, color=current_theme().muted, linestyle="--", linewidth=0.8)
        kind = "ensemble" if reported.ensemble else "one model"
        ax.annotate(
            f"{reported.label}: {y:.2f}% ({kind}, reported)",
            xy=(1.0, label_y),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=current_theme().muted,
        )
    ax.scatter(minutes, percent, s=36, color=current_theme().palette[0], zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, ticks in ((ax.xaxis, _LOG_TICKS), (ax.yaxis, _LOG_TICKS)):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
    errors_shown = [*percent, *reported_at]
    ax.set_ylim(0.8 * min(errors_shown), 1.25 * max(errors_shown))
    ax.set_xlim(0.7 * minutes.min(), 1.6 * minutes.max())
    ax.set(
        xlabel="training minutes on this machine (log scale)",
        ylabel="test error (log scale)",
        title="Test error against training time",
    )
    ax.grid(which="major")
    _label_points(ax, names, minutes, percent)
    best = int(np.argmin(percent))
    fastest = int(np.argmin(minutes))
    text = (
        f"Scatter plot of test error against training minutes for {len(names)} models trained "
        f"for this site, both on log scales. The fastest, {names[fastest]}, trained in "
        f"{minutes[fastest]:.1f} minutes to {percent[fastest]:.2f}% error; the most accurate, "
        f"{names[best]}, reached {percent[best]:.2f}% in {minutes[best]:.1f} minutes."
    )
    if published:
        lines = ", ".join(f"{r.label} {100 * r.error:.2f}%" for r in published)
        text += f" Dashed lines mark published results as reported: {lines}."
    describe(figure, text)
    return figure


_LOG_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)

# Where a point's label may go, in points from it: above right first, then the other corners.
_LABEL_SPOTS = tuple(
    (dx, dy, "left" if dx > 0 else "right", "bottom" if dy > 0 else "top")
    for dy in (3, -3, 13, -13)
    for dx in (5, -5)
)


def _label_points(ax: Axes, names: Sequence[str], xs: Sequence[float], ys: Sequence[float]) -> None:
    """Name each point beside it, on the first side where its label covers no other label
    or point (the labels already on the axes, such as the published results', included)."""
    renderer = ax.figure.canvas.get_renderer()
    labels = [text.get_window_extent(renderer) for text in ax.texts]
    points = []
    for x, y in zip(xs, ys, strict=True):
        cx, cy = ax.transData.transform((x, y))
        points.append(Bbox.from_extents(cx - 4, cy - 4, cx + 4, cy + 4))
    for index, (name, x, y) in enumerate(zip(names, xs, ys, strict=True)):
        others = labels + points[:index] + points[index + 1 :]
        for dx, dy, ha, va in _LABEL_SPOTS:
            label = ax.annotate(
                name,
                xy=(x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=8,
                ha=ha,
                va=va,
            )
            box = label.get_window_extent(renderer)
            if not any(box.padded(6).overlaps(other) for other in others):
                break
            if (dx, dy, ha, va) != _LABEL_SPOTS[-1]:
                label.remove()  # try the next side; the last keeps its place anyway
        labels.append(box)


def _spread_on_log_axis(values: Sequence[float], gap: float) -> list[float]:
    """`values` moved apart, where needed, to at least `gap` decades from each other (labels)."""
    order = np.argsort(values)
    logs = np.log10(np.asarray(values, dtype=float)[order])
    for i in range(1, len(logs)):
        logs[i] = max(logs[i], logs[i - 1] + gap)
    spread = np.empty_like(logs)
    spread[order] = logs
    return list(10**spread)


def _image_grid(
    count: int, rows: int, cols: int, *, cell_size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    """A figure with a rows x cols grid of frames for images; returns the first `count`."""
    width, height = cell_size
    figure, axes = plt.subplots(
        rows, cols, figsize=(cols * width, rows * height), squeeze=False, layout="compressed"
    )
    axes = list(axes.ravel())
    for ax in axes[:count]:
        ax.set_xticks([])
        ax.set_yticks([])
        frame(ax, current_theme().frame, width=0.8)
    for ax in axes[count:]:
        ax.set_axis_off()
    if count == 0:
        figure.text(
            0.5, 0.5, "no images to show", ha="center", va="center", color=current_theme().muted
        )
    return figure, axes[:count]


def _colormap(name: str) -> LinearSegmentedColormap:
    """A sequential matplotlib colormap, such as "Blues", from faint to strong on the theme.

    On white, without its palest fifth, so that no coloured cell is white: larger values are
    darker. On a dark background, reversed and without its darkest part, which would vanish
    into the background: larger values are lighter.
    """
    colors = matplotlib.colormaps[name](np.linspace(*current_theme().sequential, 256))
    return LinearSegmentedColormap.from_list(f"{name}_{current_theme().name}", colors)


def _percent_text(share: float) -> str:
    """A share as an annotation: "12.3%", "<0.1%" for tiny non-zero shares, "0" for none."""
    if share == 0:
        return "0"
    return "<0.1%" if share < 0.0005 else f"{share:.1%}"


def _check_same_length(arrays: Mapping[str, Sequence[Any] | np.ndarray]) -> None:
    """Raise ValueError unless all `arrays` have the same length, naming them if not."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ValueError(f"Lengths differ: {described}.")


@figure_function
def throughput_comparison(
    names: Sequence[str],
    images_per_second: Sequence[float],
    speed_ups: Sequence[float],
) -> Figure:
    """Training throughput of each set-up as bars, with its speed-up over the first one.

    The first set-up is the baseline (one process, one replica): a dashed line marks its
    throughput across the chart, so a bar that stops short of it is slower. Each bar is
    labelled with its images per second and its speed-up (images per second over the
    baseline's), as `mnist_book.distributed.comparison` measures them.
    """
    _check_same_length(
        {"names": names, "images_per_second": images_per_second, "speed_ups": speed_ups}
    )
    if not names:
        raise ValueError("No set-ups to compare.")
    rates = np.asarray(images_per_second, dtype=float)
    positions = np.arange(len(names))
    palette = current_theme().palette
    figure, ax = plt.subplots(figsize=(7.5, 1.3 + 0.5 * len(names)))
    ax.barh(positions, rates, color=[palette[i % len(palette)] for i in positions], height=0.6)
    for position, rate, speed_up in zip(positions, rates, speed_ups, strict=True):
        inside = rate >= 0.5 * rates.max()  # else beside the bar, in the room it leaves
        ax.annotate(
            f"{rate:,.0f} images/s, {speed_up:.2f}x",
            xy=(rate, position),
            xytext=(-4 if inside else 4, 0),
            textcoords="offset points",
            ha="right" if inside else "left",
            va="center",
            color=current_theme().on_bar if inside else None,
            fontweight="bold" if inside else None,
        )
    ax.axvline(rates[0], color=current_theme().muted, linestyle="--", linewidth=0.8, zorder=0)
    ax.set_xlim(0, 1.05 * rates.max())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set(
        xlabel=f"training images per second (dashed: {names[0]})",
        title="Training throughput",
    )
    ax.grid(axis="x")
    others = [
        f"{name} {rate:,.0f} ({speed_up:.2f}x)"
        for name, rate, speed_up in zip(names[1:], rates[1:], speed_ups[1:], strict=True)
    ]
    fastest = int(np.argmax(rates))
    describe(
        figure,
        f"Bar chart of the training throughput of {len(names)} set-ups, in images per second, "
        f"against the first, {names[0]}, at {rates[0]:,.0f}"
        + (f": {', '.join(others)}" if others else "")
        + f". The fastest is {names[fastest]}.",
    )
    return figure
