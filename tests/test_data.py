"""Finding, downloading, verifying and parsing MNIST: real files, damaged copies, a local mirror."""

import gzip
import hashlib
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pooch
import pytest
from filelock import FileLock
from http_mirror import Mirror, closed_port_url

from mnist_book import data
from mnist_book.data import (
    MNIST_FILES,
    IDXFormatError,
    MNISTChecksumError,
    MNISTDataError,
    MNISTNotFoundError,
    load_mnist,
    locate_mnist,
    read_idx,
    scale_pixels,
)
from mnist_book.paths import CACHE_DIR_ENV, DATA_DIR_ENV

# Published facts about MNIST: the number of each digit 0..9 in each split.
TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the real data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(download=False)


def test_real_data_shapes_and_dtypes(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60_000, 28, 28)
    assert y_train.shape == (60_000,)
    assert x_test.shape == (10_000, 28, 28)
    assert y_test.shape == (10_000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert all(a.flags.writeable for a in (x_train, y_train, x_test, y_test))


def test_real_data_labels(mnist):
    (_, y_train), (_, y_test) = mnist
    assert y_train[0] == 5
    assert y_test[0] == 7
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_CLASS_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_CLASS_COUNTS


def test_real_data_pixel_range(mnist):
    (x_train, _), (x_test, _) = mnist
    for images in (x_train, x_test):
        assert images.min() == 0
        assert images.max() == 255


def test_sums_in_code_match_the_published_sums(mnist_dir):
    lines = (mnist_dir / "SHA256SUMS").read_text().split("\n")
    published = {name: digest for digest, name in (line.split() for line in lines if line)}
    assert data.data_checksums() == published
    assert all(sha256(mnist_dir / name) == digest for name, digest in MNIST_FILES.items())


def test_data_checksums_returns_a_copy():
    sums = data.data_checksums()
    sums.clear()
    assert len(data.data_checksums()) == 4


def test_data_dir_argument_is_used(mnist_dir, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV)
    assert locate_mnist(mnist_dir, download=False) == mnist_dir


# --- scale_pixels -------------------------------------------------------------------------------


def test_scale_pixels_exact_values():
    scaled = scale_pixels(np.array([0, 255, 128], dtype=np.uint8))
    assert scaled.dtype == np.float32
    assert scaled.tolist() == [0.0, 1.0, float(np.float32(128) / np.float32(255))]


def test_scale_pixels_range_on_real_images(mnist):
    (_, _), (x_test, _) = mnist
    scaled = scale_pixels(x_test)
    assert scaled.dtype == np.float32
    assert scaled.shape == x_test.shape
    assert scaled.min() == 0.0
    assert scaled.max() == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_scale_pixels_rejects_non_uint8(dtype):
    with pytest.raises(ValueError, match=f"uint8.*{np.dtype(dtype).name}"):
        scale_pixels(np.zeros((2, 28, 28), dtype=dtype))


def test_scale_pixels_cannot_be_applied_twice():
    with pytest.raises(ValueError, match="already scaled"):
        scale_pixels(scale_pixels(np.full((1, 28, 28), 200, dtype=np.uint8)))


# --- read_idx on small generated files ----------------------------------------------------------


def write_idx(path: Path, magic: int, dims: tuple[int, ...], payload: bytes) -> Path:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(gzip.compress(header + payload))
    return path


def pixels(n: int) -> bytes:
    return bytes(i % 256 for i in range(n))


def test_read_idx_images(tmp_path):
    path = write_idx(tmp_path / "images.gz", 2051, (3, 28, 28), pixels(3 * 784))
    images = read_idx(path)
    assert images.dtype == np.uint8
    assert images.shape == (3, 28, 28)
    assert images.tobytes() == pixels(3 * 784)
    assert images[1, 0, 0] == 784 % 256
    assert images.flags.writeable


def test_read_idx_labels(tmp_path):
    labels = read_idx(write_idx(tmp_path / "labels.gz", 2049, (5,), bytes([3, 1, 4, 1, 5])))
    assert labels.dtype == np.uint8
    assert labels.tolist() == [3, 1, 4, 1, 5]


def test_read_idx_empty_files(tmp_path):
    assert read_idx(write_idx(tmp_path / "i.gz", 2051, (0, 28, 28), b"")).shape == (0, 28, 28)
    assert read_idx(write_idx(tmp_path / "l.gz", 2049, (0,), b"")).shape == (0,)


@pytest.mark.parametrize(
    ("magic", "dims", "size", "message"),
    [
        (2050, (3, 28, 28), 3 * 784, "magic number 2050"),
        (2051, (3, 27, 28), 3 * 27 * 28, r"dimensions \(3, 27, 28\)"),
        (2051, (3, 28), 0, r"dimensions \(3, 28\)"),  # header cut short
        (2051, (3, 28, 28), 3 * 784 - 1, "only 2351 payload bytes"),
        (2051, (3, 28, 28), 3 * 784 + 1, "more payload bytes"),
        (2049, (5,), 4, "only 4 payload bytes"),
        (2049, (5,), 6, "more payload bytes"),
    ],
)
def test_read_idx_rejects_malformed_files(tmp_path, magic, dims, size, message):
    path = write_idx(tmp_path / "bad-idx.gz", magic, dims, pixels(size))
    with pytest.raises(IDXFormatError, match=message) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_read_idx_rejects_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "cut.gz", 2051, (3, 28, 28), bytes(range(256)) * 10)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IDXFormatError, match="truncated or corrupt") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_read_idx_rejects_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(IDXFormatError, match="not a complete gzip file"):
        read_idx(path)


