"""What identifies a training in the model cache: its key, and the fingerprints of code in it.

`cache_key` hashes everything that determines a training's result and nothing else, so a
change to a docstring, a comment, a log line or a module that does not train keeps the key
(and the trained model with it), while any change that could move a number makes a new one.
`mnist_book.training` and `mnist_book.distributed` each name the code that trains (their
*procedure*).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import asdict
from types import ModuleType
from typing import Any

import numpy as np

from mnist_book import data
from mnist_book._keras import ONEDNN_OPTS, keras, tensorflow
from mnist_book.config import TrainConfig
from mnist_book.models import build_model

Code = Callable[..., Any] | type | ModuleType
"""A function, class or module whose code is fingerprinted."""


def cache_key(
    name: str,
    config: TrainConfig,
    procedure: Iterable[Code],
    distribution: dict[str, Any] | None = None,
) -> str:
    """A hash of everything that determines the result of training `name` with `config`.

    That is: the model as Keras serialises it once compiled for `config` (architecture,
    initialisers, optimiser, learning-rate schedule), the source of each module defining one
    of its layers that `mnist_book` defines (the layer and the helpers it calls), `config`,
    the data checksums, the code of the training `procedure`, the versions of Keras,
    TensorFlow and NumPy, and whether TensorFlow's oneDNN kernels are on. A data-parallel
    training adds its `distribution` (`mnist_book.distributed.key_material`).
    """
    model = build_model(name, config.learning_rate_schedule())
    identity = {
        "model": _without_layer_names(keras.saving.serialize_keras_object(model)),
        "custom_layers": sorted(
            {
                code_fingerprint(inspect.getmodule(type(layer)))
                for layer in model.layers
                if type(layer).__module__.startswith("mnist_book")
            }
        ),
        "config": asdict(config),
        "data": data.data_checksums(),
        "procedure": [code_fingerprint(step) for step in procedure],
        "versions": [keras.__version__, tensorflow.__version__, np.__version__],
        "onednn": ONEDNN_OPTS,
    }
    if distribution is not None:
        identity["distribution"] = distribution
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def code_fingerprint(code: Code) -> str:
    """A hash of a function's, class's or module's code, blind to docstrings, comments, layout.

    A function's or class's own name is left out too.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    if not inspect.ismodule(code):
        tree.body[0].name = ""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _without_layer_names(serialized: Any) -> Any:
    """A serialised Keras object without its layers' names, which Keras numbers per process."""
    if isinstance(serialized, list):
        return [_without_layer_names(item) for item in serialized]
    if not isinstance(serialized, dict):
        return serialized
    cleaned = {key: _without_layer_names(value) for key, value in serialized.items()}
    config = cleaned.get("config")
    if isinstance(config, dict) and cleaned.get("class_name") != "DTypePolicy":
        config.pop("name", None)
    return cleaned
