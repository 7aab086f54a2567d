"""How ``mkdocs serve`` shows a page that is still executing: a banner with live progress.

The page is rendered from its script (prose and code, no outputs) under `banner`, which says
so plainly and what the execution is doing now (`mnist_book.site.background.PageProgress`).
`POLL_SCRIPT`, added to every served page while any page is pending, keeps each banner's
status line current from the progress file; livereload shows the page's outputs when it lands.
A table of every page's results (`mnist_book.site.report`) says under it which pages are not
in it yet (`table_note`). A built site never contains any of them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from mkdocs.utils import get_relative_url

BANNER_CLASS = "mnist-book-pending"
"""The class of a pending page's banner (its look)."""

NOTE_CLASS = "mnist-book-pending-note"
"""The class of the note under a table that pages still executing are missing from."""

PAGE_ATTRIBUTE = "data-pending-page"
"""The banner's attribute naming its page (what `POLL_SCRIPT` and `is_executing` look for)."""

POLL_SCRIPT = f"""<script>
// mnist-book: the progress of the pages still executing (mkdocs serve only).
(() => {{
  async function poll() {{
    for (const banner of document.querySelectorAll("[{PAGE_ATTRIBUTE}]")) {{
      try {{
        const response = await fetch(banner.dataset.progress, {{ cache: "no-store" }});
        const name = banner.getAttribute("{PAGE_ATTRIBUTE}");
        const page = response.ok ? (await response.json()).pages[name] : null;
        if (page) banner.querySelector("[data-status]").textContent = page.summary;
      }} catch {{
        // the site is being rebuilt: the next poll reads it
      }}
    }}
    setTimeout(poll, 2000);
  }}
  poll();
}})();
</script>
"""


def banner(src_path: str, page_url: str, progress_file: str, summary: str) -> str:
    """The banner of pending page `src_path` (at `page_url`), showing `summary` until polled."""
    progress_url = get_relative_url(progress_file, page_url)
    return (
        f'<div class="admonition info {BANNER_CLASS}" {PAGE_ATTRIBUTE}="{html.escape(src_path)}" '
        f'data-progress="{html.escape(progress_url)}">\n'
        '<p class="admonition-title">This page is still executing</p>\n'
        "<p>You are reading its prose and code. Its outputs (printed results, figures and "
        "tables) appear here by themselves when its execution has finished.</p>\n"
        f'<p role="status" data-status>{html.escape(summary)}</p>\n'
        "</div>\n"
    )


def table_note(still_executing: Sequence[str]) -> str:
    """What follows a Markdown table of every page's results: a note naming (by their titles)
    the pages not in it yet, or nothing when there are none."""
    if not still_executing:
        return ""
    pages = ", ".join(html.escape(title) for title in still_executing)
    return (
        f'\n\n<p class="{NOTE_CLASS}"><em>Still executing: {pages}. This table is complete when '
        "they have finished.</em></p>\n"
    )


def is_executing(page_html: str) -> bool:
    """Whether `page_html` is a page whose own execution has not finished (it has a banner)."""
    return f'{PAGE_ATTRIBUTE}="' in page_html


def is_pending(page_html: str) -> bool:
    """Whether `page_html` waits for any execution: its own (a banner), or other pages' (a
    table's note). A built site has neither."""
    return is_executing(page_html) or f'class="{NOTE_CLASS}"' in page_html


def with_poll_script(page_html: str) -> str:
    """`page_html` with `POLL_SCRIPT` before its ``</body>``."""
    head, body_end, tail = page_html.rpartition("</body>")
    return head + POLL_SCRIPT + body_end + tail if body_end else page_html + POLL_SCRIPT
