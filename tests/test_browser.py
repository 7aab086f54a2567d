"""The built site/ in headless Chromium, as a reader meets it.

Every page in the navigation loads without console errors, its images decode and its internal
links (and their #fragments) resolve; search finds the tutorials; the light/dark toggle works;
results.json is well formed. Run after `make site` with `make test-browser` (`pytest -m browser`);
the default `pytest` run leaves these tests out. Needs the `playwright` Python package and
Debian's Chromium (`apt-get install -y chromium`); Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
from browser_site import (
    BOARD,
    BROKEN_WORDS,
    CANVAS,
    DRAW,
    PAINT_AND_READ,
    PHONE,
    ROOT,
    SITE,
    UNREACHABLE,
    model_card,
    open_board,
    write,
)

pytestmark = pytest.mark.browser

SEARCH_QUERY = "confusion matrix"
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"desktop": {"viewport": DESKTOP}, "phone": {"viewport": PHONE, "is_mobile": True}}
BUILD_LINES = re.compile(
    r"^(Waiting for another|Loaded .* from the cache|.*absl::InitializeLog|[EIW]\d{4} )", re.M
)
"""What the build's machinery says (a wait for another training, a cache load, TensorFlow's
start-up log when Keras is imported before `mnist_book` quiets it): never a page's."""
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
PAGE_HTML_LIMIT = 100_000
FIRST_VIEW_LIMIT = 1_000_000


class _LinkCollector(HTMLParser):
    """The hrefs of `<a class="md-nav__link">` and every id and name attribute of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nav_hrefs: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for key in ("id", "name"):
            if attributes.get(key):
                self.anchors.add(attributes[key])
        classes = (attributes.get("class") or "").split()
        if tag == "a" and "md-nav__link" in classes and attributes.get("href"):
            self.nav_hrefs.append(attributes["href"])


def parse_html(text: str) -> _LinkCollector:
    collector = _LinkCollector()
    collector.feed(text)
    collector.close()
    return collector


def page_path(url: str, base: str) -> str:
    """The page `url` relative to the site root `base` ('' is the home page)."""
    return urldefrag(url).url.split("?")[0][len(base) :]


def nav_pages() -> list[str]:
    """Every page the home page's navigation links to, relative to the site root ('' = home)."""
    index = SITE / "index.html"
    if not index.is_file():
        return []
    base = "http://site.invalid/"
    pages: list[str] = []
    for href in parse_html(index.read_text(encoding="utf-8")).nav_hrefs:
        url = urljoin(base, href)
        if url.startswith(base) and (path := page_path(url, base)) not in pages:
            pages.append(path)
    return pages


def sitemap_pages() -> list[str]:
    """Every page in site/sitemap.xml, relative to the site root ('' = home)."""
    locs = [
        (element.text or "").strip()
        for element in ET.parse(SITE / "sitemap.xml").iter(f"{SITEMAP_NS}loc")
    ]
    home = min(locs, key=len)
    return [loc[len(home) :] for loc in locs if loc.startswith(home)]


def page_id(path: str) -> str:
    return path.strip("/") or "home"


# Collected from the built site; with no site there is one "home" case, which fails in `site_url`.
PAGES = nav_pages() or [""]


@pytest.fixture
def context(visit: Any) -> Any:
    """A fresh light-mode desktop context (see `Visit`)."""
    return visit().context


@pytest.fixture(scope="session")
def fetched() -> dict[str, tuple[int, set[str]]]:
    """URL (no fragment) -> (HTTP status, ids and names on it), shared by the link checks."""
    return {}


@pytest.fixture(scope="session")
def tutorial_pages(site_url: str) -> set[str]:
    """The pages rendered from notebooks."""
    return {
        path
        for path in PAGES
        if "jupyter-wrapper" in (SITE / path / "index.html").read_text(encoding="utf-8")
    }


def test_page_list_comes_from_the_built_site(site_url: str) -> None:
    assert nav_pages(), "The navigation of site/index.html links to no page"
    assert "" in PAGES, f"The navigation does not link to the home page: {PAGES}"
    missing = [path for path in sitemap_pages() if path not in PAGES]
    assert not missing, f"Built pages that no navigation link reaches: {missing}"


