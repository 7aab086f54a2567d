"""The published cache: trained models, ONNX exports and executed pages, shared by their keys.

On main, the workflow publishes beside the site (``cache/`` under its address) every entry of
the model cache, the ONNX exports and the page cache that a finished build used (`publish`,
``mnist-book publish-cache``): one ``.tar.gz`` archive per entry, named like the entry (whose
name holds its cache key), listed with its size and sha256 in ``manifest.json``.

On a cache miss, `restore` looks for exactly that entry there: in the directory named by
``MNIST_BOOK_PUBLISHED_CACHE_DIR`` (offline use: a copy of the published ``cache/``), else at
the address in ``MNIST_BOOK_PUBLISHED_CACHE`` (`paths.PUBLISHED_CACHE_URL` when unset; set
empty, the lookup is off). An entry is used only when its archive has the manifest's size and
sha256 and unpacks into exactly the expected file or directory, holding only regular files;
anything else gets a one-line warning and the caller trains (or executes) instead. A restored
entry is then read like a local one and checked again there: a model loads in Keras's safe
mode and must be the training its key names. An entry is data, never code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from mnist_book import paths, run_log

SCHEMA = 1
"""The version of the manifest's format."""

MANIFEST = "manifest.json"
"""The manifest's name in the published cache."""

ARCHIVE_SUFFIX = ".tar.gz"

TIMEOUT = 30.0
"""Seconds a lookup waits for the published cache (each request, and each whole download)."""


class PublishedCacheError(Exception):
    """The published cache, or one of its entries, cannot be used."""


