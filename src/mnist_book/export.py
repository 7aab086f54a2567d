"""Trained models as ONNX files, to run them outside Python (in the browser, on the draw page).

`exported_onnx(name, config)` takes the training from the model cache (it never trains) and
exports it with Keras's own ``model.export(format="onnx")``, which converts through tf2onnx.
The file is cached beside the trained models, keyed on the training and on the exporting code
and libraries, so a build exports each model once. It is byte-stable: tf2onnx names some
constants differently from one run to the next, so `canonical` renumbers the graph's names in
the order the graph uses them. The input is called ``pixels`` and the output ``scores``.

`exported_reading_onnx(name, config)` exports, cached the same way, the model's
`mnist_book.inspection.reading_model`: one session run gives every layer's output, each named
after its Keras layer, and the evidence maps (``evidence``) where the model has them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mnist_book import inspection, models, paths, published_cache, training
from mnist_book._keras import keras, tensorflow
from mnist_book.cache_identity import code_fingerprint
from mnist_book.config import TrainConfig, recipe

INPUT_NAME = "pixels"
"""The name of an exported model's input: float32 pixels in [0, 1], batch first."""

OUTPUT_NAME = "scores"
"""The name of an exported model's output: (batch, 10) class scores."""

EVIDENCE_NAME = "evidence"
"""The name of a reading export's evidence maps (`mnist_book.inspection.reading_model`)."""

_VERSIONED = ("keras", "tensorflow", "tensorflow-cpu", "tf2onnx", "onnx")


class ModelNotTrainedError(Exception):
    """The training to export is not in the model cache (exporting never trains)."""


@dataclass(frozen=True)
class OnnxModel:
    """An exported model: its file, its input shape (without the batch) and its output layer.

    `output` is the activation of the last layer, ``"softmax"`` (scores that sum to 1) or
    ``"sigmoid"`` (ten independent scores in (0, 1)), read from the ONNX graph itself.
    """

    path: Path
    input_shape: tuple[int, ...]
    output: str


def to_onnx(model: keras.Model) -> bytes:
    """`model` as a canonical ONNX file (`canonical`), for any batch size.

    Training-only layers (augmentation) are left out (`models.inference_model`).
    """
    return graph_to_onnx(models.inference_model(model), (OUTPUT_NAME,))


def reading_to_onnx(model: keras.Model) -> bytes:
    """`model`'s `mnist_book.inspection.reading_model` as a canonical ONNX file.

    Its outputs are named after the layers they come from, then `EVIDENCE_NAME`.
    """
    reading = inspection.reading_model(model)
    names = [layer.name for layer in inspection.reading_layers(model)]
    names += [EVIDENCE_NAME] * (len(reading.outputs) - len(names))
    return graph_to_onnx(reading, names)


def graph_to_onnx(model: keras.Model, outputs: Sequence[str]) -> bytes:
    """An inference-only Keras `model` as a canonical ONNX file, its outputs named `outputs`."""
    import onnx

    signature = [tensorflow.TensorSpec((None, *model.input_shape[1:]), tensorflow.float32)]
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx on NumPy 2's np.object
        path = Path(scratch) / "model.onnx"
        model.export(path, format="onnx", input_signature=signature, verbose=False)
        exported = onnx.load(path)
    return canonical(exported, outputs).SerializeToString()


def canonical(model: Any, outputs: Sequence[str] = (OUTPUT_NAME,)) -> Any:
    """The ONNX `model` with every name given by position: the same model, the same bytes.

    The input becomes `INPUT_NAME` and the outputs `outputs`, every other tensor ``t0``,
    ``t1``... in the order the nodes use them, each node ``<op>_<index>``; initializers are
    sorted by their new names, the batch dimension is called ``batch``, and the converter's
    notes (doc strings) are dropped. Changed in place and returned.
    """
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != len(outputs):
        raise ValueError(
            f"Expected one input and {len(outputs)} outputs, got {graph.input} {graph.output}"
        )
    names = {graph.input[0].name: INPUT_NAME}
    names |= {output.name: name for output, name in zip(graph.output, outputs, strict=True)}
    fixed = len(names)

    def rename(name: str) -> str:
        return names.setdefault(name, f"t{len(names) - fixed}") if name else name

    for index, node in enumerate(graph.node):
        node.input[:] = [rename(name) for name in node.input]
        node.output[:] = [rename(name) for name in node.output]
        node.name = f"{node.op_type}_{index}"
    initializers = sorted(graph.initializer, key=lambda tensor: int(rename(tensor.name)[1:]))
    for tensor in initializers:
        tensor.name = rename(tensor.name)
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = rename(value.name)
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_param"):  # tf2onnx numbers unknown sizes per process
                dim.dim_param = "batch" if axis == 0 else f"size{axis}"
    for node in graph.node:
        node.doc_string = ""
    graph.doc_string = ""  # names the traced function, numbered per process
    return model


