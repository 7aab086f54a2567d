"""A multi-worker training on one machine: N worker processes on free loopback ports.

`train_on_local_workers` starts N processes, each running exactly what a worker of a real
cluster runs (``mnist-book train NAME --cluster``) with a ``TF_CONFIG`` naming
``127.0.0.1`` ports, shows the chief's lines as they come, and returns the chief's result
from the model cache. It never leaves a worker behind: when any worker fails, the others
are stopped at once and a `WorkerFailed` names it with its last lines of output; on
Ctrl-C, on any error, and even if the launching process is killed, the workers die with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from mnist_book import data, model_cache, paths, training
from mnist_book.config import TrainConfig, recipe
from mnist_book.distributed import SAVED_TO, announce_loaded, cache_key, entry_path
from mnist_book.results import Distribution
from mnist_book.strategies import DEFAULT_TIMEOUT
from mnist_book.training import TrainResult

_TAIL_LINES = 15
_STOP_GRACE = 5.0


class WorkerFailed(RuntimeError):
    """A worker process exited with an error, was killed, or outlived its peers."""


def train_on_local_workers(
    name: str,
    config: TrainConfig | None = None,
    *,
    workers: int = 2,
    use_cache: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train `name` with `MultiWorkerMirroredStrategy` on `workers` local processes.

    Each worker is one replica on the CPU, with ``cores / workers`` threads; the global
    batch `config.batch_size` is split over the workers. With `use_cache`, an identical
    training is loaded from the model cache, and an interrupted one resumes from its last
    completed epoch. Raises `WorkerFailed` (naming the worker)
    when a worker fails; a peer that is missing or silent is detected within `timeout`.
    """
    config = config or recipe(name)
    if workers < 1:
        raise ValueError(f"workers must be positive, got {workers}.")
    distribution = Distribution("multi_worker", workers, workers, ("/device:CPU:0",))
    entry = entry_path(name, config, distribution)
    if not use_cache:
        with tempfile.TemporaryDirectory(prefix="mnist-book-workers-") as scratch:
            stored = Path(scratch) / "models" / entry.name  # where the chief will save it
            with training.training_turn(name, log):
                return _launch(name, config, distribution, stored, timeout, log)
    with model_cache.entry_lock(entry):
        cached = training.load_entry(entry, name, config)
        if cached is not None:
            return announce_loaded(cached, log)
        with training.training_turn(name, log):
            return _launch(name, config, distribution, entry, timeout, log)


def worker_command(
    name: str, config: TrainConfig, *, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """The command each worker runs: ``mnist-book train NAME ... --cluster``."""
    options = [
        f"--{field.replace('_', '-')}={value}"
        for field, value in asdict(config).items()
        if value is not None
    ]
    return [
        sys.executable,
        "-m",
        "mnist_book.cli",
        "train",
        name,
        *options,
        "--cluster",
        f"--timeout={timeout:g}",
    ]


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on 127.0.0.1 (held together while chosen, so all distinct)."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def tf_config(addresses: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` of worker `index` of the cluster at `addresses`."""
    return json.dumps(
        {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}
    )


def _launch(
    name: str,
    config: TrainConfig,
    distribution: Distribution,
    entry: Path,
    timeout: float,
    log: Callable[[str], None],
) -> TrainResult:
    """Run the workers, whose chief stores its result in cache `entry`; that result."""
    model_cache.refuse_training_if_required(name, cache_key(name, config, distribution))
    workers = distribution.workers
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    threads = max(1, (os.cpu_count() or 1) // workers)
    base = {
        **os.environ,
        paths.DATA_DIR_ENV: str(data.locate_mnist()),  # located (or downloaded) once, here
        paths.CACHE_DIR_ENV: str(entry.parent.parent),
        "CUDA_VISIBLE_DEVICES": "-1",  # local workers share the CPU; GPUs: `local_strategy`
        "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS", str(threads)),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads)),  # oneDNN's threads
        "PYTHONUNBUFFERED": "1",
    }
    command = worker_command(name, config, timeout=timeout)
    environments = []
    for index in range(workers):
        env = {**base, "TF_CONFIG": tf_config(addresses, index)}
        if index:  # only the chief reports to the run log
            env.pop(paths.RUN_LOG_ENV, None)
        environments.append(env)
    with _running(command, environments) as group:
        group.wait(log, timeout)
    # Where the chief says it stored the result: the same entry, unless the package
    # changed on disk since this process imported it (the workers run the new code).
    stored = Path(group.saved_to or entry)
    result = training.load_entry(stored, name, config)
    if result is None:
        raise WorkerFailed(
            f"The workers finished, but the chief stored no result in {stored}: is the "
            f"model cache writable? (set {paths.CACHE_DIR_ENV})"
        )
    return replace(result, from_cache=False)


