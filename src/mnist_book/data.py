"""Find, download, verify and parse MNIST.

The four original MNIST files are looked up in, in order: the ``data_dir`` argument, the
directory named by ``MNIST_BOOK_DATA_DIR`` (both used read-only, never downloaded into), or the
cache (``<cache dir>/data``), into which missing files are downloaded from `MIRRORS`. Every
file is checked against its published sha256 each time it is located, before anything is parsed.
The finding, downloading and verifying is `mnist_book.fetch`'s, shared with every other
download of the project.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mnist_book import fetch, paths

MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""The four MNIST file names and their published sha256 sums."""

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
"""Base URLs the files are downloaded from, tried in order."""

_IDX_NDIM = {2051: 3, 2049: 1}  # IDX magic number -> number of dimensions (images, labels)
TRAIN_IMAGES = 60_000
"""The number of images in the MNIST training set (the test set has 10,000)."""

_SPLITS = {"train": TRAIN_IMAGES, "t10k": 10_000}


class MNISTDataError(Exception):
    """Base class of every MNIST data problem."""


class MNISTNotFoundError(MNISTDataError):
    """The files are not there and cannot be downloaded."""


class MNISTChecksumError(MNISTDataError):
    """A file's sha256 differs from the published one."""


class IDXFormatError(MNISTDataError):
    """A file is not a well-formed gzip'd IDX file of the expected shape."""


def locate_mnist(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True, progress: bool = True
) -> Path:
    """Return a directory holding the four MNIST files, each verified against its sha256.

    Only the cache is ever downloaded into (with ``download=True``, showing a progress bar when
    ``progress``); an explicit ``data_dir`` or ``MNIST_BOOK_DATA_DIR`` is used as it is.
    """
    try:
        return fetch.locate(
            pinned_files(), data_dir, download=download, progress=progress, argument="data_dir"
        )
    except fetch.ChecksumError as error:  # the same message, as this module's exceptions
        raise MNISTChecksumError(str(error)) from None
    except fetch.NotFoundError as error:
        raise MNISTNotFoundError(str(error)) from error.__cause__


