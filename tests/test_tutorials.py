"""The tutorial scripts themselves: short code lines, valid Jupytext, only the public API."""

import ast
import importlib
import inspect
from pathlib import Path

import jupytext
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = sorted(path for path in DOCS.glob("*.py") if "# %%" in path.read_text())
CODE_COLUMNS = 80


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda path: path.name)
def test_code_lines_fit_the_sites_column(path):
    """Code cells are read in the site's column (and on phones): they never scroll sideways."""
    notebook = jupytext.read(path)
    long_lines = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > CODE_COLUMNS
    ]
    assert not long_lines, f"{path.name}: code lines over {CODE_COLUMNS} columns: {long_lines}"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda path: path.name)
def test_tutorials_use_only_the_public_api(path):
    """Like scikit-learn's examples: nothing private (`_name`) from mnist_book."""
    tree = ast.parse(path.read_text())
    private = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mnist_book")
        for alias in node.names
        if alias.name.startswith("_")
        or any(part.startswith("_") for part in node.module.split("."))
    ]
    private += [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]
    assert not private, f"{path.name} uses private names: {private}"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda path: path.name)
def test_tutorials_use_names_from_where_they_are_defined(path):
    """What a tutorial imports exists, from the module documenting it (no re-exports).

    Its "From mnist_book on this page" list links each name to its module's reference page.
    """
    from mnist_book.site.links import api_used

    misplaced = []
    for name in api_used(path.read_text()):
        module, _, attribute = name.rpartition(".")
        value = getattr(importlib.import_module(module), attribute, None)
        if value is None:
            misplaced.append(f"{name} (missing)")
        elif (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ != module:
            misplaced.append(f"{name} (defined in {value.__module__})")
    assert not misplaced, f"{path.name} imports names not defined there: {misplaced}"
