"""The ``mnist-book`` mkdocs plugin: configuration and events; the work is in its siblings.

It runs before mkdocs-jupyter, which then only renders (``execute: false``): the tutorial
scripts are executed (`execution`, `page_cache`; under ``mkdocs serve``, in the background
while the site is already served, `background` and `pending`), each page file is pointed at
its executed notebook, and the rendered HTML is cleaned (`notebook_html`), given figure files
(`figures`), links (`links`) and downloads (`downloads`). `report` publishes the results;
`draw` publishes the trained models and their browser runtime for the "draw a digit" page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from mkdocs.config import config_options
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import mnist_book
from mnist_book.export import ModelNotTrainedError
from mnist_book.fetch import FetchError
from mnist_book.site import (
    accessibility,
    downloads,
    draw,
    figures,
    links,
    notebook_html,
    page_cache,
    pending,
    report,
)
from mnist_book.site.background import PROGRESS_FILE, BackgroundExecution
from mnist_book.site.execution import PageExecutionError, execute_pages
from mnist_book.site.page_cache import ExecutedPage, PageCache, environment_fingerprint

log = get_plugin_logger(__name__)


class PluginConfig(config_options.Config):
    # Seconds a cell may run without progress (a finished epoch, say) before it counts as hung.
    cell_timeout = config_options.Type(int, default=600)
    workers = config_options.Type(int, default=2)
    cache_dir = config_options.Type(str, default=page_cache.DEFAULT_DIR)
    # The "draw a digit" page (docs/ path): its models and runtime are published beside it.
    draw_page = config_options.Optional(config_options.Type(str))
    # Pages may train only what mnist_book.plan lists (this site's plan; off for other sites).
    planned = config_options.Type(bool, default=False)


class MnistBookPlugin(BasePlugin[PluginConfig]):
    """Execute the tutorial scripts, then finish the pages mkdocs-jupyter renders."""

    # Set by on_startup, which a build run through mkdocs's Python API (`build`) never calls.
    serving = False
    background: BackgroundExecution | None = None

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        # With this event, one plugin instance lives through all the rebuilds of a serve.
        self.serving = command == "serve"
        self.background: BackgroundExecution | None = None

    def on_shutdown(self) -> None:
        if self.background is not None:
            self.background.close()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.root = Path(config.config_file_path).parent
        # mkdocs-jupyter's render cache is relative to the working directory: anchor it too.
        if renderer := config.plugins.get("mkdocs-jupyter"):
            renderer.config["cache_dir"] = str(self.root / renderer.config["cache_dir"])
        self.executed: dict[str, ExecutedPage] = {}
        self.pending: list[str] = []
        self.draw_manifest: dict[str, Any] | None = None
        return config

    @event_priority(-100)  # after mkdocs-jupyter has wrapped the scripts as notebook pages
    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        self.titles = links.nav_titles(config.nav)
        order = {src: index for index, src in enumerate(self.titles)}
        tutorials = sorted(
            (file for file in files if _is_tutorial(file)),
            key=lambda file: order.get(file.src_uri, len(order)),
        )
        scripts = {file.src_uri: Path(file.abs_src_path) for file in tutorials}
        self.api_used = {src: links.api_used(path.read_text()) for src, path in scripts.items()}
        cache = PageCache(self.root / self.config.cache_dir, environment_fingerprint())
        if self.serving:  # serve what the cache holds now; the rest executes meanwhile
            self.executed = self._background(cache).request(scripts, cache)
        else:
            try:
                self.executed = execute_pages(
                    scripts,
                    cache,
                    cell_timeout=self.config.cell_timeout,
                    workers=self.config.workers,
                    say=log.info,
                    planned=self.config.planned,
                )
            except PageExecutionError as error:
                raise PluginError(str(error)) from None
        self.pending = [src for src in scripts if src not in self.executed]
        for file in tutorials:
            if file.src_uri in self.executed:  # a pending page renders from its script
                file.abs_src_path = str(self.executed[file.src_uri].notebook)
        pages = self.executed.values()
        log.info(report.execution_summary(pages, self.pending))
        content = report.results_json(pages)
        files.append(File.generated(config, report.RESULTS_FILE, content=content))
        if self.config.draw_page:
            try:
                assets = draw.page_assets(self.config.draw_page, pages)
            except (ModelNotTrainedError, FetchError) as error:
                raise PluginError(f"The draw page's assets: {error}") from None
            self.draw_manifest = assets.manifest
            for file in draw.site_files(assets, self.config.draw_page, config):
                files.append(file)
        return files

    def on_page_markdown(self, markdown: str, page: Page, **kwargs: Any) -> str:
        still_executing = [self.titles.get(src, src) for src in self.pending]
        markdown = report.fill_markers(markdown, self.executed.values(), still_executing)
        if page.file.src_uri == self.config.draw_page:
            markdown = draw.fill_markers(
                markdown,
                page.file.src_uri,
                self.draw_manifest,
                self.titles,
                still_executing=still_executing,
            )
        return markdown

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        src = page.file.src_uri
        if src.startswith(links.REFERENCE_DIR):
            return links.link_back_to_tutorials(html, page, files, self.api_used, self.titles)
        if src in self.pending and self.background is not None:
            progress = self.background.progress(src)
            summary = progress.summary if progress else "Executing."
            html = notebook_html.collapse_solutions(notebook_html.clean_notebook_html(html))
            return pending.banner(src, page.url, PROGRESS_FILE, summary) + html
        if src not in self.executed:
            return html
        html = notebook_html.collapse_solutions(notebook_html.clean_notebook_html(html))
        html = figures.write_figure_files(html, Path(page.file.abs_dest_path).parent)
        html = links.link_documentation_files(html, page, files)
        stem = Path(src).stem
        bar = downloads.downloads_bar(stem, downloads.colab_url(config.repo_url, page.url, stem))
        return bar + html + links.api_used_list(self.api_used[src], page, files)

    @event_priority(-100)  # after mkdocs-jupyter's own on_post_page
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        if (executed := self.executed.get(page.file.src_uri)) is not None:
            script = Path(config.docs_dir, page.file.src_uri)
            target = Path(page.file.abs_dest_path).parent
            downloads.write_downloads(script, executed.notebook, target, config.repo_url)
        if self.pending:
            output = pending.with_poll_script(output)
        output = notebook_html.without_indentation(notebook_html.strip_mathjax_loader(output))
        return accessibility.label_search_dialog(output)

    def on_post_build(self, config: MkDocsConfig) -> None:
        if self.background is not None:
            self.background.progress_path = Path(config.site_dir) / PROGRESS_FILE
            self.background.publish_progress()

    def on_serve(self, server: Any, config: MkDocsConfig, builder: Any) -> Any:
        server.watch(str(Path(mnist_book.__file__).parent))
        if self.background is not None:  # a page landing in the cache rebuilds the site
            server.watch(str(self.background.landed_marker))
        return server

    def _background(self, cache: PageCache) -> BackgroundExecution:
        """The background execution of this serve's pages, started on its first build."""
        if self.background is None:
            self.background = BackgroundExecution(
                cell_timeout=self.config.cell_timeout,
                workers=self.config.workers,
                landed_marker=cache.directory / ".landed",
                say=log.info,
                planned=self.config.planned,
            )
        return self.background


def _is_tutorial(file: File) -> bool:
    """A Jupytext percent-format Python script under docs/."""
    if not file.src_uri.endswith(".py") or file.abs_src_path is None:
        return False
    return "# %%" in Path(file.abs_src_path).read_text(encoding="utf-8")
