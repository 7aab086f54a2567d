import numpy as np
import pytest

from mnist_book._keras import keras
from mnist_book.distortion import RandomDistortion, bilinear_sample


def _digits(n=4):
    """A few small images with a bright bar and dot, away from the border."""
    images = np.zeros((n, 28, 28, 1), dtype="float32")
    images[:, 8:20, 13:15] = 1.0
    images[:, 6, 6] = 1.0
    return images


def _run(layer, images, training=True):
    return keras.ops.convert_to_numpy(layer(images, training=training))


def test_outside_training_the_digits_pass_unchanged():
    digits = _digits()
    np.testing.assert_array_equal(_run(RandomDistortion(seed=1), digits, training=False), digits)


def test_with_no_distortion_asked_for_training_is_the_identity():
    layer = RandomDistortion(rotation=0, scale=0, shift=0, elastic=0, seed=1)
    np.testing.assert_allclose(_run(layer, _digits()), _digits(), atol=1e-6)


def test_each_image_gets_its_own_distortion_within_the_pixel_range():
    digits = _digits(6)
    moved = _run(RandomDistortion(seed=3), digits)
    assert moved.shape == digits.shape
    assert not np.allclose(moved, digits)
    assert not np.allclose(moved[0], moved[1])
    assert moved.min() >= 0.0 and moved.max() <= 1.0 + 1e-6


@pytest.mark.parametrize("option", ["rotation", "scale", "shift", "elastic"])
def test_every_option_moves_the_digits_on_its_own(option):
    still = {"rotation": 0.0, "scale": 0.0, "shift": 0.0, "elastic": 0.0}
    layer = RandomDistortion(
        **{**still, option: {"rotation": 15.0, "scale": 0.2}.get(option, 2.0)}, seed=2
    )
    assert np.abs(_run(layer, _digits()) - _digits()).max() > 0.1


def test_a_shift_moves_ink_by_at_most_its_pixels():
    layer = RandomDistortion(rotation=0, scale=0, shift=2.0, elastic=0, seed=4)
    bars = _digits(8)
    bars[:, 6, 6] = 0.0  # the bar alone: rows 8 to 19
    moved = _run(layer, bars)
    rows = np.nonzero(moved[..., 0].max(axis=2) > 0.01)
    for image in range(8):
        bright = rows[1][rows[0] == image]
        assert bright.min() >= 8 - 2 - 1 and bright.max() <= 19 + 2 + 1


def test_the_same_seed_gives_the_same_distortions():
    digits = _digits()

    def distorted(seed):
        keras.utils.set_random_seed(seed)  # as `training` does for a run
        return _run(RandomDistortion(), digits)

    np.testing.assert_array_equal(distorted(1), distorted(1))
    assert not np.allclose(distorted(1), distorted(2))


def test_the_layer_round_trips_through_its_config():
    layer = RandomDistortion(rotation=5.0, elastic=0.5, grid=3, seed=7)
    again = RandomDistortion.from_config(layer.get_config())
    assert (again.rotation, again.elastic, again.grid, again.seed) == (5.0, 0.5, 3, 7)


def test_bilinear_sampling_interpolates_and_reads_zero_outside():
    image = np.arange(9, dtype="float32").reshape(1, 3, 3)
    rows = np.array([[[0.5, 1.0, -1.0]]], dtype="float32")
    cols = np.array([[[0.0, 1.5, 1.0]]], dtype="float32")
    sampled = keras.ops.convert_to_numpy(bilinear_sample(image, rows, cols))
    # (0.5, 0): between 0 and 3; (1, 1.5): between 4 and 5; (-1, 1): outside.
    np.testing.assert_allclose(sampled, [[[1.5, 4.5, 0.0]]])
