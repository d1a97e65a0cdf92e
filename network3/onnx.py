"""onnx.py
~~~~~~~~~

A trained network as an ONNX file, to run anywhere ONNX runs (onnxruntime,
a browser, a phone), without network3 or PyTensor.

``net.export_onnx("net.onnx")`` (or ``network3 export MODEL.npz OUT.onnx``)
writes one graph with an input ``images``, float32 of shape ``(N, 784)``
with ``N`` free, and an output ``probabilities`` of shape ``(N, 10)``: what
``net.predict_proba`` gives, evaluated as the chapter evaluates (dropout
replaced by scaling).  Each layer is translated by what it means, not by
tracing: a ``ConvPoolLayer`` becomes a ``Conv`` (whose filters are stored
flipped: Theano's ``conv2d`` is a true convolution, ONNX's ``Conv`` a
correlation), a pooling node for its ``pool_mode``, the bias and its
activation; a ``FullyConnectedLayer`` or ``SoftmaxLayer`` a ``MatMul``
(scaled by ``1 - p_dropout``), the bias and its activation or ``Softmax``.

A layer type of your own exports if it says how: a method
``to_onnx(self, graph, inpt)`` that adds its nodes to ``graph`` (a
:class:`Graph`) and returns the name of its output, ``inpt`` being the
name of the previous layer's output (reshape it as the layer's
``reshape_input`` does).  Any other layer is refused, by name, before
anything is written.

The file is checked with ``onnx.checker`` and written atomically.  ONNX is
an extra: ``pip install -e '.[onnx]'`` (onnx; and onnxruntime, to run it).

"""

#### Libraries
# Standard library
import os

# Third-party libraries
import numpy as np

# network3
from network3 import activations, files, shapes
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer

#: The ONNX operator set the files use (onnxruntime 1.14 and later run it).
OPSET = 17

_INSTALL = "pip install -e '.[onnx]' (or pip install onnx onnxruntime)"


def _onnx():
    try:
        import onnx
    except ImportError:
        raise RuntimeError("exporting to ONNX needs the onnx package, which is not "
                           "installed: " + _INSTALL) from None
    return onnx


#### The graph being built
class Graph(object):
    """An ONNX graph under construction: the nodes and constant tensors
    (initializers) of one network, in the order they are added.  Layers'
    ``to_onnx`` hooks add theirs with :meth:`node` and :meth:`constant`."""

    def __init__(self):
        self.onnx = _onnx()
        self.nodes, self.initializers = [], []
        self._names = set()
        #: the name prefix of the layer being translated ("layer0/")
        self.scope = ""

    def name(self, what):
        """A new, unused tensor name: ``what`` within the current layer."""
        base = self.scope + what
        name, k = base, 1
        while name in self._names:
            k += 1
            name = "{0}_{1}".format(base, k)
        self._names.add(name)
        return name

    def constant(self, what, array, dtype=np.float32):
        """Add ``array`` as a constant tensor (as ``dtype``); its name."""
        name = self.name(what)
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(self, op_type, inputs, what=None, **attributes):
        """Add a node ``op_type`` (ONNX's operator name) of ``inputs`` (tensor
        names); the name of its one output."""
        output = self.name(what or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), [output], name=output, **attributes))
        return output

    def reshape(self, inpt, shape):
        """``inpt`` reshaped to ``shape`` (-1 for the images' count)."""
        return self.node("Reshape", [inpt, self.constant("shape", shape, np.int64)],
                         "reshaped")

    def activation(self, inpt, fn, owner):
        """``fn`` (one of network3's activation functions) applied to ``inpt``."""
        name = activations.name_of(fn)
        op = {"sigmoid": "Sigmoid", "tanh": "Tanh", "ReLU": "Relu",
              "linear": None}.get(name, "?")
        if op == "?":
            raise ValueError("export_onnx: {0}: activation_fn={1!r} is not one of "
                             "network3's ({2}), so it cannot be exported".format(
                                 owner, fn, ", ".join(activations.ACTIVATIONS)))
        return inpt if op is None else self.node(op, [inpt], name.lower())


#### The chapter's layers
def _conv_pool(layer, g, inpt):
    x = g.reshape(inpt, (-1,) + tuple(layer.image_shape[1:]))
    # Theano's conv2d flips the filters (a true convolution); ONNX's Conv
    # does not, so the file holds them flipped
    w = layer.w.get_value()[:, :, ::-1, ::-1]
    ph, pw = shapes.conv_padding(layer.border_mode, layer.filter_shape[2:])
    conv = g.node("Conv", [x, g.constant("w", w)], "conv",
                  kernel_shape=list(layer.filter_shape[2:]), pads=[ph, pw, ph, pw],
                  strides=list(layer.subsample))
    pooled = pool(g, conv, layer.poolsize, layer.pool_stride, layer.pool_pad,
                  layer.pool_mode)
    b = g.constant("b", layer.b.get_value().reshape(1, -1, 1, 1))
    return g.activation(g.node("Add", [pooled, b], "biased"), layer.activation_fn,
                        type(layer).__name__)


