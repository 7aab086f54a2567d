"""The draw page's look-inside views: the reading export, the evidence maps, the map's arrays.

Untrained networks of the site's architectures (random weights, no training) on real MNIST
test digits: what is checked holds for any weights.
"""

import numpy as np
import onnxruntime
import pytest
from made_records import made_record

from mnist_book import export, inspection, models
from mnist_book.config import recipe
from mnist_book.data import load_mnist
from mnist_book.site import inside


@pytest.fixture(scope="module")
def digits(mnist_dir):
    """200 real MNIST test digits (uint8) and their labels."""
    _, (images, labels) = load_mnist(mnist_dir)
    return images[:200], labels[:200]


@pytest.fixture(scope="module", params=["convnet", "single_layer", "deeper_convnet"])
def network(request):
    return models.build_model(request.param)


def test_the_reading_model_outputs_every_layers_output_and_the_same_prediction(network, digits):
    images = models.prepare_images(network.name, digits[0][:20])
    outputs = inspection.reading(network, images)
    names = [layer.name for layer in inspection.reading_layers(network)]
    assert len(outputs) == len(names) + (inspection.evidence_geometry(network) is not None)
    by_name = dict(zip(names, outputs, strict=False))
    for index in (3, 11):
        for name, expected in inspection.activations(network, images[index]):
            if name in by_name:  # Dropout's output is its input's, when reading
                np.testing.assert_allclose(by_name[name][index], expected, atol=1e-6)
    np.testing.assert_allclose(by_name[names[-1]], network.predict(images, verbose=0), 1e-5)


def test_evidence_maps_add_up_to_the_logits(network, digits):
    """sum(W_c * A) + b_c is the last layer's input to its activation, for every digit."""
    geometry = inspection.evidence_geometry(network)
    if network.name == "deeper_convnet":  # its last layer reads hidden units: no map
        assert geometry is None
        return
    images = models.prepare_images(network.name, digits[0])
    *_, scores, evidence = inspection.reading(network, images)
    assert evidence.shape == (len(images), 10, *geometry.shape[:2])
    logits = evidence.sum(axis=(2, 3)) + inspection.evidence_bias(network)
    dense = inspection.inference_layers(network)[-1]
    if geometry.reads is None:  # the last layer reads the pixels
        features = images.reshape(len(images), -1)
    else:
        features = inspection.penultimate_features(network, images)
    expected = features @ np.asarray(dense.kernel) + np.asarray(dense.bias)
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    activated = keras_activation(dense.activation.__name__, logits)
    np.testing.assert_allclose(activated, scores, atol=1e-5)


def keras_activation(name, logits):
    if name == "softmax":
        exponents = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exponents / exponents.sum(axis=1, keepdims=True)
    assert name == "sigmoid"
    return 1 / (1 + np.exp(-logits))


def test_single_layer_evidence_is_the_weights_times_the_pixels(digits):
    network = models.build_model("single_layer")
    images = models.prepare_images("single_layer", digits[0][:5])
    evidence = inspection.reading(network, images)[-1]
    templates = inspection.weight_templates(network)  # (10, 28, 28)
    expected = images.reshape(-1, 1, 28, 28) * templates[np.newaxis]
    np.testing.assert_allclose(evidence, expected, atol=1e-6)
    geometry = inspection.evidence_geometry(network)
    assert (geometry.reads, geometry.start, geometry.step) == (None, 0.0, 1.0)


def test_evidence_cells_are_centred_on_what_they_see():
    """The convnet's last pooled cells: centres step by the strides, from half the kernels."""
    geometry = inspection.evidence_geometry(models.build_model("convnet"))
    assert geometry.reads == "pool_2"
    # 3x3 convolution, 2x2 pooling, 3x3 convolution, 2x2 pooling (valid): cell 0 sees
    # rows 0-9, whose centre is 4.5; each next cell moves by 2 x 2 pixels.
    assert (geometry.start, geometry.step) == (4.5, 4.0)
    assert geometry.start + (geometry.shape[0] - 1) * geometry.step < 28


