"""The Keras code each seed page shows, copied from the page as a learner copies it, runs.

The listings are the code blocks among a page's outputs (`mnist_book.keras_program.show`),
taken in the page's order as Chromium renders their text; together they are the page's
program, which must train, evaluate and (on the convnet page) save, load and read a digit
in a fresh interpreter with Keras and NumPy alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from listing_runner import run_listing

from mnist_book import data

pytestmark = pytest.mark.browser

LISTINGS = ".jp-OutputArea-output.jp-RenderedMarkdown .highlight pre"
SEED_PAGES = ["single-layer", "hidden-layer", "flatten-layer", "convolutional-network"]


def page_program(visit: Any, path: str) -> str:
    """The listings of the page at `path`, in order, as one program."""
    page = visit().context.new_page()
    page.goto(f"{path}/")
    blocks = page.locator(LISTINGS).all_inner_texts()
    assert blocks, f"{path}: no Keras listing among the page's outputs"
    return "\n\n".join(block.strip() for block in blocks) + "\n"


@pytest.mark.parametrize("path", SEED_PAGES)
def test_a_seed_pages_keras_code_trains_and_predicts_alone(
    visit: Any, site_url: str, path: str, tmp_path: Path
) -> None:
    source = page_program(visit, path)
    for step in ("keras.Sequential(", "model.compile(", "model.fit(", "model.evaluate("):
        assert step in source, f"{path}: the page's Keras code has no {step}"
    output = run_listing(tmp_path, source)
    assert "Test accuracy:" in output
    if "model.save(" in source:
        _, (_, y_test) = data.load_mnist()
        assert f"I read a {y_test[0]}" in output, output
