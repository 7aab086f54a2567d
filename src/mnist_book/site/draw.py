"""The "draw a digit" page: every model the build trained, as files a browser can run.

For the page ``draw.md`` the build publishes, under ``draw/`` beside it:

- ``models.json``, the manifest: each model in the build's results (`report.model_results`,
  so a later chapter's models appear by themselves) that the model cache holds, trained with
  its recipe where a page did so (`offered_results`) with its ONNX file, input shape, output
  activation and test results, and the runtime's files;
- ``models/<name>-<hash>.onnx``: each model exported from the model cache
  (`mnist_book.export`; never trained here), named by its content;
- ``onnxruntime-web/``: the pinned browser runtime (`ort_web`);
- ``inside/``: the files of the look-inside views, described by the manifest's ``inside``
  entry (`inside`).

The page's Markdown may hold two markers, filled from the build like `report`'s:
``<!-- mnist-book:draw-models -->`` (a table of the models) and
``<!-- mnist-book:digit-framing -->`` (how MNIST sizes and centres its digits, measured).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File

from mnist_book import data, export, models
from mnist_book.config import recipe
from mnist_book.results import TrainingRecord
from mnist_book.site import inside, ort_web, pending, report
from mnist_book.site.page_cache import ExecutedPage

MANIFEST = "models.json"
"""The manifest's name in the page's asset directory."""

RUNTIME_DIR = "onnxruntime-web"
"""Where the runtime's files go in the page's asset directory."""


@dataclass(frozen=True)
class DrawAssets:
    """What the page needs: the manifest and each file to publish (site path -> file)."""

    manifest: dict[str, Any]
    files: dict[str, Path]


def assets_dir(page: str) -> str:
    """The directory of the page's assets, in the site: ``draw/`` for ``draw.md``."""
    return f"{Path(page).with_suffix('').as_posix()}/"


def offered_results(pages: Iterable[ExecutedPage]) -> list[TrainingRecord]:
    """The trainings the page offers, from the build's results, in the order they were trained.

    Each model the model cache holds (a data-parallel training keeps none) once: trained with
    its site recipe if a page did so (a chapter's shorter runs of it are left out), else
    every training of it that the pages made.
    """
    cached = [result for result in report.model_results(pages) if result.distribution is None]
    with_recipe = {result.name for result in cached if _trained_with_recipe(result)}
    return [
        result
        for result in cached
        if result.name not in with_recipe or _trained_with_recipe(result)
    ]


def _trained_with_recipe(result: TrainingRecord) -> bool:
    return result.config == recipe(result.name)


def page_assets(page: str, pages: Iterable[ExecutedPage]) -> DrawAssets:
    """Export every trained model, fetch the runtime, and write the manifest's entries."""
    pages = list(pages)
    directory = assets_dir(page)
    trained = offered_results(pages)
    names = [result.name for result in trained]
    files: dict[str, Path] = {}
    entries = []
    for result in trained:
        trained_on = next(done.src_path for done in pages if result in done.results)
        onnx = export.exported_onnx(result.name, result.config, training_key=result.cache_key)
        content = onnx.path.read_bytes()
        file = f"models/{result.name}-{hashlib.sha256(content).hexdigest()[:12]}.onnx"
        files[directory + file] = onnx.path
        label = result.name
        if names.count(label) > 1:
            label += f" ({result.epochs} epochs)"
        entries.append(
            {
                "name": result.name,
                "label": label,
                "description": models.get_spec(result.name).description,
                "page": trained_on,
                "file": file,
                "bytes": len(content),
                "input_shape": list(onnx.input_shape),
                "output": onnx.output,
                "test_accuracy": result.test_accuracy,
                "params": result.params,
                "epochs": result.epochs,
                "config": asdict(result.config),
            }
        )
    inside_entry, inside_files = inside.page_assets(
        directory, trained, [entry["label"] for entry in entries]
    )
    files |= inside_files
    runtime = ort_web.runtime_files()
    for name, path in runtime.items():
        files[f"{directory}{RUNTIME_DIR}/{name}"] = path
    manifest = {
        "runtime": {
            "name": "onnxruntime-web",
            "version": ort_web.VERSION,
            **{
                role: {"file": f"{RUNTIME_DIR}/{name}", "bytes": runtime[name].stat().st_size}
                for role, name in zip(("module", "wasm"), ort_web.FILES, strict=True)
            },
        },
        "input": export.INPUT_NAME,
        "output": export.OUTPUT_NAME,
        "models": entries,
        "inside": inside_entry,
    }
    return DrawAssets(manifest, files)


