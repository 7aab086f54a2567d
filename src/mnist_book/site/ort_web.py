"""onnxruntime-web, the browser runtime of the draw page: pinned, verified, cached, unpacked.

The release tarball is fetched from the npm registry like MNIST from its mirrors
(`mnist_book.fetch`): once, checked against the sha512 the registry publishes, kept in the
cache. No Node is needed: the tarball is a plain ``.tgz``. Offline, ``MNIST_BOOK_ORT_WEB_DIR``
names a directory holding it (``npm pack onnxruntime-web@1.30.0`` writes it there).

Only the WebAssembly build is shipped (`FILES`): the JavaScript API with its WebAssembly glue
bundled in (``ort.wasm.bundle.min.mjs``) and the SIMD WebAssembly binary it loads. It runs
single-threaded, so plain static hosting serves it (no cross-origin isolation headers).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from mnist_book import fetch, paths

VERSION = "1.30.0"
"""The pinned onnxruntime-web release."""

TARBALL = f"onnxruntime-web-{VERSION}.tgz"
"""The release tarball's name, as the registry and ``npm pack`` name it."""

INTEGRITY = (
    "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ"
    "=="
)
"""The tarball's integrity as the npm registry publishes it (``npm view onnxruntime-web@1.30.0
dist.integrity``)."""

REGISTRY = "https://registry.npmjs.org/onnxruntime-web/-/"
"""Where the npm registry keeps the package's tarballs."""

FILES = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")
"""The files the page loads, from the tarball's ``package/dist/``."""


def pinned() -> fetch.Pinned:
    """The release tarball as a `mnist_book.fetch.Pinned` set."""
    return fetch.Pinned(
        what=f"onnxruntime-web {VERSION}",
        files={TARBALL: fetch.sri_digest(INTEGRITY)},
        mirrors=(REGISTRY,),
        env=paths.ORT_WEB_DIR_ENV,
        cache_subdir="runtime",
    )


def runtime_files(release: fetch.Pinned | None = None, *, progress: bool = True) -> dict[str, Path]:
    """Each of `FILES` unpacked from the verified tarball of `release` (default: `pinned`).

    The files are unpacked once into the cache, beside the downloaded tarball, in a directory
    named after the tarball's hash; later calls verify the tarball and reuse them.
    """
    release = release or pinned()
    (tarball, digest), *_ = release.files.items()
    source = fetch.locate(release, progress=progress) / tarball
    unpacked = (
        paths.cache_dir() / release.cache_subdir / f"{tarball.removesuffix('.tgz')}-"
        f"{digest.split(':')[1][:12]}"
    )
    if not all((unpacked / name).is_file() for name in FILES):
        _unpack(source, unpacked)
    return {name: unpacked / name for name in FILES}


def _unpack(tarball: Path, target: Path) -> None:
    """Extract `FILES` from the tarball's ``package/dist/`` into `target`, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        with tarfile.open(tarball) as archive:
            for name in FILES:
                try:
                    member = archive.getmember(f"package/dist/{name}")
                except KeyError:
                    raise fetch.FetchError(
                        f"{tarball} holds no package/dist/{name}: it is not an onnxruntime-web "
                        f"{VERSION} release. Replace it with {TARBALL} from {REGISTRY}."
                    ) from None
                with archive.extractfile(member) as stream, open(staging / name, "wb") as out:
                    shutil.copyfileobj(stream, out)
                os.chmod(staging / name, 0o644)
        os.chmod(staging, 0o755)  # mkdtemp makes it private
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
