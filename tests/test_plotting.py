"""The figures: what each one draws, and that drawing leaves matplotlib's settings alone."""

import base64
import html
import io
import re

import matplotlib

matplotlib.use("Agg")

import IPython.display
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from mnist_book import figure_style, plotting, records
from mnist_book.figure_style import (
    CORRECT_COLOR,
    DARK_CORRECT_COLOR,
    DARK_WRONG_COLOR,
    WRONG_COLOR,
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
LABELS = np.arange(40) % 10
HISTORY = {
    "loss": [0.9, 0.5, 0.4],
    "accuracy": [0.7, 0.85, 0.9],
    "val_loss": [0.6, 0.5, 0.45],
    "val_accuracy": [0.8, 0.86, 0.88],
}


def probabilities_for(predictions, confidence=0.9):
    probabilities = np.full((len(predictions), 10), (1 - confidence) / 9)
    probabilities[np.arange(len(predictions)), predictions] = confidence
    return probabilities


def image_axes(figure):
    return [ax for ax in figure.axes if ax.images]


def img_tags(html):
    """Each <img> of the HTML as (class, declared width, declared height, decoded PNG, alt)."""
    tags = []
    for tag in re.findall(r"<img [^>]*>", html):
        attributes = dict(re.findall(r'([a-z]+)="([^"]*)"', tag))
        prefix = "data:image/png;base64,"
        assert attributes["src"].startswith(prefix)
        png = base64.b64decode(attributes["src"][len(prefix) :])
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        width, height = int(attributes["width"]), int(attributes["height"])
        tags.append((attributes["class"], width, height, pixels, attributes["alt"]))
    return tags


def luminance(pixels):
    return pixels[..., :3].mean(axis=-1)


def cell_text(ax, row, col):
    """The annotation of heatmap cell (row, col), or None if it has none."""
    for text in ax.texts:
        if text.get_position() == (col + 0.5, row + 0.5):
            return text.get_text()
    return None


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


EVERY_FUNCTION = {
    "sample_grid": lambda: plotting.sample_grid(IMAGES, LABELS),
    "class_distribution": lambda: plotting.class_distribution(LABELS, LABELS[:20]),
    "pixel_histogram": lambda: plotting.pixel_histogram(IMAGES),
    "training_curves": lambda: plotting.training_curves(HISTORY, title="t"),
    "prediction_grid": lambda: plotting.prediction_grid(IMAGES, LABELS, probabilities_for(LABELS)),
    "confusion_heatmap": lambda: plotting.confusion_heatmap(np.eye(10, dtype=int) * 5 + 1),
    "misclassified_gallery": lambda: plotting.misclassified_gallery(
        IMAGES, LABELS, {"a": LABELS, "b": (LABELS + 1) % 10}, [0, 1, 2]
    ),
    "model_comparison": lambda: plotting.model_comparison(["a", "b"], [0.9, 0.99], [10, 1000]),
    "per_class_accuracy_plot": lambda: plotting.per_class_accuracy_plot(
        pd.DataFrame({"a": np.linspace(0.8, 0.9, 10), "b": np.linspace(0.95, 0.99, 10)})
    ),
    "error_vs_minutes": lambda: plotting.error_vs_minutes(
        ["a", "b"], [0.07, 0.008], [0.5, 3.0], published=records.PUBLISHED[:2]
    ),
    "throughput_comparison": lambda: plotting.throughput_comparison(
        ["a", "b"], [1000.0, 600.0], [1.0, 0.6]
    ),
}


@pytest.mark.parametrize("name", EVERY_FUNCTION)
def test_returns_a_figure_without_changing_rcparams_or_registering_it(name):
    before = dict(matplotlib.rcParams)
    figure = EVERY_FUNCTION[name]()
    assert isinstance(figure, Figure)
    assert dict(matplotlib.rcParams) == before
    # Detached from pyplot, so a notebook shows it once, where it is returned.
    assert plt.get_fignums() == []


def test_style_is_applied_inside_the_figures():
    figure = plotting.training_curves(HISTORY)
    ax = figure.axes[0]
    assert not ax.spines["top"].get_visible()
    assert ax.xaxis.get_label().get_fontsize() == figure_style.STYLE["axes.labelsize"]
    assert matplotlib.rcParams["axes.spines.top"]  # the global default is untouched


def test_sample_grid_shows_the_first_images_with_their_labels():
    figure = plotting.sample_grid(IMAGES, LABELS, rows=2, cols=3, title="digits")
    images = image_axes(figure)
    assert len(figure.axes) == 6 and len(images) == 6
    assert [ax.get_title() for ax in images] == ["0", "1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(images[1].images[0].get_array(), IMAGES[1])
    assert images[0].images[0].get_cmap().name == "gray_r"
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in images)
    assert figure.get_suptitle() == "digits"


def test_sample_grid_with_fewer_images_than_cells_hides_the_rest():
    figure = plotting.sample_grid(IMAGES[:5], LABELS[:5], rows=2, cols=4)
    assert len(image_axes(figure)) == 5
    assert sum(ax.axison for ax in figure.axes) == 5


def test_sample_grid_accepts_flattened_images():
    figure = plotting.sample_grid(IMAGES.reshape(40, 784), LABELS, rows=1, cols=2)
    assert image_axes(figure)[0].images[0].get_array().shape == (28, 28)


def test_class_distribution_bars_are_shares_of_each_set():
    train = np.repeat(np.arange(10), 10)  # balanced
    test = np.array([1] * 6 + [7] * 4)
    figure = plotting.class_distribution(train, test)
    (ax,) = figure.axes
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() > 0]
    assert len(heights) == 20
    assert sum(heights[:10]) == pytest.approx(100) and sum(heights[10:]) == pytest.approx(100)
    assert sorted(heights[10:])[-2:] == pytest.approx([40, 60])
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[:2] == ["train (100 images)", "test (10 images)"]


