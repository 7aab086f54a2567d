"""What a training reports to the process that runs it: progress events and results.

A site build sets ``MNIST_BOOK_RUN_LOG`` (`mnist_book.paths.RUN_LOG_ENV`) to a file for each
page it executes. `mnist_book.training.train` appends one JSON line to it per event: when
it starts training or loads a model, after each epoch, and its result at the end. The build
reads the file as the page runs, for its progress lines, and once it has finished, for the
results of every model the page trained. Without the variable, nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mnist_book.paths import RUN_LOG_ENV

RESULT = "result"
"""The event carrying a training's result: `TrainResult.summary()` plus ``event`` (and, for
a training through the model cache, its ``cache_key``)."""


def record(event: str, **fields: Any) -> None:
    """Append ``{"event": event, **fields}`` to the run log, if one is configured."""
    path = os.environ.get(RUN_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"event": event, **fields}) + "\n")


def read(path: Path, start: int = 0) -> tuple[list[dict[str, Any]], int]:
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
    events = [json.loads(line) for line in complete.decode("utf-8").splitlines() if line]
    return events, start + len(complete)


def results(path: Path) -> list[dict[str, Any]]:
    """The result of every training recorded in the run log at `path`, in order."""
    events, _ = read(path)
    return [
        {key: value for key, value in event.items() if key != "event"}
        for event in events
        if event.get("event") == RESULT
    ]
