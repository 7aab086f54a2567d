"""The draw page's assets: every model of the build's results, exported, in a manifest.

The models are trained here for one epoch on 2,000 images, in a cache of this module's own;
the runtime is a small tarball laid out like the npm package, named by MNIST_BOOK_ORT_WEB_DIR.
"""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from mnist_book import config, fetch, run_log, training
from mnist_book.config import TrainConfig
from mnist_book.export import ModelNotTrainedError
from mnist_book.paths import CACHE_DIR_ENV, ORT_WEB_DIR_ENV, RUN_LOG_ENV
from mnist_book.results import Distribution
from mnist_book.site import draw, ort_web, pending
from mnist_book.site.page_cache import ExecutedPage
from mnist_book.training import train

pytestmark = pytest.mark.slow

TINY = TrainConfig(epochs=1, train_size=2_000)
OTHER = TrainConfig(epochs=2, train_size=2_000)
TITLES = {"a.py": "Page A", "b.py": "Page B"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory, mnist_dir):
    """Two executed pages: a.py trains single_layer; b.py trains convnet twice and single_layer."""
    cache = tmp_path_factory.mktemp("cache")
    runtime = tmp_path_factory.mktemp("runtime")
    with tarfile.open(runtime / ort_web.TARBALL, "w:gz") as archive:
        for name in ort_web.FILES:
            content = f"the content of {name}".encode()
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    digest = hashlib.sha512((runtime / ort_web.TARBALL).read_bytes()).hexdigest()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(cache))
        patch.setenv(ORT_WEB_DIR_ENV, str(runtime))
        integrity = "sha512-" + base64.b64encode(bytes.fromhex(digest)).decode()
        patch.setattr(ort_web, "INTEGRITY", integrity)

        def result(name, config):
            # As a build sees it: the result event the training writes to the page's run log.
            log = tmp_path_factory.mktemp("run") / "run.jsonl"
            patch.setenv(RUN_LOG_ENV, str(log))
            train(name, config, log=lambda line: None)
            (recorded,) = run_log.results(log)
            return recorded

        single = result("single_layer", TINY)
        # A data-parallel training's result: its model is not in the model cache.
        spread = replace(
            result("convnet", TINY),
            config=replace(TINY, epochs=3),
            cache_key=None,
            distribution=Distribution("mirrored", 1, 2, ("/device:CPU:0", "/device:CPU:1")),
        )
        yield [
            ExecutedPage("a.py", Path("a.ipynb"), 1.0, [single]),
            ExecutedPage(
                "b.py",
                Path("b.ipynb"),
                1.0,
                [result("convnet", TINY), single, spread, result("convnet", OTHER)],
            ),
        ]


@pytest.fixture(scope="module")
def assets(pages):
    return draw.page_assets("draw.md", pages)


def test_every_cached_model_once_in_the_order_the_pages_trained_them(assets):
    # The data-parallel training keeps no model in the cache: it is not offered.
    models = assets.manifest["models"]
    assert [(m["name"], m["epochs"], m["page"]) for m in models] == [
        ("single_layer", 1, "a.py"),
        ("convnet", 1, "b.py"),
        ("convnet", 2, "b.py"),
    ]
    # Two trainings of one model are told apart by their epochs; a single one by its name.
    assert [m["label"] for m in models] == [
        "single_layer",
        "convnet (1 epochs)",
        "convnet (2 epochs)",
    ]


def test_a_model_trained_with_its_recipe_is_offered_alone(pages, monkeypatch):
    # When a page trained convnet with its site recipe, shorter runs of it are left out.
    monkeypatch.setitem(config.RECIPES, "convnet", OTHER)
    offered = draw.offered_results(pages)
    assert [(r.name, r.epochs) for r in offered] == [("single_layer", 1), ("convnet", 2)]