def test_some_pages_are_tutorials(tutorial_pages: set[str]) -> None:
    assert tutorial_pages, f"No page of {PAGES} has a rendered notebook (.jupyter-wrapper)"


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_loads_cleanly_with_images_and_working_links(
    visit: Any, site_url: str, path: str, fetched: dict[str, tuple[int, set[str]]]
) -> None:
    browsing = visit()
    page = browsing.context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"console error: {message.text} (at {message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"uncaught exception: {error}"))
    url = site_url + path
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, (
        f"{url}: HTTP {response and response.status}"
    )
    page.wait_for_load_state("networkidle")

    problems: list[str] = []

    # Images: decode every one (lazy ones too) and record what decoded.
    images = page.evaluate(
        """async () => Promise.all([...document.images].map(async (img) => {
            img.loading = "eager";
            let error = null;
            try { await img.decode(); } catch (e) { error = String(e); }
            return {src: (img.currentSrc || img.src).slice(0, 80), width: img.naturalWidth, error};
        }))"""
    )
    problems += [
        f"image does not decode: {image['src']} ({image['error'] or 'naturalWidth 0'})"
        for image in images
        if image["width"] <= 0 or image["error"]
    ]
    if not images and page.locator(".jupyter-wrapper").count():
        problems.append("a tutorial page (.jupyter-wrapper) without a single image")

    # Internal links: the page behind each resolves, and so does each #fragment on it.
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(site_url))
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    for href in sorted({href for href in hrefs if href.startswith(origin)}):
        target, fragment = urldefrag(href)
        if target not in fetched:
            answer = page.request.get(target)
            anchors = set()
            if answer.ok and "html" in answer.headers.get("content-type", ""):
                anchors = parse_html(answer.text()).anchors
            fetched[target] = (answer.status, anchors)
        status, anchors = fetched[target]
        if status != 200:
            problems.append(f"broken link: {href} (HTTP {status})")
        elif fragment and unquote(fragment) not in anchors:
            problems.append(f"broken link: {href} (no id or name {unquote(fragment)!r} there)")
    # External links (GitHub, the theme's site) are not fetched: no network, and not ours.

    problems += [f"request to another host: {url}" for url in browsing.unexpected_hosts()]
    problems = errors + problems  # console errors from the whole visit, images and links
    assert not problems, f"page {page_id(path)!r} ({url}):\n  " + "\n  ".join(problems)


def test_search_finds_a_tutorial(context: Any, site_url: str, tutorial_pages: set[str]) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(site_url, wait_until="load")
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially(SEARCH_QUERY, delay=30)
    results = page.locator(".md-search-result__item")
    # The index (search/search_index.json) is loaded and searched by a web worker.
    expect(results.first).to_be_visible(timeout=15_000)
    hrefs = page.eval_on_selector_all(
        ".md-search-result__item a[href]", "links => links.map(a => a.href)"
    )
    found = {page_path(href, site_url) for href in hrefs if href.startswith(site_url)}
    assert found & tutorial_pages, (
        f"Searching {SEARCH_QUERY!r} found {results.count()} results, none on a tutorial page "
        f"({sorted(tutorial_pages)}): {sorted(found)}"
    )


def test_light_dark_toggle(context: Any, site_url: str, tutorial_pages: set[str]) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(site_url, wait_until="load")
    body = page.locator("body")
    toggle = page.locator('label.md-header__button[for^="__palette"]:visible')
    expect(body).to_have_attribute("data-md-color-scheme", "default")
    toggle.click()
    expect(body).to_have_attribute("data-md-color-scheme", "slate")
    # The choice is remembered on the next page.
    page.goto(site_url + sorted(tutorial_pages)[0], wait_until="load")
    expect(body).to_have_attribute("data-md-color-scheme", "slate")
    toggle.click()
    expect(body).to_have_attribute("data-md-color-scheme", "default")


