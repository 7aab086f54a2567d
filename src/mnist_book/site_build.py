"""The mkdocs plugin that executes the tutorial pages (`plugins: [mnist-book, mkdocs-jupyter]`).

It runs before mkdocs-jupyter, which then only renders (`execute: false`):

1. Every Jupytext percent script under `docs/` is executed with nbclient, several at once,
   with a per-cell timeout; a cell that raises or hangs fails the build, naming page and cell.
2. Executed notebooks are cached under a key covering everything a page's output depends on:
   the page, the `mnist_book` source, the data checksums and every installed library version.
   An unchanged page is not re-executed; a package edit re-executes every page, while the
   trained-model cache keeps models whose training is unaffected from being retrained.
3. Each page's file is pointed at its executed notebook for mkdocs-jupyter to render (this
   runs after mkdocs-jupyter's own `on_files`, which wraps the scripts as notebook pages).
4. The results of every model the pages trained fill `results.json` at the site root and the
   `<!-- mnist-book:... -->` markers in Markdown pages (results table, build information,
   execution times).
5. Tutorials link to the API reference entries of the `mnist_book` functions they use, and
   each reference entry links back to the tutorials that use it.
6. Each tutorial page offers its source as `.py`, the executed notebook as `.ipynb` (with a
   set-up cell for Google Colab) and an "Open in Colab" link; the ~590 KB of notebook CSS
   that mkdocs-jupyter inlines into every page moves to one shared, cacheable stylesheet.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import importlib.metadata
import json
import os
import platform
import posixpath
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from mkdocs.config import config_options
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

import mnist_book
from mnist_book import data
from mnist_book.paths import RUN_LOG_ENV

log = get_plugin_logger(__name__)

RESULTS_FILE = "results.json"
NOTEBOOK_CSS = "assets/mnist-book/notebook.css"
REFERENCE_DIR = "reference/"
COLAB_SETUP = """\
# Set-up for Google Colab (does nothing elsewhere): install the mnist_book package.
# MNIST itself is downloaded and verified the first time the notebook loads it.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet --no-deps "mnist-book @ git+{repo_url}"
    %pip install --quiet pooch platformdirs filelock
