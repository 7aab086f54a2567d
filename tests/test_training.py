"""Training on a slice of the real data, and the trained-model cache."""

import dataclasses
import importlib
import subprocess
import sys
import textwrap
import threading
import time

import filelock
import numpy as np
import pytest

from mnist_book import cache_identity, config, data, model_cache, models, run_log, training
from mnist_book.config import TrainConfig, recipe
from mnist_book.paths import RUN_LOG_ENV
from mnist_book.training import cache_key, train

SMALL = TrainConfig(epochs=2, batch_size=64, train_size=3_000)


@pytest.fixture
def quiet_train(isolated_cache):
    """`train` that collects its printed lines instead of printing them."""
    lines: list[str] = []

    def run(name="single_layer", config=SMALL, **kwargs):
        lines.clear()
        return train(name, config, log=lines.append, **kwargs), list(lines)

    return run


def test_small_training_beats_chance_by_far(quiet_train):
    result, lines = quiet_train("hidden_layer")
    assert result.test_accuracy > 0.80  # chance is 0.10
    assert result.params == 79_510
    assert not result.from_cache
    assert [line.split(":")[0] for line in lines if line.startswith("Epoch")] == [
        "Epoch  1/2",
        "Epoch  2/2",
    ]
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert all(len(values) == 2 for values in result.history.values())


def test_second_identical_training_is_a_cache_load(quiet_train, monkeypatch):
    first, trained_lines = quiet_train()

    def no_training(*args, **kwargs):
        raise AssertionError("retrained although the cache holds this training")

    monkeypatch.setattr(training, "_train_and_evaluate", no_training)
    second, lines = quiet_train()
    assert second.from_cache
    assert second.test_accuracy == first.test_accuracy
    assert second.history == first.history
    # Outside a build, the load is said first, named by what sets SMALL apart from
    # single_layer's recipe (TrainingRecord.label); then the training's own lines again.
    said = "Loaded single_layer (2 epochs, batch 64, the first 3,000 training images) from the"
    assert said + " cache" in lines[0]
    assert lines[1:] == trained_lines
    for saved, loaded in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, loaded)


def test_a_page_shows_the_training_whether_it_ran_or_came_from_the_cache(
    quiet_train, tmp_path, monkeypatch
):
    """Under a build (a run log), a cache load says nothing of the cache: the page shows the
    training's header, epoch lines and test result, as when it trained; the run log has it."""
    log_path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log_path))
    _, trained = quiet_train()
    second, loaded = quiet_train()
    assert second.from_cache
    assert loaded == trained
    assert trained[0] == "Training single_layer (7,850 parameters) for 2 epochs."
    assert [line[:10] for line in trained[1:]] == ["Epoch  1/2", "Epoch  2/2", "Test accur"]
    assert not [line for line in loaded if "cache" in line.lower()]
    kinds = [event.kind for event in run_log.read(log_path)[0]]
    assert kinds[-2:] == [run_log.LOADED, run_log.RESULT]


def test_another_config_is_a_cache_miss(quiet_train):
    quiet_train()
    other, _ = quiet_train(config=TrainConfig(epochs=2, batch_size=64, train_size=3_000, seed=1))
    assert not other.from_cache


def test_cache_key_covers_name_and_config():
    assert cache_key("single_layer", SMALL) == cache_key("single_layer", SMALL)
    assert cache_key("single_layer", SMALL) != cache_key("hidden_layer", SMALL)
    assert cache_key("single_layer", SMALL) != cache_key(
        "single_layer", TrainConfig(epochs=3, batch_size=64, train_size=3_000)
    )