def test_pixel_histogram_is_log_scaled_and_annotates_the_mean_and_zeros():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[:, :14] = 100  # half the pixels at 100: mean 50
    figure = plotting.pixel_histogram(images)
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["mean = 50"]
    assert any(text.get_text() == "50.0% of all pixels are 0" for text in ax.texts)


def test_training_curves_with_validation_two_lines_per_axes():
    figure = plotting.training_curves(HISTORY, title="hidden_layer")
    loss_ax, accuracy_ax = figure.axes
    assert (loss_ax.get_ylabel(), accuracy_ax.get_ylabel()) == ("loss", "accuracy")
    assert len(loss_ax.get_lines()) == 2 and len(accuracy_ax.get_lines()) == 2
    train, validation = accuracy_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(validation.get_ydata(), HISTORY["val_accuracy"])
    assert [text.get_text() for text in loss_ax.get_legend().get_texts()] == ["train", "validation"]
    assert all(float(tick).is_integer() for tick in loss_ax.get_xticks())
    assert figure.get_suptitle() == "hidden_layer"


def test_training_curves_without_validation_one_line_per_axes():
    figure = plotting.training_curves({"loss": [0.5, 0.3], "accuracy": [0.8, 0.9]})
    assert [len(ax.get_lines()) for ax in figure.axes] == [1, 1]
    assert figure.get_suptitle() == ""


def test_training_curves_needs_loss_and_accuracy():
    with pytest.raises(ValueError, match="accuracy"):
        plotting.training_curves({"loss": [0.5]})


def test_prediction_grid_marks_exactly_the_mistakes_in_red():
    predictions = LABELS.copy()
    predictions[[1, 4]] = [7, 0]
    figure = plotting.prediction_grid(
        IMAGES, LABELS, probabilities_for(predictions), rows=2, cols=3
    )
    axes = image_axes(figure)
    assert len(axes) == 6
    red = [i for i, ax in enumerate(axes) if same_color(ax.title.get_color(), WRONG_COLOR)]
    green = [i for i, ax in enumerate(axes) if same_color(ax.title.get_color(), CORRECT_COLOR)]
    assert red == [1, 4] and green == [0, 2, 3, 5]
    assert axes[1].get_title() == "pred 7 (90%)\ntrue 1"
    assert same_color(axes[1].spines["left"].get_edgecolor(), WRONG_COLOR)
    assert not same_color(axes[0].spines["left"].get_edgecolor(), WRONG_COLOR)