def pinned_files() -> fetch.Pinned:
    """The four MNIST files as a `mnist_book.fetch.Pinned` set (with the current `MIRRORS`)."""
    return fetch.Pinned(
        what="MNIST data",
        files={name: f"sha256:{digest}" for name, digest in MNIST_FILES.items()},
        mirrors=MIRRORS,
        env=paths.DATA_DIR_ENV,
        cache_subdir="data",
    )


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse a gzip'd IDX file: uint8 images ``(count, 28, 28)`` or labels ``(count,)``.

    The header is checked strictly and the payload must hold exactly the announced items. The
    result is a new, writeable array.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as file:
            magic = int.from_bytes(file.read(4), "big")
            if magic not in _IDX_NDIM:
                raise IDXFormatError(
                    f"{path} is not an MNIST IDX file: magic number {magic}, expected 2051 "
                    "(images) or 2049 (labels). Use one of the original MNIST files."
                )
            header = file.read(4 * _IDX_NDIM[magic])
            dims = tuple(int.from_bytes(header[i : i + 4], "big") for i in range(0, len(header), 4))
            if len(header) < 4 * _IDX_NDIM[magic] or (magic == 2051 and dims[1:] != (28, 28)):
                raise IDXFormatError(
                    f"{path} has a bad header: dimensions {dims}, expected "
                    f"{'(count, 28, 28)' if magic == 2051 else '(count,)'}. "
                    "Use one of the original MNIST files."
                )
            array = np.empty(dims, dtype=np.uint8)
            read = file.readinto(array.reshape(-1))  # a view: fills `array` in place
            trailing = file.read(1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IDXFormatError(
            f"{path} is not a complete gzip file ({error}): it is truncated or corrupt. "
            "Replace it with an intact copy of the original file."
        ) from error
    if read != math.prod(dims) or trailing:
        raise IDXFormatError(
            f"{path} holds {'more' if trailing else f'only {read}'} payload bytes for dimensions "
            f"{dims} ({math.prod(dims)} expected): it is truncated or damaged. "
            "Replace it with an intact copy of the original file."
        )
    return array


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True, progress: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)`` like ``keras.datasets.mnist.load_data()``.

    Images are uint8 ``(n, 28, 28)``, labels uint8 ``(n,)``; see `locate_mnist` for where the
    files come from.
    """
    directory = locate_mnist(data_dir, download=download, progress=progress)
    splits = []
    for split, count in _SPLITS.items():
        images = read_idx(directory / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(directory / f"{split}-labels-idx1-ubyte.gz")
        if images.shape != (count, 28, 28) or labels.shape != (count,):
            raise IDXFormatError(
                f"The {split} files in {directory} hold images {images.shape} and labels "
                f"{labels.shape}, expected ({count}, 28, 28) and ({count},). "
                "Use the original MNIST files."
            )
        splits.append((images, labels))
    return splits[0], splits[1]


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels 0..255 to float32 in [0, 1]; anything but uint8 is rejected."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(
            f"scale_pixels expects uint8 pixels 0..255 as returned by load_mnist, got "
            f"{images.dtype}: are they already scaled? Pass the original uint8 images."
        )
    scaled = images.astype(np.float32)
    scaled /= np.float32(255)
    return scaled


def data_checksums() -> dict[str, str]:
    """The published sha256 of each MNIST file (a copy of `MNIST_FILES`)."""
    return dict(MNIST_FILES)


def class_counts(labels: np.ndarray) -> np.ndarray:
    """How many of `labels` are each digit 0-9 (an array of 10 counts)."""
    return np.bincount(np.asarray(labels), minlength=10)


def pixel_statistics(images: np.ndarray) -> pd.Series:
    """Summary statistics of uint8 pixel values: range, mean, spread and how many are blank."""
    pixels = np.asarray(images).ravel()
    return pd.Series(
        {
            "pixels": pixels.size,
            "min": int(pixels.min()),
            "max": int(pixels.max()),
            "mean": float(pixels.mean()),
            "std": float(pixels.std()),
            "fraction 0 (background)": float(np.mean(pixels == 0)),
            "fraction 255 (full ink)": float(np.mean(pixels == 255)),
        },
        name="pixel value",
    )


def digit_framing(images: np.ndarray) -> dict[str, Any]:
    """How MNIST frames its digits: the size of each one's ink and where its weight lies.

    The MNIST authors scaled every digit to fit a 20x20 box and then moved its centre of mass
    (the pixel-weighted mean position) to the centre of the 28x28 image. Returned: the number
    of images, the largest height or width of ink (``longest_side``) and the fraction at
    exactly that size, the mean centre of mass (row, column, counting pixels from 0), and the
    fraction of images whose centre of mass lies within one pixel of the image centre (14, 14).
    """
    pixels = np.asarray(images, dtype=np.float64)
    ink = pixels > 0
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    height = rows.shape[1] - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1)
    width = cols.shape[1] - cols.argmax(axis=1) - cols[:, ::-1].argmax(axis=1)
    side = np.maximum(height, width)
    weight = pixels.sum(axis=(1, 2))
    index = np.arange(pixels.shape[1])
    row = (pixels.sum(axis=2) * index).sum(axis=1) / weight
    col = (pixels.sum(axis=1) * index).sum(axis=1) / weight
    centre = pixels.shape[1] / 2
    return {
        "images": len(pixels),
        "longest_side": int(side.max()),
        "at_longest_side": float(np.mean(side == side.max())),
        "centre_of_mass": (float(row.mean()), float(col.mean())),
        "within_one_pixel": float(np.mean(np.hypot(row - centre, col - centre) <= 1)),
    }