def site_files(assets: DrawAssets, page: str, config: MkDocsConfig) -> list[File]:
    """The files mkdocs publishes for the page: its manifest, the models, the runtime."""
    manifest = json.dumps(assets.manifest, indent=2)
    published = [File.generated(config, assets_dir(page) + MANIFEST, content=manifest)]
    for uri, path in assets.files.items():
        published.append(File.generated(config, uri, abs_src_path=str(path)))
    return published


def fill_markers(
    markdown: str,
    page: str,
    manifest: Mapping[str, Any] | None,
    titles: Mapping[str, str],
    framing: Callable[[], dict[str, Any]] = lambda: data.digit_framing(data.load_mnist()[1][0]),
    still_executing: Sequence[str] = (),
) -> str:
    """`markdown` with the draw page's markers filled: the models table, the framing facts.

    `titles` maps tutorial pages to their titles; `framing` measures the test digits (only
    when the marker is there). Under ``mkdocs serve``, the table says which pages are not in
    it yet (`still_executing`, their titles).
    """
    models_tag, framing_tag = "<!-- mnist-book:draw-models -->", "<!-- mnist-book:digit-framing -->"
    if models_tag in markdown and manifest is not None:
        table = models_table(page, manifest, titles) + pending.table_note(still_executing)
        markdown = markdown.replace(models_tag, table)
    if framing_tag in markdown:
        markdown = markdown.replace(framing_tag, framing_sentence(framing()))
    return markdown


def models_table(page: str, manifest: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    """A Markdown table of the page's models: where each was trained, its accuracy, its file."""
    rows = [
        "| Model | Trained in | Test accuracy | Output | Input | ONNX file |",
        "| --- | --- | ---: | --- | --- | ---: |",
    ]
    for model in manifest["models"]:
        shape = "x".join(str(size) for size in model["input_shape"])
        rows.append(
            f"| `{model['label']}` | [{titles.get(model['page'], model['page'])}]({model['page']})"
            f" | {model['test_accuracy']:.2%} | {model['output']} | {shape}"
            f" | [{model['bytes'] / 1000:,.0f} kB]({assets_dir(page)}{model['file']}) |"
        )
    runtime = manifest["runtime"]
    wasm, module = runtime["wasm"]["bytes"] / 1e6, runtime["module"]["bytes"] / 1000
    rows += [
        "",
        f"Your browser runs them with {runtime['name']} {runtime['version']}: its WebAssembly "
        f"build ({wasm:.1f} MB, with {module:,.0f} kB of JavaScript), downloaded the first time "
        "you reach for the board.",
    ]
    return "\n".join(rows)


def framing_sentence(framing: Mapping[str, Any]) -> str:
    """What `mnist_book.data.digit_framing` measured, as a sentence."""
    row, col = framing["centre_of_mass"]
    return (
        f"In the {framing['images']:,} test images, no digit's ink is taller or wider than "
        f"{framing['longest_side']} pixels ({framing['at_longest_side']:.2%} of them are exactly "
        f"{framing['longest_side']} on their longer side), and the centre of mass lies on "
        f"average at row {row:.1f}, column {col:.1f}: within one pixel of the centre of the "
        f"image for {framing['within_one_pixel']:.2%} of them."
    )
