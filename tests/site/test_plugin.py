"""The ``mnist-book`` mkdocs plugin, on tiny throwaway sites built in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

import mnist_book
from mnist_book.config import TrainConfig
from mnist_book.site import pending, report
from mnist_book.site.background import PROGRESS_FILE

pytestmark = pytest.mark.slow

MKDOCS_YML = """\
site_name: test site
nav:
  - Page: page.py
plugins:
  - mnist-book:
      cell_timeout: {timeout}
  - mkdocs-jupyter:
      execute: false
"""


def make_site(root: Path, page: str, timeout: int = 60) -> Path:
    """A one-page site whose page is the percent-format script `page`."""
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(MKDOCS_YML.format(timeout=timeout))
    (root / "docs" / "page.py").write_text(textwrap.dedent(page))
    return root


def build(root: Path, pythonpath: Path | None = None, cwd: Path | None = None):
    env = {**os.environ, "PYTHONPATH": str(pythonpath or "")}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-v", "-f", str(root / "mkdocs.yml")],
        cwd=cwd or root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def page_html(root: Path) -> str:
    return (root / "site" / "page" / "index.html").read_text()


def test_failing_cell_fails_the_build_naming_page_and_cell(tmp_path):
    site = make_site(
        tmp_path,
        """\
        # %% [markdown]
        # # A page
        # %%
        x = 1
        # %%
        raise RuntimeError("this cell is broken")
        """,
    )
    built = build(site)
    assert built.returncode != 0
    assert "Tutorial page page.py: code cell 2 (`raise RuntimeError" in built.stderr
    assert "this cell is broken" in built.stderr
    assert not (site / "site" / "page" / "index.html").exists()


def test_page_output_results_and_cache(tmp_path):
    site = make_site(
        tmp_path / "site-root",
        """\
        # %% [markdown]
        # # A page
        # %%
        print("computed", 6 * 7)
        # %%
        import numpy as np
        from mnist_book import plotting
        plotting.training_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]})
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = build(site, cwd=elsewhere)  # the build works from any directory
    assert first.returncode == 0, first.stderr
    assert "computed 42" in page_html(site)
    assert "Executed 1 of 1 pages" in first.stderr
    assert report.read_results((site / "site" / "results.json").read_text()) == []  # no training
    # The figure's light and dark images are files beside the page; the download has them inline.
    assert "base64" not in page_html(site)
    assert len(list((site / "site" / "page" / "figures").glob("*.png"))) == 2
    assert 'loading="lazy"' in page_html(site) and "ending at 75.00% training" in page_html(site)
    assert "image/png" in (site / "site" / "page" / "page.ipynb").read_text()

    second = build(site)
    assert second.returncode == 0, second.stderr
    assert "Executed 0 of 1 pages" in second.stderr and "(all cached)" in second.stderr
    assert "Cache hit" in second.stderr  # the executed notebook is byte-identical: not re-rendered

    page = site / "docs" / "page.py"
    page.write_text(page.read_text().replace("# # A page", "# # A page\n#\n# New prose."))
    prose = build(site)
    assert "Executed 0 of 1 pages" in prose.stderr  # outputs depend on code cells only
    assert "New prose." in page_html(site) and "computed 42" in page_html(site)

    page.write_text(page.read_text().replace("6 * 7", "6 * 8"))
    code = build(site)
    assert "Executed 1 of 1 pages" in code.stderr
    assert "computed 48" in page_html(site)


def test_package_edit_reexecutes_pages_instead_of_serving_stale_output(tmp_path):
    """mkdocs-jupyter's own cache keys on the page only; ours must see the package change."""
    package_copy = tmp_path / "src"
    shutil.copytree(Path(mnist_book.__file__).parent, package_copy / "mnist_book")
    site = make_site(
        tmp_path / "site-root",
        """\
        # %%
        from mnist_book import paths
        print("marker:", getattr(paths, "MARKER", "original"))
        """,
    )
    assert build(site, pythonpath=package_copy).returncode == 0
    assert "marker: original" in page_html(site)

    with open(package_copy / "mnist_book" / "paths.py", "a") as module:
        module.write('\nMARKER = "edited"\n')
    rebuilt = build(site, pythonpath=package_copy)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Executed 1 of 1 pages" in rebuilt.stderr
    assert "marker: edited" in page_html(site)


def test_two_builds_at_once_share_the_caches_safely(tmp_path, isolated_cache):
    """Both succeed, the model is trained once, and no half-written entry is left behind."""
    site = make_site(
        tmp_path / "site-root",
        """\
        # %%
        from mnist_book.config import TrainConfig
        from mnist_book.training import train

        result = train("single_layer", TrainConfig(epochs=1, batch_size=128, train_size=2_000))
        print("accuracy", result.test_accuracy)
        """,
    )
    env = {**os.environ, "MNIST_BOOK_CACHE_DIR": str(isolated_cache)}
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / f"out{i}")],
            cwd=site,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    outputs = [build.communicate(timeout=300) for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    pages = [(tmp_path / f"out{i}" / "page" / "index.html").read_text() for i in (1, 2)]
    accuracies = [page.split("accuracy ")[1][:6] for page in pages]
    assert accuracies[0] == accuracies[1]
    # Each build publishes the one training, as a record its results.json reads back as.
    published = [
        report.read_results((tmp_path / f"out{i}" / "results.json").read_text()) for i in (1, 2)
    ]
    assert published[0] == published[1]
    (record,) = published[0]
    assert (record.name, record.config) == (
        "single_layer",
        TrainConfig(epochs=1, batch_size=128, train_size=2_000),
    )
    assert all(f"accuracy {record.test_accuracy}" in page for page in pages)
    entries = list((isolated_cache / "models").iterdir())
    assert [entry.name.split("-")[0] for entry in entries if entry.is_dir()] == ["single_layer"]
    assert not [entry for entry in entries if entry.name.startswith(".tmp-")]
    trained_here = ["Training single_layer" in page for page in pages]
    # One kernel trained; the other loaded its model, or took its executed page outright.
    assert trained_here.count(True) == 1 or pages[0] == pages[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_serve_shows_a_page_at_once_then_its_outputs_but_a_build_never_a_placeholder(
    tmp_path, isolated_cache
):
    """`mkdocs serve` answers before the page has executed; `mkdocs build` waits for it."""
    root = make_site(
        tmp_path / "site",
        """\
        # %% [markdown]
        # # The page
        #
        # Its prose.

        # %%
        import time
        time.sleep(10)
        print("the output", 6 * 7)
        """,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/page/"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "serve",
            "-a",
            f"127.0.0.1:{port}",
            "-f",
            str(root / "mkdocs.yml"),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = _get(url)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr
                time.sleep(0.5)
        assert pending.is_executing(first) and "Its prose." in first and "sleep" in first
        assert "the output 42" not in first
        progress = json.loads(_get(f"http://127.0.0.1:{port}/{PROGRESS_FILE}"))
        assert progress["pages"]["page.py"]["state"] in {"queued", "running"}

        while "the output 42" not in (page := _get(url)):
            assert time.monotonic() < deadline + 60, "the page never filled in"
            time.sleep(1)
        assert not pending.is_pending(page)
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C, as an author stops it
        server.wait(timeout=60)

    shutil.rmtree(root / ".cache")  # a cold build: it must execute the page itself
    assert build(root).returncode == 0
    built = list((root / "site").rglob("*.html"))
    assert "the output 42" in page_html(root)
    assert not any(pending.is_pending(path.read_text()) for path in built)
    assert not (root / "site" / PROGRESS_FILE).exists()
