"""What a training reports to the process that runs it: typed progress events and results.

A site build sets ``MNIST_BOOK_RUN_LOG`` (`mnist_book.paths.RUN_LOG_ENV`) to a file for each
page it executes. `mnist_book.training.train` appends one `Event` to it, as a JSON line, when
it starts training (`TRAINING`), waits for another training (`WAITING`), loads a model
(`LOADED`), after each epoch (`EPOCH`) and with its result at the end (`RESULT`, carrying a
`mnist_book.results.TrainingRecord`). The caches `warn` through it too (`WARNING`), so that
the build's log says what the page's reader need not see. The build reads the file as the page
runs, for its progress lines, and once it has finished, for the results of every model the page
trained. Without the variable, nothing is written, and a warning is a Python warning.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_book.paths import RUN_LOG_ENV
from mnist_book.results import TrainingRecord

TRAINING = "training"
"""A model starts training (`Event.epochs`, and `Event.distribution` if data-parallel)."""
EPOCH = "epoch"
"""An epoch finished (`Event.epoch` of `Event.epochs`, `Event.val_accuracy`)."""
WAITING = "waiting"
"""The training waits for another one to finish (the build's watchdog stops its clock)."""
LOADED = "loaded"
"""The model was loaded from the model cache instead of trained."""
RESULT = "result"
"""The training's result (`Event.result`)."""
WARNING = "warning"
"""Something for whoever builds the page, not its reader (`Event.message`; see `warn`)."""

KINDS = (TRAINING, EPOCH, WAITING, LOADED, RESULT, WARNING)

VERSION = 1
"""The version of an event's JSON form that this code writes and reads."""


@dataclass(frozen=True)
class Event:
    """One line of the run log: what happened (`kind`) to which `model`, with its details."""

    kind: str
    model: str
    epoch: int | None = None
    epochs: int | None = None
    val_accuracy: float | None = None
    distribution: str | None = None
    result: TrainingRecord | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown run-log event {self.kind!r}; one of {', '.join(KINDS)}.")

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready values, with its `VERSION`; details that are None left out."""
        values: dict[str, Any] = {"version": VERSION, "kind": self.kind, "model": self.model}
        for key in ("epoch", "epochs", "val_accuracy", "distribution", "message"):
            if (value := getattr(self, key)) is not None:
                values[key] = value
        if self.result is not None:
            values["result"] = self.result.to_json()
        return values

    @classmethod
    def from_json(cls, values: Any) -> Event:
        """The event `to_json` wrote; a ValueError for another version or a malformed line."""
        version = values.get("version") if isinstance(values, dict) else None
        if version != VERSION:
            raise ValueError(
                f"A run-log event of version {version!r}; this mnist-book reads {VERSION}. "
                "Was the page run by another mnist-book?"
            )
        try:
            result = values.get("result")
            return cls(
                kind=values["kind"],
                model=values["model"],
                epoch=values.get("epoch"),
                epochs=values.get("epochs"),
                val_accuracy=values.get("val_accuracy"),
                distribution=values.get("distribution"),
                message=values.get("message"),
                result=None if result is None else TrainingRecord.from_json(result),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"A malformed run-log event ({type(error).__name__}: {error})"
            ) from None


def followed() -> bool:
    """Whether a run log is configured: a site build follows this process's events."""
    return bool(os.environ.get(RUN_LOG_ENV))


def record(event: Event) -> None:
    """Append `event` to the run log, if one is configured."""
    path = os.environ.get(RUN_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(event.to_json()) + "\n")


def tell(event: Event, line: str, log: Callable[[str], None]) -> None:
    """Record what the machinery did (`event`); say `line` through `log` unless `followed`.

    For a wait or a cache load, which concern whoever runs the code, not what it teaches:
    under a site build the build's log says it (`mnist_book.site.progress` words the
    event) and the page does not; on the command line or in a reader's own notebook, `log`
    says `line`.
    """
    record(event)
    if not followed():
        log(line)


def warn(message: str, stacklevel: int = 2) -> None:
    """Warn whoever runs this code, in one line: the build's log, or a Python warning.

    Under a site build (a run log configured), the warning is a `WARNING` event: the build
    says it in its log, and the page, which is for readers, does not show it. Elsewhere (a
    reader's notebook, a script, a test) it is a `UserWarning` from the caller of the caller.
    """
    if followed():
        record(Event(WARNING, "", message=message))
    else:
        warnings.warn(message, stacklevel=stacklevel + 1)


def read(path: Path, start: int = 0) -> tuple[list[Event], int]:
    """The complete events in the run log at `path` from byte `start`, and where they end.

    A line still being written (no newline yet) is left for the next read; a missing file
    has no events.
    """
    try:
        with open(path, "rb") as stream:
            stream.seek(start)
            text = stream.read()
    except FileNotFoundError:
        return [], start
    complete = text[: text.rfind(b"\n") + 1]
    lines = complete.decode("utf-8").splitlines()
    return [Event.from_json(json.loads(line)) for line in lines if line], start + len(complete)


def results(path: Path) -> list[TrainingRecord]:
    """The result of every training recorded in the run log at `path`, in order."""
    events, _ = read(path)
    return [event.result for event in events if event.result is not None]
