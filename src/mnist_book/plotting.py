"""The figures of the site, each returned as a matplotlib `Figure`.

Every function draws in one style, `STYLE`, applied with `matplotlib.rc_context` so that
matplotlib's global settings are never changed, and returns its figure without showing it.
The figure is detached from pyplot's list of open figures: a notebook then displays it once,
where it is returned, instead of a second time at the end of the cell, and a script can
`savefig` it. Digits are drawn dark on a light background; mistakes are always red.

In a notebook a figure shows itself as two sharp (2x) PNGs, the figure as returned and the
same figure drawn again in `DARK_STYLE` (light text, white digits on a dark background),
and CSS shows the one that matches the page: mkdocs-material's dark "slate" scheme (with
`docs/stylesheets/figures.css`), JupyterLab's or VS Code's dark themes; the light one
anywhere else. The dark twin is drawn only then, from the same arguments, so a script that
only calls `savefig` does not pay for it. A figure changed after it was returned shows
only its light variant, which could not be redrawn with the change.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import html
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, LogNorm, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)
from matplotlib.transforms import Bbox

if TYPE_CHECKING:
    from mnist_book.records import PublishedResult

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
"""Colours of the series in every figure (seaborn's "deep", without its red)."""

CORRECT_COLOR = "#1B7837"
"""Colour of correct predictions: a dark green."""

WRONG_COLOR = "#C62828"
"""Colour of mistakes: red."""

DARK_BACKGROUND = "#1E2129"
"""Background of the dark figures: that of mkdocs-material's "slate" scheme."""

DARK_PALETTE = tuple(to_hex(0.85 * np.array(to_rgb(color)) + 0.15).upper() for color in PALETTE)
"""`PALETTE` lightened by 15% towards white, for the dark figures: the same hues, each at
least 4.4:1 against `DARK_BACKGROUND`."""

DARK_CORRECT_COLOR = "#66BB6A"
"""Colour of correct predictions on the dark background: a light green."""

DARK_WRONG_COLOR = "#FF6B6B"
"""Colour of mistakes on the dark background: a light red."""

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "figure.constrained_layout.use": True,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "font.size": 10,
    "text.color": "black",
    "axes.facecolor": "white",
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.labelcolor": "black",
    "axes.edgecolor": "0.35",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "grid.color": "0.88",
    "grid.linewidth": 0.8,
    "xtick.color": "black",
    "ytick.color": "black",
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "image.cmap": "gray_r",
}
"""The matplotlib settings every figure of this module is drawn with."""

DARK_STYLE: dict[str, Any] = {
    **STYLE,
    "figure.facecolor": DARK_BACKGROUND,
    "figure.edgecolor": DARK_BACKGROUND,
    "text.color": "0.88",
    "axes.facecolor": DARK_BACKGROUND,
    "axes.labelcolor": "0.88",
    "axes.edgecolor": "0.6",
    "axes.prop_cycle": cycler(color=DARK_PALETTE),
    "grid.color": "0.25",
    "xtick.color": "0.8",
    "ytick.color": "0.8",
    "image.cmap": "gray",
}
"""`STYLE` for dark pages: light text and lines on `DARK_BACKGROUND`, digits white on black."""


@dataclass(frozen=True)
class _Theme:
    """A style and the colours the figures pick themselves, for one kind of page."""

    name: str
    style: dict[str, Any]
    palette: tuple[str, ...]
    correct: str
    wrong: str
    background: str
    reference: str  # reference lines and arrows
    frame: str  # the frame around each digit
    muted: str  # secondary text
    on_bar: str  # labels drawn inside bars
    sequential: tuple[float, float]  # the part of a sequential colormap used, low to high


_LIGHT = _Theme(
    name="light",
    style=STYLE,
    palette=PALETTE,
    correct=CORRECT_COLOR,
    wrong=WRONG_COLOR,
    background="white",
    reference="0.3",
    frame="0.8",
    muted="0.4",
    on_bar="white",
    sequential=(0.2, 0.9),
)
_DARK = _Theme(
    name="dark",
    style=DARK_STYLE,
    palette=DARK_PALETTE,
    correct=DARK_CORRECT_COLOR,
    wrong=DARK_WRONG_COLOR,
    background=DARK_BACKGROUND,
    reference="0.7",
    frame="0.4",
    muted="0.6",
    on_bar=DARK_BACKGROUND,
    sequential=(0.85, 0.25),
)
_THEME: contextvars.ContextVar[_Theme] = contextvars.ContextVar("_THEME", default=_LIGHT)