def test_the_models_are_found_by_the_key_their_pages_trained_them_under(pages, monkeypatch):
    # A long `mkdocs serve` whose own code is older than the pages' computes other keys:
    # the results carry theirs.
    shutil.rmtree(Path(os.environ[CACHE_DIR_ENV]) / "onnx", ignore_errors=True)  # export anew
    with monkeypatch.context() as patch:
        patch.setattr(training, "cache_key", lambda *args, **kwargs: "0" * 64)
        stale = draw.page_assets("draw.md", pages)
    assert [m["name"] for m in stale.manifest["models"]] == ["single_layer", "convnet", "convnet"]
    cached = [r for page in pages for r in page.results if r.distribution is None]
    assert all(len(result.cache_key) == 64 for result in cached)


def test_manifest_entries_come_from_the_results_and_the_exported_files(pages, assets):
    results = {(r.name, r.epochs): r for page in pages for r in page.results}
    for model in assets.manifest["models"]:
        result = results[(model["name"], model["epochs"])]
        assert model["test_accuracy"] == result.test_accuracy
        assert model["params"] == result.params
        assert TrainConfig(**model["config"]) == result.config
        path = assets.files["draw/" + model["file"]]
        content = path.read_bytes()
        assert model["bytes"] == len(content)
        assert (
            model["file"]
            == f"models/{model['name']}-{hashlib.sha256(content).hexdigest()[:12]}.onnx"
        )
    single, convnet, _ = assets.manifest["models"]
    assert (single["input_shape"], single["output"]) == ([784], "sigmoid")
    assert (convnet["input_shape"], convnet["output"]) == ([28, 28, 1], "softmax")
    json.dumps(assets.manifest)  # published as JSON


def test_runtime_files_are_published_beside_the_models(assets):
    runtime = assets.manifest["runtime"]
    assert runtime["version"] == ort_web.VERSION
    for role, name in zip(("module", "wasm"), ort_web.FILES, strict=True):
        path = assets.files[f"draw/{runtime[role]['file']}"]
        assert path.name == name and path.read_bytes() == f"the content of {name}".encode()
        assert runtime[role]["bytes"] == path.stat().st_size


def test_the_look_inside_files_are_published_and_described(assets, mnist_dir):
    from mnist_book.data import MNIST_FILES, load_mnist
    from mnist_book.site import inside

    views = assets.manifest["inside"]
    labels = [model["label"] for model in assets.manifest["models"]]
    assert views["models"][0]["label"] == "convnet (1 epochs)"  # no recipe run: the first
    assert all(model["label"] in labels for model in views["models"])
    for model in views["models"]:
        path = assets.files["draw/" + model["file"]]
        assert model["bytes"] == path.stat().st_size
        assert model["file"] == "inside/" + inside.named_by_content(
            path, f"{model['name']}-reading", ".onnx"
        )
        assert [output["name"] for output in model["outputs"]][-2:] == ["output", "evidence"]
    the_map = views["map"]
    assert the_map["model"] == "convnet" and the_map["features"] == "dropout"
    content = assets.files["draw/" + the_map["file"]].read_bytes()
    arrays = inside.unpack(content, the_map["arrays"])
    _, (_, test_labels) = load_mnist(mnist_dir)
    assert (arrays["labels"] == test_labels).all()
    assert arrays["points"].shape == (10_000, inside.DIMENSIONS) == (10_000, the_map["dimensions"])
    digits = assets.files["draw/" + the_map["digits"]["file"]]
    assert hashlib.sha256(digits.read_bytes()).hexdigest() == MNIST_FILES[digits.name]
    json.dumps(views)


def test_a_model_missing_from_the_cache_fails_with_what_to_do(pages, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "empty-cache"))
    with pytest.raises(ModelNotTrainedError, match=r"single_layer.*never trains"):
        draw.page_assets("draw.md", pages)


def test_no_runtime_anywhere_fails_naming_the_registry_and_the_variable(pages, monkeypatch):
    monkeypatch.delenv(ORT_WEB_DIR_ENV)
    monkeypatch.setattr(ort_web, "REGISTRY", "http://127.0.0.1:9/")  # the discard port: refused
    with pytest.raises(fetch.NotFoundError) as caught:
        draw.page_assets("draw.md", pages)
    assert ORT_WEB_DIR_ENV in str(caught.value) and "127.0.0.1:9/" in str(caught.value)