def test_prediction_grid_shows_the_given_indices_in_order():
    figure = plotting.prediction_grid(
        IMAGES, LABELS, probabilities_for(LABELS), rows=2, cols=3, indices=[13, 2]
    )
    axes = image_axes(figure)
    assert [ax.get_title().split("\n")[1] for ax in axes] == ["true 3", "true 2"]
    np.testing.assert_array_equal(axes[0].images[0].get_array(), IMAGES[13])


def test_confusion_heatmap_annotates_counts_and_labels_its_axes():
    confusion = np.diag([50, 60, 70])
    confusion[1, 0] = 5
    confusion[2, 1] = 12
    figure = plotting.confusion_heatmap(confusion, title="test set")
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted digit", "True digit")
    assert ax.get_title() == "test set"
    assert cell_text(ax, 1, 0) == "5"
    assert cell_text(ax, 2, 1) == "12"
    assert cell_text(ax, 1, 1) == "60"
    assert cell_text(ax, 0, 1) is None  # no mistakes there: left blank


def test_confusion_heatmap_normalized_rows_as_percentages():
    confusion = np.array([[3, 1], [0, 8]])
    ax = plotting.confusion_heatmap(confusion, normalize=True).axes[0]
    assert cell_text(ax, 0, 0) == "75.0%"
    assert cell_text(ax, 0, 1) == "25.0%"
    assert cell_text(ax, 1, 1) == "100.0%"


def test_misclassified_gallery_colours_each_models_guess():
    predictions = {"single_layer": np.array([9, 1, 2]), "convnet": np.array([0, 1, 5])}
    figure = plotting.misclassified_gallery(IMAGES[:3], LABELS[:3], predictions, [0, 2], cols=4)
    axes = image_axes(figure)
    assert len(axes) == 2
    assert axes[0].get_title() == "true 0"
    guesses = {text.get_text(): text.get_color() for text in axes[0].texts}
    assert list(guesses) == ["single_layer: 9", "convnet: 0"]
    assert same_color(guesses["single_layer: 9"], WRONG_COLOR)
    assert same_color(guesses["convnet: 0"], CORRECT_COLOR)
    third = {text.get_text(): text.get_color() for text in axes[1].texts}
    assert same_color(third["convnet: 5"], WRONG_COLOR)


def test_misclassified_gallery_with_one_model_titles_like_prediction_grid():
    figure = plotting.misclassified_gallery(IMAGES, LABELS, {"convnet": LABELS + 0}, [4])
    (ax,) = image_axes(figure)
    assert ax.get_title() == "pred 4\ntrue 4"
    assert same_color(ax.title.get_color(), CORRECT_COLOR)


def test_model_comparison_annotates_accuracy_and_zooms_in():
    figure = plotting.model_comparison(["small", "big"], [0.925, 0.991])
    (ax,) = figure.axes
    assert [text.get_text() for text in ax.texts] == ["92.50%", "99.10%"]
    assert 80 <= ax.get_xlim()[0] < 92.5 and ax.get_xlim()[1] == 100
    assert [label.get_text() for label in ax.get_yticklabels()] == ["small", "big"]


def test_model_comparison_with_parameters_adds_a_log_scale_panel():
    figure = plotting.model_comparison(["a", "b", "c"], [0.9, 0.95, 0.99], [7_850, 79_510, 34_826])
    accuracy_ax, size_ax = figure.axes
    assert accuracy_ax.get_xscale() == "linear" and size_ax.get_xscale() == "log"
    assert [text.get_text() for text in size_ax.texts] == ["7,850", "79,510", "34,826"]
    with pytest.raises(ValueError, match="Lengths differ"):
        plotting.model_comparison(["a", "b"], [0.9, 0.95], [1])


