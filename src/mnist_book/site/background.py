"""Executing pages in the background of ``mkdocs serve``, so the site is up in seconds.

Under ``mkdocs serve`` the plugin does not wait for the pages to execute: each build takes
the pages the `PageCache` holds and asks `BackgroundExecution.request` for the rest, which
are then served as they are (prose and code, no outputs) under a banner saying that they
are still executing. The background runs them in navigation order, `workers` at a time (and
a page's exclusive cells wait for the pages before it: `MachineTurns`), on its own thread and
event loop, which outlive the rebuilds of one ``mkdocs serve``. Each
run-log event of a page (a training, an epoch, a model loaded) updates its `PageProgress`,
written as JSON (`PROGRESS_FILE`) into the served site, which the banner polls. When a page
lands in the cache, its `landed_marker` changes, which starts a rebuild (the served page then
has its outputs, and livereload shows it). A page whose code changes while it runs is
restarted alone.

A built site (``mkdocs build``, strict or not) never uses this: it executes every page first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

from mnist_book import run_log
from mnist_book.run_log import Event
from mnist_book.site.execution import MachineTurns, PageExecutionError, execute
from mnist_book.site.page_cache import ExecutedPage, PageCache, read_script

PROGRESS_FILE = "executing.json"
"""Where the progress of the pages still executing is published, relative to the site root."""

QUEUED, RUNNING, FAILED = "queued", "running", "failed"

T = TypeVar("T")


@dataclass(frozen=True)
class PageProgress:
    """Where a page that is not in the cache yet stands, as its banner says it."""

    state: str = QUEUED
    model: str | None = None
    activity: str | None = None  # run_log.TRAINING (epochs too), WAITING or LOADED
    epoch: int = 0
    epochs: int | None = None
    seconds_left: float | None = None
    error: str | None = None
    pages_before: int = 0  # queued: the pages before it in the navigation still executing

    @property
    def summary(self) -> str:
        """One sentence for the page's banner."""
        if self.state == QUEUED:
            order = "Waiting for its turn: pages execute in the order of the navigation"
            if not self.pages_before:
                return f"{order}."
            pages = "page" if self.pages_before == 1 else "pages"
            return f"{order}, and {self.pages_before} {pages} before it still executing."
        if self.state == FAILED:
            return f"Its execution failed: {self.error}"
        if self.model is None:
            return "Executing its code cells."
        if self.activity == run_log.WAITING:
            # The model waits for the machine's training turn, or for its own training on
            # another page (then it loads it): either way, another training runs now.
            return f"Waiting for another training to finish; then {self.model}."
        if self.activity == run_log.LOADED:
            return f"Loaded {self.model} from the model cache; executing the next cells."
        if not self.epoch:
            return f"Training {self.model}: its first epoch is running."
        left = "" if self.seconds_left is None else f", {about(self.seconds_left)} left"
        return f"Training {self.model}: epoch {self.epoch} of {self.epochs} done{left}."

    def after(self, event: Event, trained_for: float) -> PageProgress:
        """This progress once `event` happened, `trained_for` seconds into its training."""
        if event.kind == run_log.TRAINING:
            return replace(
                self,
                model=event.model,
                activity=run_log.TRAINING,
                epoch=0,
                epochs=event.epochs,
                seconds_left=None,
            )
        if event.kind == run_log.EPOCH and event.epoch and event.epochs:
            per_epoch = trained_for / event.epoch
            return replace(
                self,
                model=event.model,
                activity=run_log.TRAINING,
                epoch=event.epoch,
                epochs=event.epochs,
                seconds_left=per_epoch * (event.epochs - event.epoch),
            )
        if event.kind == run_log.WAITING:
            return replace(self, model=event.model, activity=run_log.WAITING)
        if event.kind == run_log.LOADED:
            return replace(self, model=event.model, activity=run_log.LOADED)
        return replace(self, model=None, activity=None)  # a result: on to the next cells


def about(seconds: float) -> str:
    """A duration in words, as a person would round it: "about 40 s", "about 3 minutes"."""
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


