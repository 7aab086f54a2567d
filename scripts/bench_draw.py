"""Benchmark: the draw page in headless Chromium, on the built site (`make site` first).

Serves site/ on 127.0.0.1 and measures, in Debian's Chromium:

1. from page load to the first prediction: a fresh browser context (empty HTTP cache) opens
   the page and, as soon as it has loaded, a mouse writes a 7 on the board, which is when the
   runtime starts loading; the time is that of the first reading of the drawing by every
   model, after the load event and after navigation start;
2. each model's inference, in milliseconds per prediction: test images painted on the board
   one after the other, each read by every model (the page's own timing of `session.run`);
3. the framing of a drawing into the models' 28x28 input, in milliseconds;
4. each look-inside network's full reading of a drawing (one session run: every layer's
   output, the evidence maps and the prediction) and the drawing of its views, in
   milliseconds: test images painted on the board, read by the views.

The machine is shared and its load varies: the load average is printed beside the figures.
Prints a table, then one JSON line last.

    python scripts/bench_draw.py [--loads 5] [--images 100]      # or: make bench-draw
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_site import CHROMIUM, CHROMIUM_ARGS, PAINT_AND_READ  # noqa: E402
from digit_strokes import strokes  # noqa: E402  (the browser suite's handwritten digits)

SITE = ROOT / "site"
DRAW = "draw/"

RECORD_READINGS = """
document.addEventListener("mnist-book-draw:read", (event) => {
    const reading = event.detail;
    if (reading.input && reading.models.length && window.firstReading === undefined) {
        window.firstReading = performance.now();
    }
}, true);
"""

FRAMING = """async () => {
    const input = await import(new URL("../javascripts/draw-input.js", location.href).href);
    const canvas = document.querySelector(".mnist-book-draw__canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const times = [];
    for (let i = 0; i < 50; i++) {
        const started = performance.now();
        input.modelInput(input.inkOf(pixels));
        times.push(performance.now() - started);
    }
    return times;
}"""


LOOK_INSIDE = """async (model) => {
    const root = document.querySelector(".mnist-book-inside");
    root.removeEventListener("mnist-book-inside:read", window.insideListener);
    window.insideTimes = [];
    window.insideListener = (event) => {
        if (event.detail.model === model) {
            window.insideTimes.push([event.detail.ms, event.detail.drawMs]);
        }
    };
    root.addEventListener("mnist-book-inside:read", window.insideListener);
    const radio = document.getElementById(`mnist-book-inside-${model}`);
    if (!radio.checked) radio.click();
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def first_prediction(browser, url: str) -> dict[str, float]:
    """Milliseconds from navigation start to the models ready and to the first prediction."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(lambda target: not target.startswith(url), lambda route: route.abort())
    context.add_init_script(RECORD_READINGS)
    page = context.new_page()
    page.goto(url + DRAW, wait_until="load")
    loaded = page.evaluate("performance.timing.loadEventEnd - performance.timing.navigationStart")
    canvas = page.locator(".mnist-book-draw__canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in strokes(7):
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()
    page.wait_for_function("window.firstReading !== undefined", timeout=60_000)
    wasm = page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter((entry) => entry.name.endsWith(".wasm"))
            .reduce((last, entry) => Math.max(last, entry.responseEnd), 0)"""
    )
    first = page.evaluate("window.firstReading")
    context.close()
    return {"load_ms": loaded, "wasm_fetched_ms": round(wasm), "first_prediction_ms": round(first)}


def _test_digits(images: int) -> list[list[float]]:
    """`images` test digits spread over the test set, each as 784 numbers."""
    from mnist_book.data import load_mnist

    _, (test_images, _) = load_mnist()
    chosen = test_images[:: len(test_images) // images][:images]
    return [image.ravel().tolist() for image in chosen]


def _draw_page(browser, url: str):
    """A new context (no requests outside the site) with the draw page open, its models ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(lambda target: not target.startswith(url), lambda route: route.abort())
    page = context.new_page()
    page.goto(url + DRAW, wait_until="load")
    page.locator(".mnist-book-draw__canvas").focus()
    page.wait_for_selector(".mnist-book-draw[data-state=ready]", timeout=60_000)
    return context, page


def inference(browser, url: str, images: int) -> tuple[dict[str, list[float]], list[float]]:
    """Per model, the milliseconds of each prediction; and the framing times."""
    chosen = _test_digits(images)
    context, page = _draw_page(browser, url)
    page.evaluate(PAINT_AND_READ, chosen[:5])  # warm-up
    readings = page.evaluate(PAINT_AND_READ, chosen)
    framing = page.evaluate(FRAMING)
    context.close()
    times: dict[str, list[float]] = {}
    for reading in readings:
        for model in reading["models"]:
            times.setdefault(model["label"], []).append(model["ms"])
    return times, framing


def look_inside(browser, url: str, images: int) -> dict[str, dict[str, list[float]]]:
    """Per look-inside network, the milliseconds of each full reading and of its views."""
    chosen = _test_digits(images)
    context, page = _draw_page(browser, url)
    manifest = json.loads((SITE / DRAW / "models.json").read_text())
    times = {}
    for entry in manifest["inside"]["models"]:
        page.evaluate(LOOK_INSIDE, entry["name"])
        page.evaluate(PAINT_AND_READ, chosen[:5])  # warm-up: the views load their files
        page.wait_for_function("window.insideTimes.length > 0", timeout=60_000)
        page.evaluate(LOOK_INSIDE, entry["name"])
        page.evaluate(PAINT_AND_READ, chosen[:images])
        page.wait_for_timeout(500)
        recorded = page.evaluate("window.insideTimes")
        times[entry["label"]] = {
            "reading": [run for run, _ in recorded],
            "views": [views for _, views in recorded],
            "total": [run + views for run, views in recorded],
        }
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads to time (default 5)")
    parser.add_argument("--images", type=int, default=100, help="test images to read (100)")
    arguments = parser.parse_args()
    if not (SITE / DRAW / "models.json").is_file():
        sys.exit(f"No built draw page in {SITE}: run `make site` first.")
    handler = functools.partial(_Quiet, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    load_before = load_average()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        loads = [first_prediction(browser, url) for _ in range(arguments.loads)]
        times, framing = inference(browser, url, arguments.images)
        inside = look_inside(browser, url, arguments.images)
        version = browser.version
        browser.close()
    server.shutdown()
    load_after = load_average()

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    def p90(values: list[float]) -> float:
        return round(statistics.quantiles(values, n=10)[-1], 2)

    rows = [
        {"model": label, "median_ms": median(values), "p90_ms": p90(values), "n": len(values)}
        for label, values in times.items()
    ]
    inside_rows = [
        {
            "model": label,
            **{f"{part}_median_ms": median(values) for part, values in parts.items()},
            "total_p90_ms": p90(parts["total"]),
            "n": len(parts["total"]),
        }
        for label, parts in inside.items()
    ]
    first = [load["first_prediction_ms"] for load in loads]
    after_load = [load["first_prediction_ms"] - load["load_ms"] for load in loads]
    print(f"load average {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} CPUs")
    print(f"Chromium {version}, onnxruntime-web WebAssembly, 1 thread\n")
    print(f"{'model':<22}{'median ms':>11}{'p90 ms':>9}{'n':>6}")
    for row in rows:
        print(f"{row['model']:<22}{row['median_ms']:>11.2f}{row['p90_ms']:>9.2f}{row['n']:>6}")
    label = "framing (28x28 input)"
    print(f"{label:<22}{median(framing):>11.2f}{p90(framing):>9.2f}{len(framing):>6}")
    print("\nlook inside: one full reading (every layer, evidence, prediction), then its views")
    print(f"{'model':<22}{'reading ms':>11}{'views ms':>10}{'total ms':>10}{'p90 ms':>9}{'n':>6}")
    for row in inside_rows:
        print(
            f"{row['model']:<22}{row['reading_median_ms']:>11.2f}{row['views_median_ms']:>10.2f}"
            f"{row['total_median_ms']:>10.2f}{row['total_p90_ms']:>9.2f}{row['n']:>6}"
        )
    print(
        f"\nfirst prediction, over {len(first)} cold loads: median {median(after_load):.0f} ms "
        f"after the load event (max {max(after_load):.0f}), {median(first):.0f} ms after "
        f"navigation start (max {max(first):.0f})"
    )
    for load in loads:
        print(
            f"  load event {load['load_ms']:.0f} ms, runtime's .wasm fetched "
            f"{load['wasm_fetched_ms']:.0f} ms, "
            f"first prediction {load['first_prediction_ms']:.0f} ms"
        )
    print(
        json.dumps(
            {
                "benchmark": "draw",
                "load_average": [load_before, load_after],
                "cpus": os.cpu_count(),
                "chromium": version,
                "inference": rows,
                "framing_ms": {"median": median(framing), "p90": p90(framing)},
                "look_inside": inside_rows,
                "first_prediction_ms": {"median": median(first), "max": round(max(first))},
                "first_prediction_after_load_ms": {
                    "median": median(after_load),
                    "max": round(max(after_load)),
                },
                "loads": loads,
            }
        )
    )


if __name__ == "__main__":
    main()
