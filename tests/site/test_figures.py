"""Figures of executed pages written as files beside the page, loaded lazily."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mnist_book.site import figures


def png(color: str) -> bytes:
    figure, _ = plt.subplots(figsize=(1, 0.5), facecolor=color)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def data_uri(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


def test_images_become_files_named_by_content_with_lazy_loading(tmp_path):
    red, blue = png("red"), png("blue")
    html = (
        f'<p><img class="a" src="{data_uri(red)}" width="50" height="25" alt="red figure"></p>'
        f'<img src="{data_uri(blue)}" alt="blue"/><img src="{data_uri(red)}" alt="again">'
    )
    out = figures.write_figure_files(html, tmp_path)
    assert "base64" not in out
    files = sorted(path.name for path in (tmp_path / "figures").iterdir())
    assert len(files) == 2  # the red figure is written once
    written = {path.read_bytes() for path in (tmp_path / "figures").iterdir()}
    assert written == {figures.lighter_png(red), figures.lighter_png(blue)}
    first = out.split("<img")[1]
    assert 'class="a"' in first and 'width="50" height="25"' in first
    assert 'alt="red figure"' in first
    assert 'loading="lazy"' in first and f'src="figures/{files[0]}"' in out
    # Without a declared size, the PNG's own size is given, so the page does not jump.
    assert 'alt="blue" width="100" height="50" loading="lazy"' in out


def test_other_images_and_text_are_left_alone(tmp_path):
    html = '<img src="figures/x.png" alt="a file"><p>data:image/png;base64,abc</p>'
    assert figures.write_figure_files(html, tmp_path) == html
    assert not (tmp_path / "figures").exists()


def chart_png() -> bytes:
    """A line chart, as matplotlib writes it: RGBA, opaque, antialiased."""
    figure, axes = plt.subplots(figsize=(4, 3))
    for offset, colour in enumerate(["C0", "C1", "C2"]):
        axes.plot(range(10), [x * x / 10 + offset for x in range(10)], "o-", color=colour)
    axes.set_title("Accuracy on each digit")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    plt.close(figure)
    return buffer.getvalue()


def test_an_opaque_figure_is_written_with_a_palette_lighter_and_alike():
    import numpy as np
    from PIL import Image

    chart = chart_png()
    lighter = figures.lighter_png(chart)
    assert len(lighter) < len(chart) * 0.6
    before = np.asarray(Image.open(io.BytesIO(chart)).convert("RGB"), dtype=int)
    after = np.asarray(Image.open(io.BytesIO(lighter)).convert("RGB"), dtype=int)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() < 2  # the same picture, to a few levels on edges
    assert figures.image_size(lighter) == figures.image_size(chart)


def test_a_figure_with_transparency_or_another_format_is_left_as_it_is():
    figure, axes = plt.subplots(figsize=(2, 1))
    axes.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", transparent=True)
    plt.close(figure)
    transparent = buffer.getvalue()
    assert figures.lighter_png(transparent) == transparent
    assert figures.lighter_png(b"GIF89a...") == b"GIF89a..."