def test_results_json_lists_the_models(context: Any, site_url: str) -> None:
    from mnist_book.results import SCHEMA
    from mnist_book.site.report import read_results

    answer = context.request.get(site_url + "results.json")
    assert answer.status == 200, f"results.json: HTTP {answer.status}"
    published = json.loads(answer.text())
    models = published.get("models") if isinstance(published, dict) else None
    assert isinstance(models, list) and models, f"results.json has no `models` list: {published!r}"
    schemas = {model.get("schema") for model in models}
    assert schemas == {SCHEMA}, f"results.json is not all of schema {SCHEMA}: {schemas}"
    records = read_results(answer.text())  # every field there, of its type (or RecordError)
    for record in records:
        assert record.name, record
        assert 0 <= record.test_accuracy <= 1, record
        assert math.isfinite(record.test_loss) and record.test_loss >= 0, record
        assert record.epochs >= 1, record
        assert record.train_seconds > 0, record
        assert record.params > 0 and record.images_per_epoch > 0, record
    # A model may be listed once per way it was trained: its configuration (a chapter's
    # shorter runs) and its distribution (one process, N devices, N workers).
    trainings = [(record.name, record.config, record.distribution) for record in records]
    assert len(trainings) == len(set(trainings)), (
        f"results.json names a training twice: {trainings}"
    )