def test_per_class_accuracy_plot_one_series_per_model_in_percent():
    table = pd.DataFrame(
        {"single_layer": np.linspace(0.85, 0.95, 10), "convnet": np.linspace(0.97, 0.995, 10)},
        index=pd.RangeIndex(10, name="digit"),
    )
    figure = plotting.per_class_accuracy_plot(table)
    (ax,) = figure.axes
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["single_layer", "convnet"]
    assert [label.get_text() for label in ax.get_xticklabels()] == [str(d) for d in range(10)]
    single_layer, convnet = [line for line in ax.get_lines() if len(line.get_ydata())]
    np.testing.assert_allclose(single_layer.get_ydata(), 100 * table["single_layer"])
    np.testing.assert_allclose(convnet.get_ydata(), 100 * table["convnet"])
    assert ax.yaxis.get_major_formatter()(90, 0) == "90%"


@pytest.mark.parametrize("name", EVERY_FUNCTION)
def test_html_holds_a_light_and_a_dark_variant_at_twice_the_resolution(name):
    before = dict(matplotlib.rcParams)
    html = EVERY_FUNCTION[name]()._repr_html_()
    (light_class, *light), (dark_class, *dark) = img_tags(html)
    assert light_class == "mnist-book-figure mnist-book-light"
    assert dark_class == "mnist-book-figure mnist-book-dark"
    for width, height, pixels, _alt in (light, dark):
        # Declared at the 1x size: 2 pixels per CSS pixel on high-DPI screens.
        assert abs(pixels.shape[1] - 2 * width) <= 1 and abs(pixels.shape[0] - 2 * height) <= 1
    assert light[3] == dark[3]  # one description (alt text) for both
    assert light[:2] == dark[:2]  # the same figure, in the same size
    assert luminance(dark[2]).mean() < luminance(light[2]).mean() - 0.25
    # Around the figure, the background: white, and that of mkdocs-material's slate scheme.
    for pixels, background in ((light[2], "white"), (dark[2], "#1E2129")):
        expected = matplotlib.colors.to_rgba(background)
        for corner in (pixels[0, 0], pixels[-1, -1]):
            np.testing.assert_allclose(corner, expected, atol=1 / 255)
    assert dict(matplotlib.rcParams) == before
    assert plt.get_fignums() == []


def test_html_hides_the_dark_variant_unless_the_page_is_dark():
    html = plotting.sample_grid(IMAGES, LABELS, rows=1, cols=2)._repr_html_()
    (css,) = re.findall(r"<style>(.*?)</style>", html)
    assert css.startswith("img.mnist-book-figure.mnist-book-dark{display:none}")
    assert "[data-md-color-scheme=slate] img.mnist-book-figure.mnist-book-dark" in css
    assert "[data-jp-theme-light=false] img.mnist-book-figure.mnist-book-light" in css


def test_digits_are_white_on_black_in_the_dark_variant():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[:, :, :14] = 255  # ink on the left half, background on the right
    figure = plotting.sample_grid(images, LABELS[:2], rows=1, cols=2)
    (_, _, _, light, _), (_, _, _, dark, _) = img_tags(figure._repr_html_())
    ax = image_axes(figure)[0]
    # Where the first digit is in the PNGs: its axes, at 2x, within the tight bounding box.
    figure.canvas.draw()
    box = ax.get_window_extent().transformed(figure.dpi_scale_trans.inverted())
    tight = figure.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
    row = round(2 * figure.dpi * (tight.y1 - (box.y0 + box.y1) / 2))
    ink, background = (
        round(2 * figure.dpi * (box.x0 + f * box.width - tight.x0)) for f in (0.25, 0.75)
    )
    assert luminance(light)[row, ink] < 0.1 and luminance(light)[row, background] > 0.9
    assert luminance(dark)[row, ink] > 0.9 and luminance(dark)[row, background] < 0.1


