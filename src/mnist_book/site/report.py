"""What the build reports: ``results.json``, the results and timing tables, build information.

Markdown pages ask for a table with a marker, replaced when the page is rendered:

- ``<!-- mnist-book:results-table -->``: the site's models (`site_models`), with their results;
- ``<!-- mnist-book:execution-times -->``: how long each page took to execute;
- ``<!-- mnist-book:build-info -->``: library versions and data checksums.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from mnist_book import data
from mnist_book.config import RECIPES, TrainConfig
from mnist_book.results import TrainingRecord
from mnist_book.site import pending
from mnist_book.site.page_cache import ExecutedPage

RESULTS_FILE = "results.json"
"""Where the report is published, relative to the site root."""

_REPORTED_VERSIONS = (
    "mnist-book",
    "keras",
    "tensorflow-cpu",
    "tensorflow",
    "numpy",
    "matplotlib",
    "seaborn",
    "pandas",
    "mkdocs",
    "mkdocs-material",
    "mkdocs-jupyter",
    "tf2onnx",
    "onnx",
)


def model_results(pages: Iterable[ExecutedPage]) -> list[TrainingRecord]:
    """One record per model trained for the site, in the order the pages trained them.

    A model trained (or loaded) by several pages with the same configuration (and the same
    distribution, for a data-parallel training) is listed once.
    """
    unique: list[TrainingRecord] = []
    for page in pages:
        for result in page.results:
            if not any(result.same_training(seen) for seen in unique):
                unique.append(result)
    return unique


def site_models(pages: Iterable[ExecutedPage]) -> list[TrainingRecord]:
    """The site's models, as the results table and ``results.json`` list them.

    Every training of `model_results` but the short runs (`is_short_run`), such as the
    distributed page's two-epoch runs of the convnet, which measure throughput: a page's
    measurement, shown on that page, not one of the site's models.
    """
    return [result for result in model_results(pages) if not is_short_run(result)]


def is_short_run(result: TrainingRecord) -> bool:
    """Whether `result` trained its model's site recipe for fewer epochs, and nothing else.

    On any devices: a data-parallel training of the whole recipe is one of the site's models.
    """
    full = RECIPES.get(result.name)
    return (
        full is not None
        and result.epochs < full.epochs
        and result.config == replace(full, epochs=result.epochs)
    )


def results_json(pages: Iterable[ExecutedPage]) -> str:
    """The content of ``results.json``: the site's models and the build information.

    The models of the results table (`site_models`), each a `TrainingRecord` (`read_results`
    reads them back) with the ``label`` the table names it by.
    """
    models = [{"label": result.label, **result.to_json()} for result in site_models(pages)]
    return json.dumps({"models": models, "build": build_information()}, indent=2)


def read_results(text: str) -> list[TrainingRecord]:
    """The models of a ``results.json`` (`results_json`), as records."""
    return [TrainingRecord.from_json(model) for model in json.loads(text)["models"]]


def build_information() -> dict[str, Any]:
    """Library versions and data checksums the site was built with."""
    versions = {}
    for name in _REPORTED_VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "versions": versions,
        "data_sha256": data.data_checksums(),
    }


def execution_summary(pages: Iterable[ExecutedPage], still_executing: Sequence[str] = ()) -> str:
    """The build's line on its pages: which it executed, or, under serve, what it shows now."""
    pages = list(pages)
    if still_executing:
        return (
            f"Serving {len(pages)} of {len(pages) + len(still_executing)} pages executed; "
            f"executing in the background: {', '.join(still_executing)}"
        )
    ran = [page.src_path for page in pages if not page.from_cache]
    done = f": {', '.join(ran)}" if ran else " (all cached)"
    return f"Executed {len(ran)} of {len(pages)} pages{done}"


def fill_markers(
    markdown: str, pages: Iterable[ExecutedPage], still_executing: Sequence[str] = ()
) -> str:
    """`markdown` with each ``<!-- mnist-book:... -->`` marker replaced by its table.

    Under ``mkdocs serve``, the tables of every page's results say which pages are not in
    them yet (`still_executing`, their titles: `mnist_book.site.pending.table_note`).
    """
    pages = list(pages)
    missing = pending.table_note(still_executing)
    renderers = {
        "results-table": lambda: results_table(site_models(pages)) + missing,
        "execution-times": lambda: execution_times(pages) + missing,
        "build-info": lambda: build_info(build_information()),
    }
    for marker, render in renderers.items():
        tag = f"<!-- mnist-book:{marker} -->"
        if tag in markdown:
            markdown = markdown.replace(tag, render())
    return markdown


def results_table(results: Iterable[TrainingRecord]) -> str:
    """A Markdown table of models: accuracy, loss, size, epochs, learning rate, training time.

    Each row is named by its training's `TrainingRecord.label`: a model trained twice (a
    chapter's variant) is named by what sets the variant apart. A ValueError if two rows
    would read alike.
    """
    results = list(results)
    labels = [result.label for result in results]
    alike = sorted({label for label in labels if labels.count(label) > 1})
    if alike:
        raise ValueError(f"The results table would name different trainings alike: {alike}.")
    rows = [
        "| Model | Test accuracy | Test loss | Parameters | Epochs | Learning rate "
        "| Training time |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for result, label in zip(results, labels, strict=True):
        rows.append(
            f"| `{result.name}`{label.removeprefix(result.name)} | {result.test_accuracy:.2%}"
            f" | {result.test_loss:.4f}"
            f" | {result.params:,} | {result.epochs} | {_learning_rate_cell(result.config)}"
            f" | {result.train_seconds:.0f} s |"
        )
    return "\n".join(rows)


def _learning_rate_cell(config: TrainConfig) -> str:
    """Adam's learning rate of a training's config: "0.001", or "0.003, cosine" for a schedule."""
    return f"{config.learning_rate:g}" + (", cosine" if config.schedule == "cosine" else "")


def execution_times(pages: Iterable[ExecutedPage]) -> str:
    """A Markdown table of the pages, slowest first, and whether this build executed them."""
    rows = ["| Page | Execution time | Executed in this build |", "| --- | ---: | :---: |"]
    for page in sorted(pages, key=lambda page: -page.seconds):
        fresh = "cached" if page.from_cache else "yes"
        rows.append(f"| `{page.src_path}` | {page.seconds:.1f} s | {fresh} |")
    return "\n".join(rows)


def build_info(info: dict[str, Any]) -> str:
    """The build information as Markdown: platform, package versions, data checksums."""
    rows = [
        f"Built with Python {info['python']} on {info['platform']}.",
        "",
        "| Package | Version |",
        "| --- | --- |",
        *(f"| {name} | {version} |" for name, version in info["versions"].items()),
        "",
        "| Data file | SHA-256 |",
        "| --- | --- |",
        *(f"| `{name}` | `{digest}` |" for name, digest in info["data_sha256"].items()),
    ]
    return "\n".join(rows)
