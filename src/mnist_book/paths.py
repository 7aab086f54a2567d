"""Where mnist-book finds the data and keeps its caches.

Two environment variables configure it:

- ``MNIST_BOOK_DATA_DIR``: a directory holding the four MNIST ``.gz`` files. When it is set,
  the data is read from there and never downloaded (fully offline use).
- ``MNIST_BOOK_CACHE_DIR``: where downloaded data and trained models are cached. Defaults to
  the per-user cache directory (``~/.cache/mnist-book`` on Linux).

A third names a local copy of the draw page's browser runtime, for building the site offline:

- ``MNIST_BOOK_ORT_WEB_DIR``: a directory holding the onnxruntime-web release tarball
  (`mnist_book.site.ort_web`). When it is set, the tarball is read from there, never downloaded.

Two more say where to look for the published cache (`mnist_book.published_cache`) on a miss,
before training a model or executing a page:

- ``MNIST_BOOK_PUBLISHED_CACHE``: its address (default `PUBLISHED_CACHE_URL`, ``cache/`` beside
  the published site); set it empty to turn the lookup off.
- ``MNIST_BOOK_PUBLISHED_CACHE_DIR``: a local copy of it, for offline use; when it is set,
  nothing is downloaded.

The site build sets one more, ``MNIST_BOOK_RUN_LOG``, for the pages it executes: a file to
which every `mnist_book.training.train` call appends its result as a JSON line.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "MNIST_BOOK_DATA_DIR"
CACHE_DIR_ENV = "MNIST_BOOK_CACHE_DIR"
RUN_LOG_ENV = "MNIST_BOOK_RUN_LOG"
ORT_WEB_DIR_ENV = "MNIST_BOOK_ORT_WEB_DIR"
PUBLISHED_CACHE_ENV = "MNIST_BOOK_PUBLISHED_CACHE"
PUBLISHED_CACHE_DIR_ENV = "MNIST_BOOK_PUBLISHED_CACHE_DIR"
REQUIRE_CACHED_ENV = "MNIST_BOOK_REQUIRE_CACHED"
PLANNED_ENV = "MNIST_BOOK_PLANNED"  # set by a site build: a page trains only what the plan lists

PUBLISHED_CACHE_URL = "https://mnist-book.github.io/mnist-book/cache/"
"""Where the workflow publishes the cache from main: ``cache/`` beside the site (`site_url`)."""


def cache_dir() -> Path:
    """The root of mnist-book's caches (not created here)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(platformdirs.user_cache_dir("mnist-book"))


def configured_data_dir() -> Path | None:
    """The directory named by ``MNIST_BOOK_DATA_DIR``, or None when the variable is unset."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser().resolve() if configured else None
