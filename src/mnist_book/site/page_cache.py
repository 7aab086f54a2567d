"""The execution cache: executed tutorial notebooks, keyed on what their outputs depend on.

A page's outputs depend on its code cells and on its environment: the `mnist_book` source,
the MNIST files and every installed library (`environment_fingerprint`). Markdown cells do
not change any output, so a prose edit is served from the cache with the new prose merged
into the stored outputs, and nothing is executed.

Each page has a directory in the cache with one entry per key: the executed ``.ipynb`` and a
``.json`` beside it with the seconds it took and the results of the models it trained
(`mnist_book.results.TrainingRecord`; an entry whose records this code cannot read is
executed again). Only the latest entry of a page is kept. A missing entry is looked up in the
published cache (`mnist_book.published_cache`) before the page is executed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from mkdocs.plugins import get_plugin_logger

import mnist_book
from mnist_book import data, model_cache, published_cache
from mnist_book.results import TrainingRecord

log = get_plugin_logger(__name__)


@dataclass
class ExecutedPage:
    """A tutorial page after execution: where its notebook is and what it produced."""

    src_path: str
    notebook: Path
    seconds: float
    results: list[TrainingRecord]
    from_cache: bool = False


def read_script(path: str | os.PathLike[str]) -> Any:
    """The Jupytext script at `path` as a notebook, with stable cell ids (`cell-0`, ...).

    Jupytext makes random ids; fixed ones keep an executed notebook byte-identical between
    builds, so that mkdocs-jupyter's own cache recognises it.
    """
    notebook = jupytext.read(path)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
    return notebook


INSTALLERS = frozenset({"pip", "setuptools", "wheel"})
"""Packages that install the environment but are not in the lock: no page depends on them."""


def environment_fingerprint() -> str:
    """A hash of what every page's output depends on besides the page itself.

    That is the `mnist_book` source, the MNIST checksums and the version of every installed
    library but the installers: two environments installed from the lock agree.
    """
    package = Path(mnist_book.__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + source.read_bytes())
    versions = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"].lower() not in INSTALLERS
    )
    digest.update(json.dumps([versions, data.data_checksums()]).encode())
    return digest.hexdigest()


DEFAULT_DIR = ".cache/mnist-book/pages"
"""Where the build keeps executed pages, relative to ``mkdocs.yml`` (the plugin's `cache_dir`)."""


def _missing_models(results: list[TrainingRecord]) -> str:
    """The models of `results` trained with the cache that it no longer holds, in words."""
    missing = sorted(
        {
            result.name
            for result in results
            if result.cache_key is not None
            and not model_cache.available(result.name, result.cache_key, warn=log.info)
        }
    )
    if not missing:
        return ""
    return f"its model{'s' if len(missing) > 1 else ''} {', '.join(missing)} " + (
        "are" if len(missing) > 1 else "is"
    )


class PageCache:
    """Executed pages under `directory`, valid for the environment `fingerprint`."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint

    def load(self, src_path: str, notebook: Any) -> ExecutedPage | None:
        """The cached execution of `notebook` (page `src_path`), or None if there is none.

        The cached outputs are copied into `notebook`, whose prose may be newer; the entry
        is rewritten when it changed. An unreadable entry counts as none, and so does one whose
        models are not in the model cache (nor the published cache): executing the page again
        trains them, which the site's other pages (the draw page's exports) need.
        """
        path = self._notebook_path(src_path, notebook)
        meta = path.with_suffix(".json")
        stored_here = path.exists() and meta.exists()
        if not stored_here and (path.parent.exists() or not self._restore(path.parent)):
            return None
        try:
            stored = json.loads(meta.read_text())
            results = [TrainingRecord.from_json(result) for result in stored["results"]]
            if missing := _missing_models(results):
                log.info(f"Re-executing {src_path}: {missing} not in the model cache.")
                return None
            _copy_outputs(nbformat.read(path, as_version=4), notebook)
            text = nbformat.writes(notebook)
            if text != path.read_text():  # the prose changed
                write_atomically(path, text)
            return ExecutedPage(src_path, path, float(stored["seconds"]), results, True)
        except (ValueError, KeyError, TypeError, nbformat.ValidationError) as error:
            log.info(f"Re-executing {src_path}: its cache entry is unreadable ({error}).")
            return None

    def store(
        self, src_path: str, notebook: Any, seconds: float, results: list[TrainingRecord]
    ) -> ExecutedPage:
        """Cache the executed `notebook` of page `src_path`, replacing older entries."""
        path = self._notebook_path(src_path, notebook)
        write_atomically(path, nbformat.writes(notebook))
        stored = {"seconds": seconds, "results": [result.to_json() for result in results]}
        write_atomically(path.with_suffix(".json"), json.dumps(stored))
        for stale in self._page_dir(src_path).iterdir():
            if stale != path.parent:
                shutil.rmtree(stale, ignore_errors=True)
        return ExecutedPage(src_path, path, seconds, results)

    def previous_seconds(self, src_path: str) -> float:
        """How long the page took when it was last executed (0 if never)."""
        for meta in self._page_dir(src_path).glob("*/*.json"):
            try:
                return float(json.loads(meta.read_text())["seconds"])
            except (OSError, ValueError, KeyError):
                continue
        return 0.0

    def published_entries(self) -> dict[str, Path]:
        """Every page's latest entry, by its name in the published cache."""
        entries = sorted(path.parent for path in self.directory.glob("*/*/*.ipynb"))
        return {self._published_name(entry): entry for entry in entries}

    def stored_results(self, entry: Path) -> list[TrainingRecord]:
        """The results of the models the page in `entry` trained (or loaded)."""
        (meta,) = entry.glob("*.json")
        stored = json.loads(meta.read_text())
        return [TrainingRecord.from_json(result) for result in stored["results"]]

    def _restore(self, entry: Path) -> bool:
        """Fetch the executed page `entry` from the published cache, making it the latest."""
        if not published_cache.restore(entry, self._published_name(entry), warn=log.info):
            return False
        for stale in entry.parent.iterdir():
            if stale != entry:
                shutil.rmtree(stale, ignore_errors=True)
        return True

    def _published_name(self, entry: Path) -> str:
        return f"pages/{entry.parent.name}/{entry.name}"

    def key(self, notebook: Any) -> str:
        """The key of `notebook`'s entry: its code cells and the environment."""
        code = json.dumps([cell.source for cell in notebook.cells if cell.cell_type == "code"])
        return hashlib.sha256((code + self.fingerprint).encode()).hexdigest()[:24]

    def _page_dir(self, src_path: str) -> Path:
        return self.directory / Path(src_path).with_suffix("").as_posix().replace("/", "--")

    def _notebook_path(self, src_path: str, notebook: Any) -> Path:
        name = Path(src_path).with_suffix(".ipynb").name
        return self._page_dir(src_path) / self.key(notebook) / name


def _copy_outputs(executed: Any, notebook: Any) -> None:
    """Give `notebook`'s code cells the outputs of the same cells in `executed`."""
    sources = [cell for cell in executed.cells if cell.cell_type == "code"]
    targets = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if [cell.source for cell in sources] != [cell.source for cell in targets]:
        raise ValueError("the cached notebook's code differs from the page's")
    for source, target in zip(sources, targets, strict=True):
        target.outputs = source.outputs
        target.execution_count = source.execution_count
        target.metadata = source.metadata
    notebook.metadata = executed.metadata  # what the kernel added (language_info)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as stream:
        stream.write(text)
    os.chmod(stream.name, 0o644)  # NamedTemporaryFile creates 0600; the site is served to all
    os.replace(stream.name, path)