_SCHEME_CSS = (
    "img.mnist-book-figure.mnist-book-dark{display:none}"
    "[data-md-color-scheme=slate] img.mnist-book-figure.mnist-book-light,"
    "[data-jp-theme-light=false] img.mnist-book-figure.mnist-book-light,"
    "body.vscode-dark img.mnist-book-figure.mnist-book-light{display:none}"
    "[data-md-color-scheme=slate] img.mnist-book-figure.mnist-book-dark,"
    "[data-jp-theme-light=false] img.mnist-book-figure.mnist-book-dark,"
    "body.vscode-dark img.mnist-book-figure.mnist-book-dark{display:block}"
)
"""Shows the light or the dark image of a figure, whichever matches the page.

The selectors outweigh JupyterLab's `.jp-RenderedHTMLCommon > img {display: block}`. The
first does not start with "[": the site's build moves the styles of its pages into a shared
sheet, but drops those starting with "[". `docs/stylesheets/figures.css` has the same rules.
"""

_P = ParamSpec("_P")


def _figure_function(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Make `draw` run in `STYLE`, detach its figure from pyplot and give it a dark twin."""

    @functools.wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        figure = _draw_in(_LIGHT, draw, *args, **kwargs)
        # The same class with two more display methods; "FigureClass=" in every function
        # would do the same, less surely.
        figure.__class__ = _ThemedFigure
        figure._remember(draw.__name__, functools.partial(_draw_in, _DARK, draw, *args, **kwargs))
        return figure

    return styled


def _draw_in(
    theme: _Theme, draw: Callable[_P, Figure], /, *args: _P.args, **kwargs: _P.kwargs
) -> Figure:
    """Call `draw` in `theme` and detach the figure it returns from pyplot."""
    # Load pyplot's backend outside the style: the notebook backend turns interactive mode on
    # as it loads, which rc_context would undo on exit, silencing later plain pyplot cells.
    plt.switch_backend(plt.get_backend())
    with _theme_context(theme), matplotlib.rc_context(theme.style):
        figure = draw(*args, **kwargs)
    # Only forgets the figure in pyplot, which would show it again at the end of a cell.
    plt.close(figure)
    return figure


@contextlib.contextmanager
def _theme_context(theme: _Theme) -> Iterator[None]:
    token = _THEME.set(theme)
    try:
        yield
    finally:
        _THEME.reset(token)


def _theme() -> _Theme:
    """The theme being drawn in: the colours a function picks itself come from here."""
    return _THEME.get()


class _ThemedFigure(Figure):
    """A figure of this module: shows itself in notebooks in a light and a dark variant.

    It is the figure the function returned (a `Figure` in every other respect), plus how to
    draw it again in the dark theme, which `_repr_html_` does once, when first displayed.
    """

    _mnist_book_name: str = "figure"
    _mnist_book_dark: Callable[[], Figure] | None = None
    _mnist_book_dark_png: bytes | None = None
    _mnist_book_changed: bool = False
    _mnist_book_on_stale: Callable[[Any, bool], None] | None = None

    def _remember(self, name: str, draw_dark: Callable[[], Figure]) -> None:
        self._mnist_book_name = name
        self._mnist_book_dark = draw_dark
        self._mnist_book_changed = False
        # Any change to the figure from now on marks it stale, through this callback.
        self._mnist_book_on_stale = self.stale_callback
        self.stale_callback = _ThemedFigure._note_change

    @staticmethod
    def _note_change(figure: Any, stale: bool) -> None:
        if stale:
            figure._mnist_book_changed = True
        if figure._mnist_book_on_stale is not None:
            figure._mnist_book_on_stale(figure, stale)

    def savefig(self, *args: Any, **kwargs: Any) -> None:
        """`Figure.savefig`; saving changes the figure only while it saves, not for good."""
        changed = self._mnist_book_changed
        try:
            super().savefig(*args, **kwargs)
        finally:
            self._mnist_book_changed = changed

    def __getstate__(self) -> dict[str, Any]:
        # The arguments to draw the dark twin from may not pickle: a copy shows only the light.
        state = super().__getstate__()
        for name in ("_mnist_book_dark", "_mnist_book_dark_png", "_mnist_book_on_stale"):
            state.pop(name, None)
        return state

    def _dark_png(self) -> bytes | None:
        """The dark twin as a 2x PNG, drawn on first use; None once the figure was changed."""
        if self._mnist_book_changed:
            return None
        if self._mnist_book_dark_png is None and self._mnist_book_dark is not None:
            self._mnist_book_dark_png = _png(self._mnist_book_dark(), _DARK)
            self._mnist_book_dark = None  # nor keep the arguments alive any longer
        return self._mnist_book_dark_png

    def _repr_html_(self) -> str:
        """Both variants as <img> tags, classed for CSS to show the one matching the page."""
        return self._html(_png(self, _LIGHT))

    def _html(self, light: bytes) -> str:
        alt = description(self)
        dark = self._dark_png()
        if dark is None:
            return _img_tag(light, alt, "mnist-book-figure")
        return (
            f"<style>{_SCHEME_CSS}</style>"
            + _img_tag(light, alt, "mnist-book-figure mnist-book-light")
            + _img_tag(dark, alt, "mnist-book-figure mnist-book-dark")
        )

    def _ipython_display_(self) -> None:
        """Display the HTML of both variants instead of IPython's PNG of the figure.

        The light PNG (2x, with its size at 1x) comes along for what cannot show HTML, such
        as nbconvert's Markdown and PDF exporters; its HTML exporter and JupyterLab show
        the HTML.
        """
        from IPython import get_ipython
        from IPython.display import display

        bundle: dict[str, Any] = {"text/plain": repr(self)}
        metadata: dict[str, Any] = {}
        shell = get_ipython()
        formatter = shell.display_formatter.formatters.get("text/html") if shell else None
        if formatter is None or formatter.enabled:  # a terminal shows only text
            light = _png(self, _LIGHT)
            bundle["text/html"] = self._html(light)
            width, height = _png_size(light)
            bundle["image/png"] = base64.b64encode(light).decode("ascii")
            metadata["image/png"] = {"width": round(width / 2), "height": round(height / 2)}
        display(bundle, metadata=metadata, raw=True)


def _png(figure: Figure, theme: _Theme) -> bytes:
    """`figure` as a PNG at twice its resolution, for screens with two pixels per CSS pixel."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(theme.style):
        figure.savefig(
            buffer,
            format="png",
            dpi=2 * figure.dpi,
            bbox_inches="tight",
            facecolor="auto",
            edgecolor="auto",
            transparent=False,
        )
    return buffer.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _img_tag(png: bytes, alt: str, classes: str) -> str:
    """An <img> of a 2x PNG, sized in CSS pixels at half its pixels, shrinking to fit."""
    width, height = _png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="{classes}" src="data:image/png;base64,{data}" '
        f'width="{round(width / 2)}" height="{round(height / 2)}" alt="{html.escape(alt)}" '
        'style="max-width:100%;height:auto">'
    )


