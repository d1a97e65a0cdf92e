"""onnx.py: a network as an ONNX file, run by onnxruntime, gives what
network3 gives (the digit for every image, probabilities within 1e-5) and
what an independent NumPy/SciPy forward pass gives, for every layer option
the library trains; a layer of one's own exports through its hook or is
refused by name; ``network3 export`` checks its input and leaves nothing
half-written."""

import os

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

import network3  # noqa: E402
from network3 import (ConvPoolLayer, FullyConnectedLayer, Layer, ReLU,  # noqa: E402
                      SoftmaxLayer, chapter, cli, linear, sigmoid, tanh)
from network3 import onnx as export  # noqa: E402

from conftest import numpy_forward  # noqa: E402


def randomise(net, seed=0, scale=0.3):
    """Random weights everywhere (the softmax starts at zero: every digit
    equally likely, and no digit to agree on)."""
    rng = np.random.default_rng(seed)
    for p in net.params:
        p.set_value((scale * rng.standard_normal(p.get_value().shape)).astype(
            network3.config.floatX))
    return net


def agreement(net, images, path):
    net.export_onnx(path)
    theirs, mine = export.run(path, images), net.predict_proba(images)
    return theirs, mine


@pytest.fixture(scope="module")
def images(mnist):
    return mnist[2][0][:300]


CONV_OPTIONS = [
    dict(),                                                         # the chapter's
    dict(border_mode="full", subsample=(2, 1)),
    dict(border_mode="half", pool_stride=(1, 1), pool_pad=(1, 1)),
    dict(border_mode=(2, 1), subsample=(1, 2), pool_stride=(3, 2), pool_pad=(1, 0)),
]


POOL_MODES = ["max", "l2", "sum", "average_inc_pad", "average_exc_pad"]


# each pool mode with the chapter's convolution and one other (each other
# one with more than one pool mode)
@pytest.mark.parametrize("pool_mode, conv", [
    (mode, conv) for k, mode in enumerate(POOL_MODES) for conv in (0, 1 + k % 3)])
def test_every_pool_mode_and_convolution_gives_what_network3_and_numpy_give(
        tmp_path, images, pool_mode, conv):
    layer = ConvPoolLayer((4, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU,
                          pool_mode=pool_mode, **CONV_OPTIONS[conv])
    net = randomise(network3.Network(
        [layer, FullyConnectedLayer(layer.output_size, 20, activation_fn=tanh),
         SoftmaxLayer(20, 10)], 10))
    theirs, mine = agreement(net, images, tmp_path / "net.onnx")
    assert theirs.shape == (len(images), 10)
    np.testing.assert_allclose(theirs, mine, atol=1e-5)
    np.testing.assert_array_equal(theirs.argmax(axis=1), net.predict(images))
    np.testing.assert_allclose(theirs, numpy_forward(net.layers, images), atol=1e-5)


@pytest.mark.parametrize("activation", [sigmoid, tanh, ReLU, linear])
def test_every_activation_and_dropouts_scaling(tmp_path, images, activation):
    net = randomise(network3.Network(
        [ConvPoolLayer((3, 1, 5, 5), (10, 1, 28, 28), activation_fn=activation),
         FullyConnectedLayer(3 * 12 * 12, 16, activation_fn=activation, p_dropout=0.5),
         SoftmaxLayer(16, 10, p_dropout=0.3)], 10), scale=0.1)
    theirs, mine = agreement(net, images, tmp_path / "net.onnx")
    np.testing.assert_allclose(theirs, mine, atol=1e-5)
    np.testing.assert_allclose(theirs, numpy_forward(net.layers, images), atol=1e-5)


@pytest.mark.parametrize("name", ["fc", "conv1", "conv2", "relu", "expanded-2fc",
                                  "dropout"])
def test_the_chapters_nets(tmp_path, images, name):
    net = randomise(network3.Network(chapter.build_layers(name, 10), 10), scale=0.05)
    theirs, mine = agreement(net, images, tmp_path / "net.onnx")
    np.testing.assert_allclose(theirs, mine, atol=1e-5)
    np.testing.assert_array_equal(theirs.argmax(axis=1), mine.argmax(axis=1))


def test_the_file_is_a_checked_model_with_a_free_batch_size(tmp_path, images):
    net = randomise(network3.Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)],
                                     5))
    path = tmp_path / "net.onnx"
    net.export_onnx(path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    (inpt,), (output,) = model.graph.input, model.graph.output
    assert (inpt.name, output.name) == ("images", "probabilities")
    dims = [d.dim_param or d.dim_value for d in inpt.type.tensor_type.shape.dim]
    assert dims == ["N", 784]
    assert inpt.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    for n in (1, 7, 300):          # any number of images, not the mini-batch size
        np.testing.assert_allclose(export.run(path, images[:n]),
                                   net.predict_proba(images[:n]), atol=1e-5)


class Doubling(Layer):
    """A layer of one's own: twice its input."""

    def __init__(self, n_in):
        self.n_in = n_in
        self.input_size = self.output_size = n_in
        self.params = []

    def forward(self, inpt, training=False):
        return 2 * inpt


class ExportedDoubling(Doubling):
    def to_onnx(self, graph, inpt):
        x = graph.reshape(inpt, (-1, self.n_in))
        return graph.node("Mul", [x, graph.constant("two", np.float32(2))], "doubled")


def test_a_layer_of_ones_own_exports_through_its_hook_or_is_refused_by_name(
        tmp_path, images):
    refused = network3.Network([Doubling(784), SoftmaxLayer(784, 10)], 10)
    with pytest.raises(TypeError, match=r"layer 0 \(Doubling\) .*to_onnx"):
        refused.export_onnx(tmp_path / "refused.onnx")
    assert os.listdir(tmp_path) == []
    net = randomise(network3.Network([ExportedDoubling(784), SoftmaxLayer(784, 10)], 10),
                    scale=0.01)
    theirs, mine = agreement(net, images, tmp_path / "net.onnx")
    np.testing.assert_allclose(theirs, mine, atol=1e-5)


def test_a_bad_output_path_is_refused_before_anything_is_written(tmp_path):
    net = network3.Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], 5)
    with pytest.raises(ValueError, match="the folder .* does not exist"):
        net.export_onnx(tmp_path / "missing" / "net.onnx")
    with pytest.raises(ValueError, match="is a folder"):
        net.export_onnx(tmp_path)
    with pytest.raises(TypeError, match="filename must be a file name"):
        net.export_onnx(3)
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, subset):
    training, validation, test = subset(500, 100, 100)
    network3.seed(0)
    net = network3.Network([ConvPoolLayer((4, 1, 5, 5), (10, 1, 28, 28),
                                          activation_fn=ReLU, pool_mode="l2"),
                            FullyConnectedLayer(4 * 12 * 12, 20, activation_fn=ReLU),
                            SoftmaxLayer(20, 10)], 10)
    net.SGD(training, 1, 10, 0.03, validation, test, verbose=False)
    path = tmp_path_factory.mktemp("model") / "net.npz"
    net.save(path)
    return path