# --- missing and damaged files in a given directory ---------------------------------------------


def copy_real_files(mnist_dir, directory):
    """`directory`, created, holding a copy of the four real MNIST files."""
    directory.mkdir()
    for name in MNIST_FILES:
        shutil.copyfile(mnist_dir / name, directory / name)
    return directory


@pytest.fixture
def data_copy(tmp_path, mnist_dir, monkeypatch):
    """A copy of the real files, named by MNIST_BOOK_DATA_DIR; nothing may be downloaded."""
    copy = copy_real_files(mnist_dir, tmp_path / "mnist")
    monkeypatch.setenv(DATA_DIR_ENV, str(copy))
    monkeypatch.setattr(pooch, "retrieve", no_download)
    return copy


def no_download(*args, **kwargs):
    pytest.fail(f"a download was attempted: {args} {kwargs}")


@pytest.fixture
def parsed(monkeypatch):
    """The paths read_idx parses during the test."""
    calls = []

    def recording_read_idx(path):
        calls.append(Path(path).name)
        return read_idx(path)

    monkeypatch.setattr(data, "read_idx", recording_read_idx)
    return calls


def test_copy_of_real_files_loads(data_copy, parsed):
    assert locate_mnist() == data_copy
    (x_train, _), _ = load_mnist()
    assert x_train.shape == (60_000, 28, 28)
    assert sorted(parsed) == sorted(MNIST_FILES)


def test_missing_directory_named_by_variable(tmp_path, monkeypatch, data_copy):
    absent = tmp_path / "absent"
    monkeypatch.setenv(DATA_DIR_ENV, str(absent))
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist()
    message = str(caught.value)
    for expected in (DATA_DIR_ENV, str(absent), "does not exist", *MNIST_FILES):
        assert expected in message
    assert not absent.exists()


