"""Live progress while pages execute: one terminal line per event, never a wall of text.

A page's kernel reports its trainings through its run log (`mnist_book.run_log`); while the
page runs, `follow` reads the new events every `interval` seconds and says one line for each:
which model is training (or waiting for another training to finish), each finished epoch
with its validation accuracy, a model loaded from the cache, a test accuracy, a warning (a
published cache entry not used, say: for the author, in the log; not on the page).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from mnist_book import run_log
from mnist_book.run_log import Event


def progress_line(page: str, event: Event) -> str:
    """The progress line for one run-log `event` of `page`."""
    model = event.model
    if event.kind == run_log.TRAINING:
        where = f" on {event.distribution}" if event.distribution else ""
        return f"{page}: training {model}{where} for {event.epochs} epochs"
    if event.kind == run_log.EPOCH:
        accuracy = event.val_accuracy
        validation = f", validation accuracy {accuracy:.2%}" if accuracy is not None else ""
        return f"{page}: {model} epoch {event.epoch}/{event.epochs}{validation}"
    if event.kind == run_log.WAITING:
        return f"{page}: {model} waits for another training to finish"
    if event.kind == run_log.LOADED:
        return f"{page}: {model} loaded from the model cache"
    if event.kind == run_log.WARNING:
        return f"{page}: {event.message}"
    assert event.result is not None  # a RESULT
    return f"{page}: {model} test accuracy {event.result.test_accuracy:.2%}"


@contextlib.asynccontextmanager
async def follow(
    page: str,
    log_path: Path,
    say: Callable[[str], None],
    interval: float = 1.0,
    on_event: Callable[[Event], None] = lambda event: None,
) -> AsyncIterator[None]:
    """While the block runs, say a line for each event `page` writes to `log_path`.

    Each event but a warning (which is for the log alone) is also passed to `on_event` (the
    execution's `Watchdog`, the page's progress under serve).
    """
    offset = 0

    def report() -> None:
        nonlocal offset
        events, offset = run_log.read(log_path, offset)
        for event in events:
            if event.kind != run_log.WARNING:
                on_event(event)
            say(progress_line(page, event))

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