def test_cache_key_is_the_same_in_another_process():
    """Keras numbers layer names per process; the key must not see them."""
    models.build_model("convnet")  # advance this process's layer counters
    code = (
        "from mnist_book.training import cache_key; from mnist_book.config import recipe; "
        "print(cache_key('convnet', recipe('convnet')))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == cache_key("convnet", recipe("convnet"))


def test_cache_key_follows_the_onednn_setting(monkeypatch):
    """oneDNN's kernels move the last digits: a model trained without them is another model."""
    with_onednn = cache_key("single_layer", SMALL)
    monkeypatch.setattr(cache_identity, "ONEDNN_OPTS", "0")
    assert cache_key("single_layer", SMALL) != with_onednn


def test_cache_key_follows_the_architecture(monkeypatch):
    before = cache_key("hidden_layer", SMALL)
    spec = models.MODELS["hidden_layer"]
    wider = dataclasses.replace(
        spec,
        build_layers=lambda: [
            models.layers.Dense(101, activation="relu"),
            models.layers.Dense(10, activation="sigmoid"),
        ],
    )
    monkeypatch.setitem(models.MODELS, "hidden_layer", wider)
    assert cache_key("hidden_layer", SMALL) != before


def test_cache_key_follows_the_training_procedure(monkeypatch):
    before = cache_key("single_layer", SMALL)

    def fit_differently(name, config, callbacks):
        return training._fit(name, dataclasses.replace(config, seed=config.seed + 1), callbacks)

    procedure = tuple(
        fit_differently if step is training._fit else step for step in training.TRAINING_PROCEDURE
    )
    monkeypatch.setattr(training, "TRAINING_PROCEDURE", procedure)
    assert cache_key("single_layer", SMALL) != before


def test_a_custom_layers_key_follows_its_whole_module(tmp_path, monkeypatch):
    """A layer's helpers outside its class determine its training too (`mnist_book.distortion`)."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def fingerprint(version, source):
        path = tmp_path / f"layer_module_{version}.py"
        path.write_text(textwrap.dedent(source))
        return cache_identity.code_fingerprint(importlib.import_module(path.stem))

    original = fingerprint(
        1,
        '''
        """A module."""
        def helper(x):
            return x + 1
        class Layer:
            def call(self, x):
                return helper(x)
        ''',
    )
    documented = fingerprint(
        2,
        '''
        """The same module, documented."""
        def helper(x):
            """Add one."""
            return x + 1  # one
        class Layer:
            def call(self, x):
                return helper(x)
        ''',
    )
    helper_changed = fingerprint(
        3,
        '''
        """A module."""
        def helper(x):
            return x + 2
        class Layer:
            def call(self, x):
                return helper(x)
        ''',
    )
    assert original == documented
    assert original != helper_changed


def test_code_fingerprint_ignores_docstrings_comments_and_layout_only():
    def original(x):
        """Add one."""
        return x + 1

    def reworded(x):
        """Add one to x, documented at length."""
        # A comment.
        return x + 1

    def changed(x):
        """Add one."""
        return x + 2

    fingerprint = cache_identity.code_fingerprint
    assert fingerprint(original) == fingerprint(reworded)
    assert fingerprint(original) != fingerprint(changed)


def _only_entry(cache):
    (entry,) = [path for path in (cache / "models").iterdir() if path.is_dir()]
    return entry


def test_corrupt_cached_model_is_discarded_and_retrained(quiet_train, isolated_cache):
    quiet_train()
    (_only_entry(isolated_cache) / "model.keras").write_bytes(b"not a keras file")
    with pytest.warns(UserWarning, match="Discarding the unreadable cached model"):
        again, _ = quiet_train()
    assert not again.from_cache
    assert again.test_accuracy > 0.5
    third, _ = quiet_train()
    assert third.from_cache  # the retrained model replaced the corrupt entry


def test_half_written_entry_is_not_trusted(quiet_train, isolated_cache):
    quiet_train()
    (_only_entry(isolated_cache) / "result.json").unlink()
    with pytest.warns(UserWarning, match="retraining single_layer"):
        again, _ = quiet_train()
    assert not again.from_cache


def test_unwritable_cache_warns_and_still_trains(quiet_train, isolated_cache, monkeypatch):
    blocker = isolated_cache / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("MNIST_BOOK_CACHE_DIR", str(blocker))
    with pytest.warns(UserWarning, match="MNIST_BOOK_CACHE_DIR"):
        result, _ = quiet_train()
    assert result.test_accuracy > 0.5


def test_trainings_take_turns_on_one_machine(quiet_train, isolated_cache):
    """While another process trains, a training waits, and says so, instead of sharing the CPU."""
    lines: list[str] = []
    finished = threading.Event()
    other = filelock.FileLock(isolated_cache / "models" / "training.lock")
    (isolated_cache / "models").mkdir()
    with other:
        worker = threading.Thread(
            target=lambda: (train("single_layer", SMALL, log=lines.append), finished.set())
        )
        worker.start()
        time.sleep(3)
        assert lines[:2] == [
            "Training single_layer (7,850 parameters) for 2 epochs.",
            "Waiting for another training to finish: one at a time uses the CPU best.",
        ]
        assert not finished.is_set()
    worker.join(timeout=120)
    assert finished.is_set() and lines[-1].startswith("Test accuracy")


def test_the_same_training_under_way_elsewhere_is_waited_for(isolated_cache, tmp_path, monkeypatch):
    """Two pages asking for one model: the second waits, and its run log says so; the page
    (which a reader sees) does not, and shows the training as if it had trained it."""
    log_path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log_path))
    lines: list[str] = []
    results = []
    (isolated_cache / "models").mkdir()
    entry = model_cache.entry("single_layer", cache_key("single_layer", SMALL))
    with filelock.FileLock(f"{entry}.lock"):
        worker = threading.Thread(
            target=lambda: results.append(train("single_layer", SMALL, log=lines.append))
        )
        worker.start()
        time.sleep(3)
        assert [event.kind for event in run_log.read(log_path)[0]] == [run_log.WAITING]
        assert lines == []
        assert not results
    worker.join(timeout=120)
    assert results and results[0].test_accuracy > 0.5
    assert lines[0] == "Training single_layer (7,850 parameters) for 2 epochs."
    assert not [line for line in lines if "Waiting" in line]


def test_a_wait_is_said_outside_a_build(isolated_cache, monkeypatch):
    """On the command line (no run log), whoever waits is told why."""
    monkeypatch.delenv(RUN_LOG_ENV, raising=False)
    lines: list[str] = []
    (isolated_cache / "models").mkdir()
    entry = model_cache.entry("single_layer", cache_key("single_layer", SMALL))
    with filelock.FileLock(f"{entry}.lock"):
        worker = threading.Thread(target=lambda: train("single_layer", SMALL, log=lines.append))
        worker.start()
        time.sleep(3)
        assert lines == ["Waiting for another process that trains single_layer the same way."]
    worker.join(timeout=120)


def test_a_long_training_prints_about_twenty_epoch_lines_with_the_first_and_last():
    assert [e + 1 for e in range(15) if training.epoch_shown(e, 15)] == list(range(1, 16))
    assert [e + 1 for e in range(40) if training.epoch_shown(e, 40)] == [1, *range(2, 41, 2)]
    shown = [e + 1 for e in range(45) if training.epoch_shown(e, 45)]
    assert shown[:3] == [1, 3, 6] and shown[-2:] == [42, 45] and len(shown) == 16


def test_run_log_records_progress_and_the_result(quiet_train, tmp_path, monkeypatch):
    log_path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log_path))
    result, _ = quiet_train()
    events, _ = run_log.read(log_path)
    assert [event.kind for event in events] == ["training", "epoch", "epoch", "result"]
    assert events[0] == run_log.Event(run_log.TRAINING, "single_layer", epochs=2)
    assert events[2].epoch == 2 and 0 < events[2].val_accuracy <= 1
    (record,) = run_log.results(log_path)
    assert record == result.record  # the whole record, history and cache key included
    assert record.name == "single_layer" and record.params == 7_850 and record.epochs == 2
    assert record.cache_key == cache_key("single_layer", SMALL)
    quiet_train()  # from the cache now
    assert [event.kind for event in run_log.read(log_path)[0]][4:] == ["loaded", "result"]


def test_same_seed_reproduces_the_result_exactly(quiet_train):
    """On CPU with oneDNN, a rerun gives the same metrics to the last bit."""
    first, _ = quiet_train(use_cache=False)
    second, _ = quiet_train(use_cache=False)
    assert (first.test_accuracy, first.test_loss) == (second.test_accuracy, second.test_loss)
    del first.history["seconds"], second.history["seconds"]
    assert first.history == second.history


def test_every_model_has_a_recipe():
    assert {name: recipe(name).epochs >= 1 for name in config.RECIPES} == dict.fromkeys(
        models.MODEL_NAMES, True
    )


def test_cosine_schedule_decays_the_learning_rate_to_zero(quiet_train):
    config = TrainConfig(epochs=2, batch_size=64, train_size=3_000, schedule="cosine")
    result, _ = quiet_train(config=config)
    optimizer = result.model.optimizer
    steps = int(optimizer.iterations.numpy())
    assert steps == 2 * (2_700 // 64)  # every step of both epochs: whole batches
    assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert result.test_accuracy > 0.5


def test_warm_up_rises_linearly_then_the_cosine_decays_to_zero():
    config = TrainConfig(epochs=4, batch_size=100, schedule="cosine", warmup_epochs=1.0)
    schedule = config.learning_rate_schedule(fitted=900)  # 9 steps per epoch
    rates = [float(schedule(step)) for step in (0, 4, 9, 18, 36)]
    assert rates[0] == 0.0 and rates[1] == pytest.approx(4 / 9 * 1e-3)
    assert rates[2] == pytest.approx(1e-3)  # the peak, at the end of the warm-up
    assert rates[2] > rates[3] > rates[4] and rates[4] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=0),
        dict(batch_size=0),
        dict(validation_split=1.0),
        dict(train_size=0),
        dict(schedule="linear"),
        dict(warmup_epochs=1.0),  # warm-up belongs to the cosine schedule
        dict(schedule="cosine", warmup_epochs=-1.0),
        dict(schedule="cosine", epochs=2, warmup_epochs=2.0),
    ],
)
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_full_disk_while_caching_warns_and_leaves_nothing_half_written(
    quiet_train, isolated_cache, monkeypatch
):
    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training.keras.Model, "save", disk_full)
    with pytest.warns(UserWarning, match="No space left on device.*not cached"):
        result, _ = quiet_train()
    assert result.test_accuracy > 0.5
    assert [path.name for path in (isolated_cache / "models").iterdir() if path.is_dir()] == []


def test_validation_data_is_what_the_training_validated_on(quiet_train):
    result, _ = quiet_train("single_layer", TrainConfig(epochs=1, train_size=3_001))
    (x_train, y_train), _ = data.load_mnist()
    images, labels = result.config.validation_data(x_train, y_train)
    assert len(images) == len(labels) == 301  # Keras rounds the training part down
    scores = result.evaluate(images, labels)
    assert scores.accuracy == pytest.approx(result.history["val_accuracy"][-1], abs=1e-6)
    everything = TrainConfig(validation_split=0.1).validation_data(x_train, y_train)
    np.testing.assert_array_equal(everything[1], y_train[54_000:])


def test_augmented_training_is_deterministic_for_a_seed(quiet_train):
    config = TrainConfig(epochs=1, batch_size=64, train_size=1_000)
    first, _ = quiet_train("convnet_augmented", config, use_cache=False)
    second, _ = quiet_train("convnet_augmented", config, use_cache=False)
    assert first.history["loss"] == second.history["loss"]
    np.testing.assert_array_equal(first.model.get_weights()[0], second.model.get_weights()[0])


def test_trained_loads_another_pages_model_silently_or_trains_it(monkeypatch, capsys):
    loaded = object()
    monkeypatch.setattr(training, "load_cached", lambda name: loaded)
    monkeypatch.setattr(training, "train", lambda name: pytest.fail("must not train"))
    assert training.trained("convnet") is loaded
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(training, "load_cached", lambda name: None)
    monkeypatch.setattr(training, "train", lambda name: f"trained {name}")
    assert training.trained("convnet") == "trained convnet"


def test_a_build_that_must_not_train_names_the_model_and_key_and_still_loads(
    quiet_train, monkeypatch
):
    from mnist_book.paths import REQUIRE_CACHED_ENV

    trained_once, _ = quiet_train()
    monkeypatch.setenv(REQUIRE_CACHED_ENV, "1")
    loaded, _ = quiet_train()  # in the cache: loads, trains nothing
    assert loaded.from_cache and loaded.test_accuracy == trained_once.test_accuracy
    other = dataclasses.replace(SMALL, seed=5)
    with pytest.raises(model_cache.TrainingRefused) as refused:
        quiet_train(config=other)
    message = str(refused.value)
    assert "single_layer" in message and cache_key("single_layer", other) in message
    assert REQUIRE_CACHED_ENV in message
    assert model_cache.stored_record(training.cache_entry("single_layer", other)) is None
    monkeypatch.setenv(REQUIRE_CACHED_ENV, "0")  # "0" allows training again
    assert not quiet_train(config=other)[0].from_cache
