"""Training records as JSON: exact round trips, schema 1 read on purpose, anything else refused."""

import json
from dataclasses import asdict, replace

import pytest

from mnist_book.config import RECIPES, TrainConfig, recipe
from mnist_book.results import (
    SCHEMA,
    Distribution,
    RecordError,
    TrainingRecord,
    config_changes,
)

CONFIG = TrainConfig(epochs=2, batch_size=64, train_size=2_000)
HISTORY = {
    "loss": [0.61, 0.32],
    "accuracy": [0.83, 0.91],
    "val_loss": [0.41, 0.30],
    "val_accuracy": [0.88, 0.92],
    "seconds": [1.5, 2.5],
}
TWO_DEVICES = Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1"))

RECORD = TrainingRecord(
    name="single_layer",
    config=CONFIG,
    test_accuracy=0.9012,
    test_loss=0.3456,
    train_seconds=4.25,
    params=7_850,
    images_per_epoch=1_792,
    history=HISTORY,
    cache_key="ab" * 32,
)
SPREAD = replace(
    RECORD, cache_key=None, distribution=TWO_DEVICES, replica_weights=("0f" * 32, "0f" * 32)
)


def through_json(record: TrainingRecord) -> TrainingRecord:
    """`record` written to JSON text and read back, as every file and log carries it."""
    return TrainingRecord.from_json(json.loads(json.dumps(record.to_json())))


@pytest.mark.parametrize("record", [RECORD, SPREAD], ids=["one process", "two devices"])
def test_a_record_round_trips_through_json_exactly(record):
    written = record.to_json()
    assert written["schema"] == SCHEMA == 2
    again = through_json(record)
    assert again == record
    assert again.history == record.history and again.distribution == record.distribution
    assert type(again.replica_weights) is tuple
    assert again.distribution is None or type(again.distribution.devices) is tuple
    assert json.loads(json.dumps(again.to_json())) == json.loads(json.dumps(written))


def test_what_a_record_derives():
    assert RECORD.epochs == 2
    assert RECORD.label == "single_layer (2 epochs, batch 64, the first 2,000 training images)"
    assert SPREAD.label == RECORD.label + " on 2 devices (CPU)"
    assert replace(RECORD, config=recipe("single_layer")).label == "single_layer"
    assert RECORD.samples_per_second == pytest.approx(1_792 / 2.0)
    assert RECORD.same_training(replace(RECORD, test_accuracy=0.5, cache_key=None))
    assert not RECORD.same_training(SPREAD)
    assert not RECORD.same_training(replace(RECORD, config=replace(CONFIG, epochs=3)))
    assert not RECORD.same_training(replace(RECORD, name="hidden_layer"))


def test_a_label_names_what_sets_a_training_apart_from_its_recipe():
    cosine = replace(
        recipe("convnet_augmented"), learning_rate=0.003, schedule="cosine", warmup_epochs=1
    )
    assert replace(RECORD, name="convnet_augmented", config=cosine).label == (
        "convnet_augmented (cosine schedule, learning rate 0.003, 1 warm-up epoch)"
    )
    # A model's own recipe: no words to add.
    assert replace(RECORD, name="convnet_bn", config=recipe("convnet_bn")).label == "convnet_bn"
    two_epochs = replace(recipe("convnet"), epochs=2)
    assert replace(SPREAD, name="convnet", config=two_epochs).label == (
        "convnet (2 epochs) on 2 devices (CPU)"
    )
    # A model without a recipe is told from TrainConfig's defaults.
    assert replace(RECORD, name="m", config=TrainConfig(seed=3)).label == "m (seed 3)"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_change_to_any_field_of_a_recipe_reads_differently(name):
    """Different trainings, different labels: a change to each field, and two values of it."""
    reference = recipe(name)
    seen = {"": reference}
    for changes in (
        {"epochs": reference.epochs + 1},
        {"epochs": reference.epochs + 2},
        {"batch_size": 64},
        {"batch_size": 256},
        {"learning_rate": 0.0030000001},
        {"learning_rate": 0.003},
        {"schedule": "constant", "warmup_epochs": 0.0},
        {"schedule": "cosine", "warmup_epochs": 0.0},
        {"schedule": "cosine", "warmup_epochs": 2.5},
        {"seed": 7},
        {"validation_split": 0.2},
        {"train_size": 1_000},
        {"steps_per_execution": 32},
        {"steps_per_execution": 4},
    ):
        config = replace(reference, **changes)
        words = ", ".join(config_changes(config, reference))
        assert words not in seen or seen[words] == config, (words, config, seen[words])
        seen[words] = config
    assert len(set(seen.values())) == len(seen)


