"""The draw page's look-inside views, in headless Chromium, on the built site/.

Run with the rest of the browser suite (`make test-browser`, after `make site`): every layer
the page shows is Keras's, the evidence maps add up to the logits, a test digit lands on the
map where Python puts it, the occlusion view is Keras's on the same batch, the evidence and
occlusion maps are large, crisp and in the chapter's colours (occlusion on one fixed scale),
a missing or damaged file fails only its own view, and the views fit a phone and pass axe.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_site import (
    BOARD,
    CANVAS,
    DRAW,
    PAINT_ONE,
    PHONE,
    SITE,
    model_card,
    open_board,
    write,
)

pytestmark = pytest.mark.browser

INSIDE = ".mnist-book-inside"

PAINT_AND_LOOK = (
    "async ({images, model}) => {"
    + PAINT_ONE
    + """
    const root = document.querySelector(".mnist-book-inside");
    const board = document.querySelector(".mnist-book-draw");
    const radio = document.getElementById(`mnist-book-inside-${model}`);
    if (!radio.checked) radio.click();
    const same = (a, b) => a && b && a.length === b.length && a.every((v, i) => v === b[i]);
    const readings = [];
    for (const pixels of images) {
        const read = await paintOne(board, pixels);
        const input = Float32Array.from(read.input);
        const seen = await new Promise((resolve) => {
            const look = (event) => {
                if (event.detail.model === model && same(event.detail.input, input)) {
                    root.removeEventListener("mnist-book-inside:read", look);
                    resolve(event.detail);
                }
            };
            root.addEventListener("mnist-book-inside:read", look);
        });
        const outputs = {};
        for (const [name, values] of Object.entries(seen.outputs)) {
            outputs[name] = Array.from(values);
        }
        readings.push({
            input: Array.from(seen.input), outputs, ms: seen.ms,
            point: seen.point || null, place: seen.place || null,
            neighbours: seen.neighbours || null,
        });
    }
    return readings;
}"""
)
"""Paint each 28x28 image onto the board, with `model` chosen in the views, and return what
the views read: the input, every output by name, and the map's point and neighbours."""

AWAIT_OCCLUSION = """() => { window.occluded = new Promise((resolve) => document
    .querySelector(".mnist-book-inside").addEventListener("mnist-book-inside:occluded",
        (event) => resolve({...event.detail, drops: Array.from(event.detail.drops)}),
        {once: true})); }"""
"""Keep the next occlusion run's result in `window.occluded` (a promise)."""


@pytest.fixture(scope="session")
def inside_models(draw_manifest: dict[str, Any], keras_models: dict[str, Any]) -> dict[str, Any]:
    """Each network the views open, by name, as Keras loads it from the site's model cache."""
    return {
        entry["name"]: keras_models[entry["label"]] for entry in draw_manifest["inside"]["models"]
    }


def look(page: Any, images: Any, model: str) -> list[dict[str, Any]]:
    return page.evaluate(
        PAINT_AND_LOOK, {"images": [image.ravel().tolist() for image in images], "model": model}
    )


def test_the_views_open_the_convnet_and_the_best_network(draw_manifest: dict[str, Any]):
    from mnist_book.records import validation_accuracy
    from mnist_book.site.report import read_results

    results = [r for r in read_results((SITE / "results.json").read_text()) if r.cache_key]
    names = [entry["name"] for entry in draw_manifest["inside"]["models"]]
    assert names[0] == "convnet"
    assert max(results, key=validation_accuracy).name in names


