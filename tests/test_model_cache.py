"""The model cache's storage: entries written whole, read back exactly, never trusted broken."""

import dataclasses
import json

import filelock
import numpy as np
import pytest

from mnist_book import model_cache
from mnist_book._keras import keras

CONFIG = {"epochs": 1, "seed": 0}


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def _both(stored: dict, model: keras.Model) -> tuple[dict, keras.Model]:
    return stored, model


def _stored(name: str = "tiny") -> dict:
    return {"name": name, "config": CONFIG, "test_accuracy": 0.5, "history": {"loss": [1.0]}}


def test_a_saved_entry_loads_back_with_the_same_result_and_weights(isolated_cache):
    entry = model_cache.entry("tiny", "ab" * 32)
    entry.parent.mkdir(parents=True)
    model = _tiny_model()
    model_cache.save(entry, _stored(), model)

    stored, loaded = model_cache.load(entry, "tiny", CONFIG, _both)

    assert entry.parent == isolated_cache / "models" and entry.name == "tiny-" + "ab" * 10
    assert stored == _stored()
    images = np.arange(6, dtype="float32").reshape(2, 3)
    expected = model.predict(images, verbose=0)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
    assert sorted(p.name for p in entry.parent.iterdir()) == [entry.name]  # no staging left


def test_an_entry_of_another_training_is_discarded_with_a_warning(isolated_cache):
    entry = model_cache.entry("tiny", "cd" * 32)
    entry.parent.mkdir(parents=True)
    model_cache.save(entry, _stored(), _tiny_model())

    with pytest.warns(UserWarning, match="does not match its key"):
        assert model_cache.load(entry, "tiny", {**CONFIG, "epochs": 2}, _both) is None
    assert not entry.exists()
    assert model_cache.load(entry, "tiny", CONFIG, _both) is None  # gone, and no warning now


def test_stored_result_needs_both_the_result_and_the_model(isolated_cache):
    entry = model_cache.entry("tiny", "ef" * 32)
    assert model_cache.stored_result(entry) is None
    entry.mkdir(parents=True)
    (entry / model_cache.RESULT_FILE).write_text(json.dumps(_stored()))
    assert model_cache.stored_result(entry) is None  # half an entry
    _tiny_model().save(entry / model_cache.MODEL_FILE)
    assert model_cache.stored_result(entry) == _stored()
    (entry / model_cache.RESULT_FILE).write_text("{not json")
    assert model_cache.stored_result(entry) is None


def test_a_held_entry_lock_calls_waiting_then_is_acquired(tmp_path):
    entry = tmp_path / "tiny-0123"
    other = filelock.FileLock(f"{entry}.lock")
    other.acquire()
    events = []

    def waiting():
        events.append("waiting")
        other.release()  # the other process finishes

    with model_cache.entry_lock(entry, waiting):
        events.append("held")
        with pytest.raises(filelock.Timeout):
            filelock.FileLock(f"{entry}.lock").acquire(timeout=0)
    assert events == ["waiting", "held"]
    filelock.FileLock(f"{entry}.lock").acquire(timeout=0)  # released on leaving


def test_a_lock_without_a_writable_directory_warns_and_goes_on(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    ran = []
    lock = model_cache.entry_lock(blocker / "models" / "tiny-0123")
    with pytest.warns(UserWarning, match="Cannot lock the model cache"), lock:
        ran.append(True)
    assert ran == [True]


def test_a_stored_result_without_a_field_is_discarded_not_a_crash(isolated_cache):
    from mnist_book import training

    config = training.TrainConfig(epochs=1, batch_size=64)
    entry = model_cache.entry("single_layer", "12" * 32)
    entry.parent.mkdir(parents=True)
    stored = {"name": "single_layer", "config": dataclasses.asdict(config), "history": {}}
    model_cache.save(entry, stored, _tiny_model())  # no test accuracy, loss or seconds

    with pytest.warns(UserWarning, match="KeyError.*retraining single_layer"):
        assert training.load_entry(entry, "single_layer", config) is None
    assert not entry.exists()
