"""ONNX exports from the model cache: never trained, byte-stable, reading as Keras does.

Each registered model is trained once, for one epoch on 2,000 images, into a cache of this
module's own; its export must then give Keras's predictions on all 10,000 test images.
"""

import warnings

import numpy as np
import onnx
import onnxruntime
import pytest

from mnist_book import cli, export, training
from mnist_book.config import TrainConfig
from mnist_book.data import load_mnist
from mnist_book.models import MODEL_NAMES, get_spec, prepare_images
from mnist_book.paths import CACHE_DIR_ENV, PUBLISHED_CACHE_DIR_ENV
from mnist_book.site.page_cache import PageCache, environment_fingerprint, read_script
from mnist_book.training import train

pytestmark = pytest.mark.slow

TINY = TrainConfig(epochs=1, train_size=2_000)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """Every registered model trained with `TINY`, in a cache set for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
        yield {name: train(name, TINY, log=lambda line: None) for name in MODEL_NAMES}


@pytest.fixture(scope="module")
def test_images(mnist_dir):
    _, (images, _) = load_mnist()
    return images


def run_onnx(path, inputs: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [node.name for node in session.get_inputs()] == [export.INPUT_NAME]
    return session.run([export.OUTPUT_NAME], {export.INPUT_NAME: inputs})[0]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_export_reads_every_test_image_as_keras_does(trained, test_images, name):
    exported = export.exported_onnx(name, TINY)
    inputs = prepare_images(name, test_images)
    expected = trained[name].model.predict(inputs, batch_size=1024, verbose=0)
    actual = run_onnx(exported.path, inputs)
    assert actual.shape == (10_000, 10)
    differ = np.flatnonzero(actual.argmax(axis=1) != expected.argmax(axis=1))
    assert differ.size == 0, f"{name}: another digit on test images {differ[:20]}"
    assert np.abs(actual - expected).max() <= 1e-5


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_export_describes_its_input_and_output(trained, name):
    exported = export.exported_onnx(name, TINY)
    assert exported.input_shape == get_spec(name).input_shape
    assert exported.output == trained[name].model.layers[-1].activation.__name__
    assert export.read_onnx_model(exported.path) == exported  # read from the file itself
    # float32 weights and a small graph: nothing else rides along.
    assert exported.path.stat().st_size <= 4 * trained[name].params + 20_000


def test_export_is_cached_and_the_same_bytes_every_time(trained, monkeypatch):
    first = export.exported_onnx("convnet", TINY)
    again = export.to_onnx(trained["convnet"].model)
    assert again == first.path.read_bytes()

    def no_export(model):
        raise AssertionError("exported again although the cache holds the export")

    monkeypatch.setattr(export, "to_onnx", no_export)
    assert export.exported_onnx("convnet", TINY) == first


def test_canonical_names_do_not_depend_on_the_converters_names(trained):
    """Renamed tensors, sizes and functions, reordered constants: tf2onnx's run-to-run changes."""
    model = onnx.load_from_string(export.to_onnx(trained["convnet"].model))
    renamed = onnx.ModelProto()
    renamed.CopyFrom(model)
    graph = renamed.graph
    names = {tensor.name: f"const_{i}__{97 - i}" for i, tensor in enumerate(graph.initializer)}
    for node in graph.node:
        node.input[:] = [names.get(name, name) for name in node.input]
        node.name = f"converter/{node.name}/1"
    for tensor in graph.initializer:
        tensor.name = names[tensor.name]
    graph.doc_string = "converted from b'__inference___call___2578'"
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "unk__87"
    reordered = list(reversed(graph.initializer))
    graph.ClearField("initializer")
    graph.initializer.extend(reordered)
    assert renamed.SerializeToString() != model.SerializeToString()
    canonical = export.canonical(renamed).SerializeToString()
    assert canonical == model.SerializeToString()


def test_a_model_not_in_the_cache_is_never_trained(trained, isolated_cache, monkeypatch):
    monkeypatch.setattr(training, "_train_and_evaluate", _never("trained by exporting"))
    with pytest.raises(export.ModelNotTrainedError) as caught:
        export.exported_onnx("convnet", TINY)
    message = str(caught.value)
    for expected in ("convnet", '"train_size": 2000', str(isolated_cache), "never trains"):
        assert expected in message
    assert not list(isolated_cache.rglob("*.onnx"))


def test_load_cached_returns_the_training_or_none(trained, isolated_cache):
    assert training.load_cached("convnet", TINY) is None  # an empty cache: no training

    result = train("single_layer", TINY, log=lambda line: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a readable entry loads quietly, under its lock
        loaded = training.load_cached("single_layer", TINY)
    assert loaded is not None and loaded.from_cache
    assert loaded.test_accuracy == result.test_accuracy
    assert loaded.record == result.record  # the whole record, history and cache key too
    for trained_weights, loaded_weights in zip(
        result.model.get_weights(), loaded.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(trained_weights, loaded_weights)


def test_a_build_published_elsewhere_trains_and_exports_nothing_here(
    tmp_path, mnist_dir, monkeypatch, capsys
):
    """One machine builds and publishes (`mnist-book publish-cache`); another only downloads."""
    elsewhere, here, published = tmp_path / "elsewhere", tmp_path / "here", tmp_path / "published"
    monkeypatch.setenv(CACHE_DIR_ENV, str(elsewhere))
    result = train("single_layer", TINY, log=lambda line: None)
    onnx_bytes = export.exported_onnx("single_layer", TINY).path.read_bytes()
    reading_bytes = export.exported_reading_onnx("single_layer", TINY).read_bytes()
    pages = PageCache(elsewhere / "pages", environment_fingerprint())
    script = tmp_path / "page.py"
    script.write_text("# %%\nprint('trained')\n")
    pages.store("page.py", read_script(script), 1.0, [result.record])
    monkeypatch.setenv(CACHE_DIR_ENV, str(here))  # the wrong model cache: nothing published
    with pytest.raises(SystemExit):
        cli.main(["publish-cache", str(published), "--pages", str(elsewhere / "pages")])
    assert "single_layer, which is not in the model cache" in capsys.readouterr().err
    assert not published.exists()
    monkeypatch.setenv(CACHE_DIR_ENV, str(elsewhere))
    assert cli.main(["publish-cache", str(published), "--pages", str(elsewhere / "pages")]) == 0
    assert "Published 4 entries" in capsys.readouterr().out  # page, model, both exports

    monkeypatch.setenv(CACHE_DIR_ENV, str(here))
    monkeypatch.setenv(PUBLISHED_CACHE_DIR_ENV, str(published))
    monkeypatch.setattr(training, "_train_and_evaluate", _never("trained"))
    monkeypatch.setattr(export, "to_onnx", _never("exported"))
    monkeypatch.setattr(export, "reading_to_onnx", _never("exported"))
    loaded = train("single_layer", TINY, log=lambda line: None)
    assert loaded.from_cache and loaded.record == result.record
    assert export.exported_onnx("single_layer", TINY).path.read_bytes() == onnx_bytes
    assert export.exported_reading_onnx("single_layer", TINY).read_bytes() == reading_bytes
    page = PageCache(here / "pages", environment_fingerprint()).load("page.py", read_script(script))
    assert page is not None and page.results == [result.record]


def _never(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"a model was {what} here")

    return fail
