"""Pinned downloads: files fetched once, verified against their published hashes, cached.

Everything the project downloads is described by a `Pinned` set: file names with their
published hashes, the mirrors to fetch them from and the environment variable that names a
local copy. `locate` looks the files up in, in order: an explicit directory, the directory
named by the variable (both used read-only, never downloaded into), or the cache
(``<cache dir>/<cache_subdir>``), into which missing files are downloaded. Every file is
checked against its published hash each time it is located. MNIST (`mnist_book.data`) and
the browser runtime of the draw page (`mnist_book.site.ort_web`) both come this way.
"""

from __future__ import annotations

import base64
import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from mnist_book import paths

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


class FetchError(Exception):
    """Base class of every problem locating a pinned file."""


class NotFoundError(FetchError):
    """The files are not there and cannot be downloaded."""


class ChecksumError(FetchError):
    """A file's hash differs from the published one."""


@dataclass(frozen=True)
class Pinned:
    """Files pinned by their published hashes, and where to find them.

    Attributes:
        what: what the files are, for messages ("MNIST data").
        files: each file name and its published hash, as ``"algorithm:hexdigest"``.
        mirrors: base URLs, tried in order; a file's URL is the mirror followed by its name.
        env: the environment variable naming a local directory that holds the files.
        cache_subdir: the directory under `mnist_book.paths.cache_dir` downloaded into.
    """

    what: str
    files: Mapping[str, str]
    mirrors: Sequence[str]
    env: str
    cache_subdir: str

    def holding(self) -> str:
        """The files in words: "the four files", or the name of a single one."""
        if len(self.files) == 1:
            return next(iter(self.files))
        count = len(self.files)
        return f"the {_NUMBERS[count] if count < len(_NUMBERS) else count} files"


def sri_digest(integrity: str) -> str:
    """A Subresource Integrity string (npm's ``sha512-<base64>``) as ``"sha512:<hex>"``."""
    algorithm, _, encoded = integrity.partition("-")
    return f"{algorithm}:{base64.b64decode(encoded).hex()}"


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of the file at `path` with the hashlib `algorithm`."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def locate(
    pinned: Pinned,
    directory: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    argument: str = "directory",
) -> Path:
    """Return a directory holding every file of `pinned`, each verified against its hash.

    Only the cache is ever downloaded into (with ``download=True``, showing a progress bar
    when ``progress``); an explicit `directory` (the caller's `argument`, named in messages)
    or the directory named by ``pinned.env`` is used as it is.
    """
    in_cache = False
    files = pinned.holding()
    if directory is not None:
        directory = Path(directory).expanduser().resolve()
        where = f"{directory} (the {argument} argument)"
        fix = f"Put {files} there, or leave out {argument} to download them."
    elif configured := os.environ.get(pinned.env):
        directory = Path(configured).expanduser().resolve()
        where = f"{directory} (from {pinned.env})"
        fix = f"Put {files} there, or unset {pinned.env} to download them."
    else:
        in_cache, directory = True, paths.cache_dir() / pinned.cache_subdir
        where = f"the cache {directory}"
        fix = f"Call with download=True, or set {pinned.env} to a directory holding them."
        if download and _missing(pinned, directory):
            _download(pinned, directory, progress)
    if missing := _missing(pinned, directory):
        state = f"lacks {', '.join(missing)}"
        if not directory.is_dir():
            state = f"does not exist (it should hold {', '.join(pinned.files)})"
        raise NotFoundError(f"{pinned.what} not found: {where} {state}. {fix}")
    for name in pinned.files:
        verify(pinned, directory / name, in_cache=in_cache)
    return directory


def verify(pinned: Pinned, path: Path, *, in_cache: bool) -> None:
    """Raise ChecksumError unless the file at `path` has its published hash."""
    algorithm, expected = pinned.files[path.name].split(":", 1)
    actual = file_digest(path, algorithm)
    if actual != expected:
        fix = (
            f"Delete it ({path}) and it will be downloaded again."
            if in_cache
            else f"Restore the original file (download it again from {pinned.mirrors[0]}"
            f"{path.name})."
        )
        raise ChecksumError(
            f"{path.name} at {path} is corrupt, truncated or another file: its {algorithm} is "
            f"{actual}, expected {expected}. {fix}"
        )


def _missing(pinned: Pinned, directory: Path) -> list[str]:
    return [name for name in pinned.files if not (directory / name).is_file()]


def _download(pinned: Pinned, directory: Path, progress: bool) -> None:
    """Download the missing files into `directory`, one process at a time."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NotFoundError(
            f"Cannot create the {pinned.what} cache directory {directory} ({error}). Set "
            f"{paths.CACHE_DIR_ENV} to a writable directory, or {pinned.env} to a directory "
            f"holding {pinned.holding()}."
        ) from error
    with warnings.catch_warnings():  # without ipywidgets, tqdm.auto warns in notebooks
        warnings.filterwarnings("ignore", message="IProgress not found")
        import pooch  # only needed to download
    with FileLock(directory / ".download.lock"):
        for name in _missing(pinned, directory):  # another process may have fetched some
            failures = []
            for mirror in pinned.mirrors:
                try:  # pooch downloads to a temporary name and renames only once verified
                    pooch.retrieve(
                        mirror + name,
                        known_hash=pinned.files[name],
                        fname=name,
                        path=directory,
                        progressbar=progress,
                    )
                    break
                except (OSError, ValueError) as error:  # network, HTTP or hash mismatch
                    failures.append(f"  {mirror + name}: {type(error).__name__}: {error}")
            else:
                raise NotFoundError(
                    f"Could not download {name} into {directory}; every mirror failed:\n"
                    + "\n".join(failures)
                    + f"\nCheck the internet connection, or, to work offline, set {pinned.env} "
                    f"to a directory holding {pinned.holding()} ({', '.join(pinned.files)})."
                )
