"""The figures of what the networks learned, each returned as a matplotlib `Figure`.

They draw the arrays of `mnist_book.inspection` in the site's style, like those of
`mnist_book.plotting`: light and dark variants in a notebook, and a description of what each
shows as alt text. Weights and attributions are drawn in a diverging colormap centred on
zero: blue for positive (evidence for), red for negative (evidence against); digits are drawn
as everywhere else on the site, and mistakes are red.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import PercentFormatter

from mnist_book.figure_style import (
    Theme,
    current_theme,
    describe,
    figure_function,
    frame,
    show_digit,
)

if TYPE_CHECKING:  # Keras takes seconds to import: the figures draw arrays
    from mnist_book.inspection import GradientStep

DIVERGING = {"light": "RdBu", "dark": "berlin_r"}
"""The colormap of signed values (weights, attributions), by theme name: red (negative) to
blue (positive), through white on light pages, through black on dark ones. The draw page's
views paint their evidence and occlusion maps in it too (`mnist_book.site.inside`)."""


def diverging_colormap(theme: str | None = None) -> Colormap:
    """`DIVERGING`'s colormap for `theme` (a theme's name), the current theme's by default."""
    return matplotlib.colormaps[DIVERGING[theme or current_theme().name]]


def outline_color(theme: Theme | None = None) -> str:
    """The colour a digit's strokes are outlined in over a signed picture, in `theme`."""
    return (theme or current_theme()).muted


def _bare(ax: Axes) -> None:
    """No ticks; a thin frame in the theme's colour."""
    ax.set_xticks([])
    ax.set_yticks([])
    frame(ax, current_theme().frame, width=0.8)


def _signed(ax: Axes, values: np.ndarray, limit: float) -> AxesImage:
    """`values` (2-D) in the diverging colormap, from `-limit` (red) to `limit` (blue)."""
    _bare(ax)
    limit = limit if limit > 0 else 1.0
    return ax.imshow(np.squeeze(values), cmap=diverging_colormap(), vmin=-limit, vmax=limit)


def _a(digit: int) -> str:
    """The article before a digit's name: "an 8", "a 6"."""
    return "an" if int(digit) == 8 else "a"


def _digit(ax: Axes, image: np.ndarray) -> None:
    _bare(ax)
    show_digit(ax, image)


OUTLINE_LEVEL = 0.5
"""The ink (pixels in [0, 1]) at which a digit's strokes are outlined over a signed picture."""


def _outline(ax: Axes, image: np.ndarray) -> None:
    """The strokes of `image` (pixels in [0, 1]) as a thin contour, over another picture."""
    ax.contour(np.squeeze(image), levels=[OUTLINE_LEVEL], colors=outline_color(), linewidths=0.6)


@figure_function
def filters_and_maps(
    filters: np.ndarray, maps: np.ndarray, image: np.ndarray, *, cols: int = 8
) -> Figure:
    """Each filter of the first convolution above what it makes of one digit.

    Args:
        filters: (filters, height, width) kernels, as from `inspection.first_filters`.
        maps: (filters, height, width) output maps, as from `inspection.filter_maps`.
        image: The digit the maps are of, prepared for the model.
        cols: Filter-and-map pairs per row.
    """
    filters, maps = np.asarray(filters), np.asarray(maps)
    if len(filters) != len(maps):
        raise ValueError(f"{len(filters)} filters but {len(maps)} maps.")
    rows = math.ceil(len(filters) / cols)
    figure = plt.figure(figsize=(1.6 + 0.8 * cols, 1.55 * rows + 0.4), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[1.6, 0.8 * cols])
    ax = left.add_subplot()
    _digit(ax, image)
    ax.set_title("the digit", fontsize=9)
    axes = right.subplots(2 * rows, cols, squeeze=False)
    limit = float(np.abs(filters).max())
    brightest = float(maps.max()) or 1.0
    for index, (top, bottom) in enumerate(zip(axes[::2].ravel(), axes[1::2].ravel(), strict=True)):
        if index >= len(filters):
            top.set_axis_off()
            bottom.set_axis_off()
            continue
        _signed(top, filters[index], limit)
        top.set_title(str(index), fontsize=8, pad=2)
        _bare(bottom)
        bottom.imshow(maps[index], vmin=0, vmax=brightest)
    ink = "dark" if current_theme().name == "light" else "bright"
    right.suptitle(f"Filters (blue: positive weights) and their maps ({ink}: strong)", fontsize=10)
    active = np.mean(maps.reshape(len(maps), -1) > 0, axis=1)
    strongest = np.argsort(-maps.reshape(len(maps), -1).max(axis=1))[:3]
    silent = int(np.sum(maps.reshape(len(maps), -1).max(axis=1) == 0))
    describe(
        figure,
        f"The {len(filters)} {filters.shape[1]}x{filters.shape[2]} filters of the first "
        "convolution, weights red for negative and blue for positive, each above its "
        f"{maps.shape[1]}x{maps.shape[2]} output map for one test digit, drawn like the digit "
        "(the stronger the response, the more ink). A filter responds "
        f"on {active.mean():.0%} of the positions on average; the strongest responses come "
        f"from filters {', '.join(map(str, strongest))}"
        + (f", and {silent} filters do not respond to this digit at all." if silent else "."),
    )
    return figure