"""
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>\s*", re.S)


@dataclass
class ExecutedPage:
    """A tutorial page after execution: where its notebook is and what it produced."""

    src_path: str
    notebook: Path
    seconds: float
    results: list[dict[str, Any]]
    from_cache: bool = field(default=False)


class PluginConfig(config_options.Config):
    cell_timeout = config_options.Type(int, default=900)
    workers = config_options.Type(int, default=2)
    cache_dir = config_options.Type(str, default=".cache/mnist-book/pages")


class ExecutePagesPlugin(BasePlugin[PluginConfig]):
    """Execute the tutorial scripts, cached and in parallel, before mkdocs-jupyter renders them."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        root = Path(config.config_file_path).parent
        self.cache_dir = root / self.config.cache_dir
        # mkdocs-jupyter's render cache is relative to the working directory: anchor it too.
        if renderer := config.plugins.get("mkdocs-jupyter"):
            renderer.config["cache_dir"] = str(root / renderer.config["cache_dir"])
        self.executed: dict[str, ExecutedPage] = {}
        self.shared_css: dict[str, None] = {}  # ordered set of moved style blocks
        return config

    @event_priority(-100)  # after mkdocs-jupyter has wrapped the scripts as notebook pages
    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        self.nav_titles = _nav_titles(config.nav)
        order = {path: index for index, path in enumerate(self.nav_titles)}
        pages = sorted(
            (file for file in files if _is_tutorial(file)),
            key=lambda file: order.get(file.src_uri, len(order)),
        )
        self.api_used = {
            file.src_uri: api_used(Path(file.abs_src_path).read_text(encoding="utf-8"))
            for file in pages
        }
        started = time.perf_counter()
        fingerprint = environment_fingerprint()
        executed = asyncio.run(self._execute_all(pages, fingerprint))
        self.executed = {page.src_path: page for page in executed}
        for file in pages:
            file.abs_src_path = str(self.executed[file.src_uri].notebook)
        report = {"models": self.model_results(), "build": build_information()}
        files.append(File.generated(config, RESULTS_FILE, content=json.dumps(report, indent=2)))
        ran = [page.src_path for page in executed if not page.from_cache]
        log.info(
            f"Executed {len(ran)} of {len(pages)} pages in {time.perf_counter() - started:.1f} s"
            + (f": {', '.join(ran)}" if ran else " (all cached)")
        )
        return files

    async def _execute_all(self, pages: list[File], fingerprint: str) -> list[ExecutedPage]:
        """Execute `pages` (in nav order) on `workers` kernels at a time, slowest first."""
        slots = asyncio.Semaphore(max(1, self.config.workers))

        async def run(file: File) -> ExecutedPage:
            async with slots:
                return await self._execute_cached(file, fingerprint)

        slowest_first = sorted(pages, key=lambda file: -self._previous_seconds(file))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(run(file)) for file in slowest_first]
        except* PluginError as failures:
            raise failures.exceptions[0] from None
        executed = {task.result().src_path: task.result() for task in tasks}
        return [executed[file.src_uri] for file in pages]

    def _entry(self, file: File) -> Path:
        """The page's directory in the execution cache (one subdirectory per key)."""
        return self.cache_dir / Path(file.src_uri).with_suffix("").as_posix().replace("/", "--")

    def _previous_seconds(self, file: File) -> float:
        """How long the page took when it was last executed (0 if never)."""
        for meta in self._entry(file).glob("*/*.json"):
            try:
                return float(json.loads(meta.read_text())["seconds"])
            except (OSError, ValueError, KeyError):
                continue
        return 0.0

    async def _execute_cached(self, file: File, fingerprint: str) -> ExecutedPage:
        """The executed page: from the cache when its code and environment are unchanged.

        The key covers the code cells only, as Markdown cells do not change any output: a
        prose edit merges the new text with the cached outputs, without executing anything.
        """
        notebook = jupytext.read(file.abs_src_path)
        for index, cell in enumerate(notebook.cells):  # jupytext makes random ids
            cell.id = f"cell-{index}"
        code = json.dumps([cell.source for cell in notebook.cells if cell.cell_type == "code"])
        key = hashlib.sha256((code + fingerprint).encode()).hexdigest()[:24]
        entry = self._entry(file)
        path = entry / key / Path(file.src_uri).with_suffix(".ipynb").name
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            try:
                stored = json.loads(meta.read_text())
                _copy_outputs(nbformat.read(path, as_version=4), notebook)
                text = nbformat.writes(notebook)
                if text != path.read_text():  # the prose changed
                    _write_atomically(path, text)
                return ExecutedPage(file.src_uri, path, stored["seconds"], stored["results"], True)
            except (ValueError, KeyError, nbformat.ValidationError) as error:
                log.info(f"Re-executing {file.src_uri}: its cache entry is unreadable ({error}).")
        page = await self._execute(file, notebook, path)
        _write_atomically(meta, json.dumps({"seconds": page.seconds, "results": page.results}))
        for stale in entry.iterdir():
            if stale.name != key:
                shutil.rmtree(stale, ignore_errors=True)
        return page

    async def _execute(self, file: File, notebook: Any, notebook_path: Path) -> ExecutedPage:
        log.info(f"Executing {file.src_uri}")
        current = {"cell": -1}

        def remember_cell(cell: Any, cell_index: int, **_: Any) -> None:
            current["cell"] = cell_index

        client = NotebookClient(
            notebook,
            timeout=self.config.cell_timeout,
            kernel_name="python3",
            allow_errors=False,
            resources={"metadata": {"path": str(Path(file.abs_src_path).parent)}},
            on_cell_execute=remember_cell,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP transport notice
        )
        with tempfile.TemporaryDirectory() as scratch:
            run_log = Path(scratch) / "runs.jsonl"
            env = {**os.environ, RUN_LOG_ENV: str(run_log), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
            started = time.perf_counter()
            try:
                await client.async_execute(env=env)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                raise PluginError(
                    _failure_message(file, notebook, current["cell"], error)
                ) from None
            seconds = time.perf_counter() - started
            lines = run_log.read_text().splitlines() if run_log.exists() else []
        _write_atomically(notebook_path, nbformat.writes(notebook))
        log.info(f"Executed {file.src_uri} in {seconds:.1f} s")
        return ExecutedPage(
            file.src_uri, notebook_path, seconds, [json.loads(line) for line in lines]
        )

    def on_page_markdown(
        self, markdown: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        for marker, render in (
            ("results-table", self._results_table),
            ("execution-times", self._execution_times),
            ("build-info", _build_info),
        ):
            tag = f"<!-- mnist-book:{marker} -->"
            if tag in markdown:
                markdown = markdown.replace(tag, render())
        return markdown

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        if page.file.src_uri.startswith(REFERENCE_DIR):
            return self._link_back_to_tutorials(html, page, files)
        if page.file.src_uri not in self.executed:
            return html
        html = _link_documentation_files(html, page, files)
        # Notebook headings' "¶" links: as Material's own, so search leaves them out.
        html = html.replace('class="anchor-link"', 'class="headerlink"')
        return self._downloads_bar(page, config) + html + self._api_used_list(page, files)

    def _api_used_list(self, page: Page, files: Files) -> str:
        items = [
            f'<li><a href="{_url(_reference_page(name), page, files)}#{name}">'
            f"<code>{name}</code></a></li>"
            for name in self.api_used.get(page.file.src_uri, [])
            if files.get_file_from_path(_reference_page(name))  # a site may have no reference
        ]
        if not items:
            return ""
        return (
            '<h2 id="api-used-on-this-page">From <code>mnist_book</code> on this page</h2>\n'
            f"<ul>{''.join(items)}</ul>"
        )

    def _link_back_to_tutorials(self, html: str, page: Page, files: Files) -> str:
        """After each reference entry's heading, list the tutorials that use the object."""
        for name in sorted({name for names in self.api_used.values() for name in names}):
            if _reference_page(name) != page.file.src_uri:
                continue
            tutorials = [
                f'<a href="{_url(src, page, files)}">{title}</a>'
                for src, title in self.nav_titles.items()
                if name in self.api_used.get(src, [])
            ]
            heading = re.search(rf'<h[2-6][^>]*\bid="{re.escape(name)}".*?</h[2-6]>', html, re.S)
            if heading:
                used_in = f'<p class="mnist-book-used-in">Used in: {", ".join(tutorials)}</p>'
                html = html[: heading.end()] + used_in + html[heading.end() :]
        return html

    def _downloads_bar(self, page: Page, config: MkDocsConfig) -> str:
        stem = Path(page.file.src_uri).stem
        links = [
            f'<a class="md-button" href="{stem}.py" download>Download .py</a>',
            f'<a class="md-button" href="{stem}.ipynb" download>Download .ipynb</a>',
        ]
        if colab := _colab_url(config, page, stem):
            links.append(f'<a class="md-button" href="{colab}">Open in Colab</a>')
        return f'<div class="mnist-book-downloads">{"".join(links)}</div>\n'

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        executed = self.executed.get(page.file.src_uri)
        if executed is None:
            return output
        self._write_downloads(executed, page, config)
        return self._link_shared_css(output, page)

    def on_post_build(self, config: MkDocsConfig) -> None:
        if self.shared_css:
            _write_atomically(Path(config.site_dir, NOTEBOOK_CSS), "\n".join(self.shared_css))

    def _link_shared_css(self, output: str, page: Page) -> str:
        """Move the notebook styles mkdocs-jupyter inlined into the page to NOTEBOOK_CSS."""
        content_start = output.find('<div class="md-content"')
        head, body = output[:content_start], output[content_start:]
        link_tag = f'<link rel="stylesheet" href="{_relative(NOTEBOOK_CSS, page)}">'
        moved = False

        def move(match: re.Match[str]) -> str:
            nonlocal moved
            css = match.group(1).strip()
            if "#T_" in css:  # a pandas Styler table's own rules stay with the table
                return match.group(0)
            if not css.startswith("["):  # mkdocs-jupyter 0.26 also appends a list's repr
                self.shared_css.setdefault(css)
            link = "" if moved else link_tag
            moved = True
            return link

        return head + _STYLE_BLOCK.sub(move, body)

    def _write_downloads(self, executed: ExecutedPage, page: Page, config: MkDocsConfig) -> None:
        """The page's script and its executed notebook (Colab-ready) beside its HTML."""
        target = Path(page.file.abs_dest_path).parent
        target.mkdir(parents=True, exist_ok=True)
        stem = Path(page.file.src_uri).stem
        shutil.copyfile(Path(config.docs_dir, page.file.src_uri), target / f"{stem}.py")
        notebook = nbformat.read(executed.notebook, as_version=4)
        notebook.metadata = {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        }
        if config.repo_url:
            setup = COLAB_SETUP.format(repo_url=config.repo_url.rstrip("/"))
            notebook.cells.insert(0, nbformat.v4.new_code_cell(setup))
        nbformat.write(notebook, target / f"{stem}.ipynb")

    def on_serve(self, server: Any, config: MkDocsConfig, builder: Any) -> Any:
        server.watch(str(Path(mnist_book.__file__).parent))
        return server

    def model_results(self) -> list[dict[str, Any]]:
        """One entry per model trained for the site, in the order the pages trained them."""
        unique: dict[str, dict[str, Any]] = {}
        for page in self.executed.values():
            for result in page.results:
                unique.setdefault(
                    json.dumps(result["config"], sort_keys=True) + result["name"], result
                )
        return list(unique.values())

    def _results_table(self) -> str:
        rows = [
            "| Model | Test accuracy | Test loss | Parameters | Epochs | Training time |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for result in self.model_results():
            rows.append(
                f"| `{result['name']}` | {result['test_accuracy']:.2%} | {result['test_loss']:.4f}"
                f" | {result['params']:,} | {result['epochs']} | {result['train_seconds']:.0f} s |"
            )
        return "\n".join(rows)

    def _execution_times(self) -> str:
        rows = ["| Page | Execution time | Executed in this build |", "| --- | ---: | :---: |"]
        for page in sorted(self.executed.values(), key=lambda page: -page.seconds):
            fresh = "cached" if page.from_cache else "yes"
            rows.append(f"| `{page.src_path}` | {page.seconds:.1f} s | {fresh} |")
        return "\n".join(rows)


def _link_documentation_files(html: str, page: Page, files: Files) -> str:
    """Point links to docs/ files (`single-layer.py`, `index.md`) at their pages.

    mkdocs rewrites such links in Markdown pages; in notebook HTML nobody does, so a link a
    tutorial writes to another page would 404. A link to a missing file is warned about,
    which fails a `--strict` build as it would in a Markdown page.
    """

    def link(match: re.Match[str]) -> str:
        target, fragment = match.group(1), match.group(2) or ""
        if re.match(r"[a-z][a-z0-9+.-]*:|/", target):  # absolute or external
            return match.group(0)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), target))
        file = files.get_file_from_path(path)
        if file is None:
            log.warning(f"Tutorial page {page.file.src_uri} links to '{target}', not in docs/.")
            return match.group(0)
        return f'href="{get_relative_url(file.url, page.url)}{fragment}"'

    return re.sub(r'href="([^"#]+)(#[^"]*)?"', link, html)


