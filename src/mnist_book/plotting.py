"""The figures of the site, each returned as a matplotlib `Figure`.

Every function draws in one style, `STYLE`, applied with `matplotlib.rc_context` so that
matplotlib's global settings are never changed, and returns its figure without showing it.
The figure is detached from pyplot's list of open figures: a notebook then displays it once,
where it is returned, instead of a second time at the end of the cell, and a script can
`savefig` it. Digits are drawn dark on a light background; mistakes are always red.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
"""Colours of the series in every figure (seaborn's "deep", without its red)."""

CORRECT_COLOR = "#1B7837"
"""Colour of correct predictions: a dark green."""

WRONG_COLOR = "#C62828"
"""Colour of mistakes: red."""

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.edgecolor": "0.35",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "grid.color": "0.88",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "image.cmap": "gray_r",
}
"""The matplotlib settings every figure of this module is drawn with."""

_P = ParamSpec("_P")


def _figure_function(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Make `draw` run in `STYLE` and detach the figure it returns from pyplot."""

    @functools.wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            figure = draw(*args, **kwargs)
        # Only forgets the figure in pyplot, which would show it again at the end of a cell.
        plt.close(figure)
        return figure

    return styled


@_figure_function
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
        _show_digit(ax, image)
        ax.set_title(str(label), fontsize=10, pad=3)
    if title:
        figure.suptitle(title)
    return figure


@_figure_function
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
    sns.barplot(tidy, x="digit", y="share", hue="set", palette=PALETTE[:2], ax=ax)
    ax.axhline(10, color="0.3", linestyle="--", linewidth=1, label="balanced (10%)")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set(xlabel="digit", ylabel="share of the set", title="How often each digit occurs")
    ax.grid(axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


@_figure_function
def pixel_histogram(images: np.ndarray) -> Figure:
    """Histogram of all pixel intensities, on a log scale: most pixels are background (0)."""
    values = np.asarray(images).ravel()
    counts, edges = np.histogram(values, bins=64, range=(values.min(), values.max()))
    mean = values.mean()
    zero_share = np.mean(values == 0)

    figure, ax = plt.subplots(figsize=(8, 3.6))
    ax.stairs(counts, edges, fill=True, color=PALETTE[0], alpha=0.85)
    ax.axvline(mean, color=PALETTE[1], linestyle="--", linewidth=1.5, label=f"mean = {mean:.3g}")
    ax.set_yscale("log")
    ax.annotate(
        f"{zero_share:.1%} of all pixels are 0",
        xy=(edges[1], counts[0]),
        xytext=(0.22, 0.93),
        textcoords="axes fraction",
        va="top",
        arrowprops={"arrowstyle": "->", "color": "0.3"},
    )
    ax.set(
        xlabel="pixel intensity",
        ylabel="number of pixels (log scale)",
        title=f"Pixel intensities of {len(images):,} images",
    )
    ax.grid(axis="y")
    ax.legend(loc="upper right")
    return figure


@_figure_function
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
            (metric, "train", PALETTE[0]),
            (f"val_{metric}", "validation", PALETTE[1]),
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
    return figure


@_figure_function
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

    Mistakes have a red title and a red frame, correct predictions a dark green title.

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
        _show_digit(ax, images[index])
        ax.set_title(
            f"pred {predicted} ({probabilities[index, predicted]:.0%})\ntrue {true}",
            fontsize=9,
            pad=3,
            color=CORRECT_COLOR if correct else WRONG_COLOR,
        )
        if not correct:
            _frame(ax, WRONG_COLOR, width=2.5)
    return figure


@_figure_function
def confusion_heatmap(
    confusion: np.ndarray, *, normalize: bool = False, title: str | None = None
) -> Figure:
    """The confusion matrix as an annotated heatmap, rows true digits, columns predictions.

    Correct answers (the diagonal) are blue; mistakes are red, darker for more frequent
    ones on a log scale so that rare mistakes stay visible; cells with no mistakes are blank.

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
        "linecolor": "white",
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
    return figure


@_figure_function
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
        _show_digit(ax, images[index])
        if len(names) == 1:
            predicted = int(predictions_by_model[names[0]][index])
            color = CORRECT_COLOR if predicted == true else WRONG_COLOR
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
                color=CORRECT_COLOR if predicted == true else WRONG_COLOR,
            )
    return figure


@_figure_function
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
    colors = [PALETTE[i % len(PALETTE)] for i in positions]
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
            color="white",
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
    return figure


@_figure_function
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
        palette=PALETTE[: table.shape[1]],
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
    return figure


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
        _frame(ax, "0.8", width=0.8)
    for ax in axes[count:]:
        ax.set_axis_off()
    if count == 0:
        figure.text(0.5, 0.5, "no images to show", ha="center", va="center", color="0.4")
    return figure, axes[:count]


def _show_digit(ax: Axes, image: np.ndarray) -> None:
    """Draw one digit, dark on light, accepting 28x28, 28x28x1 or a flat 784 array."""
    pixels = np.asarray(image).squeeze()
    if pixels.ndim == 1:
        side = math.isqrt(pixels.size)
        pixels = pixels.reshape(side, side)
    ax.imshow(pixels, cmap="gray_r")


def _frame(ax: Axes, color: str, *, width: float) -> None:
    """Draw all four sides of the axes' frame in `color`."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(color)
        spine.set_linewidth(width)


def _colormap(name: str) -> LinearSegmentedColormap:
    """Matplotlib colormap `name` without its palest fifth, so that no coloured cell is white."""
    colors = matplotlib.colormaps[name](np.linspace(0.2, 0.9, 256))
    return LinearSegmentedColormap.from_list(f"{name}_visible", colors)


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
