"""How every figure of the site looks, and how it shows itself in a notebook.

`figure_function` makes a drawing function (those of `mnist_book.plotting`) draw in
`STYLE`, applied with `matplotlib.rc_context` so that matplotlib's global settings are never
changed, and return its figure detached from pyplot's list of open figures: a notebook then
displays it once, where it is returned, and a script can `savefig` it.

In a notebook such a figure shows itself as two sharp (2x) PNGs, the figure as returned and
the same figure drawn again in `DARK_STYLE` (light text, white digits on a dark background),
and CSS shows the one that matches the page: mkdocs-material's dark "slate" scheme (with
`docs/stylesheets/figures.css`), JupyterLab's or VS Code's dark themes; the light one
anywhere else. The dark twin is drawn only then, from the same arguments, so a script that
only calls `savefig` does not pay for it. A figure changed after it was returned shows only
its light variant, which could not be redrawn with the change. Both images carry the
figure's `description` as their alt text.

Two drawing helpers keep the figure modules alike: `show_digit` and `frame`.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import html
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ParamSpec

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

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
class Theme:
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


LIGHT = Theme(
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
DARK = Theme(
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
_THEME: contextvars.ContextVar[Theme] = contextvars.ContextVar("_THEME", default=LIGHT)

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


def figure_function(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Make `draw` run in `STYLE`, detach its figure from pyplot and give it a dark twin."""

    @functools.wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        figure = _draw_in(LIGHT, draw, *args, **kwargs)
        # The same class with two more display methods; "FigureClass=" in every function
        # would do the same, less surely.
        figure.__class__ = ThemedFigure
        figure._remember(draw.__name__, functools.partial(_draw_in, DARK, draw, *args, **kwargs))
        return figure

    return styled


def _draw_in(
    theme: Theme, draw: Callable[_P, Figure], /, *args: _P.args, **kwargs: _P.kwargs
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
def _theme_context(theme: Theme) -> Iterator[None]:
    token = _THEME.set(theme)
    try:
        yield
    finally:
        _THEME.reset(token)


def current_theme() -> Theme:
    """The theme being drawn in: the colours a function picks itself come from here."""
    return _THEME.get()


class ThemedFigure(Figure):
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
        self.stale_callback = ThemedFigure._note_change

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
            self._mnist_book_dark_png = _png(self._mnist_book_dark(), DARK)
            self._mnist_book_dark = None  # nor keep the arguments alive any longer
        return self._mnist_book_dark_png

    def _repr_html_(self) -> str:
        """Both variants as <img> tags, classed for CSS to show the one matching the page."""
        return self._html(_png(self, LIGHT))

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
            light = _png(self, LIGHT)
            bundle["text/html"] = self._html(light)
            width, height = _png_size(light)
            bundle["image/png"] = base64.b64encode(light).decode("ascii")
            metadata["image/png"] = {"width": round(width / 2), "height": round(height / 2)}
        display(bundle, metadata=metadata, raw=True)


def _png(figure: Figure, theme: Theme) -> bytes:
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


def describe(figure: Figure, text: str, title: str | None = None) -> None:
    """Set `figure`'s description (see `description`), after its `title` if it has one."""
    figure._mnist_book_description = f"{title}. {text}" if title else text


def show_digit(ax: Axes, image: np.ndarray) -> None:
    """Draw one digit in the style's `image.cmap`, from 28x28, 28x28x1 or a flat 784 array."""
    pixels = np.asarray(image).squeeze()
    if pixels.ndim == 1:
        side = math.isqrt(pixels.size)
        pixels = pixels.reshape(side, side)
    ax.imshow(pixels)  # cmap=None: rcParams["image.cmap"], which the style sets


def frame(ax: Axes, color: str, *, width: float) -> None:
    """Draw all four sides of the axes' frame in `color`."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(color)
        spine.set_linewidth(width)
