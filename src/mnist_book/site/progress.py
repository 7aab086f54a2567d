"""Live progress while pages execute: one terminal line per event, never a wall of text.

A page's kernel reports its trainings through its run log (`mnist_book.run_log`); while the
page runs, `follow` reads the new events every `interval` seconds and says one line for each:
which model is training (or waiting for another training to finish), each finished epoch
with its validation accuracy, a model loaded from the cache, a test accuracy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from mnist_book import run_log


def describe(page: str, event: dict[str, Any]) -> str | None:
    """The progress line for one run-log `event` of `page`, or None for an unknown event."""
    model, kind = event.get("model") or event.get("name"), event.get("event")
    if kind == "training":
        where = f" on {event['distribution']}" if event.get("distribution") else ""
        return f"{page}: training {model}{where} for {event['epochs']} epochs"
    if kind == "epoch":
        accuracy = event.get("val_accuracy")
        validation = f", validation accuracy {accuracy:.2%}" if accuracy is not None else ""
        return f"{page}: {model} epoch {event['epoch']}/{event['epochs']}{validation}"
    if kind == "waiting":
        return f"{page}: {model} waits for another training to finish"
    if kind == "loaded":
        return f"{page}: {model} loaded from the model cache"
    if kind == run_log.RESULT:
        return f"{page}: {model} test accuracy {event['test_accuracy']:.2%}"
    return None


@contextlib.asynccontextmanager
async def follow(
    page: str,
    log_path: Path,
    say: Callable[[str], None],
    interval: float = 1.0,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
) -> AsyncIterator[None]:
    """While the block runs, say a line for each event `page` writes to `log_path`.

    Each event is also passed to `on_event` (the execution's `Watchdog`).
    """
    offset = 0

    def report() -> None:
        nonlocal offset
        events, offset = run_log.read(log_path, offset)
        for event in events:
            on_event(event)
            if line := describe(page, event):
                say(line)

    async def poll() -> None:
        while True:
            await asyncio.sleep(interval)
            report()

    task = asyncio.create_task(poll())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        report()  # what was written since the last poll
