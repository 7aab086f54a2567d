"""Links: between tutorial pages, and between tutorials and the API reference.

- mkdocs rewrites links to docs/ files in Markdown pages, but not in the HTML of notebook
  pages: `link_documentation_files` does it for the tutorials.
- Each tutorial ends with the `mnist_book` objects it uses (`api_used`, found statically),
  linked to their reference entries (`api_used_list`); each reference entry names the
  tutorials that use it (`link_back_to_tutorials`), as scikit-learn's reference does.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

log = get_plugin_logger(__name__)

REFERENCE_DIR = "reference/"
"""Where the API reference pages are in docs/: one ``<module>.md`` per module."""


def nav_titles(nav: Any) -> dict[str, str]:
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


def reference_page(name: str) -> str:
    """The docs/ path of the API reference page documenting `name` (mnist_book.module.object)."""
    return f"{REFERENCE_DIR}{name.split('.')[1]}.md"


def link_documentation_files(html: str, page: Page, files: Files) -> str:
    """Point links to docs/ files (`single-layer.py`, `index.md`) at their pages.

    A link to a missing file is warned about, which fails a `--strict` build as it would
    in a Markdown page.
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


def api_used_list(names: list[str], page: Page, files: Files) -> str:
    """A heading and list linking each of `names` to its reference entry ('' if none)."""
    items = [
        f'<li><a href="{_url(reference_page(name), page, files)}#{name}">'
        f"<code>{name}</code></a></li>"
        for name in names
        if files.get_file_from_path(reference_page(name))  # a site may have no reference
    ]
    if not items:
        return ""
    return (
        '<h2 id="api-used-on-this-page">From <code>mnist_book</code> on this page</h2>\n'
        f"<ul>{''.join(items)}</ul>"
    )


def link_back_to_tutorials(
    html: str,
    page: Page,
    files: Files,
    api_by_page: Mapping[str, list[str]],
    titles: Mapping[str, str],
) -> str:
    """After each reference entry's heading, list the tutorials that use the object.

    `api_by_page` maps each tutorial's docs/ path to what it uses (`api_used`); `titles`
    maps docs/ paths to their titles in the navigation, and orders the list.
    """
    for name in sorted({name for names in api_by_page.values() for name in names}):
        if reference_page(name) != page.file.src_uri:
            continue
        tutorials = [
            f'<a href="{_url(src, page, files)}">{title}</a>'
            for src, title in titles.items()
            if name in api_by_page.get(src, [])
        ]
        heading = re.search(rf'<h[2-6][^>]*\bid="{re.escape(name)}".*?</h[2-6]>', html, re.S)
        if heading:
            used_in = f'<p class="mnist-book-used-in">Used in: {", ".join(tutorials)}</p>'
            html = html[: heading.end()] + used_in + html[heading.end() :]
    return html


def _url(src_path: str, page: Page, files: Files) -> str:
    """The URL of the docs/ file `src_path`, relative to `page`."""
    return get_relative_url(files.get_file_from_path(src_path).url, page.url)
