"""What a finished build publishes as the published cache: its pages and what they used.

`build_entries` names, for `mnist_book.published_cache.publish`, each page's executed notebook
in the page cache and, for every training those pages report, its model-cache entry and its
ONNX exports (plain and reading, `mnist_book.export.export_paths`) where the caches hold
them. ``mnist-book publish-cache`` runs it after a build.
"""

from __future__ import annotations

from pathlib import Path

from mnist_book import export, model_cache, paths
from mnist_book.site.page_cache import PageCache, environment_fingerprint


class NothingToPublishError(Exception):
    """No finished build to publish: no executed page, or pages whose models are not here."""


def build_entries(pages_dir: Path) -> dict[str, Path]:
    """Every entry to publish from the build whose page cache is `pages_dir`, by its name."""
    pages = PageCache(pages_dir, environment_fingerprint())
    entries = pages.published_entries()
    if not entries:
        raise NothingToPublishError(
            f"No executed page in {pages_dir}: build the site first (make site)."
        )
    for page in list(entries.values()):
        for record in pages.stored_results(page):
            if record.cache_key is None:  # trained without the cache
                continue
            trained = model_cache.entry(record.name, record.cache_key)
            if not trained.is_dir():  # its pages would be executed again wherever used
                raise NothingToPublishError(
                    f"The executed page {page.parent.name} reports {record.name}, which is not "
                    f"in the model cache {model_cache.models_dir()}: publish with the model "
                    f"cache the build used (set {paths.CACHE_DIR_ENV} as it did)."
                )
            entries[model_cache.published_name(trained)] = trained
            for exported in export.export_paths(record.name, record.cache_key):
                if exported.is_file():
                    entries[export.published_name(exported)] = exported
    return entries
