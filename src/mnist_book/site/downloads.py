"""Each tutorial's downloads: its script (``.py``), the executed notebook (``.ipynb``, with a
set-up cell for Google Colab) and an "Open in Colab" link.

Both leave out the exercises' solutions (cells tagged ``solution``) and keep their check
cells, so that a reader works the exercises in the download and checks the answers there.

Colab opens notebooks from GitHub only, so the link points at the published site's branch,
gh-pages, where the executed notebook lies beside the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from mnist_book.site.notebook_html import SOLUTION_TAG

_SCRIPT_CELL = re.compile(r"^# %%.*$", re.M)

COLAB_SETUP = """\
# Set-up for Google Colab (does nothing elsewhere): install the mnist_book package.
# MNIST itself is downloaded and verified the first time the notebook loads it.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet --no-deps "mnist-book @ git+{repo_url}"
    %pip install --quiet pooch platformdirs filelock
"""
"""The first cell of every downloaded notebook (`repo_url` is filled in)."""


def colab_url(repo_url: str | None, page_url: str, stem: str) -> str | None:
    """The Colab address of the page's notebook on gh-pages; None off GitHub."""
    match = re.match(r"https://github\.com/([^/]+/[^/]+?)/?$", repo_url or "")
    if match is None:
        return None
    return (
        f"https://colab.research.google.com/github/{match.group(1)}/blob/gh-pages/"
        f"{page_url}{stem}.ipynb"
    )


def downloads_bar(stem: str, colab: str | None) -> str:
    """The buttons at the top of a tutorial: ``stem``.py, ``stem``.ipynb and Colab."""
    links = [
        f'<a class="md-button" href="{stem}.py" download>Download .py</a>',
        f'<a class="md-button" href="{stem}.ipynb" download>Download .ipynb</a>',
    ]
    if colab:
        links.append(f'<a class="md-button" href="{colab}">Open in Colab</a>')
    return f'<div class="mnist-book-downloads">{"".join(links)}</div>\n'


def write_downloads(script: Path, executed: Path, target: Path, repo_url: str | None) -> None:
    """Copy `script` and the `executed` notebook, Colab-ready, into the directory `target`.

    The notebook is self-contained (its figures inline), with the plain Python 3 kernel
    metadata every Jupyter front end knows, and starts with `COLAB_SETUP` when the site has
    a repository to install the package from.
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / script.name).write_text(
        without_solutions(script.read_text(encoding="utf-8")), encoding="utf-8"
    )
    notebook = nbformat.read(executed, as_version=4)
    notebook.cells = [
        cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])
    ]
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if repo_url:
        setup = COLAB_SETUP.format(repo_url=repo_url.rstrip("/"))
        notebook.cells.insert(0, nbformat.v4.new_code_cell(setup, id="colab-setup"))
    nbformat.write(notebook, target / f"{script.stem}.ipynb")


def without_solutions(script: str) -> str:
    """A percent-format `script` without its cells tagged ``solution``."""
    starts = [match.start() for match in _SCRIPT_CELL.finditer(script)]
    cells = [script[a:b] for a, b in zip([0, *starts], [*starts, len(script)], strict=True)]
    return "".join(cell for cell in cells if not _is_solution_cell(cell))


def _is_solution_cell(cell: str) -> bool:
    header = cell.split("\n", 1)[0]
    tags = re.search(r"tags=\[(?P<tags>[^\]]*)\]", header) if header.startswith("# %%") else None
    return tags is not None and f'"{SOLUTION_TAG}"' in tags["tags"]
