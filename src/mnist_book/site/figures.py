"""The images of executed pages, written as files beside each page.

An executed notebook carries its figures inline (base64 ``data:`` URIs), which keeps the
``.ipynb`` download self-contained but makes a page weigh megabytes before the reader
scrolls. `write_figure_files` writes each image once, named by its content, into a
``figures/`` directory beside the page, and points the ``<img>`` at it with
``loading="lazy"`` and its size, so the browser lays the page out at once and fetches each
image only as the reader reaches it. A figure's dark twin, hidden by CSS in light mode, is
never fetched there. An opaque PNG is written with a palette of 256 colours
(`lighter_png`): a chart or a grid of digits looks the same and weighs a third.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

from PIL import Image

FIGURES_DIR = "figures"
"""The directory beside each page that holds its images."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
_DATA_IMAGE = re.compile(
    r'<img(?P<before>[^>]*?)\ssrc="data:(?P<type>image/(?:png|jpeg|gif));base64,(?P<data>[^"]+)"'
    r"(?P<after>[^>]*)>"
)


def write_figure_files(html: str, page_dir: Path) -> str:
    """`html` with every inline image written to ``page_dir/figures/`` and linked from there."""

    def write(match: re.Match[str]) -> str:
        content = lighter_png(base64.b64decode(match["data"]))
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
    if not content.startswith(_PNG_SIGNATURE):
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


PALETTE_COLOURS = 256


def lighter_png(content: bytes) -> bytes:
    """An opaque PNG as `PALETTE_COLOURS` colours (no dithering), if that is smaller.

    Matplotlib writes a figure as full RGBA; its few flat colours and their antialiased
    edges fit a palette with no visible change (a colour moves by at most a few levels on an
    edge). An image with transparency, or that is not a PNG, is returned as it is.
    """
    if not content.startswith(_PNG_SIGNATURE):
        return content
    image = Image.open(io.BytesIO(content))
    if image.mode not in ("RGB", "RGBA") or (
        image.mode == "RGBA" and image.getchannel("A").getextrema() != (255, 255)
    ):
        return content
    palette = image.convert("RGB").quantize(
        PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    lighter = io.BytesIO()
    palette.save(lighter, format="PNG", optimize=True)
    return lighter.getvalue() if lighter.tell() < len(content) else content
