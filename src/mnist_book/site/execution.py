"""Executing the tutorial scripts: cached, several at once, with a timeout for hung cells.

`execute_pages` runs every page that the `PageCache` does not hold, on `workers` Jupyter
kernels at a time, the slowest page (by its last run) first so that it does not start last.
A cell that raises, or runs for `cell_timeout` seconds without progress (`Watchdog`), stops
the build with a `PageExecutionError` naming the page and the cell.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from mnist_book import run_log
from mnist_book.paths import RUN_LOG_ENV
from mnist_book.site import progress
from mnist_book.site.page_cache import ExecutedPage, PageCache, read_script


class PageExecutionError(Exception):
    """A cell of a tutorial page raised an error, hung, or killed its kernel."""


def execute_pages(
    scripts: Mapping[str, Path],
    cache: PageCache,
    *,
    cell_timeout: int,
    workers: int,
    say: Callable[[str], None],
) -> dict[str, ExecutedPage]:
    """Each page of `scripts` (docs path -> script file) executed, or taken from `cache`."""
    return asyncio.run(_execute_all(scripts, cache, cell_timeout, max(1, workers), say))


async def _execute_all(
    scripts: Mapping[str, Path],
    cache: PageCache,
    cell_timeout: int,
    workers: int,
    say: Callable[[str], None],
) -> dict[str, ExecutedPage]:
    slots = asyncio.Semaphore(workers)
    running: list[str] = []

    async def run(src_path: str) -> ExecutedPage:
        notebook = read_script(scripts[src_path])
        if (cached := cache.load(src_path, notebook)) is not None:
            return cached
        async with slots:
            running.append(src_path)
            say(f"Executing {src_path} (running: {', '.join(running)})")
            try:
                seconds, results = await execute(
                    src_path, notebook, scripts[src_path].parent, cell_timeout, say
                )
            finally:
                running.remove(src_path)
            say(f"Executed {src_path} in {seconds:.1f} s")
            return cache.store(src_path, notebook, seconds, results)

    slowest_first = sorted(scripts, key=lambda src_path: -cache.previous_seconds(src_path))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {src_path: group.create_task(run(src_path)) for src_path in slowest_first}
    except* PageExecutionError as failures:
        raise failures.exceptions[0] from None
    return {src_path: tasks[src_path].result() for src_path in scripts}


class Watchdog:
    """Tells a hung cell from a long one: how long the running cell has made no progress.

    Progress is a new cell or any run-log event of the page (a training starting, an epoch,
    a result). While the page waits for another page's training (a "waiting" event, until
    its next event), the clock stops: the cell is queued, not hung.
    """

    def __init__(self) -> None:
        self.cell = -1
        self._waiting = False
        self._last = time.monotonic()

    def cell_started(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """nbclient's ``on_cell_execute`` hook."""
        self.cell, self._waiting, self._last = cell_index, False, time.monotonic()

    def saw(self, event: dict[str, Any]) -> None:
        """A run-log event of the page (`progress.follow`'s ``on_event``)."""
        self._waiting, self._last = event.get("event") == "waiting", time.monotonic()

    def quiet_seconds(self) -> float:
        """Seconds since the last progress, 0 while waiting for a training turn."""
        return 0.0 if self._waiting else time.monotonic() - self._last

    async def until_stalled(self, timeout: float) -> None:
        """Return once the running cell has made no progress for `timeout` seconds."""
        while (quiet := self.quiet_seconds()) < timeout:
            await asyncio.sleep(min(1.0, timeout - quiet))


async def execute(
    src_path: str,
    notebook: Any,
    directory: Path,
    cell_timeout: int,
    say: Callable[[str], None],
) -> tuple[float, list[dict[str, Any]]]:
    """Execute `notebook` in place, in `directory`; return its seconds and model results.

    A cell fails after `cell_timeout` seconds without progress (`Watchdog`), however long
    it runs while it trains.
    """
    watchdog = Watchdog()
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(directory)}},
        on_cell_execute=watchdog.cell_started,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP transport notice
    )
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "run-log.jsonl"
        env = {**os.environ, RUN_LOG_ENV: str(log_path), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        started = time.perf_counter()
        try:
            async with progress.follow(src_path, log_path, say, on_event=watchdog.saw):
                await _until_done_or_stalled(
                    client.async_execute(env=env), watchdog.until_stalled(cell_timeout)
                )
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            raise PageExecutionError(
                failure_message(src_path, notebook, watchdog.cell, error)
            ) from None
        coalesce_streams(notebook)
        return time.perf_counter() - started, run_log.results(log_path)


def coalesce_streams(notebook: Any) -> None:
    """Join each cell's consecutive outputs to one stream into one output, in place.

    A training prints a line per epoch as it goes, and the kernel sends each as an output
    of its own: joined, the page holds one block of text, as it does when the model is
    loaded from the cache, not one wrapped block per line.
    """
    for cell in notebook.cells:
        joined: list[Any] = []
        for output in cell.get("outputs", []):
            previous = joined[-1] if joined else None
            if (
                previous is not None
                and output.output_type == previous.output_type == "stream"
                and output.name == previous.name
            ):
                previous.text += output.text
            else:
                joined.append(output)
        if "outputs" in cell:
            cell.outputs = joined


async def _until_done_or_stalled(execution: Any, stalled: Any) -> None:
    """Await `execution`; if `stalled` returns first, cancel it and raise CellTimeoutError."""
    running, watching = asyncio.ensure_future(execution), asyncio.ensure_future(stalled)
    try:
        await asyncio.wait({running, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        stalled_first = not running.done()
        if stalled_first:
            running.cancel()  # nbclient shuts the kernel down as it unwinds
            await asyncio.gather(running, return_exceptions=True)
    if stalled_first:
        raise CellTimeoutError("The cell made no progress for the whole cell_timeout.")
    running.result()


def failure_message(src_path: str, notebook: Any, cell_index: int, error: Exception) -> str:
    """What went wrong, where: the page, the code cell's number and first line, the error."""
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    number = code_cells.index(cell_index) + 1 if cell_index in code_cells else "?"
    source = notebook.cells[cell_index].source if 0 <= cell_index < len(notebook.cells) else ""
    first_line = source.strip().splitlines()[0] if source.strip() else ""
    if isinstance(error, CellTimeoutError):
        reason = (
            "made no progress (no finished cell or training epoch) for the cell timeout "
            "(cell_timeout in mkdocs.yml): is it stuck?"
        )
    elif isinstance(error, DeadKernelError):
        reason = "killed its kernel (out of memory, or a crash in native code)"
    else:
        reason = "raised an error"
    return f"Tutorial page {src_path}: code cell {number} (`{first_line}`) {reason}.\n{error}"