def test_dark_variant_marks_mistakes_in_light_red_and_green():
    predictions = LABELS.copy()
    predictions[1] = 7
    figure = plotting.prediction_grid(
        IMAGES, LABELS, probabilities_for(predictions), rows=1, cols=2
    )
    dark = image_axes(figure._mnist_book_dark())
    assert same_color(dark[0].title.get_color(), DARK_CORRECT_COLOR)
    assert same_color(dark[1].title.get_color(), DARK_WRONG_COLOR)
    assert same_color(dark[1].spines["left"].get_edgecolor(), DARK_WRONG_COLOR)
    assert dark[0].images[0].get_cmap().name == "gray"
    # The returned figure is still the light one.
    assert same_color(image_axes(figure)[1].title.get_color(), WRONG_COLOR)


def test_dark_variant_is_drawn_only_when_displayed(monkeypatch):
    calls = []
    draw_in = figure_style._draw_in

    def counted(theme, *args, **kwargs):
        calls.append(theme.name)
        return draw_in(theme, *args, **kwargs)

    monkeypatch.setattr(figure_style, "_draw_in", counted)
    figure = plotting.training_curves(HISTORY)
    figure.savefig(io.BytesIO(), format="png")
    assert calls == ["light"]
    figure._repr_html_()
    figure._repr_html_()
    assert calls == ["light", "dark"]


def test_a_figure_changed_after_it_was_returned_shows_only_its_light_variant():
    figure = plotting.training_curves(HISTORY)
    figure.savefig(io.BytesIO(), format="png")  # saving is no change
    assert len(img_tags(figure._repr_html_())) == 2
    figure.axes[0].set_title("changed")
    ((classes, *_),) = img_tags(figure._repr_html_())
    assert classes == "mnist-book-figure"  # shown whatever the page's scheme
    assert "<style>" not in figure._repr_html_()


def test_ipython_displays_the_html_and_a_2x_png_and_nothing_else(monkeypatch):
    from IPython.core.formatters import DisplayFormatter

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    figure = plotting.sample_grid(IMAGES, LABELS, rows=1, cols=2)
    # The figure displays itself: IPython's own formatters, its PNG among them, do not run.
    assert DisplayFormatter().format(figure) == ({}, {})
    ((bundle,), options) = shown[0]
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert options["raw"]
    assert len(img_tags(bundle["text/html"])) == 2
    size = options["metadata"]["image/png"]
    pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert abs(pixels.shape[1] - 2 * size["width"]) <= 1


def test_figures_still_pickle():
    import pickle

    figure = plotting.sample_grid(IMAGES, LABELS, rows=1, cols=2)
    copy = pickle.loads(pickle.dumps(figure))
    assert isinstance(copy, Figure)
    assert len(img_tags(copy._repr_html_())) == 1  # what the twin was drawn from is not kept