class _WorkerGroup:
    """Worker processes whose output lines arrive in one queue, tagged by worker."""

    def __init__(self, processes: list[subprocess.Popen[str]]) -> None:
        self.processes = processes
        self.lines: queue.Queue[tuple[int, str]] = queue.Queue()
        self.tails = [deque[str](maxlen=_TAIL_LINES) for _ in processes]
        self.saved_to: str | None = None
        self.readers = [
            threading.Thread(target=self._read, args=(index,), daemon=True)
            for index in range(len(processes))
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, index: int) -> None:
        stream = self.processes[index].stdout
        assert stream is not None
        for line in stream:
            self.lines.put((index, line.rstrip("\n")))

    def _drain(self, log: Callable[[str], None]) -> None:
        while True:
            try:
                index, line = self.lines.get_nowait()
            except queue.Empty:
                return
            self.tails[index].append(line)
            if index == 0 and _is_report(line):
                log(line)
            if index == 0 and line.startswith(SAVED_TO):
                self.saved_to = line.removeprefix(SAVED_TO)

    def wait(self, log: Callable[[str], None], timeout: float) -> None:
        """Until every worker has exited cleanly; `WorkerFailed` at the first that does not.

        After one worker has finished, the others have `timeout` seconds to follow.
        """
        started = time.monotonic()
        first_done: float | None = None
        while True:
            self._drain(log)
            codes = [process.poll() for process in self.processes]
            for index, code in enumerate(codes):
                if code not in (None, 0):
                    self._fail(index, _exit_reason(code), started, log)
            if all(code == 0 for code in codes):
                self._drain(log)
                return
            if any(code == 0 for code in codes):
                first_done = first_done or time.monotonic()
                if time.monotonic() - first_done > timeout:
                    late = codes.index(None)
                    reason = f"did not finish within {timeout:g} s of the others"
                    self._fail(late, reason, started, log)
            time.sleep(0.1)

    def _fail(self, index: int, reason: str, started: float, log: Callable[[str], None]) -> None:
        self.stop()
        for reader in self.readers:
            reader.join(timeout=_STOP_GRACE)
        self._drain(log)
        count = len(self.processes)
        tail = "\n".join(f"  {line}" for line in _meaningful(self.tails[index]))
        raise WorkerFailed(
            f"Worker {index} of {count} {reason} after {time.monotonic() - started:.0f} s; "
            f"the other workers were stopped. Its last lines:\n{tail}\n"
            "Training again resumes from the last completed epoch."
        )

    def stop(self) -> None:
        """Stop every worker still running: SIGTERM, then SIGKILL after a grace period."""
        alive = [process for process in self.processes if process.poll() is None]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE
        for process in alive:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextlib.contextmanager
def _running(command: list[str], environments: list[dict[str, str]]) -> Iterator[_WorkerGroup]:
    """The workers, one per environment, stopped on leaving the block however it is left."""
    processes: list[subprocess.Popen[str]] = []
    group = None
    try:
        for env in environments:
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    start_new_session=True,  # no terminal Ctrl-C: the launcher stops them
                    preexec_fn=_die_with_parent,
                )
            )
        group = _WorkerGroup(processes)
        yield group
    finally:
        (group or _WorkerGroup(processes)).stop()


def _die_with_parent() -> None:
    """In a new worker: be killed when the launching process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _exit_reason(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


_REPORT_PREFIXES = ("Training ", "Epoch ", "Resuming ", "Test accuracy", "Ignoring ")


def _is_report(line: str) -> bool:
    """A line of the chief's training report (not TensorFlow's own log lines)."""
    return line.startswith(_REPORT_PREFIXES)


def _meaningful(lines: Sequence[str]) -> list[str]:
    """A worker's last lines without the native stack-trace noise TensorFlow adds."""
    kept = [line for line in lines if line.strip() and not line.startswith(("\t", " "))]
    return kept[-8:] or ["(no output)"]
