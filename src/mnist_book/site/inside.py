"""The draw page's look-inside views: what the build publishes for them, under ``draw/inside/``.

For the convnet (`INSPECTED`) and the site's best network on the validation digits (the
records chapter's best single model), a *reading* export
(`mnist_book.export.exported_reading_onnx`): an ONNX file whose one session run gives every
layer's output, the prediction and, where `mnist_book.inspection.evidence_geometry` finds
one, the evidence maps. For the convnet also its map: the PCA map of its penultimate
features on the 10,000 test digits (`mnist_book.inspection.fit_feature_map`), with their
labels and the convnet's readings, as one binary file of arrays (`pack`), and the MNIST test
images file itself, for the nearest neighbours. The manifest's ``inside`` entry describes all
of it, shapes and names included, and the colours the chapter on what the networks learned
paints signed values in (`colours`), so the browser code holds none of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_hex

from mnist_book import data, export, inspection, inspection_plots, models, paths, records, training
from mnist_book.cache_identity import code_fingerprint
from mnist_book.config import recipe
from mnist_book.figure_style import DARK, LIGHT
from mnist_book.results import TrainingRecord

INSPECTED = "convnet"
"""The model whose layers, evidence and map the page shows, beside the best network."""

OCCLUSION = {"patch": 7, "stride": 3}
"""The square of the drawing the occlusion view hides (pixels), and how far it moves."""

NEIGHBOURS = 5
"""How many of the test digits nearest the drawing the page shows."""

DIMENSIONS = 16
"""The principal components in which the nearest test digits are found (the map shows two)."""

DIGITS_FILE = "t10k-images-idx3-ubyte.gz"
"""The MNIST test images, published as they are: the map's neighbours are shown from it."""

IDX_HEADER = 16
"""Bytes before the pixels in an IDX images file (magic, count, rows, columns)."""

DIRECTORY = "inside/"
"""Where the views' files go in the draw page's asset directory."""


def inspected(trained: Sequence[TrainingRecord]) -> list[TrainingRecord]:
    """The trainings the views look inside: the convnet's, then the best on validation.

    The convnet is its recipe's training when the page offers it, else its first; the best is
    chosen as the records chapter chooses, by the last epoch's validation accuracy, and left
    out when it is that same training.
    """
    convnets = [result for result in trained if result.name == INSPECTED]
    with_recipe = [result for result in convnets if result.config == recipe(INSPECTED)]
    chosen = (with_recipe or convnets)[:1]
    if trained:
        best = max(trained, key=records.validation_accuracy)
        if best not in chosen:
            chosen.append(best)
    return chosen


def page_assets(
    directory: str, trained: Sequence[TrainingRecord], labels: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The manifest's ``inside`` entry and the files to publish (site path -> file).

    `directory` is the draw page's asset directory, `trained` the trainings it offers and
    `labels` their labels in its manifest.
    """
    files: dict[str, Path] = {}
    entries = []
    map_entry = None
    for result in inspected(trained):
        model = _model(result)
        path = export.exported_reading_onnx(
            result.name, result.config, training_key=result.cache_key
        )
        file = DIRECTORY + named_by_content(path, f"{result.name}-reading", ".onnx")
        files[directory + file] = path
        label = labels[list(trained).index(result)]
        entries.append(
            {"label": label, "file": file, "bytes": path.stat().st_size} | describe(model)
        )
        if result.name == INSPECTED:
            map_entry = _map_entry(directory, result, model, files)
    manifest = {
        "models": entries,
        "occlusion": dict(OCCLUSION),
        "map": map_entry,
        "colours": colours(),
    }
    return manifest, files


def colours() -> dict[str, dict[str, Any]]:
    """The chapter's colours for signed values, by theme (``light``, ``dark``), for the views.

    ``signed`` lists the colours of `inspection_plots.diverging_colormap`, low to high, as
    ``#rrggbb``: a value *v* on a scale from -*limit* to *limit* takes the one at
    ``floor((v / limit + 1) / 2 * len(signed))``, the last from *limit* up, as matplotlib
    looks it up; ``outline`` is the colour the chapter outlines a digit's strokes in, where
    its ink reaches ``outline_level``.
    """
    themed = {}
    for theme in (LIGHT, DARK):
        colormap = inspection_plots.diverging_colormap(theme.name)
        themed[theme.name] = {
            "signed": [to_hex(colour) for colour in colormap(np.arange(colormap.N))],
            "outline": to_hex(inspection_plots.outline_color(theme)),
            "outline_level": inspection_plots.OUTLINE_LEVEL,
        }
    return themed


def describe(model: Any) -> dict[str, Any]:
    """What a reading export of `model` outputs, in order, and how to read it.

    ``outputs`` lists each layer's output (name, kind: the Keras layer's class, or
    ``Evidence``, and shape without the batch), with ``same_as`` naming the export's output
    that holds it when the export has none of its own (`inspection.reading_layers`);
    ``prediction`` names the last layer and ``activation`` is its activation; ``features``
    names the layer before it (what the map projects); ``evidence`` holds the evidence maps'
    geometry and the last layer's bias, or is None.
    """
    layers = inspection.inference_layers(model)
    exported = inspection.reading_layers(model)
    outputs = []
    for layer in layers:
        outputs.append(
            {"name": layer.name, "kind": type(layer).__name__, "shape": _shape(layer.output)}
        )
        if layer not in exported:  # the same values as the layer before (Dropout, reading)
            outputs[-1]["same_as"] = outputs[-2]["name"]
    geometry = inspection.evidence_geometry(model)
    evidence = None
    if geometry is not None:
        rows, columns, _ = geometry.shape
        outputs.append(
            {"name": export.EVIDENCE_NAME, "kind": "Evidence", "shape": [10, rows, columns]}
        )
        evidence = {
            "output": export.EVIDENCE_NAME,
            "reads": geometry.reads,
            "shape": list(geometry.shape),
            "start": geometry.start,
            "step": geometry.step,
            "bias": [float(value) for value in inspection.evidence_bias(model)],
        }
    return {
        "name": model.name,
        "input_shape": list(model.input_shape[1:]),
        "outputs": outputs,
        "prediction": layers[-1].name,
        "activation": layers[-1].activation.__name__,
        "features": layers[-2].name if len(layers) > 1 else None,
        "reads": layers[reads].name if (reads := inspection.last_layer_reads(model)) >= 0 else None,
        "evidence": evidence,
    }


def _shape(tensor: Any) -> list[int]:
    return [int(size) for size in tensor.shape[1:]]


def _model(result: TrainingRecord) -> Any:
    loaded = training.load_cached(result.name, result.config, key=result.cache_key)
    if loaded is None:
        raise export.ModelNotTrainedError(
            f"{result.name} is not in the model cache {paths.cache_dir() / 'models'}: the "
            "draw page's views look inside trained models only."
        )
    return loaded.model


def _map_entry(
    directory: str, result: TrainingRecord, model: Any, files: dict[str, Path]
) -> dict[str, Any]:
    path, layout = feature_map_file(result, model)
    file = DIRECTORY + named_by_content(path, f"{result.name}-map", ".bin")
    files[directory + file] = path
    digits = data.locate_mnist(progress=False) / DIGITS_FILE
    files[directory + DIRECTORY + DIGITS_FILE] = digits
    return {
        "model": result.name,
        "features": inspection.inference_layers(model)[-2].name,
        "file": file,
        "bytes": path.stat().st_size,
        "arrays": layout["arrays"],
        "explained": layout["explained"],
        "digits": {
            "file": DIRECTORY + DIGITS_FILE,
            "bytes": digits.stat().st_size,
            "header": IDX_HEADER,
            "shape": layout["arrays"]["labels"]["shape"] + [28, 28],
        },
        "neighbours": NEIGHBOURS,
        "dimensions": DIMENSIONS,
    }


def feature_map_arrays(model: Any, images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The map of `model`'s penultimate features on MNIST `images` (uint8), as arrays.

    ``mean`` and ``components`` project a feature vector onto the `DIMENSIONS` principal
    components (`mnist_book.inspection.FeatureMap.project`), the first two being the map;
    ``points`` are the images' places, ``labels`` their labels, ``predictions`` the model's
    readings of them, ``explained`` the share of the variance along each component.
    """
    prepared = models.prepare_images(model.name, images)
    features = inspection.penultimate_features(model, prepared)
    fitted = inspection.fit_feature_map(features, DIMENSIONS)
    predictions = inspection.predictions(model, prepared)
    return {
        "mean": fitted.mean.astype("<f4"),
        "components": fitted.components.astype("<f4"),
        "points": fitted.points.astype("<f4"),
        "labels": np.asarray(labels, dtype="u1"),
        "predictions": predictions.astype("u1"),
        "explained": fitted.explained,
    }