def schema1(**changes):
    """A result as mnist-book wrote it before records had a schema (TrainResult.stored())."""
    return {
        "name": "single_layer",
        "test_accuracy": 0.9012,
        "test_loss": 0.3456,
        "epochs": 2,
        "train_seconds": 4.25,
        "params": 7_850,
        "config": asdict(CONFIG),
        "history": {key: list(values) for key, values in HISTORY.items()},
        **changes,
    }


def test_a_schema_1_result_is_read_on_purpose():
    read = TrainingRecord.from_json(schema1(cache_key="ab" * 32))
    # Keras's `fit` took every fitted image of the first 2,000, the last batch partial.
    assert read == replace(RECORD, images_per_epoch=1_800)
    assert read.images_per_epoch == CONFIG.fitted_images() == 1_800
    assert TrainingRecord.from_json(schema1()).cache_key is None
    # Written again, it is a schema-2 record, and reads back as itself.
    assert through_json(read) == read and read.to_json()["schema"] == SCHEMA


def test_a_schema_1_data_parallel_result_keeps_its_distribution_and_images():
    old = schema1(
        distribution={
            "strategy": "mirrored",
            "workers": 1,
            "replicas": 2,
            "devices": ["/device:CPU:0", "/device:CPU:1"],
            "description": "2 devices (CPU)",
        },
        replica_weights=["0f" * 32, "0f" * 32],
    )
    old["history"]["images"] = [1_792, 1_792]
    read = TrainingRecord.from_json(old)
    assert read.distribution == TWO_DEVICES
    assert read.replica_weights == ("0f" * 32, "0f" * 32)
    assert read.images_per_epoch == 1_792  # its history's, not Keras's split
    assert read.label.endswith(" on 2 devices (CPU)")


@pytest.mark.parametrize("schema", [99, 0, 3, "2", None])
def test_a_result_of_an_unknown_schema_is_refused(schema):
    with pytest.raises(RecordError, match="schema"):
        TrainingRecord.from_json({**RECORD.to_json(), "schema": schema})


def _without(values, key):
    return {k: v for k, v in values.items() if k != key}


@pytest.mark.parametrize(
    "values",
    [
        _without(RECORD.to_json(), "test_accuracy"),
        _without(RECORD.to_json(), "images_per_epoch"),  # schema 2 must carry it
        _without(schema1(), "config"),
        {**RECORD.to_json(), "config": {**asdict(CONFIG), "momentum": 0.9}},
        {**RECORD.to_json(), "config": {**asdict(CONFIG), "epochs": 0}},
        {**RECORD.to_json(), "config": None},
        {**RECORD.to_json(), "test_loss": "low"},
        {**RECORD.to_json(), "history": [0.5]},
        {**RECORD.to_json(), "distribution": {"strategy": "mirrored", "workers": 1}},
        [RECORD.to_json()],
        "single_layer",
        None,
        {**RECORD.to_json(), "name": None},
        {**RECORD.to_json(), "cache_key": 7},
        {**RECORD.to_json(), "replica_weights": "abc"},
        {**RECORD.to_json(), "params": 7.9},
        {**RECORD.to_json(), "config": {**asdict(CONFIG), "epochs": 1.5}},
        {**RECORD.to_json(), "test_accuracy": True},
    ],
    ids=[
        "no test accuracy",
        "no images per epoch",
        "schema 1 without config",
        "unknown config field",
        "invalid config",
        "config null",
        "loss not a number",
        "history not a mapping",
        "distribution incomplete",
        "a list",
        "a string",
        "null",
        "name null",
        "cache key a number",
        "replica weights a string",
        "params fractional",
        "fractional epochs",
        "accuracy a boolean",
    ],
)
def test_a_malformed_result_is_a_record_error(values):
    with pytest.raises(RecordError):
        TrainingRecord.from_json(values)


def test_a_record_error_is_a_value_error():
    """Readers that discard unreadable files on ValueError discard these too."""
    assert issubclass(RecordError, ValueError)