def _relative(path: str, page: Page) -> str:
    return get_relative_url(path, page.url or ".")


def _colab_url(config: MkDocsConfig, page: Page, stem: str) -> str | None:
    """Colab opens notebooks from GitHub: the published site's branch, gh-pages."""
    match = re.match(r"https://github\.com/([^/]+/[^/]+?)/?$", config.repo_url or "")
    if match is None:
        return None
    return (
        f"https://colab.research.google.com/github/{match.group(1)}/blob/gh-pages/"
        f"{page.url}{stem}.ipynb"
    )


def _copy_outputs(executed: Any, notebook: Any) -> None:
    """Give `notebook`'s code cells the outputs of the same cells in `executed`."""
    sources = [cell for cell in executed.cells if cell.cell_type == "code"]
    targets = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if [cell.source for cell in sources] != [cell.source for cell in targets]:
        raise ValueError("the cached notebook's code differs from the page's")
    for source, target in zip(sources, targets, strict=True):
        target.outputs = source.outputs
        target.execution_count = source.execution_count
        target.metadata = source.metadata
    notebook.metadata = executed.metadata  # what the kernel added (language_info)


def _nav_titles(nav: Any) -> dict[str, str]:
    """Each page path in the `nav:` of mkdocs.yml, in order, with its title there."""
    titles: dict[str, str] = {}

    def walk(item: Any, title: str) -> None:
        if isinstance(item, str):
            titles[item] = title or item
        elif isinstance(item, dict):
            for key, value in item.items():
                walk(value, key)
        elif isinstance(item, list):
            for value in item:
                walk(value, "")

    walk(nav, "")
    return titles