def test_the_export_command_writes_the_file_and_prints_the_agreement(
        tmp_path, model_file, capsys):
    out = tmp_path / "net.onnx"
    assert cli.main(["export", str(model_file), str(out)]) == 0
    said = capsys.readouterr().out
    assert "onnxruntime gives the same digit as network3 for 10000 of 10000 test " \
        "images" in said
    net = network3.load_network(model_file)
    test_x = network3.load_data()[2][0][:1000]
    np.testing.assert_allclose(export.run(out, test_x), net.predict_proba(test_x),
                               atol=1e-5)


@pytest.mark.parametrize("bad", ["not a model", "other arrays", "missing model",
                                 "missing folder", "a folder", "a file as folder",
                                 "unwritable"])
def test_the_export_command_refuses_bad_input_in_one_line_with_status_2(
        tmp_path, model_file, capsys, bad):
    (tmp_path / "junk.npz").write_bytes(b"not an npz archive")
    (tmp_path / "plain").write_text("a file")
    np.savez(tmp_path / "arrays.npz", w=np.zeros(3))
    model, out = {
        "not a model": (tmp_path / "junk.npz", tmp_path / "net.onnx"),
        "other arrays": (tmp_path / "arrays.npz", tmp_path / "net.onnx"),
        "missing model": (tmp_path / "nothing.npz", tmp_path / "net.onnx"),
        "missing folder": (model_file, tmp_path / "no" / "net.onnx"),
        "a folder": (model_file, tmp_path),
        "a file as folder": (model_file, tmp_path / "plain" / "net.onnx"),
        "unwritable": (model_file, "/proc/net.onnx"),      # (even for root)
    }[bad]
    assert cli.main(["export", str(model), str(out), "--no-check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("network3 export: error: ") and "\n" not in err
    assert sorted(os.listdir(tmp_path)) == ["arrays.npz", "junk.npz", "plain"]


@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("window, stride", [((2, 2), (2, 2)), ((3, 2), (2, 3))])
def test_pooling_without_ignore_border_as_theano_pooled(mode, window, stride):
    """Windows that do not fit whole (Theano's ignore_border=False, which
    network3.ops.pool_2d offers): ONNX's ceil_mode, against the NumPy reference."""
    from conftest import reference_pool
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 8)).astype(np.float32)
    g = export.Graph()
    out = export.pool(g, "x", window, stride, (0, 0), mode, ignore_border=False,
                      size=x.shape[2:])
    graph = onnx.helper.make_graph(
        g.nodes, "pool", [onnx.helper.make_tensor_value_info(
            "x", onnx.TensorProto.FLOAT, x.shape)],
        [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)],
        g.initializers)
    model = onnx.helper.make_model(graph, opset_imports=[
        onnx.helper.make_opsetid("", export.OPSET)])
    model.ir_version = 8
    import onnxruntime
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0],
                               reference_pool(x, window, stride, mode=mode,
                                              ignore_border=False), rtol=1e-5, atol=1e-5)