def test_markers_become_the_models_table_and_the_framing_sentence(assets):
    framing = {
        "images": 10_000,
        "longest_side": 20,
        "at_longest_side": 0.9997,
        "centre_of_mass": (13.99, 14.01),
        "within_one_pixel": 1.0,
    }
    markdown = "<!-- mnist-book:digit-framing -->\n\n<!-- mnist-book:draw-models -->"
    filled = draw.fill_markers(markdown, "draw.md", assets.manifest, TITLES, lambda: framing)
    assert "<!--" not in filled
    single = assets.manifest["models"][0]
    assert (
        f"| `single_layer` | [Page A](a.py) | {single['test_accuracy']:.2%} | sigmoid | 784 "
        f"| [{single['bytes'] / 1000:,.0f} kB](draw/{single['file']}) |"
    ) in filled
    assert "| `convnet (2 epochs)` | [Page B](b.py) |" in filled
    assert "99.97% of them are exactly 20" in filled and "row 14.0, column 14.0" in filled
    assert f"onnxruntime-web {ort_web.VERSION}" in filled
    assert draw.fill_markers("no markers", "draw.md", assets.manifest, TITLES) == "no markers"
    assert not pending.is_pending(filled)
    serving = draw.fill_markers(
        "<!-- mnist-book:draw-models -->",
        "draw.md",
        assets.manifest,
        TITLES,
        still_executing=["Page C & co"],
    )
    assert serving.index("| `convnet (2 epochs)` |") < serving.index(
        "Still executing: Page C &amp; co."
    )
    assert pending.is_pending(serving)


def test_the_framing_measures_the_real_test_digits(mnist_dir):
    filled = draw.fill_markers("<!-- mnist-book:digit-framing -->", "draw.md", None, {})
    assert filled.startswith("In the 10,000 test images, no digit's ink is taller or wider than 20")


# --- a whole site with a draw page ------------------------------------------------------------

SITE_YML = """\
site_name: test site
nav:
  - Page: page.py
  - Draw: draw.md
plugins:
  - mnist-book:
      draw_page: draw.md
  - mkdocs-jupyter:
      execute: false
"""
PAGE = """\
# %%
from mnist_book.config import TrainConfig
from mnist_book.training import train
train("single_layer", TrainConfig(epochs=1, train_size=2_000)).test_accuracy
"""
DRAW = """\
# Draw

[The models](draw/models.json)

<!-- mnist-book:draw-models -->
"""


def make_site(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(SITE_YML)
    (root / "docs" / "page.py").write_text(PAGE)
    (root / "docs" / "draw.md").write_text(DRAW)
    return root


def test_a_site_publishes_the_models_its_pages_trained(tmp_path, pages, monkeypatch):
    """Built in this process, with the module's runtime tarball and cache (`pages`)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site = make_site(tmp_path / "site-root")
    build(load_config(str(site / "mkdocs.yml"), site_dir=str(site / "site")))
    published = site / "site" / "draw"
    manifest = json.loads((published / "models.json").read_text())
    (model,) = manifest["models"]
    assert (model["name"], model["page"], model["epochs"]) == ("single_layer", "page.py", 1)
    assert (published / model["file"]).read_bytes()[:2] == b"\x08\x08"  # ONNX: ir_version field
    for role in ("module", "wasm"):
        assert (published / manifest["runtime"][role]["file"]).is_file()
    html = (published / "index.html").read_text()
    assert f"{model['test_accuracy']:.2%}" in html and "<table>" in html
    assert 'href="models.json"' in html  # the page's link, resolved by mkdocs


def test_a_missing_runtime_fails_the_build_saying_what_to_do(tmp_path, isolated_cache):
    site = make_site(tmp_path / "site-root")
    offline = tmp_path / "offline"
    offline.mkdir()
    env = {**os.environ, ORT_WEB_DIR_ENV: str(offline)}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(site / "mkdocs.yml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode != 0
    for expected in ("The draw page's assets", ORT_WEB_DIR_ENV, str(offline), ort_web.TARBALL):
        assert expected in built.stderr
    assert not (site / "site" / "draw" / "index.html").exists()