def api_used(source: str) -> list[str]:
    """The `mnist_book` functions and classes a tutorial script uses, by qualified name.

    Found statically from its imports: `from mnist_book import data` then `data.load_mnist`,
    or `from mnist_book.training import train` then `train`.
    """
    tree = ast.parse(source)
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mnist_book"):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in imported:
            used.add(imported[node.id])
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            used.add(f"{imported[node.value.id]}.{node.attr}")
    return sorted(name for name in used if name.count(".") == 2)  # module.object, not modules


def _reference_page(name: str) -> str:
    """The docs/ path of the API reference page documenting `name` (mnist_book.module.object)."""
    return f"{REFERENCE_DIR}{name.split('.')[1]}.md"


def _url(src_path: str, page: Page, files: Files) -> str:
    """The URL of the docs/ file `src_path`, relative to `page`."""
    return get_relative_url(files.get_file_from_path(src_path).url, page.url)


def _is_tutorial(file: File) -> bool:
    """A Jupytext percent-format Python script under docs/."""
    if not file.src_uri.endswith(".py") or file.abs_src_path is None:
        return False
    return "# %%" in Path(file.abs_src_path).read_text(encoding="utf-8")


def environment_fingerprint() -> str:
    """A hash of what every page's output depends on besides the page itself."""
    package = Path(mnist_book.__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + source.read_bytes())
    versions = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    digest.update(json.dumps([versions, data.data_checksums()]).encode())
    return digest.hexdigest()