@figure_function
def layer_activations(
    activations: Sequence[tuple[str, np.ndarray]], image: np.ndarray, *, channels: int = 8
) -> Figure:
    """One digit's path through the network: the first `channels` maps of each layer.

    Layers with feature maps show their first `channels` maps, flat layers their values as a
    strip, and the last layer its ten outputs as bars.

    Args:
        activations: (layer name, output) pairs, as from `inspection.activations`.
        image: The digit, prepared for the model.
        channels: How many maps of each convolution or pooling layer to show.
    """
    if not activations:
        raise ValueError("activations is empty.")
    outputs = [(name, np.asarray(output)) for name, output in activations]
    last = len(outputs) - 1
    heights = [1.0] + [
        1.0 if output.ndim == 3 or (row == last and output.ndim == 1) else 0.35
        for row, (_, output) in enumerate(outputs)
    ]
    figure = plt.figure(figsize=(1.0 + 0.85 * channels, 0.85 * sum(heights)), layout="constrained")
    grid = figure.add_gridspec(len(heights), channels, height_ratios=heights)
    ax = figure.add_subplot(grid[0, 0])
    _digit(ax, image)
    ax.set_ylabel("input\n28x28", rotation=0, ha="right", va="center", fontsize=8)
    lines = []
    for row, (name, output) in enumerate(outputs):
        shape = "x".join(map(str, output.shape))
        if row == last and output.ndim == 1:
            ax = figure.add_subplot(grid[row + 1, :])
            ax.bar(np.arange(len(output)), output, color=current_theme().palette[0])
            best = int(output.argmax())
            ax.bar([best], [output[best]], color=current_theme().correct)
            ax.set_xticks(np.arange(len(output)))
            ax.set_ylim(0, max(1.0, float(output.max())))
            ax.tick_params(labelsize=8)
            lines.append(f"{name} gives digit {best} the highest output, {output[best]:.3f}")
        elif output.ndim == 3:
            shown = min(channels, output.shape[-1])
            brightest = float(output[..., :shown].max()) or 1.0
            row_axes = [figure.add_subplot(grid[row + 1, channel]) for channel in range(shown)]
            for channel, channel_ax in enumerate(row_axes):
                _bare(channel_ax)
                channel_ax.imshow(output[..., channel], vmin=0, vmax=brightest)
            ax = row_axes[0]
            lines.append(f"{name}, {shape}, {np.mean(output > 0):.0%} of its values above zero")
        else:
            values = output.reshape(1, -1)
            ax = figure.add_subplot(grid[row + 1, :])
            _bare(ax)
            ax.imshow(values, aspect="auto", vmin=0, vmax=float(values.max()) or 1.0)
            lines.append(f"{name}, {values.size} values, {np.mean(values > 0):.0%} above zero")
        ax.set_ylabel(f"{name}\n{shape}", rotation=0, ha="right", va="center", fontsize=8)
    describe(
        figure,
        f"One test digit through {len(activations)} layers, one row each (the first "
        f"{channels} maps of layers with maps, drawn like the digit, the stronger the more ink): "
        + "; ".join(lines)
        + ".",
    )
    return figure


@figure_function
def weight_templates_plot(templates: np.ndarray) -> Figure:
    """The ten 28x28 weight templates of a single dense layer, one per digit.

    Args:
        templates: (10, 28, 28) templates, as from `inspection.weight_templates`.
    """
    templates = np.asarray(templates)
    figure = plt.figure(figsize=(8.2, 3.6), layout="constrained")
    axes = figure.subplots(2, math.ceil(len(templates) / 2), squeeze=False)
    limit = float(np.abs(templates).max())
    for digit, ax in enumerate(axes.ravel()):
        if digit >= len(templates):
            ax.set_axis_off()
            continue
        shown = _signed(ax, templates[digit], limit)
        ax.set_title(str(digit), fontsize=10, pad=3)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    figure.suptitle("What each output of the single layer adds up")
    flat = templates.reshape(len(templates), -1)
    describe(
        figure,
        f"The weights of the single dense layer as {len(templates)} 28x28 images, one per "
        f"digit, blue for positive and red for negative, from {flat.min():.2f} to "
        f"{flat.max():.2f}: a digit's score is the image's pixels times its template, summed. "
        f"Between {np.mean(flat > 0, axis=1).min():.0%} and "
        f"{np.mean(flat > 0, axis=1).max():.0%} of each template's weights are positive.",
    )
    return figure


