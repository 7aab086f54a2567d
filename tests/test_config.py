"""The one definition of a training: split, steps, order of the images, learning rate."""

import numpy as np
import pytest
from keras.src.trainers.data_adapters.array_slicing import train_validation_split

from mnist_book.config import RECIPES, TrainConfig, recipe


@pytest.mark.parametrize("images", [1_000, 1_005, 2_999, 3_001, 60_000])
@pytest.mark.parametrize("validation_split", [0.0, 0.1, 0.15, 0.3])
def test_the_split_is_kerass_own(images, validation_split):
    config = TrainConfig(validation_split=validation_split, train_size=images)
    everything = np.arange(60_000)
    (fitted, _), (held_out, _) = config.split(everything, everything)
    (kerass_fitted,), (kerass_held_out,) = (
        train_validation_split((everything[:images],), validation_split)
        if validation_split
        else ((everything[:images],), (everything[:0],))
    )
    np.testing.assert_array_equal(fitted, kerass_fitted)
    np.testing.assert_array_equal(held_out, kerass_held_out)
    assert config.fitted_images() == len(fitted)


def test_an_epoch_is_whole_batches_of_the_fitted_images_in_a_seeded_order():
    config = TrainConfig(batch_size=64, train_size=3_001, seed=5)
    fitted = config.fitted_images()
    assert fitted == 2_700 and config.steps_per_epoch() == 42
    first, again = config.epoch_order(0), config.epoch_order(0)
    np.testing.assert_array_equal(first, again)  # the seed and the epoch decide it
    assert len(first) == config.images_per_epoch() == 42 * 64
    assert len(set(first)) == len(first) and set(first) <= set(range(fitted))
    assert not np.array_equal(first, config.epoch_order(1))
    assert not np.array_equal(first, TrainConfig(batch_size=64, train_size=3_001).epoch_order(0))


def test_too_few_images_for_a_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="make no batch of 128"):
        TrainConfig(batch_size=128, train_size=100).steps_per_epoch()


def test_the_schedule_counts_the_steps_every_loop_takes():
    config = recipe("deeper_convnet")
    schedule = config.learning_rate_schedule()
    steps = config.steps_per_epoch() * config.epochs
    assert config.steps_per_epoch() == 54_000 // 128
    assert float(schedule(0)) == 0.0
    assert float(schedule(config.steps_per_epoch())) == pytest.approx(config.learning_rate)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    assert RECIPES["single_layer"].learning_rate_schedule() == 1e-3  # a constant
