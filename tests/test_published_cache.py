"""The published cache: entries served over HTTP (from 127.0.0.1) or a directory, used only when
they are exactly what the manifest says, unpacked only inside their own directory."""

import hashlib
import io
import json
import socket
import tarfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from http_mirror import Mirror, closed_port_url
from made_records import made_record

from mnist_book import model_cache, paths, published_cache
from mnist_book._keras import keras
from mnist_book.config import TrainConfig

CONFIG = TrainConfig(epochs=1, seed=0)
KEY = "cd" * 32


pytestmark = pytest.mark.usefixtures("fresh_manifests")


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A directory to publish into, served over HTTP, and set as the published cache's address."""
    directory = tmp_path / "published"
    directory.mkdir()
    mirror = Mirror(directory)
    monkeypatch.delenv(paths.PUBLISHED_CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv(paths.PUBLISHED_CACHE_ENV, mirror.url)
    yield mirror
    mirror.close()


def _entry(tmp_path: Path, name: str = "page-0123") -> Path:
    """A small directory entry with a nested file."""
    entry = tmp_path / "source" / name
    (entry / "inner").mkdir(parents=True)
    (entry / "page.ipynb").write_text('{"cells": []}')
    (entry / "inner" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    return entry


def _files(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _manifest_for(directory: Path, name: str, archive: bytes) -> None:
    """Publish `archive` as entry `name` of the published cache in `directory`, by hand."""
    path = directory / (name + published_cache.ARCHIVE_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive)
    entry = {"bytes": len(archive), "sha256": hashlib.sha256(archive).hexdigest()}
    manifest = {"schema": published_cache.SCHEMA, "entries": {name: entry}}
    (directory / published_cache.MANIFEST).write_text(json.dumps(manifest))


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, content in members:
            if content is not None:
                info.size = len(content)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_a_published_entry_is_restored_byte_for_byte_over_http(tmp_path, published):
    entry = _entry(tmp_path)
    published_cache.publish({"pages/p/page-0123": entry}, published.directory)
    target = tmp_path / "cache" / "p" / "page-0123"

    assert published_cache.restore(target, "pages/p/page-0123")

    assert _files(target) == _files(entry)
    assert published.requests == ["manifest.json", "pages/p/page-0123.tar.gz"]
    assert [path.name for path in target.parent.iterdir()] == ["page-0123"]  # no leftovers


def test_publishing_is_byte_stable(tmp_path):
    entry = _entry(tmp_path)
    first = published_cache.pack(entry)
    (entry / "page.ipynb").touch()  # a newer time, the same content
    assert published_cache.pack(entry) == first
    (entry / "page.ipynb").write_text('{"cells": [1]}')
    assert published_cache.pack(entry) != first


def test_an_entry_not_published_is_a_quiet_miss(tmp_path, published):
    published_cache.publish({"pages/p/page-0123": _entry(tmp_path)}, published.directory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not published_cache.restore(tmp_path / "cache" / "other", "pages/p/other")


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_damaged_archive_warns_in_one_line_and_is_not_used(tmp_path, published, damage):
    entry = _entry(tmp_path)
    published_cache.publish({"pages/p/page-0123": entry}, published.directory)
    archive = published.directory / "pages" / "p" / "page-0123.tar.gz"
    content = archive.read_bytes()
    if damage == "corrupt":
        content = content[:100] + bytes([content[100] ^ 1]) + content[101:]
    else:
        content = content[: len(content) // 2]
    archive.write_bytes(content)
    target = tmp_path / "cache" / "page-0123"

    with pytest.warns(UserWarning) as caught:
        assert not published_cache.restore(target, "pages/p/page-0123")

    (message,) = [str(warning.message) for warning in caught]
    assert "pages/p/page-0123" in message and "\n" not in message
    assert ("sha256" if damage == "corrupt" else "bytes") in message
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_an_archive_of_another_entry_is_refused(tmp_path, published):
    """The manifest lists it under this entry's name, but it holds another entry."""
    _manifest_for(
        published.directory, "models/m-1111", published_cache.pack(_entry(tmp_path, "m-2222"))
    )
    target = tmp_path / "cache" / "m-1111"
    with pytest.warns(UserWarning, match="member .m-2222. would leave m-1111"):
        assert not published_cache.restore(target, "models/m-1111")
    assert not target.exists() and not (target.parent / "m-2222").exists()


@pytest.mark.parametrize(
    "member",
    [
        (_member("entry/../../escaped"), b"x"),
        (_member("/tmp/escaped"), b"x"),
        (_member("entry/link", tarfile.SYMTYPE, "/etc/passwd"), None),
        (_member("entry/hard", tarfile.LNKTYPE, "entry/file"), None),
        (_member("entry/fifo", tarfile.FIFOTYPE), None),
    ],
    ids=["dot-dot", "absolute", "symlink", "hardlink", "fifo"],
)
def test_a_hostile_archive_is_refused_and_writes_nothing(tmp_path, published, member):
    archive = _tar(
        (_member("entry", tarfile.DIRTYPE), None), (_member("entry/file"), b"ok"), member
    )
    _manifest_for(published.directory, "pages/p/entry", archive)
    target = tmp_path / "deep" / "cache" / "entry"

    with pytest.warns(UserWarning, match="member"):
        assert not published_cache.restore(target, "pages/p/entry")

    assert not target.exists()
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "deep" / "escaped").exists()
    assert not any(target.parent.iterdir())


def test_a_hanging_server_costs_one_bounded_wait(tmp_path, monkeypatch):
    """A server that accepts connections and never answers: the lookup gives up, once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    threading.Thread(
        target=lambda: [accepted.append(server.accept()) for _ in range(8)], daemon=True
    ).start()
    monkeypatch.delenv(paths.PUBLISHED_CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv(paths.PUBLISHED_CACHE_ENV, f"http://127.0.0.1:{server.getsockname()[1]}/")
    monkeypatch.setattr(published_cache, "TIMEOUT", 1.0)
    try:
        started = time.monotonic()
        with pytest.warns(UserWarning, match="cannot download manifest.json"):
            assert not published_cache.restore(tmp_path / "a", "models/a")
        assert time.monotonic() - started < 5
        with warnings.catch_warnings():  # the failure is remembered: no second wait or warning
            warnings.simplefilter("error")
            started = time.monotonic()
            assert not published_cache.restore(tmp_path / "b", "models/b")
        assert time.monotonic() - started < 0.5
        assert len(accepted) == 1
    finally:
        server.close()


def test_an_unreachable_cache_warns_and_misses(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.PUBLISHED_CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv(paths.PUBLISHED_CACHE_ENV, closed_port_url())
    with pytest.warns(UserWarning, match="cannot download manifest.json"):
        assert not published_cache.restore(tmp_path / "a", "models/a")


def test_a_manifest_of_another_schema_is_not_used(tmp_path, published):
    (published.directory / "manifest.json").write_text('{"schema": 99, "entries": {}}')
    with pytest.warns(UserWarning, match="not of schema 1"):
        assert not published_cache.restore(tmp_path / "a", "models/a")


def test_setting_the_address_empty_turns_the_lookup_off(tmp_path, published, monkeypatch):
    published_cache.publish({"pages/p/page-0123": _entry(tmp_path)}, published.directory)
    monkeypatch.setenv(paths.PUBLISHED_CACHE_ENV, "")
    assert published_cache.location() is None
    assert not published_cache.restore(tmp_path / "cache" / "page-0123", "pages/p/page-0123")
    assert published.requests == []


def test_a_local_directory_is_used_offline_instead_of_the_address(tmp_path, published, monkeypatch):
    offline = tmp_path / "offline"
    entry = _entry(tmp_path)
    published_cache.publish({"pages/p/page-0123": entry}, offline)
    monkeypatch.setenv(paths.PUBLISHED_CACHE_DIR_ENV, str(offline))
    target = tmp_path / "cache" / "page-0123"

    assert published_cache.restore(target, "pages/p/page-0123")

    assert _files(target) == _files(entry) and published.requests == []


def test_the_default_address_is_cache_beside_the_published_site():
    mkdocs = (Path(__file__).parents[1] / "mkdocs.yml").read_text()
    (site_url,) = [
        line.split(": ", 1)[1] for line in mkdocs.splitlines() if line.startswith("site_url:")
    ]
    assert site_url.rstrip("/") + "/cache/" == paths.PUBLISHED_CACHE_URL


def _saved_model_entry(tmp_path: Path, key: str, record_key: str) -> Path:
    """A model-cache entry of a tiny model whose record carries `record_key`."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    entry = tmp_path / "models-source" / model_cache.entry_name("tiny", key)
    entry.parent.mkdir(parents=True, exist_ok=True)
    record = made_record(
        name="tiny",
        config=CONFIG,
        images_per_epoch=CONFIG.images_per_epoch(),
        cache_key=record_key,
    )
    model_cache.save(entry, record, model)
    return entry


def test_a_published_model_loads_as_if_trained_here(tmp_path, isolated_cache, published):
    source = _saved_model_entry(tmp_path, KEY, KEY)
    published_cache.publish({model_cache.published_name(source): source}, published.directory)
    entry = model_cache.entry("tiny", KEY)

    record, model = model_cache.load(entry, "tiny", CONFIG)

    assert record.cache_key == KEY and entry.is_dir()
    images = np.ones((1, 3), "float32")
    original = keras.saving.load_model(source / model_cache.MODEL_FILE)
    np.testing.assert_array_equal(
        model.predict(images, verbose=0), original.predict(images, verbose=0)
    )


def test_a_published_model_of_another_key_is_never_trusted(tmp_path, isolated_cache, published):
    """Published under this key, it carries another one: discarded, the caller trains."""
    source = _saved_model_entry(tmp_path, KEY, "ef" * 32)
    published_cache.publish({model_cache.published_name(source): source}, published.directory)
    entry = model_cache.entry("tiny", KEY)

    with pytest.warns(UserWarning, match="stored cache key is not the entry's"):
        assert model_cache.load(entry, "tiny", CONFIG) is None
    assert not entry.exists()
