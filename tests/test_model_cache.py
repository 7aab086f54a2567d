"""The model cache's storage: entries written whole, read back exactly, never trusted broken."""

import json
import warnings
from dataclasses import asdict, replace

import filelock
import numpy as np
import pytest
from made_records import made_record

from mnist_book import model_cache
from mnist_book._keras import keras
from mnist_book.config import TrainConfig
from mnist_book.results import TrainingRecord

CONFIG = TrainConfig(epochs=1, seed=0)


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def _record(name: str = "tiny", config: TrainConfig = CONFIG) -> TrainingRecord:
    return made_record(name=name, config=config, images_per_epoch=config.images_per_epoch())


def test_a_saved_entry_loads_back_with_the_same_result_and_weights(isolated_cache):
    entry = model_cache.entry("tiny", "ab" * 32)
    entry.parent.mkdir(parents=True)
    model = _tiny_model()
    model_cache.save(entry, _record(), model)

    record, loaded = model_cache.load(entry, "tiny", CONFIG)

    assert entry.parent == isolated_cache / "models" and entry.name == "tiny-" + "ab" * 10
    assert record == _record()
    assert json.loads((entry / model_cache.RESULT_FILE).read_text()) == _record().to_json()
    images = np.arange(6, dtype="float32").reshape(2, 3)
    expected = model.predict(images, verbose=0)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
    assert sorted(p.name for p in entry.parent.iterdir()) == [entry.name]  # no staging left


def test_an_entry_of_another_training_is_discarded_with_a_warning(isolated_cache):
    entry = model_cache.entry("tiny", "cd" * 32)
    entry.parent.mkdir(parents=True)
    model_cache.save(entry, _record(), _tiny_model())

    with pytest.warns(UserWarning, match="does not match its key"):
        assert model_cache.load(entry, "tiny", replace(CONFIG, epochs=2)) is None
    assert not entry.exists()
    assert model_cache.load(entry, "tiny", CONFIG) is None  # gone, and no warning now


def test_stored_record_needs_both_the_result_and_the_model(isolated_cache):
    entry = model_cache.entry("tiny", "ef" * 32)
    assert model_cache.stored_record(entry) is None
    entry.mkdir(parents=True)
    (entry / model_cache.RESULT_FILE).write_text(json.dumps(_record().to_json()))
    assert model_cache.stored_record(entry) is None  # half an entry
    _tiny_model().save(entry / model_cache.MODEL_FILE)
    assert model_cache.stored_record(entry) == _record()
    (entry / model_cache.RESULT_FILE).write_text("{not json")
    assert model_cache.stored_record(entry) is None


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

    config = TrainConfig(epochs=1, batch_size=64)
    entry = model_cache.entry("single_layer", "12" * 32)
    entry.parent.mkdir(parents=True)
    model_cache.save(entry, _record("single_layer", config), _tiny_model())
    stored = _record("single_layer", config).to_json()
    for field in ("test_accuracy", "test_loss", "train_seconds"):
        del stored[field]
    (entry / model_cache.RESULT_FILE).write_text(json.dumps(stored))

    with pytest.warns(UserWarning, match="KeyError.*retraining single_layer"):
        assert training.load_entry(entry, "single_layer", config) is None
    assert not entry.exists()


def test_an_entry_of_an_unknown_schema_is_discarded_with_a_warning(isolated_cache):
    """A result written by a newer mnist-book is never guessed at: the model is retrained."""
    entry = model_cache.entry("tiny", "34" * 32)
    entry.parent.mkdir(parents=True)
    model_cache.save(entry, _record(), _tiny_model())
    (entry / model_cache.RESULT_FILE).write_text(json.dumps({**_record().to_json(), "schema": 99}))
    assert model_cache.stored_record(entry) is None  # not readable, and not discarded either
    assert entry.exists()

    with pytest.warns(UserWarning, match=r"RecordError.*schema 99.*retraining tiny"):
        assert model_cache.load(entry, "tiny", CONFIG) is None
    assert not entry.exists()


def test_an_entry_of_schema_1_still_loads(isolated_cache):
    """A cache written before records had a schema is read, not retrained."""
    entry = model_cache.entry("tiny", "56" * 32)
    entry.parent.mkdir(parents=True)
    model = _tiny_model()
    model_cache.save(entry, _record(), model)
    new = _record()
    old = {  # what TrainResult.stored() wrote
        "name": "tiny",
        "test_accuracy": new.test_accuracy,
        "test_loss": new.test_loss,
        "epochs": 1,
        "train_seconds": new.train_seconds,
        "params": new.params,
        "config": asdict(CONFIG),
        "history": new.history,
    }
    (entry / model_cache.RESULT_FILE).write_text(json.dumps(old))

    expected = replace(_record(), cache_key=None, images_per_epoch=CONFIG.fitted_images())
    assert model_cache.stored_record(entry) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read quietly, not discarded
        record, loaded = model_cache.load(entry, "tiny", CONFIG)
    assert record == expected
    assert loaded.count_params() == model.count_params() == 8
    assert entry.exists()