def pool(g, inpt, window, stride, pad, mode, ignore_border=True, size=None):
    """Theano's ``pool_2d`` of ``inpt`` (see ``network3.ops.pool_2d``) as
    ONNX nodes: MaxPool (padding never wins), AveragePool counting the
    padding or not, LpPool with p=2 (padding adds nothing), and sum pooling
    as the average over the whole window times its size.  Without
    ``ignore_border`` (which needs the image's ``size``, (height, width),
    and no ``pad``, as in Theano) the last windows, which do not fit whole,
    reach into padding added at the bottom and right, which no max picks, no
    sum counts and no average divides by."""
    after = (0, 0)
    if not ignore_border:
        after = tuple(max(0, (shapes.window_positions(n, w, s, p, False) - 1) * s + w
                          - (n + 2 * p))
                      for n, w, s, p in zip(size, window, stride, pad))
    attributes = dict(kernel_shape=list(window), strides=list(stride),
                      pads=[pad[0], pad[1], pad[0] + after[0], pad[1] + after[1]])
    if mode == "max":
        return g.node("MaxPool", [inpt], "pooled", **attributes)
    if mode == "l2":
        return g.node("LpPool", [inpt], "pooled", p=2, **attributes)
    # (without ignore_border there is no padding but the added one, which
    # average_inc_pad does not count either)
    counted = mode == "sum" or (mode == "average_inc_pad" and ignore_border)
    average = g.node("AveragePool", [inpt], "pooled", count_include_pad=int(counted),
                     **attributes)
    if mode == "sum":
        return g.node("Mul", [average, g.constant("window", np.prod(window))], "summed")
    return average


def _dense(layer, g, inpt):
    x = g.reshape(inpt, (-1, layer.n_in))
    # evaluation's scaling of the weighted input, 1 - p_dropout, as the
    # prediction graph computes it (in float32, then multiplied)
    w = layer.w.get_value()
    weighted = g.node("MatMul", [x, g.constant("w", w)], "weighted")
    if layer.p_dropout:
        weighted = g.node("Mul", [weighted, g.constant(
            "keep", np.float32(1.0 - layer.p_dropout))], "scaled")
    z = g.node("Add", [weighted, g.constant("b", layer.b.get_value())], "z")
    if isinstance(layer, SoftmaxLayer):
        return g.node("Softmax", [z], "softmax", axis=-1)
    return g.activation(z, layer.activation_fn, type(layer).__name__)


#: How each of network3's layer types becomes ONNX nodes (exactly these
#: types: a subclass may compute something else, and needs a ``to_onnx``).
TRANSLATIONS = {ConvPoolLayer: _conv_pool, FullyConnectedLayer: _dense,
                SoftmaxLayer: _dense}


def _translation(j, layer):
    hook = getattr(layer, "to_onnx", None)
    if hook is not None:
        return lambda layer, g, inpt: hook(g, inpt)
    if type(layer) in TRANSLATIONS:
        return TRANSLATIONS[type(layer)]
    raise TypeError(
        "export_onnx: layer {0} ({1}) is not one of network3's layer types and "
        "does not say how it exports: give it a method to_onnx(self, graph, inpt) "
        "that adds its nodes (see network3.onnx)".format(j, type(layer).__name__))


#### The whole network
def to_model(net):
    """``net`` (a :class:`network3.Network`) as an ``onnx.ModelProto``."""
    translations = [_translation(j, layer) for j, layer in enumerate(net.layers)]
    g = Graph()
    onnx = g.onnx
    net.engine.sync()
    x = "images"
    for j, (layer, translate) in enumerate(zip(net.layers, translations)):
        g.scope = "layer{0}/".format(j)
        x = translate(layer, g, x)
    g.scope = ""
    g.nodes.append(onnx.helper.make_node("Identity", [x], ["probabilities"],
                                         name="probabilities"))
    n_in, n_out = net.layers[0].input_size, net.layers[-1].output_size
    graph = onnx.helper.make_graph(
        g.nodes, "network3",
        [onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT,
                                            ["N", n_in])],
        [onnx.helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT,
                                            ["N", n_out])],
        g.initializers)
    model = onnx.helper.make_model(
        graph, producer_name="network3", doc_string=repr(net),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = min(model.ir_version, 8)      # (opset 17's IR version)
    onnx.checker.check_model(model, full_check=True)
    return model


def export(net, filename):
    """Write ``net`` to ``filename`` as an ONNX model (see the module's
    docstring), atomically: the file appears whole or not at all.

    Raises
    ------
    TypeError
        For a layer that cannot be exported (named), before anything is written.
    ValueError
        If ``filename`` is a folder or its folder does not exist.
    OSError
        If the file cannot be written (nothing is left behind).
    """
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError("export_onnx: filename must be a file name, got {0!r}".format(
            filename))
    folder = os.path.dirname(os.path.abspath(filename))
    if os.path.isdir(filename):
        raise ValueError("export_onnx: {0!r} is a folder; give a file name such as "
                         "net.onnx".format(os.fspath(filename)))
    if not os.path.isdir(folder):
        raise ValueError("export_onnx: {0!r}: the folder {1} does not exist; create "
                         "it or choose another".format(os.fspath(filename), folder))
    model = to_model(net)
    with files.atomic_write(filename) as f:
        f.write(model.SerializeToString())
    return filename


def run(filename, images):
    """The probabilities the ONNX file ``filename`` gives for ``images``
    (n, 784), computed by onnxruntime on the CPU."""
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeError("running an ONNX file needs onnxruntime, which is not "
                           "installed: " + _INSTALL) from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(os.fspath(filename), options,
                                           providers=["CPUExecutionProvider"])
    return session.run(["probabilities"],
                       {"images": np.ascontiguousarray(images, dtype=np.float32)})[0]