def test_missing_file_named_by_variable(data_copy, parsed):
    (data_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist()
    message = str(caught.value)
    for expected in (DATA_DIR_ENV, str(data_copy), "lacks t10k-labels-idx1-ubyte.gz", "unset"):
        assert expected in message
    assert TRAIN_IMAGES not in message
    assert parsed == []
    assert not (data_copy / "t10k-labels-idx1-ubyte.gz").exists()


def test_given_directory_is_never_downloaded_into(data_copy):
    (data_copy / TRAIN_IMAGES).unlink()
    with pytest.raises(MNISTNotFoundError, match=TRAIN_IMAGES):
        locate_mnist(download=True)  # no_download fails the test if a download is tried
    assert not (data_copy / TRAIN_IMAGES).exists()


def test_missing_file_in_data_dir_argument(data_copy, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV)
    (data_copy / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTNotFoundError, match="data_dir argument") as caught:
        locate_mnist(data_copy)
    assert "train-labels-idx1-ubyte.gz" in str(caught.value)


def test_truncated_file_fails_its_checksum_and_is_not_loaded(data_copy, parsed):
    damaged = data_copy / TRAIN_IMAGES
    damaged.write_bytes(damaged.read_bytes()[:1_000_000])
    with pytest.raises(MNISTChecksumError) as caught:
        load_mnist()
    message = str(caught.value)
    for expected in (
        str(damaged),
        "corrupt, truncated",
        MNIST_FILES[TRAIN_IMAGES],
        sha256(damaged),
        "Restore the original",
    ):
        assert expected in message
    assert parsed == []


def test_file_with_another_files_content_fails_its_checksum(data_copy, parsed):
    shutil.copyfile(
        data_copy / "t10k-labels-idx1-ubyte.gz", data_copy / "train-labels-idx1-ubyte.gz"
    )
    with pytest.raises(MNISTDataError, match=r"train-labels-idx1-ubyte\.gz at ") as caught:
        load_mnist()
    assert isinstance(caught.value, MNISTChecksumError)
    assert MNIST_FILES["t10k-labels-idx1-ubyte.gz"] in str(caught.value)  # the actual sum
    assert parsed == []


# --- downloading into the cache -----------------------------------------------------------------


@pytest.fixture
def cache_data(isolated_cache, monkeypatch):
    """The cache's data directory, with MNIST_BOOK_DATA_DIR unset so downloads are allowed."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    return isolated_cache / "data"


@pytest.fixture
def mirror(tmp_path, mnist_dir, monkeypatch):
    """A local mirror serving the real files, the second entry of MIRRORS after a dead one."""
    served = copy_real_files(mnist_dir, tmp_path / "served")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = Mirror(served)
    monkeypatch.setattr(data, "MIRRORS", (closed_port_url(), server.url))
    yield server
    server.close()


def test_download_populates_the_cache_and_reuses_it(cache_data, mirror):
    assert locate_mnist(progress=False) == cache_data
    assert sorted(mirror.requests) == sorted(MNIST_FILES)
    assert all(sha256(cache_data / name) == digest for name, digest in MNIST_FILES.items())

    (x_train, y_train), (x_test, _) = load_mnist()
    assert x_train.shape == (60_000, 28, 28)
    assert y_train[0] == 5
    assert x_test.shape == (10_000, 28, 28)
    assert len(mirror.requests) == 4  # the second and third look-ups downloaded nothing


def test_corrupt_cached_file_must_be_deleted_by_the_user(cache_data, mirror):
    locate_mnist(progress=False)
    damaged = cache_data / TRAIN_IMAGES
    damaged.write_bytes(damaged.read_bytes()[:-100])
    with pytest.raises(MNISTChecksumError, match="Delete it") as caught:
        locate_mnist(progress=False)
    assert str(damaged) in str(caught.value)
    assert damaged.exists()  # not deleted behind the user's back
    assert len(mirror.requests) == 4

    damaged.unlink()
    locate_mnist(progress=False)
    assert mirror.requests[4:] == [TRAIN_IMAGES]
    assert sha256(damaged) == MNIST_FILES[TRAIN_IMAGES]


def test_corrupt_download_leaves_nothing_under_the_final_name(cache_data, mirror):
    served = mirror.directory / TRAIN_IMAGES
    served.write_bytes(served.read_bytes()[:500_000])
    with pytest.raises(MNISTNotFoundError) as caught:
        locate_mnist(progress=False)
    message = str(caught.value)
    assert "hash" in message
    assert DATA_DIR_ENV in message
    assert mirror.requests == [TRAIN_IMAGES]
    assert [p.name for p in cache_data.iterdir() if not p.name.endswith(".lock")] == []


def test_every_mirror_failing_says_how_to_work_offline(cache_data, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    server = Mirror(empty)  # answers 404
    try:
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        mirrors = (closed_port_url(), server.url)
        monkeypatch.setattr(data, "MIRRORS", mirrors)
        with pytest.raises(MNISTNotFoundError) as caught:
            load_mnist(progress=False)
    finally:
        server.close()
    message = str(caught.value)
    for expected in (*mirrors, TRAIN_IMAGES, "404", DATA_DIR_ENV, *MNIST_FILES):
        assert expected in message
    assert server.requests == [TRAIN_IMAGES]
    assert not (cache_data / TRAIN_IMAGES).exists()


def test_each_mirror_is_tried_in_order(cache_data, monkeypatch):
    tried = []

    def unreachable(url, **kwargs):
        tried.append(url)
        raise OSError("Network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", unreachable)
    with pytest.raises(MNISTNotFoundError, match="Network is unreachable"):
        locate_mnist()
    assert tried == [mirror + TRAIN_IMAGES for mirror in data.MIRRORS]


def test_no_download_when_disabled(cache_data, monkeypatch):
    monkeypatch.setattr(pooch, "retrieve", no_download)
    with pytest.raises(MNISTNotFoundError, match="download=True") as caught:
        locate_mnist(download=False)
    assert DATA_DIR_ENV in str(caught.value)
    assert not cache_data.exists()


def test_unwritable_cache_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker))
    with pytest.raises(MNISTNotFoundError, match=f"Set {CACHE_DIR_ENV} to a writable directory"):
        locate_mnist()


def test_concurrent_download_waits_for_the_lock(cache_data, mirror, mnist_dir):
    cache_data.mkdir(parents=True)
    outcome = []
    with FileLock(cache_data / ".download.lock"):
        worker = threading.Thread(
            target=lambda: outcome.append(locate_mnist(progress=False)), daemon=True
        )
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive()  # waiting for the lock "another process" holds
        assert mirror.requests == []
        for name in MNIST_FILES:  # the other process finishes its download
            shutil.copyfile(mnist_dir / name, cache_data / name)
    worker.join(timeout=10)
    assert outcome == [cache_data]
    assert mirror.requests == []


def test_class_counts_counts_every_digit_including_absent_ones():
    np.testing.assert_array_equal(
        data.class_counts(np.array([0, 3, 3, 9], dtype=np.uint8)), [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]
    )


def test_pixel_statistics_on_a_tiny_image():
    stats = data.pixel_statistics(np.array([[0, 0], [255, 1]], dtype=np.uint8))
    assert stats["pixels"] == 4
    assert (stats["min"], stats["max"]) == (0, 255)
    assert stats["mean"] == 64.0
    assert stats["fraction 0 (background)"] == 0.5
    assert stats["fraction 255 (full ink)"] == 0.25


def test_digit_framing_measures_size_and_centre_of_mass():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 4:24, 13:15] = 255  # a "1": 20 tall, 2 wide, centre of mass (13.5, 13.5)
    images[1, 2:8, 0:3] = 100  # a smudge in the corner: 6 tall, centre (4.5, 1)
    framing = data.digit_framing(images)
    assert framing["images"] == 2
    assert framing["longest_side"] == 20 and framing["at_longest_side"] == 0.5
    assert framing["centre_of_mass"] == pytest.approx(((13.5 + 4.5) / 2, (13.5 + 1) / 2))
    assert framing["within_one_pixel"] == 0.5


def test_real_test_digits_are_framed_as_published(mnist):
    """LeCun et al.: each digit fits 20x20, its centre of mass at the centre of 28x28."""
    _, (x_test, _) = mnist
    framing = data.digit_framing(x_test)
    assert framing["longest_side"] == 20
    assert framing["centre_of_mass"] == pytest.approx((14, 14), abs=0.1)
    assert framing["within_one_pixel"] > 0.99