def test_downloads_are_the_source_and_a_runnable_notebook(tutorial_pages: set[str]) -> None:
    """Each tutorial offers its script as written and its executed notebook, Colab-ready, both
    with the exercises' check cells and without their solutions."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    from mnist_book.site.downloads import without_solutions

    for page in sorted(tutorial_pages):
        stem = page.strip("/").split("/")[-1]
        script = (SITE / stem / f"{stem}.py").read_text()
        assert script == without_solutions((ROOT / "docs" / f"{stem}.py").read_text()), page
        assert "exercises.solution(" not in script, page
        notebook = nbformat.read(SITE / stem / f"{stem}.ipynb", as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3"
        setup, *cells = notebook.cells
        assert "google.colab" in setup.source and "%pip install" in setup.source
        compile(TransformerManager().transform_cell(setup.source), "setup", "exec")
        assert any(cell.get("outputs") for cell in cells), f"{page}: no outputs"
        if "## Exercises" in script:
            sources = [cell.source for cell in cells]
            assert any(source.startswith("exercises.check(") for source in sources), page
        assert not any("solution" in cell.metadata.get("tags", []) for cell in cells), page


def test_solutions_are_folded_and_open_from_the_keyboard(
    visit: Any, site_url: str, tutorial_pages: set[str]
) -> None:
    """Each exercise's solution starts folded; its summary takes the keyboard's focus, Enter
    opens it, and the solution's executed output (its explanation last) shows."""
    page = visit().context.new_page()
    for path in sorted(tutorial_pages):
        page.goto(site_url + path, wait_until="load")
        stem = path.strip("/").split("/")[-1]
        if "## Exercises" not in (ROOT / "docs" / f"{stem}.py").read_text():
            continue
        solutions = page.locator("details.mnist-book-solution")
        assert solutions.count() >= 2, path
        for index in range(solutions.count()):
            solution = solutions.nth(index)
            summary = solution.locator("summary")
            assert summary.inner_text() == f"Solution to exercise {index + 1}", path
            explanation = solution.locator(".jp-OutputArea-output").last
            assert not explanation.is_visible(), path
            summary.focus()
            assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
            page.keyboard.press("Enter")
            assert solution.evaluate("element => element.open"), path
            assert explanation.is_visible() and explanation.inner_text().strip(), path


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_is_light_before_the_reader_scrolls(
    visit: Any, site_url: str, path: str, tutorial_pages: set[str]
) -> None:
    """A tutorial's HTML is small, and every page fetches little to show its first screen.

    (The API reference pages carry the source of each function, folded: they may weigh more.)
    """
    html_bytes = (SITE / path / "index.html").stat().st_size if path in tutorial_pages else 0
    browsing = visit()
    page = browsing.context.new_page()
    page.goto(site_url + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    first_view = sum(browsing.fetched.values())
    largest = sorted(browsing.fetched.items(), key=lambda item: -item[1])[:5]
    assert html_bytes <= PAGE_HTML_LIMIT, f"{page_id(path)}: HTML {html_bytes:,} bytes"
    assert first_view <= FIRST_VIEW_LIMIT, (
        f"{page_id(path)}: {first_view:,} bytes before scrolling; largest: {largest}"
    )
    assert not re.search(r'src="data:image', (SITE / path / "index.html").read_text()), (
        f"{page_id(path)}: an image is inlined in the HTML instead of a file"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_serious_accessibility_violations(visit: Any, site_url: str, path: str, scheme: str):
    """axe-core finds nothing of impact serious or critical, in either colour scheme."""
    from axe_playwright_python.sync_playwright import Axe

    page = visit(color_scheme=scheme).context.new_page()
    page.goto(site_url + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    expected = "slate" if scheme == "dark" else "default"
    assert page.locator("body").get_attribute("data-md-color-scheme") == expected
    violations = Axe().run(page).response["violations"]
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{page_id(path)} ({scheme}):\n  " + "\n  ".join(serious)


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_sideways_scrolling_on_a_phone(visit: Any, site_url: str, path: str) -> None:
    """At 390x844 the page fits the screen; wide tables and code scroll in their own box."""
    page = visit(viewport=PHONE, is_mobile=True, has_touch=True).context.new_page()
    page.goto(site_url + path, wait_until="load")
    width, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= client, f"{page_id(path)}: {width} px wide on a {client} px screen"


def test_no_machinery_on_a_tutorial(visit: Any, site_url: str, tutorial_pages: set[str]) -> None:
    """Neither a cell's tags (`exclusive`, `remove-input`: for the build and the renderer) nor
    the build's waits and cache loads show on a page: the outputs are what the code prints."""
    import nbformat

    page = visit().context.new_page()
    problems = []
    for path in sorted(tutorial_pages):
        stem = path.strip("/").split("/")[-1]
        notebook = nbformat.read(SITE / stem / f"{stem}.ipynb", as_version=4)
        tags = {tag for cell in notebook.cells for tag in cell.metadata.get("tags", [])}
        page.goto(site_url + path, wait_until="load")
        lines = {line.strip() for line in page.locator("article").inner_text().splitlines()}
        problems += [f"{page_id(path)}: the cell tag {tag!r} as text" for tag in tags & lines]
        for output in page.locator(".jp-RenderedText").all_inner_texts():
            problems += [f"{page_id(path)}: {line!r}" for line in BUILD_LINES.findall(output)]
    assert not problems, "\n  ".join(["Machinery on a page:", *problems])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_outputs_and_tables_show_whole(visit: Any, site_url: str, path: str, width: str):
    """A text output (epoch lines, a config) fits its box: no value is cut at its edge. On a
    desktop every table fits the column, its last columns in sight; on a phone a table that
    does not fit scrolls in a box that reaches its end and takes the keyboard's focus."""
    page = visit(**WIDTHS[width]).context.new_page()
    page.goto(site_url + path, wait_until="load")
    page.wait_for_timeout(100)  # scroll-regions.js lays out tables on the next frame
    cut = page.eval_on_selector_all(
        "article .jp-RenderedText",
        """outputs => outputs.filter(o => o.scrollWidth > o.clientWidth + 1)
            .map(o => `cut at the edge: ${o.innerText.replace(/\\s+/g, " ").slice(0, 60)}`)""",
    )
    tables = page.evaluate(UNREACHABLE, "article table")
    if width == "desktop":
        tables += page.eval_on_selector_all(
            "article table",
            """tables => tables.filter(t => {
                    const column = t.closest("article").getBoundingClientRect();
                    const box = t.getBoundingClientRect();
                    return box.left < column.left - 1 || box.right > column.right + 1;
                }).map(t => "wider than the column: "
                    + t.innerText.replace(/\\s+/g, " ").slice(0, 60))""",
        )
    problems = cut + tables
    assert not problems, f"{page_id(path)} ({width}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_name_is_broken_in_a_table(visit: Any, site_url: str, path: str, width: str):
    """`deeper_convnet` is never drawn as "deeper_conv" over "net": no word of a table cell
    breaks across lines (unless it is longer than half the column, as a SHA-256 is)."""
    page = visit(**WIDTHS[width]).context.new_page()
    page.goto(site_url + path, wait_until="load")
    page.wait_for_timeout(100)
    broken = page.evaluate(BROKEN_WORDS)
    assert not broken, f"{page_id(path)} ({width}): words broken across lines: {broken}"


def test_the_home_table_reads_on_a_phone(visit: Any, site_url: str) -> None:
    """At 390 px the results table is read without scrolling sideways: every value on the
    screen and said with its column's name (its header row, or a label beside it)."""
    page = visit(viewport=PHONE, is_mobile=True, has_touch=True).context.new_page()
    page.goto(site_url, wait_until="load")
    page.wait_for_timeout(100)
    table = page.locator("article table").first
    report = table.evaluate(
        """table => {
            const screen = document.documentElement.clientWidth;
            const headers = [...table.tHead.rows[0].cells].map(cell => cell.innerText.trim());
            const headerShown = table.tHead.getBoundingClientRect().height > 1;
            const problems = [];
            for (const row of table.tBodies[0].rows) {
                [...row.cells].forEach((cell, column) => {
                    const box = cell.getBoundingClientRect();
                    const text = cell.innerText.trim();
                    if (box.left < 0 || box.right > screen) problems.push(`off screen: ${text}`);
                    const label = getComputedStyle(cell, "::before").content;
                    if (column > 0 && !headerShown && !label.includes(headers[column]))
                        problems.push(`${text} without its column's name ${headers[column]}`);
                });
            }
            const box = table.closest(".md-typeset__scrollwrap") || table;
            if (box.scrollWidth > box.clientWidth) problems.push("scrolls sideways");
            return {rows: table.tBodies[0].rows.length, problems};
        }"""
    )
    assert report["rows"] >= 4, report
    assert not report["problems"], "\n  ".join(["The home table at 390 px:", *report["problems"]])


def test_dark_pages_show_the_dark_figures(visit: Any, site_url: str, tutorial_pages: set[str]):
    """In the slate scheme each figure shows its dark rendering, in light its light one."""
    path = sorted(tutorial_pages)[0]
    for scheme, shown in (("dark", "mnist-book-dark"), ("light", "mnist-book-light")):
        page = visit(color_scheme=scheme).context.new_page()
        page.goto(site_url + path, wait_until="load")
        visible = page.eval_on_selector_all(
            "img.mnist-book-figure",
            "imgs => imgs.filter(i => i.offsetParent).map(i => i.className)",
        )
        assert visible and all(shown in classes for classes in visible), (scheme, visible)


def test_only_pages_and_assets_are_published() -> None:
    """Tool settings kept beside the pages (docs/ruff.toml) stay out of the site."""
    published = {path.name for path in SITE.rglob("*") if path.is_file()}
    assert "ruff.toml" not in published
    assert not [name for name in published if name.endswith((".toml", ".cfg", ".ini"))]


def test_a_built_site_has_no_page_still_executing() -> None:
    """Only `mkdocs serve` shows a page before it has executed (mnist_book.site.pending)."""
    from mnist_book.site import background, pending

    assert not (SITE / background.PROGRESS_FILE).exists()
    assert not [path for path in SITE.rglob("*.html") if pending.is_pending(path.read_text())]


# --- the draw page ------------------------------------------------------------------------------

PARITY_IMAGES = 200

READ_BOARD = """async () => {
    const root = document.querySelector(".mnist-book-draw");
    const read = new Promise((resolve) => root.addEventListener(
        "mnist-book-draw:read", (event) => resolve(event.detail), {once: true}));
    root.querySelector("canvas").dispatchEvent(new Event("mnist-book-draw:changed"));
    return await read;
}"""
"""What the board reads now: its 28x28 input and each model's scores (the page's own path)."""

"""Paint each 28x28 image, pixel for pixel, onto the board (white ink, as the board draws),
and return what the board reads from it."""


def scores_of(readings: list[dict[str, Any]], label: str) -> Any:
    import numpy as np

    return np.array(
        [
            next(m["scores"] for m in reading["models"] if m["label"] == label)
            for reading in readings
        ]
    )


def test_draw_page_reads_with_every_model_of_the_build(visit: Any, site_url: str) -> None:
    from playwright.sync_api import expect

    from mnist_book.config import TrainConfig
    from mnist_book.site.report import read_results

    results = read_results((SITE / "results.json").read_text())
    models = json.loads((SITE / DRAW / "models.json").read_text())["models"]
    # Every model trained in one process is offered, once (as its recipe trained it).
    trained = sorted({result.name for result in results if result.distribution is None})
    assert sorted(model["name"] for model in models) == trained
    assert all(
        any(r.name == m["name"] and r.config == TrainConfig(**m["config"]) for r in results)
        for m in models
    )
    page = open_board(visit, site_url)
    cards = page.locator(".mnist-book-draw__model")
    expect(cards).to_have_count(len(models))
    for card, model in zip(cards.all(), models, strict=True):
        expect(card.locator("code")).to_have_text(model["name"])
        # Whole percent, but one decimal from 99.5 % up: a model is never "100%".
        decimals = 1 if model["test_accuracy"] >= 0.995 else 0
        accuracy = f"{100 * model['test_accuracy']:.{decimals}f}% of the test set"
        expect(card.locator(".mnist-book-draw__accuracy")).to_have_text(accuracy)
    table = page.locator("article table").first.inner_text()
    assert all(f"{model['test_accuracy']:.2%}" in table for model in models), table


def test_the_runtime_loads_only_when_the_reader_reaches_for_the_board(
    visit: Any, site_url: str
) -> None:
    """Reading the page costs no more than any page; the runtime comes with the first reach."""
    browsing = visit()
    page = browsing.context.new_page()
    page.goto(site_url + DRAW, wait_until="load")
    page.wait_for_selector(f"{BOARD}[data-state=idle]")
    page.wait_for_load_state("networkidle")
    heavy = (".wasm", ".mjs", ".onnx")
    assert not [url for url in browsing.fetched if url.endswith(heavy)], list(browsing.fetched)
    page.locator(CANVAS).hover()
    page.wait_for_selector(f"{BOARD}[data-state=ready]", timeout=60_000)
    assert [url for url in browsing.fetched if url.endswith(".wasm")]
    assert len([url for url in browsing.fetched if url.endswith(".onnx")]) == len(
        page.locator(".mnist-book-draw__model").all()
    )


def test_every_published_model_reads_the_test_set_as_keras_does(
    draw_manifest: dict[str, Any], keras_models: dict[str, Any], mnist_test: tuple[Any, Any]
) -> None:
    """The site's own ONNX files, in onnxruntime (Python), on all 10,000 test images."""
    import numpy as np
    import onnxruntime

    from mnist_book.models import prepare_images

    images, _ = mnist_test
    for entry in draw_manifest["models"]:
        inputs = prepare_images(entry["name"], images)
        session = onnxruntime.InferenceSession(
            str(SITE / DRAW / entry["file"]), providers=["CPUExecutionProvider"]
        )
        actual = session.run(None, {draw_manifest["input"]: inputs})[0]
        expected = keras_models[entry["label"]].predict(inputs, batch_size=1024, verbose=0)
        differ = np.flatnonzero(actual.argmax(axis=1) != expected.argmax(axis=1))
        assert differ.size == 0, f"{entry['label']}: another digit on test images {differ[:20]}"
        largest = np.abs(actual - expected).max()
        assert largest <= 1e-5, f"{entry['label']}: scores differ by up to {largest}"


def test_in_browser_readings_match_keras(
    visit: Any,
    site_url: str,
    draw_manifest: dict[str, Any],
    keras_models: dict[str, Any],
    mnist_test: tuple[Any, Any],
) -> None:
    """200 test images painted on the board: read as Keras reads them, through the page's path."""
    import numpy as np

    from mnist_book.models import prepare_images

    images, _ = mnist_test
    chosen = images[:: len(images) // PARITY_IMAGES][:PARITY_IMAGES]
    page = open_board(visit, site_url)
    readings = page.evaluate(PAINT_AND_READ, [image.ravel().tolist() for image in chosen])
    assert all(reading["frame"] and reading["input"] for reading in readings)
    seen = np.array([reading["input"] for reading in readings], dtype=np.float32)
    for entry in draw_manifest["models"]:
        model = keras_models[entry["label"]]
        browser = scores_of(readings, entry["label"])
        original = model.predict(prepare_images(entry["name"], chosen), verbose=0)
        agreement = np.mean(browser.argmax(axis=1) == original.argmax(axis=1))
        assert agreement >= 0.99, (
            f"{entry['label']}: the board agrees with Keras on {agreement:.1%}"
        )
        same_input = model.predict(seen.reshape(-1, *entry["input_shape"]), verbose=0)
        largest = np.abs(browser - same_input).max()
        assert largest <= 1e-4, f"{entry['label']}: scores differ from Keras's by {largest}"


@pytest.mark.parametrize("pointer", ["mouse", "touch"])
def test_handwritten_digits_are_read_and_framing_is_the_lesson(
    visit: Any, site_url: str, pointer: str
) -> None:
    """Every digit written with real pointer events; the convnet reads them, framed like MNIST."""
    options = (
        {"viewport": PHONE, "is_mobile": True, "has_touch": True} if pointer == "touch" else {}
    )
    page = open_board(visit, site_url, **options)
    page.evaluate(
        """() => { window.pointerTypes = new Set();
        document.querySelector(".mnist-book-draw__canvas").addEventListener(
            "pointerdown", (event) => window.pointerTypes.add(event.pointerType)); }"""
    )
    convnet = model_card(page, "convnet")
    read: dict[bool, list[int]] = {}
    for frame in (True, False):
        page.locator("#mnist-book-draw-frame").set_checked(frame)
        read[frame] = []
        for digit in range(10):
            page.locator(CANVAS).press("Delete")
            assert page.evaluate(READ_BOARD)["input"] is None, "Delete left ink on the board"
            write(page, digit, pointer)
            reading = page.evaluate(READ_BOARD)
            assert reading["frame"] is frame
            read[frame].append(
                next(m["digit"] for m in reading["models"] if m["name"] == "convnet")
            )
            assert convnet.locator(".mnist-book-draw__digit").inner_text() == str(read[frame][-1])
    assert page.evaluate("() => [...window.pointerTypes]") == [pointer]
    framed = sum(seen == digit for digit, seen in enumerate(read[True]))
    unframed = sum(seen == digit for digit, seen in enumerate(read[False]))
    assert framed >= 9, f"framed like MNIST, the convnet read {read[True]}"
    assert unframed < framed, f"unframed it read {read[False]}, framed {read[True]}"


def test_board_is_labelled_cleared_and_announces_politely(visit: Any, site_url: str) -> None:
    from playwright.sync_api import expect

    page = open_board(visit, site_url)
    canvas = page.locator(CANVAS)
    assert "draw" in (canvas.get_attribute("aria-label") or "").lower()
    assert page.locator(f"#{canvas.get_attribute('aria-describedby')}").inner_text()
    status = page.locator(".mnist-book-draw__status")
    assert status.get_attribute("role") == "status"  # a polite live region
    write(page, 7, "mouse")
    expect(status).to_contain_text("convnet reads 7")
    preview = page.evaluate(
        """() => { const seen = document.querySelector(".mnist-book-draw__seen");
        const data = seen.getContext("2d").getImageData(0, 0, 28, 28).data;
        let ink = 0; for (let i = 0; i < data.length; i += 4) ink += data[i]; return ink; }"""
    )
    assert preview > 0, "the preview of what the models see is blank"
    page.locator(BOARD).get_by_role("button", name="Clear board").click()
    expect(status).to_have_text("Board cleared.")
    expect(page.locator(".mnist-book-draw__digit").first).to_have_text("\u2013")  # en dash
    write(page, 4, "mouse")
    canvas.press("Escape")
    assert page.evaluate(READ_BOARD)["input"] is None


BROKEN = {
    "model missing": ("**/draw/models/convnet-*.onnx", 404, b"", "model", "HTTP 404"),
    "model damaged": (
        "**/draw/models/flatten-*.onnx",
        200,
        b"\x08\x07not onnx" * 50,
        "model",
        "damaged",
    ),
    "runtime missing": ("**/ort.wasm.bundle.min.mjs", 404, b"", "page", "could not be loaded"),
    "runtime damaged": (
        "**/ort.wasm.bundle.min.mjs",
        200,
        b"export const x = ;",
        "page",
        "could not be loaded",
    ),
    "wasm missing": ("**/ort-wasm-simd-threaded.wasm", 404, b"", "page", "could not start"),
    "wasm damaged": (
        "**/ort-wasm-simd-threaded.wasm",
        200,
        b"\0asm" + b"\xff" * 99,
        "page",
        "could not start",
    ),
    "manifest missing": ("**/draw/models.json", 404, b"", "page", "could not be listed"),
}
"""What to break (a URL pattern), how the server answers, where the reader is told, and how."""


@pytest.mark.parametrize("case", BROKEN)
def test_a_missing_or_damaged_file_gives_a_visible_message(visit: Any, site_url: str, case: str):
    from playwright.sync_api import expect

    pattern, status, body, scope, words = BROKEN[case]
    browsing = visit()
    browsing.context.route(pattern, lambda route: route.fulfill(status=status, body=body))
    page = browsing.context.new_page()
    page.goto(site_url + DRAW, wait_until="load")
    page.wait_for_selector(f"{BOARD}:not([data-state=starting])", timeout=20_000)
    if case != "manifest missing":
        page.locator(CANVAS).focus()
    page.wait_for_selector(f"{BOARD}[data-state=ready], {BOARD}[data-state=error]", timeout=60_000)
    expect(page.locator(CANVAS)).to_be_visible()
    if scope == "page":
        expect(page.locator(f"{BOARD} > * > .mnist-book-draw__error")).to_contain_text(words)
        return
    name = pattern.split("/")[-1].split("-")[0]
    card = model_card(page, name)
    expect(card.locator(".mnist-book-draw__error")).to_contain_text(words)
    write(page, 7, "mouse")  # the other models still read
    others = [m for m in page.evaluate(READ_BOARD)["models"] if m["name"] != name]
    assert others and all("digit" in m for m in others)


def test_the_board_starts_when_instant_navigation_brings_the_page(visit: Any, site_url: str):
    """Material's instant navigation swaps the content in without reloading the page.

    It navigates instantly only to the pages its sitemap lists, and the built sitemap names the
    published site; here the sitemap is answered with this server's addresses instead, as
    `mkdocs serve` rebuilds it with its own.
    """
    from playwright.sync_api import expect

    assert "navigation.instant" in (ROOT / "mkdocs.yml").read_text()
    locs = [(e.text or "").strip() for e in ET.parse(SITE / "sitemap.xml").iter(f"{SITEMAP_NS}loc")]
    sitemap = (SITE / "sitemap.xml").read_text().replace(min(locs, key=len), site_url)
    browsing = visit()
    browsing.context.route(
        "**/sitemap.xml", lambda route: route.fulfill(body=sitemap, content_type="application/xml")
    )
    page = browsing.context.new_page()
    page.goto(site_url, wait_until="load")
    page.evaluate("() => { window.sameDocument = true; }")
    for start in ("", "convolutional-network/"):
        if start:  # away from the board and back, still without a reload
            page.locator(f"nav a[href$='{start}']").first.click()
            page.wait_for_url(f"**/{start}")
        page.locator(f"article a[href$='{DRAW}']").first.click()
        # Started: idle, or already loading if the pointer landed on the board.
        page.wait_for_selector(
            f"{BOARD}:is([data-state=idle], [data-state=loading], [data-state=ready])",
            timeout=20_000,
        )
        assert page.evaluate("() => window.sameDocument === true"), "a full reload, not instant"
        expect(page.locator(".mnist-book-draw__model")).to_have_count(
            len(json.loads((SITE / DRAW / "models.json").read_text())["models"])
        )
        page.locator(CANVAS).focus()
        page.wait_for_selector(f"{BOARD}[data-state=ready]", timeout=60_000)
        write(page, 7, "mouse")
        reading = page.evaluate(READ_BOARD)
        assert next(m["digit"] for m in reading["models"] if m["name"] == "convnet") == 7
