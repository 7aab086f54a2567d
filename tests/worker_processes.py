"""Finding the worker processes a test started, by a marker in their environment.

Kept apart from the tests so a tutorial page under test can load it by path: it imports only
the standard library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER_ENV = "MNIST_BOOK_TEST_MARKER"


def marked_processes(marker: str) -> dict[int, dict[str, str]]:
    """The live processes whose environment carries `marker`: pid -> environment."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            raw = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        env = dict(
            item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
        )
        if env.get(MARKER_ENV) == marker and state != "Z":
            found[int(proc.name)] = env
    return found


def worker_pid(marker: str, index: int) -> int:
    """The pid of worker `index` among the processes carrying `marker`."""
    for pid, env in marked_processes(marker).items():
        config = json.loads(env.get("TF_CONFIG", "{}"))
        if config.get("task", {}).get("index") == index:
            return pid
    raise AssertionError(f"no worker {index} is running")