@figure_function
def attribution_maps(
    images: np.ndarray,
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    for_predicted: np.ndarray,
    for_true: np.ndarray,
) -> Figure:
    """Digits the model got wrong, with the evidence for what it read and for the truth.

    One column per digit: the digit, then the integrated-gradients attributions of the
    predicted and of the true digit's probability, outlined with the digit's strokes, on one
    colour scale per column (blue counted for, red against).

    Args:
        images: The digits, prepared for the model (pixels in [0, 1]).
        labels: Their true digits.
        predictions: The model's readings.
        for_predicted: Attributions of the predicted digit, shaped like `images`.
        for_true: Attributions of the true digit, shaped like `images`.
    """
    labels, predictions = np.asarray(labels, dtype=int), np.asarray(predictions, dtype=int)
    count = len(images)
    figure = plt.figure(figsize=(0.9 + 1.3 * count, 4.4), layout="constrained")
    axes = figure.subplots(3, count, squeeze=False)
    lines = []
    for column in range(count):
        image, true, guess = images[column], labels[column], predictions[column]
        _digit(axes[0, column], image)
        axes[0, column].set_title(f"true {true}\nread {guess}", fontsize=9, pad=3)
        frame(axes[0, column], current_theme().wrong, width=2)
        limit = float(max(np.abs(for_predicted[column]).max(), np.abs(for_true[column]).max()))
        for row, values in ((1, for_predicted[column]), (2, for_true[column])):
            _signed(axes[row, column], values, limit)
            _outline(axes[row, column], image)
        lines.append(
            f"{_a(true)} {true} read as {guess}: {for_predicted[column].sum():+.2f} for {guess}, "
            f"{for_true[column].sum():+.2f} for {true}"
        )
    axes[1, 0].set_ylabel("for the\nreading", fontsize=9)
    axes[2, 0].set_ylabel("for the\ntruth", fontsize=9)
    describe(
        figure,
        f"{count} test digits the model got wrong, each above its integrated-gradients "
        "attributions for the digit it read and for the true digit, blue where a pixel "
        "counted for the digit and red where it counted against. The attributions of each "
        "add up to the change of that digit's probability from a black image: "
        + "; ".join(lines)
        + ".",
    )
    return figure


def _digit_colors() -> list[str]:
    """Ten colours for the ten digits: tab10 (lighter on a dark background), its red (kept for
    mistakes) replaced by the text's colour."""
    colors = np.array(matplotlib.colormaps["tab10"].colors)
    if current_theme().name != "light":
        colors = 0.7 * colors + 0.3  # lightened, to stand out on the dark background
    hexes = [matplotlib.colors.to_hex(color) for color in colors]
    hexes[3] = matplotlib.colors.to_hex(matplotlib.rcParams["text.color"])
    return hexes


