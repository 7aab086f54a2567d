"""The model cache on disk: one directory per training, under `paths.cache_dir() / "models"`.

An entry is named after the model and its `mnist_book.cache_identity.cache_key`, and holds
the trained model (`model.keras`) and its result (`result.json`: a
`mnist_book.results.TrainingRecord`). It is written to a temporary directory and renamed
into place, so a reader never sees half an entry; it is read and written under its own file
lock, so processes that want the same training (two pages of a build) train it once; and an
entry that cannot be read is discarded with a warning, never trusted. `mnist_book.training` and
`mnist_book.distributed` decide what to store; this module only stores it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from mnist_book import paths, published_cache, run_log
from mnist_book._keras import keras
from mnist_book.config import TrainConfig
from mnist_book.results import TrainingRecord

MODEL_FILE = "model.keras"
RESULT_FILE = "result.json"
TRAINING_LOCK = "training.lock"
"""Held while a model trains (`mnist_book.training.training_turn`)."""


class TrainingRefused(RuntimeError):
    """A training was asked for where ``MNIST_BOOK_REQUIRE_CACHED`` forbids training."""


def refuse_training_if_required(name: str, key: str | None) -> None:
    """Raise `TrainingRefused` if ``MNIST_BOOK_REQUIRE_CACHED`` is set (not "" or "0").

    Called before any training starts: a build over a gathered cache that would train
    fails at once, naming the model and its cache key, instead of training for minutes.
    """
    if os.environ.get(paths.REQUIRE_CACHED_ENV, "") in ("", "0"):
        return
    raise TrainingRefused(
        f"{name} would train here (cache key {key or 'none: an uncached training'}), and "
        f"{paths.REQUIRE_CACHED_ENV}={os.environ[paths.REQUIRE_CACHED_ENV]} forbids training. "
        f"Put its entry into the model cache ({models_dir()}) first, for example with "
        f"`mnist-book train {name}` or from the published cache, or unset "
        f"{paths.REQUIRE_CACHED_ENV}."
    )


def models_dir() -> Path:
    """The directory of the model cache's entries."""
    return paths.cache_dir() / "models"


def entry(name: str, key: str) -> Path:
    """The entry of a training of model `name` whose cache key is `key`."""
    return models_dir() / entry_name(name, key)


def entry_name(name: str, key: str) -> str:
    """The name of that entry's directory: the model's and the start of its key."""
    return f"{name}-{key[:20]}"


def published_name(entry: Path) -> str:
    """The name of `entry` in the published cache (`mnist_book.published_cache`)."""
    return f"models/{entry.name}"


def available(name: str, key: str, warn: Callable[[str], None] = run_log.warn) -> bool:
    """Whether the training of `name` with cache key `key` is in the model cache, after
    looking it up in the published cache (`mnist_book.published_cache.restore`) if not."""
    stored = entry(name, key)
    return stored.is_dir() or published_cache.restore(stored, published_name(stored), warn)


def entry_lock(
    entry: Path, waiting: Callable[[], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of `entry`, so concurrent processes train (and write) it once.

    `waiting` is called first if another process holds it (say, another page training it).
    """
    return file_lock(entry.with_name(entry.name + ".lock"), waiting)


@contextmanager
def file_lock(path: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the file lock `path` (calling `waiting` first if another process holds it).

    Without a writable directory for the lock, warns and goes on without it.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if waiting is not None:
                waiting()
            lock.acquire()
    except OSError as error:
        run_log.warn(
            f"Cannot lock the model cache at {path.parent} ({error}); training without it. "
            f"Set {paths.CACHE_DIR_ENV} to a writable directory to cache trained models.",
            stacklevel=3,
        )
        yield
        return
    try:
        yield
    finally:
        lock.release()


def stored_record(entry: Path) -> TrainingRecord | None:
    """The result stored in a complete `entry` (one with its model too), else None.

    Never loads the model, never discards anything: for reading results cheaply.
    """
    try:
        record = TrainingRecord.from_json(json.loads((entry / RESULT_FILE).read_text()))
    except (OSError, ValueError):
        return None
    return record if (entry / MODEL_FILE).is_file() else None


def load(entry: Path, name: str, config: TrainConfig) -> tuple[TrainingRecord, keras.Model] | None:
    """The result and model stored in `entry`, a training of `name` with `config`.

    A missing entry is looked up in the published cache (`mnist_book.published_cache`);
    None if it is not there either. An entry that cannot be read (another schema, a field
    missing, a broken model file) or that holds another training is deleted with a warning
    (the caller retrains). The model loads in Keras's safe mode: an entry is data, never code.
    """
    if not entry.exists() and not published_cache.restore(entry, published_name(entry)):
        return None
    try:
        record = TrainingRecord.from_json(json.loads((entry / RESULT_FILE).read_text()))
        if record.name != name or record.config != config:
            raise ValueError("the stored name or config does not match its key")
        if record.cache_key is not None and entry.name != entry_name(name, record.cache_key):
            raise ValueError("the stored cache key is not the entry's")
        return record, keras.saving.load_model(entry / MODEL_FILE, safe_mode=True)
    except Exception as error:  # any unreadable entry is retrained, never trusted
        run_log.warn(
            f"Discarding the unreadable cached model at {entry} ({type(error).__name__}: "
            f"{error}); retraining {name}.",
            stacklevel=4,
        )
        shutil.rmtree(entry, ignore_errors=True)
        return None


def save(entry: Path, record: TrainingRecord, model: keras.Model) -> None:
    """Store `model` and its result `record` as `entry`, atomically.

    Both are written to a temporary directory beside it, which is then renamed into place.
    If the disk is not writable or full, warns and stores nothing.
    """
    try:
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
        try:
            model.save(staging / MODEL_FILE)
            (staging / RESULT_FILE).write_text(json.dumps(record.to_json()))
            os.replace(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as error:
        run_log.warn(
            f"Could not write the model cache at {entry.parent} ({error}); the result is "
            f"not cached. Set {paths.CACHE_DIR_ENV} to a writable directory with free space.",
            stacklevel=3,
        )
