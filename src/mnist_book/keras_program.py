"""A model of the site as the plain Keras program a learner reads and copies.

`program("convnet")` writes the program that trains the site's convnet, in Keras and NumPy
alone: load MNIST, scale its pixels, define the model, compile, fit and evaluate it (and,
`use=True`, save it, load it and read your own digit). It is written from the very objects
the site's training uses, not from a second description of them: the model that
`mnist_book.models.build_model` makes (its layers, their arguments), compiled with the
learning rate or schedule that the recipe (`mnist_book.config.recipe`) gives Adam, and the
recipe's seed, batch size, epochs and validation split. A change to a model or a recipe
changes its listing, and a layer argument the listing would leave out fails
`tests/test_keras_program.py`, which runs every listing and compares the model it builds with
the site's.

The site's own training (`mnist_book.training.train`) runs the same model, loss, optimiser
and hyperparameters, feeding its batches in a fixed seeded order so that every build trains
the very same weights; a learner's run of the listing shuffles its own way and lands close
to, not exactly on, the page's numbers.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from IPython.display import Markdown

from mnist_book._keras import keras
from mnist_book.config import TrainConfig, recipe
from mnist_book.models import build_model, get_spec

INDENT = "    "

_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "Dense": ("units", "activation"),
    "Conv2D": ("filters", "kernel_size", "activation", "use_bias"),
    "MaxPooling2D": ("pool_size",),
    "Flatten": (),
    "Dropout": ("rate",),
    "BatchNormalization": (),
    "ReLU": (),
    "RandomRotation": ("factor", "fill_mode"),
    "RandomZoom": ("height_factor", "fill_mode"),
    "RandomTranslation": ("height_factor", "width_factor", "fill_mode"),
    "RandomDistortion": (),
}
"""The arguments a listing gives each layer type: the first always, the rest when not default.

Any other argument must have its default value, which the tests check by building each
listing's model and comparing its configuration with the site's.
"""


@dataclass(frozen=True)
class KerasProgram:
    """A model's training as a plain Keras program, in the parts a page shows one by one.

    Each part is Python source; run in order (`source`) they train and evaluate the model.
    """

    data: str
    model: str
    compile: str
    fit: str
    evaluate: str
    use: str = ""

    @property
    def source(self) -> str:
        """The whole program: every non-empty part, in order."""
        parts = (getattr(self, field.name) for field in fields(self))
        return "\n\n".join(part for part in parts if part) + "\n"


def program(name: str, config: TrainConfig | None = None, *, use: bool = False) -> KerasProgram:
    """The plain Keras program that trains model `name` with `config` (default: its recipe).

    With `use`, it ends by saving the model, loading it again and reading the learner's own
    digit from ``my_digit.png``.
    """
    config = config or recipe(name)
    model = build_model(name, config.learning_rate_schedule(), config.steps_per_execution)
    shape = get_spec(name).input_shape
    return KerasProgram(
        data=_data(shape, model),
        model=_model(model, config),
        compile=_compile(model),
        fit=_fit(config),
        evaluate=_evaluate(),
        use=_use(name, shape) if use else "",
    )


def show(code: str, language: str = "python") -> Markdown:
    """`code` as a listing in a page's cell output (`language` names its highlighting)."""
    return Markdown(f"```{language}\n{code.rstrip()}\n```")


def changes(before: str, after: str, context: int = 1) -> str:
    """What changed from the listing `before` to `after`, as a diff for `show(..., "diff")`.

    Lines removed start with ``-``, lines added with ``+``, and `context` unchanged lines
    stand around each change; a skipped stretch of unchanged lines is marked ``...``.
    """
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), n=context, lineterm="")
    body = [" ..." if line.startswith("@@") else line for line in lines]
    body = [line for line in body if not line.startswith(("---", "+++"))]
    return "\n".join(body[1:] if body[:1] == [" ..."] else body)


def _data(shape: tuple[int, ...], model: keras.Model) -> str:
    imports = ["import keras", "from keras import layers"]
    imports += sorted(
        {
            f"from {type(layer).__module__} import {type(layer).__name__}"
            for layer in model.layers
            if not type(layer).__module__.startswith("keras")
        }
    )
    reshape = ", ".join(str(size) for size in (-1, *shape))
    return "\n".join(
        [
            *imports,
            "",
            "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
            f"# Pixels from 0-255 to 0-1, shaped as the model's input {_value(shape)}",
            f'x_train = x_train.reshape({reshape}).astype("float32") / 255',
            f'x_test = x_test.reshape({reshape}).astype("float32") / 255',
        ]
    )


def _model(model: keras.Model, config: TrainConfig) -> str:
    rows = [f"keras.Input(shape={_value(tuple(model.input_shape[1:]))})"]
    rows += [layer_code(layer) for layer in model.layers]
    body = "".join(f"{INDENT * 2}{row},\n" for row in rows)
    return (
        f"keras.utils.set_random_seed({config.seed})\n"
        f"model = keras.Sequential(\n{INDENT}[\n{body}{INDENT}]\n)"
    )


