"""Point the tests at the real MNIST files when ``../shared/data/mnist`` is beside the checkout."""

import os
from pathlib import Path

import pytest

from mnist_book import published_cache
from mnist_book.data import MNIST_FILES
from mnist_book.paths import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    PUBLISHED_CACHE_DIR_ENV,
    PUBLISHED_CACHE_ENV,
)

# The browser suites' shared fixtures (the served site/, one Chromium, the draw board).
pytest_plugins = ["browser_site"]

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

if not os.environ.get(DATA_DIR_ENV) and (SHARED_MNIST / "SHA256SUMS").is_file():
    os.environ[DATA_DIR_ENV] = str(SHARED_MNIST)

# The tests never look up the published cache, unless one sets it up (on 127.0.0.1).
os.environ[PUBLISHED_CACHE_ENV] = ""
os.environ.pop(PUBLISHED_CACHE_DIR_ENV, None)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory holding the real MNIST files; fails (never skips) when there is none."""
    configured = os.environ.get(DATA_DIR_ENV)
    directory = Path(configured).expanduser().resolve() if configured else None
    if directory is None or not all((directory / name).is_file() for name in MNIST_FILES):
        pytest.fail(
            f"The real MNIST files are needed: set {DATA_DIR_ENV} to a directory holding "
            f"{', '.join(MNIST_FILES)} (now {configured!r}; {SHARED_MNIST} is not there either)."
        )
    return directory


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory, set as MNIST_BOOK_CACHE_DIR for one test."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    return cache


@pytest.fixture
def fresh_manifests():
    """Each test reads the published caches it sets up (a process otherwise reads each
    manifest once)."""
    published_cache._manifest.cache_clear()
    yield
    published_cache._manifest.cache_clear()