def description(figure: Figure) -> str:
    """What `figure` shows, in words and with its numbers: the alt text of its images.

    Every function of this module describes the figure it draws for a reader who cannot
    see it (the result of this run, not only the kind of plot); a figure drawn elsewhere is
    described by its titles.
    """
    described = getattr(figure, "_mnist_book_description", None)
    if described:
        return described
    titles = [figure.get_suptitle()] if figure.get_suptitle() else []
    titles += [ax.get_title() for ax in figure.axes if ax.get_title()]
    return "A figure: " + "; ".join(titles[:3]) if titles else "A figure without a title."


def _describe(figure: Figure, text: str, title: str | None = None) -> None:
    """Set `figure`'s description (see `description`), after its `title` if it has one."""
    figure._mnist_book_description = f"{title}. {text}" if title else text


def _listing(items: Sequence[str], limit: int) -> str:
    """`items` joined by commas, the first `limit` of them and how many more."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
    shown = [str(int(label)) for label in labels[:count]]
    _describe(
        figure,
        f"{count} handwritten digits in a grid of {rows} rows, each titled with its label: "
        f"{_listing(shown, 12)}.",
        title,
    )
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
    sns.barplot(tidy, x="digit", y="share", hue="set", palette=_theme().palette[:2], ax=ax)
    ax.axhline(10, color=_theme().reference, linestyle="--", linewidth=1, label="balanced (10%)")
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
    _describe(
        figure,
        "Bar chart of each digit's share of the training and the test set, against a "
        f"dashed line at a perfectly balanced 10%: {'; '.join(ranges)}.",
    )
    return figure


@_figure_function
def pixel_histogram(images: np.ndarray) -> Figure:
    """Histogram of all pixel intensities, on a log scale: most pixels are background (0)."""
    values = np.asarray(images).ravel()
    counts, edges = np.histogram(values, bins=64, range=(values.min(), values.max()))
    mean = values.mean()
    zero_share = np.mean(values == 0)

    figure, ax = plt.subplots(figsize=(8, 3.6))
    ax.stairs(counts, edges, fill=True, color=_theme().palette[0], alpha=0.85)
    ax.axvline(
        mean, color=_theme().palette[1], linestyle="--", linewidth=1.5, label=f"mean = {mean:.3g}"
    )
    ax.set_yscale("log")
    ax.annotate(
        f"{zero_share:.1%} of all pixels are 0",
        xy=(edges[1], counts[0]),
        xytext=(0.22, 0.93),
        textcoords="axes fraction",
        va="top",
        arrowprops={"arrowstyle": "->", "color": _theme().reference},
    )
    ax.set(
        xlabel="pixel intensity",
        ylabel="number of pixels (log scale)",
        title=f"Pixel intensities of {len(images):,} images",
    )
    ax.grid(axis="y")
    ax.legend(loc="upper right")
    _describe(
        figure,
        f"Histogram of the {values.size:,} pixel intensities of {len(images):,} images, on "
        f"a log scale: {zero_share:.1%} of the pixels are 0 (background) and the mean "
        f"intensity is {mean:.3g}; the rest spread over the whole range, with a peak at the "
        "brightest values (the strokes).",
    )
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
            (metric, "train", _theme().palette[0]),
            (f"val_{metric}", "validation", _theme().palette[1]),
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
    _describe(figure, _curves_text(history), title)
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
        _show_digit(ax, images[index])
        ax.set_title(
            f"pred {predicted} ({probabilities[index, predicted]:.0%})\ntrue {true}",
            fontsize=9,
            pad=3,
            color=_theme().correct if correct else _theme().wrong,
        )
        if not correct:
            _frame(ax, _theme().wrong, width=2.5)
    guesses = probabilities[shown].argmax(axis=1) if len(shown) else np.array([], dtype=int)
    truth = np.asarray(labels)[shown]
    wrong = [f"a {t} read as {p}" for t, p in zip(truth, guesses, strict=True) if t != p]
    verdict = f"{len(wrong)} of the {len(shown)} are wrong" if wrong else "all are right"
    _describe(
        figure,
        f"{len(shown)} digits, each titled with the predicted digit, its probability and the "
        f"true digit: {verdict}" + (f" ({_listing(wrong, 6)})." if wrong else "."),
    )
    return figure


@_figure_function
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
        "linecolor": _theme().background,
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
    _describe(figure, _confusion_text(confusion), title)
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
            color = _theme().correct if predicted == true else _theme().wrong
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
                color=_theme().correct if predicted == true else _theme().wrong,
            )
    wrong = {
        name: int(np.sum(np.asarray(predictions)[indices] != np.asarray(labels)[indices]))
        for name, predictions in predictions_by_model.items()
    }
    counts = ", ".join(f"{name} on {count}" for name, count in wrong.items())
    _describe(
        figure,
        f"{len(indices)} digits, each with its true label and the guess of "
        f"{'each of ' + str(len(names)) + ' models' if len(names) > 1 else names[0]}. "
        f"Wrong guesses: {counts}.",
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
    palette = _theme().palette
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
            color=_theme().on_bar,
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

    _describe(
        figure,
        f"Bar chart of the test accuracy of {len(names)} models"
        + ("" if params is None else " beside their sizes")
        + f": the best is {named(best)}, the worst {named(worst)}.",
    )
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
        palette=_theme().palette[: table.shape[1]],
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
    _describe(
        figure,
        f"Accuracy on each digit for {table.shape[1]} models ({', '.join(map(str, table))}). "
        f"The hardest digit is {means.idxmin()} ({means.min():.1%} on average), the easiest "
        f"{means.idxmax()} ({means.max():.1%}); the lowest point is {lowest[1]} on digit "
        f"{lowest[0]} ({table.loc[lowest]:.1%}).",
    )
    return figure


@_figure_function
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
        ax.axhline(y, color=_theme().muted, linestyle="--", linewidth=0.8)
        kind = "ensemble" if reported.ensemble else "one model"
        ax.annotate(
            f"{reported.label}: {y:.2f}% ({kind}, reported)",
            xy=(1.0, label_y),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=_theme().muted,
        )
    ax.scatter(minutes, percent, s=36, color=_theme().palette[0], zorder=3)
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
    _describe(figure, text)
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
        _frame(ax, _theme().frame, width=0.8)
    for ax in axes[count:]:
        ax.set_axis_off()
    if count == 0:
        figure.text(0.5, 0.5, "no images to show", ha="center", va="center", color=_theme().muted)
    return figure, axes[:count]


def _show_digit(ax: Axes, image: np.ndarray) -> None:
    """Draw one digit in the style's `image.cmap`, from 28x28, 28x28x1 or a flat 784 array."""
    pixels = np.asarray(image).squeeze()
    if pixels.ndim == 1:
        side = math.isqrt(pixels.size)
        pixels = pixels.reshape(side, side)
    ax.imshow(pixels)  # cmap=None: rcParams["image.cmap"], which the style sets


def _frame(ax: Axes, color: str, *, width: float) -> None:
    """Draw all four sides of the axes' frame in `color`."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(color)
        spine.set_linewidth(width)


def _colormap(name: str) -> LinearSegmentedColormap:
    """A sequential matplotlib colormap, such as "Blues", from faint to strong on the theme.

    On white, without its palest fifth, so that no coloured cell is white: larger values are
    darker. On a dark background, reversed and without its darkest part, which would vanish
    into the background: larger values are lighter.
    """
    colors = matplotlib.colormaps[name](np.linspace(*_theme().sequential, 256))
    return LinearSegmentedColormap.from_list(f"{name}_{_theme().name}", colors)


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