def layer_code(layer: keras.layers.Layer) -> str:
    """The Python that makes `layer` again, its name aside: ``layers.Dense(10, ...)``."""
    kind = type(layer).__name__
    if kind not in _ARGUMENTS:
        raise ValueError(f"No listing for a {kind} layer: add its arguments to _ARGUMENTS.")
    config = layer.get_config()
    parameters = inspect.signature(type(layer).__init__).parameters
    shown = []
    for position, argument in enumerate(_ARGUMENTS[kind]):
        value = _normalised(config[argument], argument)
        default = parameters[argument].default
        required = default is inspect.Parameter.empty
        if position == 0 and required:
            shown.append(_value(value))
        elif position == 0 or required or value != _normalised(default, argument):
            shown.append(f"{argument}={_value(value)}")
    prefix = "layers." if type(layer).__module__.startswith("keras") else ""
    return f"{prefix}{kind}({', '.join(shown)})"


def _compile(model: keras.Model) -> str:
    optimizer = model.optimizer
    if type(optimizer).__name__ != "Adam":
        raise ValueError(f"No listing for the {type(optimizer).__name__} optimiser.")
    rate = optimizer.get_config()["learning_rate"]  # a number, or a serialised schedule
    lines = []
    if isinstance(rate, dict):
        lines.append(f"learning_rate = {_schedule_code(rate)}")
        rate = "learning_rate"
    else:
        rate = _value(float(rate))
    steps = model.steps_per_execution
    lines.append(
        "model.compile(\n"
        f"{INDENT}optimizer=keras.optimizers.Adam(learning_rate={rate}),\n"
        f'{INDENT}loss="sparse_categorical_crossentropy",\n'
        f'{INDENT}metrics=["accuracy"],\n'
        + (f"{INDENT}steps_per_execution={steps},\n" if steps > 1 else "")
        + ")"
    )
    return "\n".join(lines)


def _schedule_code(serialised: dict[str, Any]) -> str:
    if serialised["class_name"] != "CosineDecay":
        raise ValueError(f"No listing for the {serialised['class_name']} schedule.")
    config = serialised["config"]
    arguments = [_value(config["initial_learning_rate"]), f"decay_steps={config['decay_steps']}"]
    if config.get("warmup_steps"):
        arguments += [
            f"warmup_target={_value(config['warmup_target'])}",
            f"warmup_steps={config['warmup_steps']}",
        ]
    if config.get("alpha"):
        arguments.append(f"alpha={_value(config['alpha'])}")
    return (
        "keras.optimizers.schedules.CosineDecay(\n"
        + "".join(f"{INDENT}{argument},\n" for argument in arguments)
        + ")"
    )


def _fit(config: TrainConfig) -> str:
    if config.train_size is not None:
        raise ValueError("No listing for a training on part of the training set.")
    return (
        "history = model.fit(\n"
        f"{INDENT}x_train,\n{INDENT}y_train,\n"
        f"{INDENT}batch_size={config.batch_size},\n"
        f"{INDENT}epochs={config.epochs},\n"
        f"{INDENT}validation_split={_value(config.validation_split)},\n"
        ")"
    )


def _evaluate() -> str:
    return (
        "test_loss, test_accuracy = model.evaluate(x_test, y_test)\n"
        'print(f"Test accuracy: {test_accuracy:.2%}")'
    )


def _use(name: str, shape: tuple[int, ...]) -> str:
    return "\n".join(
        [
            f'model.save("{name}.keras")',
            "",
            "# Later, in another program: load the model and read your own digit, drawn dark on",
            "# light in a square image (MNIST's digits are light on dark, centred in 28x28).",
            f'model = keras.saving.load_model("{name}.keras")',
            "image = keras.utils.load_img(",
            f'{INDENT}"my_digit.png", color_mode="grayscale", target_size=(28, 28)',
            ")",
            "pixels = (255 - keras.utils.img_to_array(image)) / 255",
            f"probabilities = model.predict(pixels.reshape({_value((1, *shape))}))",
            'print("I read a", probabilities.argmax())',
        ]
    )


def _normalised(value: Any, argument: str) -> Any:
    if argument == "activation" and value is None:  # the default, as a configuration names it
        return "linear"
    return tuple(value) if isinstance(value, list) else value


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return _shortest(value)
    return repr(value)


def _shortest(value: float) -> str:
    """The shortest decimal that is `value` in float32, as Keras stores it (0.001, not
    0.0010000000474974513)."""
    for digits in range(1, 18):
        text = f"{value:.{digits}g}"
        if np.float32(float(text)) == np.float32(value):
            return repr(float(text))
    return repr(value)
