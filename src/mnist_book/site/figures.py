"""The images of executed pages, written as files beside each page.

An executed notebook carries its figures inline (base64 ``data:`` URIs), which keeps the
``.ipynb`` download self-contained but makes a page weigh megabytes before the reader
scrolls. `write_figure_files` writes each image once, named by its content, into a
``figures/`` directory beside the page, and points the ``<img>`` at it with
``loading="lazy"`` and its size, so the browser lays the page out at once and fetches each
image only as the reader reaches it. A figure's dark twin, hidden by CSS in light mode, is
never fetched there.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

FIGURES_DIR = "figures"
"""The directory beside each page that holds its images."""

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
_DATA_IMAGE = re.compile(
    r'<img(?P<before>[^>]*?)\ssrc="data:(?P<type>image/(?:png|jpeg|gif));base64,(?P<data>[^"]+)"'
    r"(?P<after>[^>]*)>"
)


def write_figure_files(html: str, page_dir: Path) -> str:
    """`html` with every inline image written to ``page_dir/figures/`` and linked from there."""

    def write(match: re.Match[str]) -> str:
        content = base64.b64decode(match["data"])
        name = f"{hashlib.sha256(content).hexdigest()[:16]}.{_EXTENSIONS[match['type']]}"
        path = page_dir / FIGURES_DIR / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        attributes = (match["before"] + match["after"]).rstrip(" /")
        if " width=" not in attributes and (size := image_size(content)) is not None:
            attributes += f' width="{size[0]}" height="{size[1]}"'
        if " loading=" not in attributes:
            attributes += ' loading="lazy" decoding="async"'
        return f'<img src="{FIGURES_DIR}/{name}"{attributes}>'

    return _DATA_IMAGE.sub(write, html)


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height in pixels of a PNG (from its header); None for other formats."""
    if content[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