MAP_PROCEDURE = (
    feature_map_arrays,
    inspection.penultimate_features,
    inspection.fit_feature_map,
    inspection.predictions,
    models.prepare_images,
)
"""The code that makes a map's arrays: part of its cache key."""


def feature_map_file(result: TrainingRecord, model: Any) -> tuple[Path, dict[str, Any]]:
    """The packed arrays of `result`'s map (`pack`) and their layout, cached by training."""
    identity = {
        "training": result.cache_key or training.cache_key(result.name, result.config),
        "code": [code_fingerprint(step) for step in MAP_PROCEDURE],
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    path = paths.cache_dir() / "inside" / f"{result.name}-map-{key}.bin"
    layout_path = path.with_suffix(".json")
    if path.is_file() and layout_path.is_file():
        return path, json.loads(layout_path.read_text())
    _, (images, labels) = data.load_mnist()
    arrays = feature_map_arrays(model, images, labels)
    explained = [float(value) for value in arrays.pop("explained")]
    content, arrays_layout = pack(arrays)
    export.write_atomically(path, content)
    layout = {"arrays": arrays_layout, "explained": explained}
    export.write_atomically(layout_path, json.dumps(layout).encode())
    return path, layout


def pack(arrays: Mapping[str, np.ndarray]) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """`arrays` (little-endian float32 or uint8) one after the other, each at a 4-byte boundary.

    Returns the bytes and, for each array, its ``offset``, ``dtype`` (``float32`` or
    ``uint8``, as JavaScript's typed arrays call them) and ``shape``.
    """
    content = bytearray()
    layout = {}
    for name, array in arrays.items():
        kind = {"<f4": "float32", "|u1": "uint8"}.get(array.dtype.str)
        if kind is None:
            raise ValueError(f"{name}: cannot pack {array.dtype}; float32 or uint8 only.")
        content += bytes(-len(content) % 4)
        layout[name] = {"offset": len(content), "dtype": kind, "shape": list(array.shape)}
        content += np.ascontiguousarray(array).tobytes()
    return bytes(content), layout


def unpack(content: bytes, layout: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """The arrays `pack` packed, from its bytes and layout."""
    dtypes = {"float32": "<f4", "uint8": "u1"}
    return {
        name: np.frombuffer(
            content,
            dtype=dtypes[entry["dtype"]],
            count=int(np.prod(entry["shape"])),
            offset=entry["offset"],
        ).reshape(entry["shape"])
        for name, entry in layout.items()
    }


def named_by_content(path: Path, stem: str, suffix: str) -> str:
    """``<stem>-<first 12 hex of the file's sha256><suffix>``: a new name for new content."""
    return f"{stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}{suffix}"
