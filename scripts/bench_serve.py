"""Benchmark: a newcomer's first `make serve`, on a cold cache, with and without a published cache.

On a fresh clone of this repository (its committed HEAD; the environment is this checkout's
.venv, already installed) with empty caches of its own, it starts `mkdocs serve` and polls every
page of the navigation over HTTP until each is complete. It reports the seconds to the first
HTTP 200 and, for every page, the seconds until it was *executed* (no "still executing" banner:
`mnist_book.site.pending.is_executing`; a Markdown page is at once) and until it was *complete*
(neither a banner nor, under a table of every page's results, a note naming pages not in it
yet: `is_pending`; the home, draw and about pages are complete with the last page). Two
scenarios:

- ``published``: the published cache is this checkout's last build, written by the project's
  own command (`mnist-book publish-cache`; run `make site` first) and served from 127.0.0.1;
- ``none``: no published cache (``MNIST_BOOK_PUBLISHED_CACHE`` empty): every model trains.

Targets (issue 18): first page within 60 s; with the published cache every page within
5 minutes; without it, the pages that train nothing within 3 minutes.

    python scripts/bench_serve.py [--scenario published|none|both] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from mnist_book.paths import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    PUBLISHED_CACHE_DIR_ENV,
    PUBLISHED_CACHE_ENV,
)
from mnist_book.site.pending import is_executing, is_pending

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def nav_pages(mkdocs_yml: Path) -> list[str]:
    """The docs paths of the navigation's pages, in order (the API reference left out)."""
    config = yaml.load(mkdocs_yml.read_text(), Loader=yaml.BaseLoader)

    def walk(items: list) -> list[str]:
        found = []
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                found += walk(value)
            elif not value.startswith("reference/"):
                found.append(value)
        return found

    return walk(config["nav"])


def page_url(src: str) -> str:
    """The served path of docs page `src` (use_directory_urls)."""
    stem = src.rsplit(".", 1)[0]
    return "" if stem == "index" else ("" if stem.endswith("/index") else stem + "/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode()
    except OSError:
        return None


def serve_static(directory: Path) -> tuple[str, ThreadingHTTPServer]:
    """`directory` over HTTP on 127.0.0.1, as the published cache would be."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def run(scenario: str, published_url: str, timeout: float, scratch: Path) -> dict:
    """One cold `mkdocs serve` in a fresh clone: seconds to first 200 and to each page complete."""
    clone = scratch / scenario / "mnist-book"
    clone.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone.parent / "shared").symlink_to((ROOT.parent / "shared").resolve())
    env = {
        **os.environ,
        "PYTHONPATH": str(clone / "src"),  # the clone's package, not this checkout's
        CACHE_DIR_ENV: str(scratch / scenario / "cache"),
        DATA_DIR_ENV: str(clone.parent / "shared" / "data" / "mnist"),  # as the Makefile sets it
        PUBLISHED_CACHE_ENV: published_url,
        "NO_MKDOCS_2_WARNING": "1",
    }
    env.pop(PUBLISHED_CACHE_DIR_ENV, None)
    port = free_port()
    base = f"http://127.0.0.1:{port}/mnist-book/"
    pages = nav_pages(clone / "mkdocs.yml")
    log = (scratch / f"{scenario}-serve.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        [str(BIN / "mkdocs"), "serve", "-a", f"127.0.0.1:{port}", "--livereload"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Ctrl-C stops it even if this benchmark was started in the background (`&`), which
        # makes a shell ignore SIGINT in what it starts
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first, executed, complete = None, {}, {}
    try:
        while time.monotonic() - started < timeout and len(complete) < len(pages):
            for src in pages:
                if src in complete:
                    continue
                html = fetch(base + page_url(src))
                if html is None:
                    break
                now = time.monotonic() - started
                first = first or now
                if not is_executing(html):
                    executed.setdefault(src, now)
                if not is_pending(html):
                    complete[src] = now
            time.sleep(2)
    finally:
        stop(server)

    def seconds(times: dict[str, float]) -> dict[str, float | None]:
        return {src: round(times[src], 1) if src in times else None for src in pages}

    return {
        "scenario": scenario,
        "first_200_s": None if first is None else round(first, 1),
        "executed_s": seconds(executed),
        "complete_s": seconds(complete),
        "all_complete": len(complete) == len(pages),
    }


def stop(server: subprocess.Popen) -> None:
    """Ctrl-C (the plugin stops its pages' kernels), then SIGKILL if it does not exit."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=120)
    except subprocess.TimeoutExpired:
        print("mkdocs serve did not stop within 120 s of Ctrl-C; killed", file=sys.stderr)
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["published", "none", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per scenario")
    args = parser.parse_args()
    scenarios = ["published", "none"] if args.scenario == "both" else [args.scenario]
    reports = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-", ignore_cleanup_errors=True) as scratch:
        scratch = Path(scratch)
        for scenario in scenarios:
            if scenario == "published":
                cache = scratch / "published-cache"
                subprocess.run(
                    [str(BIN / "mnist-book"), "publish-cache", str(cache)], cwd=ROOT, check=True
                )
                url, static = serve_static(cache)
                try:
                    reports.append(run(scenario, url, args.timeout, scratch))
                finally:
                    static.shutdown()
            else:
                reports.append(run(scenario, "", args.timeout, scratch))
    for report in reports:
        print(f"\n{report['scenario']}: first HTTP 200 after {report['first_200_s']} s")
        print(f"  {'page':32} {'executed':>10} {'complete':>10}")
        for src in report["complete_s"]:
            shown = [report[key][src] for key in ("executed_s", "complete_s")]
            cells = ["not yet" if value is None else f"{value:.1f} s" for value in shown]
            print(f"  {src:32} {cells[0]:>10} {cells[1]:>10}")
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
