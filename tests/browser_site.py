"""What the browser suites share: the built site/ served on 127.0.0.1, one headless Chromium,
and the draw page's board.

A pytest plugin (tests/conftest.py loads it), so that `tests/test_browser.py` and
`tests/test_browser_inside.py` use one session browser: two `sync_playwright` sessions cannot
run at once in one process.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import digit_strokes
import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
CHROMIUM = os.environ.get("MNIST_BOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps dialling Google's services, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GITHUB_STATS = "https://api.github.com/repos/mnist-book/mnist-book"
"""mkdocs-material asks GitHub for the repository's stars and version: the one allowed host."""
PHONE = {"width": 390, "height": 844}
DRAW = "draw/"
BOARD = ".mnist-book-draw"
CANVAS = ".mnist-book-draw__canvas"

PAINT_ONE = """const paintOne = async (board, pixels) => {
    const canvas = board.querySelector("canvas");
    const context = canvas.getContext("2d");
    const side = canvas.width, scale = side / 28;
    const image = context.createImageData(side, side);
    for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
            const ink = pixels[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
            image.data.set([255, 255, 255, ink], 4 * (y * side + x));
        }
    }
    context.putImageData(image, 0, 0);
    return await new Promise((resolve) => {
        board.addEventListener(
            "mnist-book-draw:read", (event) => resolve(event.detail), {once: true});
        canvas.dispatchEvent(new Event("mnist-book-draw:changed"));
    });
};"""
"""JavaScript for the scripts below: `paintOne(board, pixels)` paints one image (28x28 grey
levels, a list) on the board and resolves with the board's reading of it."""

PAINT_AND_READ = (
    "async (images) => {"
    + PAINT_ONE
    + """
    const board = document.querySelector(".mnist-book-draw");
    const readings = [];
    for (const pixels of images) readings.push(await paintOne(board, pixels));
    return readings;
}"""
)
"""Paints each image (28x28 grey levels, lists) on the board in turn; the board's readings."""


UNREACHABLE = r"""(selector) => {
    const article = document.querySelector("article");
    const scrollable = (box) => ["auto", "scroll"].includes(getComputedStyle(box).overflowX);
    const found = [];
    for (const element of article.querySelectorAll(selector)) {
        const right = element.getBoundingClientRect().left + element.scrollWidth;
        let problem = null;
        for (let box = element; box; box = box.parentElement) {
            const edge = box.getBoundingClientRect().left + box.clientWidth;
            if (right <= edge + 1) break;  // it fits this box
            const overflow = getComputedStyle(box).overflowX;
            if (scrollable(box) && box.scrollWidth >= box.clientWidth) {
                problem = box.tabIndex >= 0 ? null : "scrolls in a box the keyboard cannot reach";
                break;
            }
            if (["hidden", "clip"].includes(overflow)) { problem = "cut by its box"; break; }
            if (box === article) { problem = "wider than the column"; break; }
        }
        const text = element.innerText.replace(/\s+/g, " ").trim();
        if (problem) found.push(`${problem}: ${text.slice(0, 60)}`);
    }
    return found;
}"""
"""For each element of the article matching the selector whose content is wider than some
box around it, how a reader misses the rest: cut off (overflow hidden), wider than the
column, or scrolling in a box that a keyboard cannot focus. A box that scrolls, and can be
focused, reaches its content."""