def test_every_layer_the_browser_shows_is_keras_s(
    visit: Any, site_url: str, draw_manifest, inside_models, mnist_test
) -> None:
    import numpy as np
    from playwright.sync_api import expect

    from mnist_book import inspection

    images, _ = mnist_test
    chosen = images[:: len(images) // 8][:8]
    page = open_board(visit, site_url)
    for entry in draw_manifest["inside"]["models"]:
        readings = look(page, chosen, entry["name"])
        model = inside_models[entry["name"]]
        inputs = np.array([r["input"] for r in readings], dtype="float32")
        shaped = inputs.reshape(-1, *entry["input_shape"])
        # Keras's output of every layer (Dropout included) for each input the page read.
        per_image = [dict(inspection.activations(model, image)) for image in shaped]
        names = [output["name"] for output in entry["outputs"]]
        assert sorted(readings[0]["outputs"]) == sorted(names)
        for output in entry["outputs"]:
            name = output["name"]
            if output["kind"] == "Evidence":
                keras_output = inspection.reading(model, shaped)[-1]
            else:
                keras_output = np.stack([layers[name] for layers in per_image])
            shown = np.array([r["outputs"][name] for r in readings]).reshape(keras_output.shape)
            largest = np.abs(shown - keras_output).max()
            assert largest <= 1e-4, f"{entry['name']} {name}: differs from Keras by {largest}"
        # Each layer is labelled with its Keras name and shape, with a sentence of its own.
        layers = page.locator(f"{INSIDE} .mnist-book-inside__layer")
        expect(layers).to_have_count(len([o for o in entry["outputs"] if o["kind"] != "Evidence"]))
        for layer, output in zip(layers.all(), entry["outputs"], strict=False):
            caption = layer.locator("figcaption").inner_text()
            shape = "\N{MULTIPLICATION SIGN}".join(map(str, output["shape"]))
            assert output["name"] in caption and shape in caption
            assert layer.locator(".mnist-book-inside__summary").inner_text().strip()


def test_evidence_maps_add_up_to_the_logits_in_the_browser(
    visit: Any, site_url: str, draw_manifest, inside_models, mnist_test
) -> None:
    import numpy as np

    from mnist_book import inspection

    images, _ = mnist_test
    page = open_board(visit, site_url)
    with_evidence = [e for e in draw_manifest["inside"]["models"] if e["evidence"]]
    assert any(entry["name"] == "convnet" for entry in with_evidence)
    for entry in with_evidence:
        evidence = entry["evidence"]
        readings = look(page, images[100:110], entry["name"])
        maps = np.array([r["outputs"][evidence["output"]] for r in readings]).reshape(
            len(readings), 10, -1
        )
        logits = maps.sum(axis=2) + np.array(evidence["bias"])
        # The logits as Keras computes them: the last layer's input times its kernel, plus bias.
        model = inside_models[entry["name"]]
        dense = inspection.inference_layers(model)[-1]
        inputs = np.array([r["input"] for r in readings], dtype="float32")
        reads = inspection.reading(model, inputs.reshape(-1, *entry["input_shape"]))
        names = [output["name"] for output in entry["outputs"] if "same_as" not in output]
        source = inputs if evidence["reads"] is None else reads[names.index(evidence["reads"])]
        keras_logits = source.reshape(len(inputs), -1) @ np.asarray(dense.kernel)
        keras_logits += np.asarray(dense.bias)
        assert np.abs(logits - keras_logits).max() <= 1e-4
        scores = np.array([r["outputs"][entry["prediction"]] for r in readings])
        if entry["activation"] == "softmax":
            exponents = np.exp(logits - logits.max(axis=1, keepdims=True))
            activated = exponents / exponents.sum(axis=1, keepdims=True)
        else:
            activated = 1 / (1 + np.exp(-logits))
        assert np.abs(activated - scores).max() <= 1e-4


def test_a_test_digit_lands_on_the_map_where_python_puts_it(
    visit: Any, site_url: str, draw_manifest, inside_models, mnist_test
) -> None:
    import numpy as np

    from mnist_book import inspection
    from mnist_book.models import prepare_images

    images, _ = mnist_test
    the_map = draw_manifest["inside"]["map"]
    model = inside_models[the_map["model"]]
    fitted = inspection.fit_feature_map(
        inspection.penultimate_features(model, prepare_images(the_map["model"], images)),
        the_map["dimensions"],
    )
    chosen = [7, 1_234, 5_000, 9_999]
    page = open_board(visit, site_url)
    readings = look(page, images[chosen], the_map["model"])
    inputs = np.array([r["input"] for r in readings], dtype="float32").reshape(-1, 28, 28, 1)
    expected = fitted.project(inspection.penultimate_features(model, inputs))
    places = np.array([r["place"] for r in readings])
    assert np.abs(places - expected).max() <= 1e-3, (places, expected)
    points = np.array([r["point"] for r in readings])  # on the map: the first two
    assert np.abs(points - expected[:, :2]).max() <= 1e-3
    for reading, place in zip(readings, expected, strict=True):
        distances = ((fitted.points - place) ** 2).sum(axis=1)
        nearest = np.argsort(distances, kind="stable")[: the_map["neighbours"]]
        assert reading["neighbours"][0] == nearest[0]
        assert set(reading["neighbours"]) == set(nearest.tolist())
    shown = page.locator(f"{INSIDE} .mnist-book-inside__neighbours figure")
    assert shown.count() == the_map["neighbours"]


def test_occlusion_is_one_batched_run_that_keras_agrees_with(
    visit: Any, site_url: str, draw_manifest, inside_models, mnist_test
) -> None:
    import numpy as np

    images, _ = mnist_test
    page = open_board(visit, site_url)
    entry = draw_manifest["inside"]["models"][0]
    page.evaluate(AWAIT_OCCLUSION)
    (reading,) = look(page, images[3:4], entry["name"])
    result = page.evaluate("() => window.occluded")
    patch, stride = (draw_manifest["inside"]["occlusion"][k] for k in ("patch", "stride"))
    image = np.array(reading["input"], dtype="float32").reshape(28, 28)
    batch = []
    for top, left in result["places"]:
        hidden = image.copy()
        hidden[top : top + patch, left : left + patch] = 0
        batch.append(hidden)
    steps = (28 - patch) // stride + 1
    assert len(batch) == steps * steps
    model = inside_models[entry["name"]]
    scores = model.predict(np.array(batch).reshape(-1, *entry["input_shape"]), verbose=0)
    original = model.predict(image.reshape(1, *entry["input_shape"]), verbose=0)[0]
    digit = int(original.argmax())
    assert result["digit"] == digit
    drops = original[digit] - scores[:, digit]
    assert np.abs(np.array(result["drops"]) - drops).max() <= 1e-4


MIN_SCALE = 4
"""The fewest CSS pixels an evidence or occlusion map gives each of the drawing's 28x28 pixels."""

CANVAS_PIXELS = """(selector) => Array.from(document.querySelectorAll(selector), (canvas) => {
    const box = canvas.getBoundingClientRect();
    return {
        width: canvas.width, height: canvas.height, shown: [box.width, box.height],
        rendering: getComputedStyle(canvas).imageRendering,
        pixels: Array.from(canvas.getContext("2d")
            .getImageData(0, 0, canvas.width, canvas.height).data),
    };
})"""
"""Each canvas matching a selector: its size, its size on the page (CSS px), its CSS
image-rendering and its pixels (RGBA, row by row)."""

VIEWS = {
    "desktop, light": {"color_scheme": "light"},
    "phone, dark": {
        "viewport": PHONE,
        "is_mobile": True,
        "has_touch": True,
        "color_scheme": "dark",
    },
}
"""Where the maps are looked at: the scheme decides the chapter's colour map (light or dark)."""


def chapter_colour(values: Any, limit: float, scheme: str) -> Any:
    """The chapter's colour (RGB, 0-255) of each of `values` on the scale -limit to limit."""
    import numpy as np

    from mnist_book.inspection_plots import diverging_colormap

    colormap = diverging_colormap("dark" if scheme == "dark" else "light")
    shares = np.asarray(values, dtype=float) / limit / 2 + 0.5
    return colormap(shares, bytes=True)[..., :3].astype(int)


def cell_pixels(canvas: dict[str, Any], rows: int, start: float, step: float) -> Any:
    """The colour (RGB) of each cell of a rows x rows grid, at its centre's pixel."""
    import numpy as np

    image = np.array(canvas["pixels"]).reshape(canvas["height"], canvas["width"], 4)[..., :3]
    centres = [int(np.floor(start + cell * step)) for cell in range(rows)]
    return image[np.ix_(centres, centres)].astype(int)


def assert_large_and_crisp(canvas: dict[str, Any]) -> None:
    assert (canvas["width"], canvas["height"]) == (28, 28)
    per_pixel = min(canvas["shown"]) / 28
    assert per_pixel >= MIN_SCALE, f"{per_pixel:.1f} CSS px per pixel, fewer than {MIN_SCALE}"
    assert canvas["rendering"] == "pixelated"


@pytest.mark.parametrize("where", VIEWS)
def test_evidence_maps_are_large_crisp_and_in_the_chapter_s_colours(
    visit: Any, site_url: str, draw_manifest, mnist_test, where: str
) -> None:
    import numpy as np

    images, _ = mnist_test
    options = VIEWS[where]
    page = open_board(visit, site_url, **options)
    entry = next(e for e in draw_manifest["inside"]["models"] if e["evidence"])
    evidence = entry["evidence"]
    rows, columns = evidence["shape"][:2]
    (reading,) = look(page, images[21:22], entry["name"])
    maps = np.array(reading["outputs"][evidence["output"]]).reshape(10, rows, columns)
    limit = float(np.abs(maps).max())
    digits = page.evaluate(CANVAS_PIXELS, f"{INSIDE} .mnist-book-inside__evidence figure canvas")
    assert len(digits) == 10
    for digit, canvas in enumerate(digits):
        assert_large_and_crisp(canvas)
        shown = cell_pixels(canvas, rows, evidence["start"], evidence["step"])
        expected = chapter_colour(maps[digit], limit, options["color_scheme"])
        largest = np.abs(shown - expected).max()
        assert largest <= 8, f"evidence for {digit}: {largest} from the chapter's colours"
    # The colour bar is the whole colour map, and its ticks give the scale in numbers.
    (bar,) = page.evaluate(
        CANVAS_PIXELS, f"{INSIDE} .mnist-book-inside__evidence .mnist-book-inside__colourbar"
    )
    colours = np.array(bar["pixels"]).reshape(-1, 4)[:, :3]
    every = chapter_colour(
        np.linspace(-1, 1, len(colours), endpoint=False), 1.0, options["color_scheme"]
    )
    assert np.abs(colours - every).max() <= 1
    ticks = page.locator(f"{INSIDE} .mnist-book-inside__evidence .mnist-book-inside__ticks span")
    assert ticks.all_inner_texts() == [f"\N{MINUS SIGN}{limit:.2f}", "0", f"+{limit:.2f}"]


def occlusion_drops(model: Any, images: Any, patch: int, stride: int) -> Any:
    """Keras's largest drop in the read digit's probability over the patches, per image."""
    import numpy as np

    from mnist_book.models import prepare_images

    prepared = prepare_images(model.name, images)
    original = model.predict(prepared, verbose=0)
    digits = original.argmax(axis=1)
    largest = np.full(len(images), -np.inf)
    for top in range(0, 28 - patch + 1, stride):
        for left in range(0, 28 - patch + 1, stride):
            hidden = prepared.copy()
            hidden[:, top : top + patch, left : left + patch] = 0
            scores = model.predict(hidden, verbose=0)[np.arange(len(images)), digits]
            largest = np.maximum(largest, original[np.arange(len(images)), digits] - scores)
    return largest


def test_occlusion_colours_each_drop_on_one_fixed_scale(
    visit: Any, site_url: str, draw_manifest, inside_models, mnist_test
) -> None:
    """Two drawings whose largest drops differ: each drop has the same colour in both."""
    import numpy as np

    images, _ = mnist_test
    entry = draw_manifest["inside"]["models"][0]
    patch, stride = (draw_manifest["inside"]["occlusion"][k] for k in ("patch", "stride"))
    candidates = images[:200]
    largest = occlusion_drops(inside_models[entry["name"]], candidates, patch, stride)
    chosen = candidates[[int(largest.argmin()), int(largest.argmax())]]
    page = open_board(visit, site_url)
    results = []
    for image in chosen:
        page.evaluate(AWAIT_OCCLUSION)
        look(page, [image], entry["name"])
        result = page.evaluate("() => window.occluded")
        canvas = page.evaluate(CANVAS_PIXELS, f"{INSIDE} .mnist-book-inside__occlusion canvas")[0]
        assert_large_and_crisp(canvas)
        steps = (28 - patch) // stride + 1
        shown = cell_pixels(canvas, steps, (patch - 1) / 2, stride).reshape(-1, 3)
        # Each patch's square: its drop on the fixed scale of a probability, -1 to 1.
        assert [tuple(place) for place in result["places"]] == [
            (top, left)
            for top in range(0, steps * stride, stride)
            for left in range(0, steps * stride, stride)
        ]
        expected = chapter_colour(result["drops"], 1.0, "light")
        assert np.abs(shown - expected).max() <= 8
        results.append(result)
    small, large = (max(result["drops"]) for result in results)
    assert large - small >= 0.3, "the two drawings' largest drops should differ"
    ticks = page.locator(f"{INSIDE} .mnist-book-inside__occlusion .mnist-book-inside__ticks span")
    assert ticks.all_inner_texts() == ["\N{MINUS SIGN}100", "0", "+100"]
    caption = page.locator(f"{INSIDE} .mnist-book-inside__occlusion .mnist-book-inside__scale")
    assert "percentage points" in caption.inner_text()


def test_the_views_load_their_files_only_after_the_reader_draws(visit: Any, site_url: str):
    browsing = visit()
    page = browsing.context.new_page()
    page.goto(site_url + DRAW, wait_until="load")
    page.locator(CANVAS).focus()
    page.wait_for_selector(f"{BOARD}[data-state=ready]", timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert not [url for url in browsing.fetched if "/inside/" in url]
    page.evaluate(
        """() => { window.looked = new Promise((resolve) => document.querySelector(
        ".mnist-book-inside").addEventListener("mnist-book-inside:read", resolve,
        {once: true})); }"""
    )
    write(page, 7, "mouse")
    page.evaluate("() => window.looked")
    page.wait_for_load_state("networkidle")
    assert [url for url in browsing.fetched if "/inside/" in url and url.endswith(".onnx")]


def test_the_views_empty_with_the_board_and_come_back_with_the_next_digit(
    visit: Any, site_url: str, draw_manifest
) -> None:
    from playwright.sync_api import expect

    page = open_board(visit, site_url)
    layers = page.locator(f"{INSIDE} .mnist-book-inside__layer")
    shown = len(
        [o for o in draw_manifest["inside"]["models"][0]["outputs"] if o["kind"] != "Evidence"]
    )
    write(page, 7, "mouse")
    expect(layers).to_have_count(shown)
    page.locator(CANVAS).press("Delete")
    expect(layers).to_have_count(0)
    write(page, 1, "mouse")
    expect(layers).to_have_count(shown)
    expect(page.locator(f"{INSIDE} .mnist-book-inside__neighbours figure")).to_have_count(
        draw_manifest["inside"]["map"]["neighbours"]
    )


BROKEN = {
    "reading missing": ("**/draw/inside/convnet-reading-*.onnx", 404, b"", "HTTP 404", "all"),
    "reading damaged": (
        "**/draw/inside/convnet-reading-*.onnx",
        200,
        b"\x08\x07not onnx" * 50,
        "damaged",
        "all",
    ),
    "map missing": ("**/draw/inside/convnet-map-*.bin", 404, b"", "HTTP 404", "map"),
    "digits damaged": (
        "**/draw/inside/t10k-images-*.gz",
        200,
        b"\x1f\x8b" + b"\0" * 99,
        "damaged",
        "map",
    ),
}
"""What to break (a URL pattern), how the server answers, what the view says, which views."""


@pytest.mark.parametrize("case", BROKEN)
def test_a_missing_or_damaged_view_file_fails_only_its_view(visit: Any, site_url: str, case: str):
    from playwright.sync_api import expect

    pattern, status, body, words, views = BROKEN[case]
    browsing = visit()
    browsing.context.route(pattern, lambda route: route.fulfill(status=status, body=body))
    page = browsing.context.new_page()
    page.goto(site_url + DRAW, wait_until="load")
    page.locator(CANVAS).focus()
    page.wait_for_selector(f"{BOARD}[data-state=ready]", timeout=60_000)
    write(page, 7, "mouse")
    # The prediction keeps working: the board's own convnet reads the 7.
    expect(model_card(page, "convnet").locator(".mnist-book-draw__digit")).to_have_text("7")
    expect(
        page.locator(f"{INSIDE} .mnist-book-inside__map .mnist-book-inside__error")
    ).to_contain_text(words, timeout=30_000)
    layers = page.locator(f"{INSIDE} .mnist-book-inside__layers")
    if views == "all":
        expect(layers.locator(".mnist-book-inside__error")).to_contain_text(words)
    else:  # the other views still show the convnet's layers
        expect(layers.locator(".mnist-book-inside__layer").first).to_be_visible()
        expect(layers.locator(".mnist-book-inside__error")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_views_fit_a_phone_and_pass_axe(visit: Any, site_url: str, scheme: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "color_scheme": scheme}
    page = open_board(visit, site_url, **options)
    page.evaluate(AWAIT_OCCLUSION)
    write(page, 4, "touch")
    page.evaluate("() => window.occluded")
    page.wait_for_selector(f"{INSIDE} .mnist-book-inside__neighbours canvas")
    width, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= client, f"the draw page, drawn on, is {width} px wide on a {client} px screen"
    violations = Axe().run(page).response["violations"]
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, "\n  ".join(serious)