class BackgroundExecution:
    """The pages of one ``mkdocs serve`` that are not in the cache, executed in the background.

    Args:
        cell_timeout: seconds a cell may make no progress (`mnist_book.site.execution`).
        workers: pages executed at once.
        landed_marker: a file rewritten each time a page lands in the cache (the server
            watches it, and rebuilds).
        say: where progress lines go (the build's log).
        planned: a page may train only what the site's plan lists (`mnist_book.plan`).
    """

    def __init__(
        self,
        *,
        cell_timeout: int,
        workers: int,
        landed_marker: Path,
        say: Callable[[str], None],
        planned: bool = False,
    ) -> None:
        self.cell_timeout = cell_timeout
        self.planned = planned
        self.workers = max(1, workers)
        self.landed_marker = landed_marker
        self.say = say
        self.progress_path: Path | None = None
        self._lock = threading.Lock()
        self._progress: dict[str, PageProgress] = {}
        self._ranks: dict[str, int] = {}  # page -> its place in the navigation
        self._running: dict[str, tuple[str, Future[None]]] = {}  # page -> (its key, its run)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mnist-book pages", daemon=True
        )
        self._thread.start()
        landed_marker.parent.mkdir(parents=True, exist_ok=True)
        landed_marker.touch()
        self._slots = self._call(lambda: asyncio.Semaphore(self.workers))
        self._turns = self._call(MachineTurns)

    def request(self, scripts: Mapping[str, Path], cache: PageCache) -> dict[str, ExecutedPage]:
        """The pages of `scripts` (in navigation order) that `cache` holds; runs the others.

        A page already queued or running with the same code keeps its place (one that failed
        stays failed until its code changes); one whose code changed is stopped and queued
        again; one that the cache now holds is left alone.
        """
        landed = {}
        for rank, (src_path, script) in enumerate(scripts.items()):
            notebook = read_script(script)
            if (page := cache.load(src_path, notebook)) is not None:
                landed[src_path] = page
                self._stop(src_path)
                continue
            key = cache.key(notebook)
            with self._lock:
                self._ranks[src_path] = rank
                current = self._running.get(src_path)
            if current is not None and current[0] == key:
                continue  # queued, running, or failed with this very code: edit it to retry
            self._stop(src_path)
            with self._lock:  # held until the run is recorded, so its first update counts
                self._progress[src_path] = PageProgress()
                run = self._run(src_path, script, cache, key, rank)
                self._running[src_path] = (key, asyncio.run_coroutine_threadsafe(run, self._loop))
        return landed

    def progress(self, src_path: str) -> PageProgress | None:
        """How far the page has come, or None if it is not executing in the background."""
        with self._lock:
            return self._shown(src_path)

    def _shown(self, src_path: str) -> PageProgress | None:
        """The page's progress as its banner shows it (with the lock held)."""
        page = self._progress.get(src_path)
        if page is None or page.state != QUEUED:
            return page
        rank = self._ranks[src_path]
        before = [
            other
            for other, progress in self._progress.items()
            if progress.state != FAILED and self._ranks[other] < rank
        ]
        return replace(page, pages_before=len(before))

    def progress_json(self) -> str:
        """The progress of every page not yet in the cache, as JSON (`PROGRESS_FILE`)."""
        with self._lock:
            shown = {src: self._shown(src) for src in self._progress}
            pages = {src: asdict(page) | {"summary": page.summary} for src, page in shown.items()}
        return json.dumps({"pages": pages}, indent=1)

    def close(self) -> None:
        """Stop every page (their kernels shut down) and the background thread.

        Every task on the background loop is cancelled and awaited there, so a page's
        kernel and watchers finish their own clean-up before the loop stops (cancelling
        the pages' futures alone returned at once and left the loop to stop under them).
        """

        async def cancel_all() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception, CancelledError):  # either way, it has stopped
            asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    async def _run(
        self, src_path: str, script: Path, cache: PageCache, key: str, rank: int
    ) -> None:
        notebook = read_script(script)
        async with self._slots:
            self._set(src_path, key, PageProgress(RUNNING))
            self.say(f"Executing {src_path} in the background")
            started: dict[str, float] = {}

            def saw(event: Event) -> None:
                started.setdefault(event.model, time.monotonic())
                if event.kind == run_log.TRAINING:
                    started[event.model] = time.monotonic()
                progress = self.progress(src_path) or PageProgress(RUNNING)
                trained_for = time.monotonic() - started[event.model]
                self._set(src_path, key, progress.after(event, trained_for))

            try:
                seconds, results = await execute(
                    src_path,
                    notebook,
                    script.parent,
                    self.cell_timeout,
                    self.say,
                    self._turns,
                    on_event=saw,
                    rank=rank,  # its cells go before a later page's exclusive ones
                    planned=self.planned,
                )
            except PageExecutionError as error:
                self.say(f"{error}")
                self._set(src_path, key, PageProgress(FAILED, error=str(error).splitlines()[0]))
                return
        cache.store(src_path, notebook, seconds, results)
        self.say(f"Executed {src_path} in {seconds:.1f} s; rebuilding")
        with self._lock:
            self._progress.pop(src_path, None)
        self.publish_progress()
        self.landed_marker.write_text(f"{src_path} {time.time()}\n")

    def _stop(self, src_path: str) -> None:
        with self._lock:
            current = self._running.pop(src_path, None)
            self._progress.pop(src_path, None)
        if current is not None and not current[1].done():
            self.say(f"Stopping the execution of {src_path}: its code changed")
            current[1].cancel()

    def _set(self, src_path: str, key: str, progress: PageProgress) -> None:
        """Record the progress of the run of `src_path` with `key`, if it is still current."""
        with self._lock:
            current = self._running.get(src_path)
            if current is None or current[0] != key:
                return
            self._progress[src_path] = progress
        self.publish_progress()

    def publish_progress(self) -> None:
        """Write the progress file into the served site (`progress_path`), once it is set."""
        if self.progress_path is None:
            return
        try:
            with tempfile.NamedTemporaryFile(
                "w", dir=self.progress_path.parent, delete=False, suffix=".tmp"
            ) as stream:
                stream.write(self.progress_json())
            os.chmod(stream.name, 0o644)
            os.replace(stream.name, self.progress_path)
        except OSError:  # the site directory is being rebuilt: the next event writes it
            pass

    def _call(self, make: Callable[[], T]) -> T:
        """Make an asyncio object on the background loop (where it will be used)."""

        async def made() -> T:
            return make()

        return asyncio.run_coroutine_threadsafe(made(), self._loop).result()
