"""Repairs to the theme's HTML that accessibility checkers (axe-core) ask for.

mkdocs-material's search is a ``role="dialog"`` without a name; screen readers announce it
as an unnamed dialog. The colours the theme gets wrong are fixed in
``docs/stylesheets/extra.css`` instead.
"""

from __future__ import annotations

_SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog"'


def label_search_dialog(output: str) -> str:
    """The page with the theme's search dialog named "Search" for assistive technology."""
    return output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG + ' aria-label="Search"', 1)