@dataclass(frozen=True)
class PublishedEntry:
    """An archive of the published cache: its size in bytes and its sha256."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What the published cache holds: each entry's name (``models/convnet-<key>``...)."""

    entries: Mapping[str, PublishedEntry]

    def to_json(self) -> dict:
        """The manifest as JSON-ready data, with its schema version."""
        entries = {name: vars(entry) for name, entry in sorted(self.entries.items())}
        return {"schema": SCHEMA, "entries": entries}

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """Read a manifest; raises `PublishedCacheError` unless it is one of this schema."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise PublishedCacheError(f"its manifest is not of schema {SCHEMA} (found {found})")
        entries = {}
        for name, entry in dict(data.get("entries") or {}).items():
            size, digest = entry.get("bytes"), entry.get("sha256")
            if not (isinstance(size, int) and isinstance(digest, str) and len(digest) == 64):
                raise PublishedCacheError(f"its manifest's entry {name} is malformed")
            entries[name] = PublishedEntry(size, digest)
        return cls(entries)


def location() -> str | Path | None:
    """Where entries are looked up: a local directory, a base URL, or None (lookup off)."""
    if directory := os.environ.get(paths.PUBLISHED_CACHE_DIR_ENV):
        return Path(directory).expanduser().resolve()
    url = os.environ.get(paths.PUBLISHED_CACHE_ENV, paths.PUBLISHED_CACHE_URL)
    return url.rstrip("/") + "/" if url else None


def lists(name: str) -> bool:
    """Whether the published cache's manifest lists the entry `name` (nothing is downloaded
    but the manifest; False when the lookup is off or the cache cannot be read)."""
    where = location()
    manifest = _manifest(where, run_log.warn) if where is not None else None
    return manifest is not None and name in manifest.entries


def restore(entry: Path, name: str, warn: Callable[[str], None] = run_log.warn) -> bool:
    """Put the published entry `name` (``models/convnet-<key>``) at `entry`, if there is one.

    True when it was found, verified and unpacked into place; False otherwise, with a one-line
    `warn` (the build's log under a site build, else a Python warning) when the entry is
    unusable, or (once per process) the published cache itself; quietly when the lookup is off
    or the entry is simply not published.
    """
    where = location()
    if where is None:
        return False
    manifest = _manifest(where, warn)
    if manifest is None:
        return False
    try:
        published = manifest.entries.get(name)
        if published is None:
            return False
        archive = _read(where, name + ARCHIVE_SUFFIX, published.bytes)
        if len(archive) != published.bytes:
            raise PublishedCacheError(f"it has {len(archive)} bytes, not {published.bytes}")
        if hashlib.sha256(archive).hexdigest() != published.sha256:
            raise PublishedCacheError("its sha256 is not the manifest's")
        unpack(archive, entry)
    except PublishedCacheError as error:
        warn(
            f"Not using the published cache entry {name} from {where}: {error}. Computing it here."
        )
        return False
    return True


def publish(entries: Mapping[str, Path], directory: Path) -> Manifest:
    """Write each entry (name -> local file or directory) as an archive, and the manifest.

    The archives are byte-stable: the same entry gives the same bytes, so the same sha256.
    """
    published = {}
    for name, entry in sorted(entries.items()):
        archive = pack(entry)
        path = directory / (name + ARCHIVE_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive)
        published[name] = PublishedEntry(len(archive), hashlib.sha256(archive).hexdigest())
    manifest = Manifest(published)
    (directory / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1) + "\n")
    return manifest


def pack(entry: Path) -> bytes:
    """The file or directory `entry` as a ``.tar.gz`` whose one top-level member is its name.

    Members are sorted, with no owners, times or permissions beyond read (and execute for
    directories), so the bytes depend on the content only.
    """
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        members = [entry, *sorted(entry.rglob("*"))] if entry.is_dir() else [entry]
        for path in members:
            info = tar.gettarinfo(path, (entry.name / path.relative_to(entry)).as_posix())
            info.uid = info.gid = info.mtime = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isfile():
                with path.open("rb") as stream:
                    tar.addfile(info, stream)
            elif info.isdir():
                tar.addfile(info)
            else:
                raise PublishedCacheError(f"{path} is neither a file nor a directory")
    return buffer.getvalue()


def unpack(archive: bytes, entry: Path) -> None:
    """Unpack `archive` (from `pack`) into place as `entry`, atomically.

    Raises `PublishedCacheError`, leaving nothing behind, unless every member is a regular
    file or directory inside the one top-level member named ``entry.name``: no absolute
    paths, no ``..``, no links or devices.
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".published-", dir=entry.parent))
    try:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, entry.name)
                if entry.name not in {member.name for member in members}:
                    raise PublishedCacheError(f"it does not hold {entry.name}")
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                    tar.extractall(staging, members, filter="data")
                else:  # the same checks were made by hand above
                    tar.extractall(staging, members)
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as error:
            raise PublishedCacheError(f"it is not a readable archive ({error})") from error
        os.replace(staging / entry.name, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_member(member: tarfile.TarInfo, top: str) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or path.parts[:1] != (top,):
        raise PublishedCacheError(f"its member {member.name!r} would leave {top}")
    if not (member.isfile() or member.isdir()):
        raise PublishedCacheError(f"its member {member.name!r} is not a file or directory")


@lru_cache(maxsize=4)
def _manifest(where: str | Path, warn: Callable[[str], None]) -> Manifest | None:
    """The manifest at `where`, read once per process; None, after one warning, if it cannot be.

    So a published cache that is down or hangs costs one wait and one warning, not one per entry.
    """
    try:
        try:
            return Manifest.from_json(json.loads(_read(where, MANIFEST, limit=None)))
        except ValueError as error:
            raise PublishedCacheError(f"its manifest is not JSON ({error})") from error
    except PublishedCacheError as error:
        warn(
            f"Not using the published cache at {where}: {error}. Computing what is not in "
            f"the local cache here (set {paths.PUBLISHED_CACHE_ENV} empty to skip the lookup)."
        )
        return None


def _read(where: str | Path, name: str, limit: int | None) -> bytes:
    """The bytes of `name` at `where`, at most `limit` plus one, within `TIMEOUT` seconds."""
    if isinstance(where, Path):
        try:
            with (where / name).open("rb") as stream:
                return stream.read(-1 if limit is None else limit + 1)
        except OSError as error:
            raise PublishedCacheError(f"cannot read {name} ({error})") from error
    deadline = time.monotonic() + TIMEOUT
    try:
        with urllib.request.urlopen(where + name, timeout=TIMEOUT) as response:
            chunks, size = [], 0
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if limit is not None and size > limit:
                    break
                if time.monotonic() > deadline:
                    raise PublishedCacheError(f"{name} took longer than {TIMEOUT:.0f} s")
            return b"".join(chunks)
    except (urllib.error.URLError, OSError) as error:  # HTTP errors, refused, timed out
        raise PublishedCacheError(f"cannot download {name} ({error})") from error