def test_the_reading_export_gives_keras_s_outputs_by_layer_name(network, digits):
    images = models.prepare_images(network.name, digits[0][:50])
    session = onnxruntime.InferenceSession(
        export.reading_to_onnx(network), providers=["CPUExecutionProvider"]
    )
    described = [o for o in inside.describe(network)["outputs"] if "same_as" not in o]
    names = [output["name"] for output in described]
    assert [output.name for output in session.get_outputs()] == names
    assert [i.name for i in session.get_inputs()] == [export.INPUT_NAME]
    exported = session.run(None, {export.INPUT_NAME: images})
    for name, output, expected, shape in zip(
        names,
        exported,
        inspection.reading(network, images),
        [output["shape"] for output in described],
        strict=True,
    ):
        assert list(output.shape[1:]) == shape, name
        np.testing.assert_allclose(output, expected, atol=1e-5, err_msg=name)


def test_the_reading_export_is_the_same_bytes_every_time():
    network = models.build_model("convnet")
    assert export.reading_to_onnx(network) == export.reading_to_onnx(network)


def test_describe_names_the_prediction_the_features_and_the_evidence():
    described = inside.describe(models.build_model("convnet"))
    assert described["prediction"] == described["outputs"][-2]["name"]
    assert described["activation"] == "softmax"
    assert described["features"] == "dropout" and described["reads"] == "pool_2"
    (dropout,) = [output for output in described["outputs"] if "same_as" in output]
    assert (dropout["name"], dropout["same_as"]) == ("dropout", "flatten")
    assert described["evidence"]["output"] == described["outputs"][-1]["name"]
    assert len(described["evidence"]["bias"]) == 10
    deeper = inside.describe(models.build_model("deeper_convnet"))
    assert deeper["evidence"] is None and deeper["reads"] == "hidden"


def test_the_map_arrays_project_as_the_feature_map_does(digits):
    network = models.build_model("convnet")
    images, labels = digits
    arrays = inside.feature_map_arrays(network, images, labels)
    content, layout = inside.pack({k: v for k, v in arrays.items() if k != "explained"})
    unpacked = inside.unpack(content, layout)
    prepared = models.prepare_images("convnet", images)
    features = inspection.penultimate_features(network, prepared)
    # The browser projects with the shipped float32 mean and components: the points come back.
    projected = (features - unpacked["mean"]) @ unpacked["components"].T
    np.testing.assert_allclose(projected, unpacked["points"], atol=1e-3)
    fitted = inspection.fit_feature_map(features, inside.DIMENSIONS)
    np.testing.assert_allclose(unpacked["points"], fitted.points, atol=1e-4)
    # Its first two components are the map of the chapter on what the networks learned.
    two = inspection.fit_feature_map(features)
    np.testing.assert_allclose(unpacked["points"][:, :2], two.points, atol=1e-4)
    np.testing.assert_array_equal(unpacked["labels"], labels)
    np.testing.assert_array_equal(
        unpacked["predictions"], network.predict(prepared, verbose=0).argmax(axis=1)
    )
    assert 0 < arrays["explained"].sum() <= 1 and len(arrays["explained"]) == inside.DIMENSIONS


def test_pack_aligns_each_array_and_unpacks_it_unchanged():
    arrays = {
        "bytes": np.arange(7, dtype="u1"),
        "floats": np.linspace(-1, 1, 6, dtype="<f4").reshape(2, 3),
        "more": np.array([255, 0, 3], dtype="u1"),
    }
    content, layout = inside.pack(arrays)
    assert all(entry["offset"] % 4 == 0 for entry in layout.values())
    assert layout["floats"]["dtype"] == "float32" and layout["bytes"]["dtype"] == "uint8"
    for name, array in inside.unpack(content, layout).items():
        np.testing.assert_array_equal(array, arrays[name])
    with pytest.raises(ValueError, match="float64"):
        inside.pack({"wide": np.zeros(3)})


def test_names_change_with_the_content(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    assert inside.named_by_content(first, "x", ".bin") != inside.named_by_content(
        second, "x", ".bin"
    )
    assert inside.named_by_content(first, "x", ".bin").startswith("x-")


def test_the_views_open_the_convnet_and_the_best_network_on_validation():
    def record(name, accuracy, **changes):
        return made_record(name=name, history={"val_accuracy": [accuracy]}, **changes)

    convnet = record("convnet", 0.99, config=recipe("convnet"))
    short = record("convnet", 0.98)
    deeper = record("deeper_convnet", 0.995)
    single = record("single_layer", 0.9)
    assert inside.inspected([single, short, convnet, deeper]) == [convnet, deeper]
    assert inside.inspected([short, single]) == [short]  # the best is the convnet itself
    assert inside.inspected([single]) == [single]
    assert inside.inspected([]) == []