@figure_function
def feature_map_plot(
    points: np.ndarray,
    labels: npt.ArrayLike,
    mistakes: npt.ArrayLike = (),
    *,
    explained: Sequence[float] | None = None,
) -> Figure:
    """Images placed by their features on a 2-D map, coloured by digit, mistakes marked.

    Args:
        points: (n, 2) places, as `FeatureMap.points` or `FeatureMap.project`.
        labels: The true digit of each point.
        mistakes: Indices of the points the model misreads, drawn as red crosses.
        explained: The share of variance along each axis, for the axis labels.
    """
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels, dtype=int)
    mistakes = np.asarray(mistakes, dtype=int)
    if len(points) != len(labels):
        raise ValueError(f"{len(points)} points but {len(labels)} labels.")
    colors = _digit_colors()
    figure = plt.figure(figsize=(6.6, 5.2), layout="constrained")
    ax = figure.add_subplot()
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=[colors[label] for label in labels],
        s=2.5,
        marker="s",
        linewidths=0,
        antialiased=False,  # solid pixels: a PNG a sixth of the size, for 10,000 points
        rasterized=True,
    )
    centres = np.array(
        [
            np.median(points[labels == d], axis=0) if np.any(labels == d) else [np.nan] * 2
            for d in range(10)
        ]
    )
    for digit, (x, y) in enumerate(centres):
        if np.isfinite(x):
            ax.annotate(
                str(digit),
                (x, y),
                ha="center",
                va="center",
                fontsize=13,
                fontweight="bold",
                color=colors[digit],
                bbox={
                    "boxstyle": "circle,pad=0.2",
                    "fc": current_theme().background,
                    "ec": colors[digit],
                    "alpha": 0.85,
                },
            )
    if mistakes.size:
        ax.scatter(
            points[mistakes, 0],
            points[mistakes, 1],
            marker="x",
            s=16,
            linewidths=0.9,
            color=current_theme().wrong,
            label=f"misread ({mistakes.size})",
        )
        ax.legend(loc="best")
    axis = [f"direction {i + 1}" for i in range(2)]
    if explained is not None:
        axis = [
            f"{name} ({share:.0%} of the variance)"
            for name, share in zip(axis, explained, strict=True)
        ]
    ax.set(xlabel=axis[0], ylabel=axis[1], title="The test digits by their features")
    ax.set_xticks([])
    ax.set_yticks([])
    present = [d for d in range(10) if np.isfinite(centres[d, 0])]
    pairs = [(a, b) for i, a in enumerate(present) for b in present[i + 1 :]]
    closest = min(pairs, key=lambda p: np.linalg.norm(centres[p[0]] - centres[p[1]]), default=None)
    text = (
        f"{len(points):,} images placed by the first two principal directions of their "
        f"features, coloured by true digit, each digit's name at the median of its points"
    )
    if explained is not None:
        text += f" (the two directions hold {sum(explained):.0%} of the variance)"
    text += "."
    if closest:
        text += f" The closest digits on the map are {closest[0]} and {closest[1]}."
    if mistakes.size:
        text += f" {mistakes.size} misread images are marked with red crosses."
    describe(figure, text)
    return figure


@figure_function
def adversarial_plot(
    epsilons: Sequence[float],
    accuracies: Sequence[float],
    image: np.ndarray,
    adversarial: np.ndarray,
    *,
    label: int,
    epsilon: float,
    before: npt.ArrayLike,
    after: npt.ArrayLike,
) -> Figure:
    """Accuracy against the FGSM step ε, beside one digit before and after its attack.

    Args:
        epsilons: The steps ε tried.
        accuracies: The accuracy on the attacked images at each ε (0 to 1).
        image: The digit, prepared for the model.
        adversarial: The same digit attacked with step `epsilon`.
        label: Its true digit.
        epsilon: The step of the attack shown.
        before: The model's ten probabilities for `image`.
        after: The model's ten probabilities for `adversarial`.
    """
    before, after = np.asarray(before, float), np.asarray(after, float)
    predicted = int(after.argmax())
    confidence, adversarial_confidence = before[label], after[predicted]
    epsilons, accuracies = np.asarray(epsilons, float), np.asarray(accuracies, float)
    if len(epsilons) != len(accuracies):
        raise ValueError(f"{len(epsilons)} epsilons but {len(accuracies)} accuracies.")
    figure = plt.figure(figsize=(9.6, 3.4), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[4.6, 5])
    ax = left.add_subplot()
    ax.plot(epsilons, accuracies, marker="o", markersize=4, color=current_theme().palette[0])
    ax.axvline(epsilon, color=current_theme().wrong, linestyle="--", linewidth=1)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_ylim(0, 1.02)
    ax.set(xlabel="ε (step per pixel)", ylabel="accuracy", title="Accuracy under attack")
    ax.grid()
    axes = right.subplots(1, 3)
    _digit(axes[0], image)
    axes[0].set_title(f"{label} ({confidence:.1%})", fontsize=9, color=current_theme().correct)
    change = np.squeeze(adversarial) - np.squeeze(image)
    _signed(axes[1], change, max(float(np.abs(change).max()), 1e-9))
    axes[1].set_title(f"change, ε = {epsilon:g}", fontsize=9)
    _digit(axes[2], adversarial)
    frame(axes[2], current_theme().wrong, width=2)
    axes[2].set_title(
        f"{predicted} ({adversarial_confidence:.1%})", fontsize=9, color=current_theme().wrong
    )
    at = ", ".join(f"{a:.1%} at ε = {e:g}" for e, a in zip(epsilons, accuracies, strict=True))
    describe(
        figure,
        f"Line chart of accuracy against the attack's step ε: {at}. Beside it, {_a(label)} {label} "
        f"the model read with probability {confidence:.1%}, the change FGSM makes with "
        f"ε = {epsilon:g} (every pixel moved by at most ε), and the attacked digit, which a "
        f"person still reads as a {label} and the model as {predicted}, with probability "
        f"{adversarial_confidence:.1%}.",
    )
    return figure


