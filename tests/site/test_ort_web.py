"""The draw page's runtime: the release tarball located like MNIST, verified, then unpacked.

The tarballs here are made by the tests, laid out like the npm package (``package/dist/``);
the real release is exercised by the browser suite, on the built site.
"""

import hashlib
import io
import tarfile

import pytest

from mnist_book import fetch
from mnist_book.paths import ORT_WEB_DIR_ENV
from mnist_book.site import ort_web


def make_tarball(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def release_of(tarball) -> fetch.Pinned:
    """A pin like `ort_web.pinned()`, for `tarball`, with a mirror that is never reached."""
    digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
    return fetch.Pinned(
        what="the test runtime",
        files={tarball.name: f"sha512:{digest}"},
        mirrors=("http://registry.invalid/",),
        env=ORT_WEB_DIR_ENV,
        cache_subdir="runtime",
    )


CONTENTS = {f"package/dist/{name}": f"the content of {name}".encode() for name in ort_web.FILES}


@pytest.fixture
def local_copy(tmp_path, isolated_cache, monkeypatch):
    """A directory holding a test release, named by MNIST_BOOK_ORT_WEB_DIR."""
    directory = tmp_path / "offline"
    directory.mkdir()
    monkeypatch.setenv(ORT_WEB_DIR_ENV, str(directory))
    return directory


def test_the_pin_is_the_registrys_tarball_and_its_sha512():
    release = ort_web.pinned()
    ((name, digest),) = release.files.items()
    assert name == f"onnxruntime-web-{ort_web.VERSION}.tgz"
    algorithm, hex_digest = digest.split(":")
    assert algorithm == "sha512" and len(bytes.fromhex(hex_digest)) == 64
    assert release.mirrors[0] + name == (
        f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ort_web.VERSION}.tgz"
    )
    assert release.env == ORT_WEB_DIR_ENV


def test_files_are_unpacked_from_a_local_copy_once(local_copy, isolated_cache, monkeypatch):
    tarball = make_tarball(
        local_copy / "runtime.tgz", {**CONTENTS, "package/dist/ort.all.min.mjs": b"not shipped"}
    )
    files = ort_web.runtime_files(release_of(tarball))
    assert list(files) == list(ort_web.FILES)
    for name, path in files.items():
        assert path.read_bytes() == CONTENTS[f"package/dist/{name}"]
        assert path.is_relative_to(isolated_cache)  # unpacked into the cache, not the copy
    assert sorted(path.name for path in files["ort.wasm.bundle.min.mjs"].parent.iterdir()) == (
        sorted(ort_web.FILES)
    )

    def no_unpacking(*args):
        raise AssertionError("unpacked again")

    monkeypatch.setattr(ort_web, "_unpack", no_unpacking)
    assert ort_web.runtime_files(release_of(tarball)) == files


def test_a_damaged_local_copy_is_refused_before_unpacking(local_copy, isolated_cache):
    tarball = make_tarball(local_copy / "runtime.tgz", CONTENTS)
    release = release_of(tarball)
    tarball.write_bytes(tarball.read_bytes()[:-10])
    with pytest.raises(fetch.ChecksumError, match="corrupt, truncated or another file"):
        ort_web.runtime_files(release)
    assert not (isolated_cache / "runtime").exists()


def test_a_tarball_without_the_files_says_what_it_lacks(local_copy, isolated_cache):
    tarball = make_tarball(local_copy / "runtime.tgz", {"package/dist/ort.min.mjs": b"webgl"})
    with pytest.raises(fetch.FetchError) as caught:
        ort_web.runtime_files(release_of(tarball))
    message = str(caught.value)
    assert f"no package/dist/{ort_web.FILES[0]}" in message and ort_web.REGISTRY in message
    assert not [path for path in (isolated_cache / "runtime").iterdir() if path.is_dir()]