EXPORT_PROCEDURE = (to_onnx, graph_to_onnx, canonical, models.inference_model)
"""The code that turns a trained model into ONNX bytes, part of an export's cache key."""

READING_PROCEDURE = (
    reading_to_onnx,
    graph_to_onnx,
    canonical,
    inspection.reading_model,
    inspection.evidence_geometry,
    inspection.reading_layers,
)
"""The code that turns a trained model into its reading export, part of that one's key."""


def read_onnx_model(path: Path) -> OnnxModel:
    """The input shape and output activation of the exported model at `path`."""
    import onnx

    graph = onnx.load(path).graph
    dims = graph.input[0].type.tensor_type.shape.dim[1:]
    last = next(node for node in graph.node if OUTPUT_NAME in node.output)
    return OnnxModel(path, tuple(dim.dim_value for dim in dims), last.op_type.lower())


def exported_onnx(
    name: str, config: TrainConfig | None = None, *, training_key: str | None = None
) -> OnnxModel:
    """The ONNX export of training `name` with `config` (default: its recipe), cached.

    `training_key` is the training's `mnist_book.training.cache_key` when known (a page's result
    carries it as ``cache_key``), else computed here. Raises `ModelNotTrainedError` when the
    model cache does not hold that training.
    """
    config = config or recipe(name)
    training_key = training_key or training.cache_key(name, config)
    path, _ = export_paths(name, training_key)
    return read_onnx_model(_cached(path, name, config, training_key, to_onnx))


def exported_reading_onnx(
    name: str, config: TrainConfig | None = None, *, training_key: str | None = None
) -> Path:
    """The reading export (`reading_to_onnx`) of training `name` with `config`, cached.

    As `exported_onnx`, which it is beside in the ONNX cache; returns the file's path.
    """
    config = config or recipe(name)
    training_key = training_key or training.cache_key(name, config)
    _, path = export_paths(name, training_key)
    return _cached(path, name, config, training_key, reading_to_onnx)


def _cached(
    path: Path,
    name: str,
    config: TrainConfig,
    training_key: str,
    convert: Callable[[keras.Model], bytes],
) -> Path:
    """`path`, made by `convert` from the trained model unless the caches hold it."""
    if not path.is_file() and not published_cache.restore(path, published_name(path)):
        result = training.load_cached(name, config, key=training_key)
        if result is None:
            raise ModelNotTrainedError(
                f"Cannot export {name} ({json.dumps(asdict(config))}): that training is not in "
                f"the model cache {paths.cache_dir() / 'models'}, and exporting never trains. "
                f"Train it first: build the site with its pages executed (delete the page "
                f"cache, .cache/mnist-book/pages, if they were taken from it) or call "
                f"mnist_book.training.train({name!r}, config)."
            )
        write_atomically(path, convert(result.model))
    return path


def _export_path(
    name: str,
    training_key: str,
    procedure: Sequence[Callable[..., Any]] = EXPORT_PROCEDURE,
    *,
    kind: str = "",
) -> Path:
    """Where the ONNX cache keeps the export of model `name`'s training `training_key`.

    `procedure` is the code that exports it and `kind` a prefix of the key in the name
    (``reading-`` for `exported_reading_onnx`).
    """
    key = _export_key(training_key, procedure)[:20]
    return paths.cache_dir() / "onnx" / f"{name}-{kind}{key}.onnx"


def export_paths(name: str, training_key: str) -> tuple[Path, Path]:
    """Where the ONNX cache keeps the two exports of a training: its plain and reading ones."""
    return (
        _export_path(name, training_key),
        _export_path(name, training_key, READING_PROCEDURE, kind="reading-"),
    )


def published_name(path: Path) -> str:
    """The name in the published cache of the export at `path`."""
    return f"onnx/{path.name}"


def _export_key(training_key: str, procedure: Sequence[Callable[..., Any]]) -> str:
    """A hash of the training and of everything that turns it into ONNX bytes."""
    versions = {}
    for package in _VERSIONED:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    identity = {
        "training": training_key,
        "code": [code_fingerprint(step) for step in procedure],
        "versions": versions,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` whole or not at all (a new file, renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as stream:
        stream.write(content)
    os.chmod(stream.name, 0o644)
    os.replace(stream.name, path)