def test_plain_pyplot_cells_still_display_after_a_plotting_call(tmp_path):
    """In a notebook, using this module must not switch pyplot's interactive display off."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np\nfrom mnist_book import plotting\n"
            "plotting.class_distribution(np.array([0, 1, 1]), np.array([1, 2]))"
        ),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(cwd=str(tmp_path))
    later = notebook.cells[1].outputs
    assert any("image/png" in output.get("data", {}) for output in later), later


# Descriptions: each figure's alt text says what it shows, with the figure's own numbers.


@pytest.mark.parametrize("name", EVERY_FUNCTION)
def test_every_figure_is_described_and_its_images_carry_the_description(name):
    figure = EVERY_FUNCTION[name]()
    text = figure_style.description(figure)
    assert len(text) > 60 and name.replace("_", " ") not in text.lower()
    assert {html.unescape(tag[4]) for tag in img_tags(figure._repr_html_())} == {text}


def test_training_curves_description_gives_final_accuracies_and_the_gap():
    text = figure_style.description(plotting.training_curves(HISTORY, title="convnet"))
    assert text.startswith("convnet. Loss and accuracy over 3 epochs")
    assert "90.00% training accuracy and 88.00% validation accuracy" in text
    assert "ends 2.0% above validation accuracy" in text


def test_training_curves_description_names_a_divergence():
    history = {
        "loss": [0.5, 0.3, 0.2, 0.1],
        "accuracy": [0.85, 0.9, 0.93, 0.97],
        "val_loss": [0.5, 0.3, 0.4, 0.6],
        "val_accuracy": [0.85, 0.9, 0.9, 0.89],
    }
    text = figure_style.description(plotting.training_curves(history))
    assert "The curves diverge: the validation loss was lowest at epoch 2 (0.300)" in text
    assert "rose to 0.600" in text


def test_training_curves_description_when_the_curves_stay_together():
    history = {**HISTORY, "val_accuracy": [0.8, 0.86, 0.895]}
    text = figure_style.description(plotting.training_curves(history))
    assert text.endswith("stay together: no sign of overfitting.")
    no_validation = {"loss": [0.5], "accuracy": [0.8]}
    figure = plotting.training_curves(no_validation)
    assert "(no validation data)" in figure_style.description(figure)


def test_prediction_grid_description_counts_and_names_the_mistakes():
    predictions = LABELS.copy()
    predictions[[1, 4]] = [7, 9]
    figure = plotting.prediction_grid(
        IMAGES, LABELS, probabilities_for(predictions), rows=1, cols=6
    )
    assert figure_style.description(figure) == (
        "6 digits, each titled with the predicted digit, its probability and the true digit: "
        "2 of the 6 are wrong (a 1 read as 7, a 4 read as 9)."
    )
    right = plotting.prediction_grid(IMAGES, LABELS, probabilities_for(LABELS), rows=1, cols=3)
    assert figure_style.description(right).endswith("true digit: all are right.")


def test_confusion_heatmap_description_names_the_largest_mistakes_in_order():
    confusion = np.eye(10, dtype=int) * 90
    confusion[4, 9], confusion[7, 1], confusion[3, 5], confusion[2, 8] = 12, 7, 9, 1
    text = figure_style.description(plotting.confusion_heatmap(confusion, title="m: test set"))
    assert text.startswith("m: test set. Confusion matrix of 929 images")
    assert "96.88% lie on the diagonal" in text
    assert text.endswith(
        "The largest mistakes: 4 read as 9 (12 times), 3 read as 5 (9 times), "
        "7 read as 1 (7 times)."
    )
    perfect = figure_style.description(plotting.confusion_heatmap(np.eye(10, dtype=int)))
    assert perfect.endswith("There are no mistakes.")


def test_model_comparison_description_names_the_best_and_the_worst():
    figure = plotting.model_comparison(["a", "b", "c"], [0.95, 0.99, 0.9], [10, 2000, 30])
    assert figure_style.description(figure).endswith(
        "the best is b (99.00%, 2,000 parameters), the worst c (90.00%, 30 parameters)."
    )


def test_per_class_accuracy_description_names_the_hardest_and_easiest_digits():
    table = pd.DataFrame({"a": np.full(10, 0.95), "b": np.full(10, 0.97)})
    table.loc[8, "a"], table.loc[1, "b"] = 0.80, 1.0
    text = figure_style.description(plotting.per_class_accuracy_plot(table))
    assert "The hardest digit is 8 (88.5% on average), the easiest 1 (97.5%)" in text
    assert "the lowest point is a on digit 8 (80.0%)" in text


def test_gallery_description_counts_each_models_wrong_guesses():
    figure = plotting.misclassified_gallery(
        IMAGES, LABELS, {"a": LABELS, "b": (LABELS + 1) % 10}, [0, 1, 2]
    )
    assert figure_style.description(figure).endswith("Wrong guesses: a on 0, b on 3.")


def test_data_figures_describe_their_numbers():
    grid = figure_style.description(plotting.sample_grid(IMAGES, LABELS, rows=2, cols=8))
    assert grid.endswith("titled with its label: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1 and 4 more.")
    labels = np.array([0] * 30 + [1] * 70)
    shares = figure_style.description(plotting.class_distribution(labels, labels))
    assert "in the training set (100 images) from 0.0% (digit 2) to 70.0% (digit 1)" in shares
    zeros = np.zeros((4, 28, 28), dtype=np.uint8)
    zeros[:, 0, 0] = 255
    histogram = figure_style.description(plotting.pixel_histogram(zeros))
    assert "Histogram of the 3,136 pixel intensities of 4 images" in histogram
    assert "99.9% of the pixels are 0" in histogram


def test_a_figure_drawn_elsewhere_is_described_by_its_titles():
    figure, ax = plt.subplots()
    ax.set_title("hand-made")
    assert figure_style.description(figure) == "A figure: hand-made"


def test_error_vs_minutes_places_models_and_marks_published_results_as_reported():
    figure = plotting.error_vs_minutes(
        ["fast", "accurate"], [0.05, 0.004], [0.25, 12.0], published=records.PUBLISHED
    )
    (ax,) = figure.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), [[0.25, 5.0], [12.0, 0.4]])
    lines = sorted(line.get_ydata()[0] for line in ax.lines)
    assert lines == pytest.approx(sorted(100 * r.error for r in records.PUBLISHED))
    labels = [text.get_text() for text in ax.texts]
    assert "Ciresan et al. 2011: 0.35% (one model, reported)" in labels
    assert "Byerly et al. 2020 (ensemble): 0.13% (ensemble, reported)" in labels
    label_heights = sorted(
        np.log10(text.xy[1]) for text in ax.texts if "reported" in text.get_text()
    )
    assert min(np.diff(label_heights)) >= 0.07 - 1e-9  # labels of close results do not overlap
    text = figure_style.description(figure)
    assert "The fastest, fast, trained in 0.2 minutes to 5.00% error" in text
    assert "the most accurate, accurate, reached 0.40% in 12.0 minutes" in text
    assert "Ciresan et al. 2011 0.35%" in text


def test_published_results_are_fractions_with_their_sources():
    assert all(0 < r.error < 0.01 and r.accuracy == 1 - r.error for r in records.PUBLISHED)
    assert all(r.source and r.method for r in records.PUBLISHED)
    single_best = min(r.error for r in records.PUBLISHED if not r.ensemble)
    assert single_best == pytest.approx(0.0017)


def test_throughput_comparison_draws_each_set_up_against_the_first():
    names = ["one process", "2 devices", "2 workers"]
    figure = plotting.throughput_comparison(names, [10_000.0, 9_500.0, 3_000.0], [1.0, 0.95, 0.3])
    (ax,) = figure.axes
    assert [label.get_text() for label in ax.get_yticklabels()] == names
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [10_000.0, 9_500.0, 3_000.0]
    (baseline,) = ax.lines
    assert list(baseline.get_xdata()) == [10_000.0, 10_000.0]  # dashed, at the first's rate
    labels = [text.get_text() for text in ax.texts]
    assert labels == [
        "10,000 images/s, 1.00x",
        "9,500 images/s, 0.95x",
        "3,000 images/s, 0.30x",
    ]
    # A bar too short for its label has it beside it, the others inside.
    assert [text.get_horizontalalignment() for text in ax.texts] == ["right", "right", "left"]
    text = figure_style.description(figure)
    assert "against the first, one process, at 10,000: 2 devices 9,500 (0.95x)" in text
    assert "2 workers 3,000 (0.30x). The fastest is one process." in text
    faster = plotting.throughput_comparison(names[:2], [1_000.0, 1_800.0], [1.0, 1.8])
    assert "1,800 (1.80x). The fastest is 2 devices." in figure_style.description(faster)
    with pytest.raises(ValueError, match="Lengths differ"):
        plotting.throughput_comparison(names, [1.0, 2.0], [1.0, 2.0])
