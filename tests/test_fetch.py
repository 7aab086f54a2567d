"""Pinned downloads (mnist_book.fetch) with any hash algorithm, on files made here.

MNIST's own use of it, with its messages, is covered by test_data.py.
"""

import base64
import hashlib

import pooch
import pytest
from http_mirror import Mirror, closed_port_url

from mnist_book import fetch

ENV = "MNIST_BOOK_TEST_FETCH_DIR"
CONTENT = b"a release tarball, as far as this test is concerned\n" * 100
NAME = "release-1.0.tgz"


def sha512(content: bytes) -> str:
    return hashlib.sha512(content).hexdigest()


def pinned(mirrors, content=CONTENT) -> fetch.Pinned:
    return fetch.Pinned(
        what="the test release",
        files={NAME: f"sha512:{sha512(content)}"},
        mirrors=tuple(mirrors),
        env=ENV,
        cache_subdir="release",
    )


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A local mirror serving the release, and the cache it downloads into."""
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / NAME).write_bytes(CONTENT)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.delenv(ENV, raising=False)
    server = Mirror(directory)
    yield server
    server.close()


def test_sri_digest_is_the_hex_of_the_published_base64():
    digest = hashlib.sha512(CONTENT).digest()
    integrity = "sha512-" + base64.b64encode(digest).decode()
    assert fetch.sri_digest(integrity) == f"sha512:{digest.hex()}"


def test_holding_names_a_single_file_or_counts_several():
    assert pinned([]).holding() == NAME
    several = fetch.Pinned("x", {"a": "", "b": "", "c": ""}, (), ENV, "x")
    assert several.holding() == "the three files"


def test_download_into_the_cache_verifies_and_reuses(served, isolated_cache):
    release = pinned([closed_port_url(), served.url])
    directory = fetch.locate(release, progress=False)
    assert directory == isolated_cache / "release"
    assert (directory / NAME).read_bytes() == CONTENT
    assert fetch.locate(release, progress=False) == directory
    assert served.requests == [NAME]  # the second look-up downloaded nothing


def test_a_download_with_another_hash_is_refused(served, isolated_cache):
    release = pinned([served.url], content=b"what the publisher released")
    with pytest.raises(fetch.NotFoundError) as caught:
        fetch.locate(release, progress=False)
    message = str(caught.value)
    for expected in (served.url + NAME, "hash", ENV, NAME):
        assert expected in message
    assert not (isolated_cache / "release" / NAME).exists()


def test_local_directory_from_the_variable_is_used_and_never_downloaded_into(
    tmp_path, isolated_cache, monkeypatch
):
    local = tmp_path / "local"
    local.mkdir()
    (local / NAME).write_bytes(CONTENT)
    monkeypatch.setenv(ENV, str(local))
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("downloaded"))
    assert fetch.locate(pinned(["http://unused.invalid/"])) == local

    (local / NAME).write_bytes(CONTENT[:-1])
    with pytest.raises(fetch.ChecksumError) as caught:
        fetch.locate(pinned(["http://unused.invalid/"]))
    message = str(caught.value)
    for expected in (str(local / NAME), "sha512", sha512(CONTENT[:-1]), "Restore the original"):
        assert expected in message

    (local / NAME).unlink()
    with pytest.raises(fetch.NotFoundError, match=f"lacks {NAME}.*unset {ENV}"):
        fetch.locate(pinned(["http://unused.invalid/"]))


def test_neither_a_mirror_nor_a_local_copy_names_both(isolated_cache, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    dead = closed_port_url()
    with pytest.raises(fetch.NotFoundError) as caught:
        fetch.locate(pinned([dead]), progress=False)
    message = str(caught.value)
    assert dead + NAME in message and f"set {ENV} to a directory holding {NAME}" in message
