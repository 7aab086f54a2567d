"""Executing the tutorial scripts: cached, several at once, with a timeout for hung cells.

`execute_pages` runs every page that the `PageCache` does not hold, on `workers` Jupyter
kernels at a time, the slowest page (by its last run) first so that it does not start last.
A cell that raises, or runs for `cell_timeout` seconds without progress (`Watchdog`), stops
the build with a `PageExecutionError` naming the page and the cell. A cell tagged
``exclusive`` (``# %% tags=["exclusive"]``: it measures a speed) has the machine to itself
(`MachineTurns`): it starts once every other page's running cell has finished, and no other
cell starts until it has. (Under ``mkdocs serve``, `mnist_book.site.background` runs pages
in navigation order, and an exclusive cell waits for the pages before its own to finish.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from mnist_book import run_log
from mnist_book.paths import PLANNED_ENV, RUN_LOG_ENV
from mnist_book.results import TrainingRecord
from mnist_book.site import progress
from mnist_book.site.page_cache import ExecutedPage, PageCache, read_script


class PageExecutionError(Exception):
    """A cell of a tutorial page raised an error, hung, or killed its kernel."""


EXCLUSIVE_TAG = "exclusive"
"""The cell tag of a cell that must have the machine to itself (one that times something)."""


class MachineTurns:
    """Cells of all pages run side by side, except an ``exclusive`` one, which runs alone.

    A readers-writer lock over the cells of the pages being executed. An exclusive cell
    waits for the running cells to finish; while it waits or runs, no other cell starts.
    Pages may have a `rank`, their place in the navigation (under ``mkdocs serve``, where
    pages should land in that order; a build ranks them all alike): an exclusive cell also
    waits for every page ranked before its own to finish, and the cells of those pages go
    on while it waits, so that an early page never waits for a later page's long timings.
    """

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting: list[int] = []  # the ranks of the pages waiting for one
        self._pages: list[int] = []  # the ranks of the pages executing

    @contextlib.asynccontextmanager
    async def page(self, rank: int = 0) -> AsyncIterator[None]:
        """While a page of `rank` executes (its cells take their turns inside)."""
        async with self._changed:
            self._pages.append(rank)
        try:
            yield
        finally:
            async with self._changed:
                self._pages.remove(rank)
                self._changed.notify_all()

    async def take(self, exclusive: bool, rank: int = 0) -> None:
        """Wait for a turn for a cell of a page of `rank`: alone if `exclusive`, else shared."""
        async with self._changed:
            if exclusive:
                self._exclusive_waiting.append(rank)
                try:
                    await self._changed.wait_for(lambda: self._may_run_alone(rank))
                finally:
                    self._exclusive_waiting.remove(rank)
                    self._changed.notify_all()  # if it was cancelled, others may go on
                self._exclusive = True
            else:
                await self._changed.wait_for(lambda: self._may_share(rank))
                self._shared += 1

    def _may_run_alone(self, rank: int) -> bool:
        """No cell runs, and every page before a page of `rank` has finished."""
        pages_before = any(page < rank for page in self._pages)
        return not self._shared and not self._exclusive and not pages_before

    def _may_share(self, rank: int) -> bool:
        """No cell runs alone, and no page up to `rank` waits to run one."""
        waiting = any(page <= rank for page in self._exclusive_waiting)
        return not self._exclusive and not waiting

    async def give_back(self, exclusive: bool) -> None:
        """End a turn that `take` gave."""
        async with self._changed:
            if exclusive:
                self._exclusive = False
            else:
                self._shared -= 1
            self._changed.notify_all()


class _PageTurns:
    """One page's turns: taken before each of its cells runs, given back after it."""

    def __init__(self, turns: MachineTurns, rank: int, watchdog: Watchdog) -> None:
        self.turns, self.rank, self.watchdog = turns, rank, watchdog
        self.held: bool | None = None  # None: no turn; else whether it is exclusive

    async def before_cell(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """nbclient's ``on_cell_execute`` hook: wait for the turn (the watchdog waits too)."""
        exclusive = EXCLUSIVE_TAG in cell.metadata.get("tags", [])
        self.watchdog.waiting_for_turn()
        await self.turns.take(exclusive, self.rank)
        self.held = exclusive
        self.watchdog.cell_started(cell, cell_index)

    async def after_cell(self, **_: Any) -> None:
        """nbclient's ``on_cell_executed`` hook, and the end of the page: give the turn back."""
        if self.held is not None:
            held, self.held = self.held, None
            await self.turns.give_back(held)


def execute_pages(
    scripts: Mapping[str, Path],
    cache: PageCache,
    *,
    cell_timeout: int,
    workers: int,
    say: Callable[[str], None],
    planned: bool = False,
) -> dict[str, ExecutedPage]:
    """Each page of `scripts` (docs path -> script file) executed, or taken from `cache`.

    With `planned`, a page may train only what the site's plan lists (`mnist_book.plan`).
    """
    return asyncio.run(_execute_all(scripts, cache, cell_timeout, max(1, workers), say, planned))


async def _execute_all(
    scripts: Mapping[str, Path],
    cache: PageCache,
    cell_timeout: int,
    workers: int,
    say: Callable[[str], None],
    planned: bool,
) -> dict[str, ExecutedPage]:
    slots = asyncio.Semaphore(workers)
    turns = MachineTurns()
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
                    src_path,
                    notebook,
                    scripts[src_path].parent,
                    cell_timeout,
                    say,
                    turns,
                    planned=planned,
                )
            finally:
                running.remove(src_path)
            say(f"Executed {src_path} in {seconds:.1f} s")
            for report in stderr_reports(src_path, notebook):
                say(report)
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
    a result). The clock stops while the page waits for another training (a
    "waiting" event, until its next event) and while its next cell waits for its turn on
    the machine (`MachineTurns`): the page is queued, not hung.
    """

    def __init__(self) -> None:
        self.cell = -1
        self._waiting_for_training = False
        self._waiting_for_turn = False
        self._last = time.monotonic()

    def cell_started(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """A cell starts running (it has its turn)."""
        self.cell, self._last = cell_index, time.monotonic()
        self._waiting_for_training = self._waiting_for_turn = False

    def waiting_for_turn(self) -> None:
        """The next cell waits for its turn on the machine (`MachineTurns`), until it starts.

        Run-log events that arrive meanwhile (the previous cell's last ones, read late) do
        not restart the clock.
        """
        self._waiting_for_turn = True

    def saw(self, event: run_log.Event) -> None:
        """A run-log event of the page (`progress.follow`'s ``on_event``)."""
        self._waiting_for_training = event.kind == run_log.WAITING
        self._last = time.monotonic()

    def quiet_seconds(self) -> float:
        """Seconds since the last progress, 0 while the page waits for a training or a turn."""
        if self._waiting_for_training or self._waiting_for_turn:
            return 0.0
        return time.monotonic() - self._last

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
    turns: MachineTurns | None = None,
    on_event: Callable[[run_log.Event], None] = lambda event: None,
    rank: int = 0,
    planned: bool = False,
) -> tuple[float, list[TrainingRecord]]:
    """Execute `notebook` in place, in `directory`; return its seconds and model results.

    A cell fails after `cell_timeout` seconds without progress (`Watchdog`), however long
    it runs while it trains. Each cell takes its turn on the machine from `turns` (shared
    by the pages of one build, in which the page has `rank`), alone if it is tagged
    ``exclusive``. Each run-log event of the page is passed to `on_event` too. With
    `planned`, a training the site's plan does not list fails its cell (`mnist_book.plan`).
    """
    turns = turns or MachineTurns()
    watchdog = Watchdog()
    page_turns = _PageTurns(turns, rank, watchdog)
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(directory)}},
        on_cell_execute=page_turns.before_cell,
        on_cell_executed=page_turns.after_cell,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP transport notice
    )
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "run-log.jsonl"
        env = {
            **os.environ,
            RUN_LOG_ENV: str(log_path),
            PLANNED_ENV: "1" if planned else "",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        started = time.perf_counter()
        try:

            def saw(event: run_log.Event) -> None:
                watchdog.saw(event)
                on_event(event)

            async with turns.page(rank), progress.follow(src_path, log_path, say, on_event=saw):
                await _until_done_or_stalled(
                    client.async_execute(env=env), watchdog.until_stalled(cell_timeout)
                )
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            raise PageExecutionError(
                failure_message(src_path, notebook, watchdog.cell, error)
            ) from None
        finally:
            await page_turns.after_cell()  # a cell that failed gives its turn back too
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


def stderr_reports(src_path: str, notebook: Any) -> list[str]:
    """A line per code cell that wrote to stderr, with what it wrote: readers see it in red.

    The build says so in its log, so that a warning on a page is seen where it comes from.
    """
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [
        f"{src_path}: code cell {number} wrote to stderr, which the page shows: "
        + " | ".join(output.text.strip().splitlines()[:3])
        for number, cell in enumerate(code_cells, start=1)
        for output in cell.get("outputs", [])
        if output.output_type == "stream" and output.name == "stderr" and output.text.strip()
    ]


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
    elif getattr(error, "ename", "") == "ClaimError":  # mnist_book.conclusions.ClaimError
        reason = "states a conclusion that the page's own numbers no longer support"
    else:
        reason = "raised an error"
    return f"Tutorial page {src_path}: code cell {number} (`{first_line}`) {reason}.\n{error}"