BROKEN_WORDS = r"""() => {
    const broken = [];
    const lines = (node, start, end) => {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, end);
        const rects = [...range.getClientRects()].filter((rect) => rect.width > 0);
        return {tops: new Set(rects.map((rect) => Math.round(rect.top))).size,
                width: rects.reduce((sum, rect) => sum + rect.width, 0)};
    };
    // A word longer than half the column (a SHA-256) may break: no layout gives it a line.
    const room = document.querySelector("article").clientWidth / 2;
    for (const cell of document.querySelectorAll("article table :is(th, td)")) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            // A name (code) is one word; in prose a line may break after a hyphen.
            const words = node.parentElement.closest("code") ? /\S+/g : /[^\s-]+-?/g;
            for (const word of node.data.matchAll(words)) {
                const drawn = lines(node, word.index, word.index + word[0].length);
                if (drawn.tops > 1 && drawn.width <= room) broken.push(word[0]);
            }
        }
    }
    return broken;
}"""
"""The words of the article's table cells drawn on two lines, but for those longer than half
the column (a SHA-256)."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """The built site/, served on a free port of 127.0.0.1 for the session."""
    if not (SITE / "index.html").is_file() or not (SITE / "sitemap.xml").is_file():
        pytest.fail(f"No built site in {SITE}: run `make site` first.", pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser tests need the playwright package: pip install playwright")
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(or point MNIST_BOOK_CHROMIUM at a Chromium binary).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """A browser context with a record of what it fetched from the site and from elsewhere."""

    def __init__(self, browser: Any, site_url: str, **options: Any) -> None:
        self.site_url = site_url
        self.external: list[str] = []
        self.fetched: dict[str, int] = {}
        self.context = browser.new_context(base_url=site_url, **options)
        self.context.route(lambda url: not url.startswith(site_url), self._answer_external)
        self.context.on("response", self._count)

    def _answer_external(self, route: Any) -> None:
        """Nothing off the site is reachable offline: record the request, answer it empty."""
        self.external.append(route.request.url)
        route.fulfill(status=204, body="")

    def _count(self, response: Any) -> None:
        if response.url.startswith(self.site_url):
            try:
                self.fetched[response.url] = len(response.body())
            except Exception:  # a redirect or an aborted request has no body
                self.fetched.setdefault(response.url, 0)

    def unexpected_hosts(self) -> list[str]:
        """External requests other than the theme's call for the repository's GitHub stats."""
        return [url for url in self.external if not url.startswith(GITHUB_STATS)]


@pytest.fixture
def visit(browser: Any, site_url: str) -> Iterator[Any]:
    """Open `Visit`s (light desktop unless told otherwise); all are closed afterwards."""
    opened: list[Visit] = []

    def open_visit(**options: Any) -> Visit:
        options = {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"} | options
        opened.append(Visit(browser, site_url, **options))
        return opened[-1]

    try:
        yield open_visit
    finally:
        for opened_visit in opened:
            opened_visit.context.close()


@pytest.fixture(scope="session")
def draw_manifest(site_url: str) -> dict[str, Any]:
    """The built site's manifest of the draw page's models."""
    return json.loads((SITE / DRAW / "models.json").read_text())


@pytest.fixture(scope="session")
def keras_models(draw_manifest: dict[str, Any]) -> dict[str, Any]:
    """Each model of the manifest as Keras loads it from the model cache the site was built from."""
    from mnist_book.config import TrainConfig
    from mnist_book.training import load_cached

    loaded = {}
    for entry in draw_manifest["models"]:
        result = load_cached(entry["name"], TrainConfig(**entry["config"]))
        if result is None:
            pytest.fail(
                f"{entry['label']} is not in the model cache: run `make site` with the same "
                "MNIST_BOOK_CACHE_DIR first.",
                pytrace=False,
            )
        loaded[entry["label"]] = result.model
    return loaded


@pytest.fixture(scope="session")
def mnist_test() -> tuple[Any, Any]:
    from mnist_book.data import load_mnist

    return load_mnist()[1]


def open_board(visit: Any, site_url: str, ready: bool = True, **options: Any) -> Any:
    """The draw page, its models listed; with `ready`, its runtime and models loaded too."""
    page = visit(**options).context.new_page()
    page.goto(site_url + DRAW, wait_until="load")
    page.wait_for_selector(f"{BOARD}[data-state=idle]", timeout=20_000)
    if ready:
        page.locator(CANVAS).focus()  # reaching for the board loads the runtime
        page.wait_for_selector(f"{BOARD}[data-state=ready]", timeout=60_000)
    return page


def write(page: Any, digit: int, pointer: str) -> None:
    """Write `digit` on the board with real pointer events: a mouse or a finger."""
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in digit_strokes.strokes(digit):
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        if pointer == "mouse":
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=2)
            page.mouse.up()
        else:
            touch = page.context.new_cdp_session(page)
            kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1)
            for kind, (x, y) in zip(kinds, points, strict=True):
                touch.send(
                    "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]}
                )
            touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            touch.detach()


def model_card(page: Any, name: str) -> Any:
    """The draw page's card of model `name` (exactly: not `convnet_bn` for `convnet`)."""
    code = page.locator("code").filter(has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".mnist-book-draw__model", has=code)
