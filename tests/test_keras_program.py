"""The plain Keras programs the tutorials show: they build the site's models, and they run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from listing_runner import run_listing

from mnist_book import data
from mnist_book._keras import keras
from mnist_book.cache_identity import _without_layer_names
from mnist_book.config import TrainConfig, recipe
from mnist_book.keras_program import KerasProgram, changes, layer_code, program
from mnist_book.models import MODEL_NAMES, build_model


def _built(listing: KerasProgram) -> keras.Model:
    """The compiled model that a listing's data, model and compile parts make."""
    names: dict = {}
    arrays = np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.uint8)
    keras.datasets.mnist.load_data = lambda: (arrays, arrays)  # the test needs no download
    exec("\n\n".join([listing.data, listing.model, listing.compile]), names)
    return names["model"]


def _same(left: object, right: object) -> bool:
    """Equal configurations, floats compared as Keras stores them (float32)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, float) and isinstance(right, float | int):
        return np.float32(left) == np.float32(right)
    return left == right


def _configuration(model: keras.Model) -> list:
    layers = _without_layer_names(model.get_config())["layers"]
    for layer in layers:  # the site seeds augmentation through the run, as the listing does
        layer["config"].pop("seed", None)
    return layers


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_listing_builds_the_sites_model_and_its_optimiser(name: str) -> None:
    config = recipe(name)
    shown = _built(program(name))
    site = build_model(name, config.learning_rate_schedule(), config.steps_per_execution)
    assert _same(_configuration(shown), _configuration(site))
    assert shown.steps_per_execution == site.steps_per_execution
    shown_optimizer, site_optimizer = shown.optimizer.get_config(), site.optimizer.get_config()
    shown_optimizer.pop("name"), site_optimizer.pop("name")
    assert _same(shown_optimizer, site_optimizer)


def test_a_changed_recipe_changes_the_listing() -> None:
    config = TrainConfig(epochs=3, batch_size=64, learning_rate=0.01, schedule="cosine")
    listing = program("hidden_layer", config)
    assert "batch_size=64" in listing.fit and "epochs=3" in listing.fit
    assert "CosineDecay(" in listing.compile and "0.01," in listing.compile
    assert "CosineDecay" not in program("hidden_layer").compile
    assert "steps_per_execution" not in listing.compile
    faster = program("hidden_layer", TrainConfig(steps_per_execution=16))
    assert "steps_per_execution=16" in faster.compile


def test_a_layer_argument_the_listing_omits_is_caught() -> None:
    padded = keras.layers.Conv2D(8, 3, padding="same")
    rebuilt = eval(layer_code(padded), {"layers": keras.layers})
    assert rebuilt.get_config()["padding"] != padded.get_config()["padding"], (
        "if listings learn `padding`, choose another argument this test can catch"
    )
    with pytest.raises(ValueError, match="No listing for a Conv1D layer"):
        layer_code(keras.layers.Conv1D(8, 3))


def test_the_convnet_program_trains_saves_loads_and_reads_a_digit(tmp_path: Path) -> None:
    """The whole program, in a fresh interpreter that cannot import mnist_book, on a slice."""
    output = run_listing(tmp_path, program("convnet", use=True).source)
    assert "Test accuracy:" in output
    _, (_, y_test) = data.load_mnist()
    assert f"I read a {y_test[0]}" in output
    assert (tmp_path / "convnet.keras").is_file()


def test_changes_show_what_a_step_adds_to_a_model() -> None:
    shown = changes(program("convnet").model, program("convnet_augmented").model)
    added = [line for line in shown.splitlines() if line.startswith("+")]
    assert len(added) == 3 and all("Random" in line for line in added)
    assert not [line for line in shown.splitlines() if line.startswith("-")]
    assert shown.splitlines()[0] == "         keras.Input(shape=(28, 28, 1)),"