def build_information() -> dict[str, Any]:
    """Library versions and data checksums the site was built with."""
    versions = {}
    for name in (
        "mnist-book",
        "keras",
        "tensorflow-cpu",
        "tensorflow",
        "numpy",
        "matplotlib",
        "seaborn",
        "pandas",
        "mkdocs",
        "mkdocs-material",
        "mkdocs-jupyter",
    ):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "versions": versions,
        "data_sha256": data.data_checksums(),
    }


def _build_info() -> str:
    info = build_information()
    rows = [
        f"Built with Python {info['python']} on {info['platform']}.",
        "",
        "| Package | Version |",
        "| --- | --- |",
        *(f"| {name} | {version} |" for name, version in info["versions"].items()),
        "",
        "| Data file | SHA-256 |",
        "| --- | --- |",
        *(f"| `{name}` | `{digest}` |" for name, digest in info["data_sha256"].items()),
    ]
    return "\n".join(rows)


def _failure_message(file: File, notebook: Any, cell_index: int, error: Exception) -> str:
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    number = code_cells.index(cell_index) + 1 if cell_index in code_cells else "?"
    source = notebook.cells[cell_index].source if 0 <= cell_index < len(notebook.cells) else ""
    first_line = source.strip().splitlines()[0] if source.strip() else ""
    reason = (
        "did not finish within the cell timeout (cell_timeout in mkdocs.yml)"
        if isinstance(error, CellTimeoutError)
        else "raised an error"
    )
    return f"Tutorial page {file.src_uri}: code cell {number} (`{first_line}`) {reason}.\n{error}"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as stream:
        stream.write(text)
    os.chmod(stream.name, 0o644)  # NamedTemporaryFile creates 0600; the site is served to all
    os.replace(stream.name, path)