@figure_function
def gradient_step_plot(step: GradientStep) -> Figure:
    """One gradient step on one digit: the digit, its unit's gradient, and the weights' change.

    Args:
        step: as from `inspection.gradient_step`.
    """
    change = -step.learning_rate * step.gradient
    figure, axes = plt.subplots(1, 3, figsize=(8.2, 3.2), layout="constrained")
    _digit(axes[0], step.image)
    axes[0].set_title(f"a training {step.label}", fontsize=9)
    limit = float(np.abs(step.gradient).max())
    _signed(axes[1], step.gradient, limit)
    axes[1].set_title(f"gradient of the loss\nfor unit {step.label}'s 784 weights", fontsize=9)
    image = _signed(axes[2], change, float(np.abs(change).max()))
    axes[2].set_title(f"change of those weights\n(-{step.learning_rate:g} x gradient)", fontsize=9)
    figure.colorbar(image, ax=axes[2], shrink=0.8)
    figure.suptitle(
        f"score for {step.label}: {step.score_before:.2f} before the step, "
        f"{step.score_after:.2f} after; loss {step.loss_before:.2f} -> {step.loss_after:.2f}",
        fontsize=9,
    )
    describe(
        figure,
        f"A training image of a {step.label}; the gradient of its loss with respect to the "
        f"weights of output unit {step.label}, drawn in the pixels' places, "
        f"{'negative' if step.gradient.sum() < 0 else 'positive'} where the digit has ink "
        "and zero elsewhere; and the change one step makes to those weights, the gradient "
        f"times -{step.learning_rate:g}. The score for {step.label} goes from "
        f"{step.score_before:.2f} to {step.score_after:.2f}.",
    )
    return figure


@figure_function
def convolution_plot(
    image: np.ndarray, kernel: np.ndarray, at: tuple[int, int] | None = None
) -> Figure:
    """One 3x3 filter at one position of a digit, and the map it makes sliding everywhere.

    Args:
        image: (28, 28) pixels in [0, 1].
        kernel: (3, 3) weights.
        at: (row, column) of the window's top-left pixel, which is also the map's cell it
            makes; by default the cell of the map's strongest response.
    """
    from mnist_book.inspection import convolve

    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    feature_map = convolve(image, kernel)
    row, col = at or np.unravel_index(np.argmax(np.abs(feature_map)), feature_map.shape)
    size = kernel.shape[0]
    patch = image[row : row + size, col : col + size]
    value = float(feature_map[row, col])
    figure, axes = plt.subplots(
        1, 4, figsize=(9.6, 2.9), layout="constrained", width_ratios=[1.2, 1, 1, 1.2]
    )
    theme = current_theme()
    highlight = {"fill": False, "edgecolor": theme.palette[1], "lw": 2}
    label = {"ha": "center", "va": "center", "fontsize": 8}
    boxed = {"boxstyle": "round,pad=0.15", "facecolor": theme.background, "lw": 0, "alpha": 0.8}
    _digit(axes[0], image)
    axes[0].add_patch(matplotlib.patches.Rectangle((col - 0.5, row - 0.5), size, size, **highlight))
    axes[0].set_title("the digit and one 3x3 window", fontsize=9)
    _digit(axes[1], patch)
    axes[1].images[0].set_clim(0, 1)
    axes[1].set_title("the window's pixels", fontsize=9)
    _signed(axes[2], kernel, float(np.abs(kernel).max()))
    axes[2].set_title("the filter's weights", fontsize=9)
    for ax, values in ((axes[1], patch), (axes[2], kernel)):
        for (r, c), number in np.ndenumerate(values):
            ax.text(c, r, f"{number:.2f}", bbox=boxed, **label)
    _signed(axes[3], feature_map, float(np.abs(feature_map).max()) or 1.0)
    axes[3].add_patch(matplotlib.patches.Rectangle((col - 0.5, row - 0.5), 1, 1, **highlight))
    axes[3].set_title(f"the map: this window gives {value:.2f}", fontsize=9)
    describe(
        figure,
        f"A digit with a 3x3 window at row {row}, column {col}; the window's nine pixels; "
        "the filter's nine weights; and the map the filter makes sliding over the whole "
        f"digit, in which the window's cell holds {value:.2f}, the sum of the nine pixels "
        "times the nine weights.",
    )
    return figure
