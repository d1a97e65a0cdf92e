"""layers.py: forward passes against an independent NumPy implementation,
initialisation, and the errors constructors raise."""

import numpy as np
import pytensor
import pytensor.tensor as T
import pytest

import network3
from network3 import (ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer,
                      layers, linear, sigmoid, tanh)
from network3.layers import conv_pool_output_shape

from conftest import BACKENDS, numpy_softmax, reference_conv, reference_pool


def numpy_conv_pool(x, layer, activation):
    """The layer's output for images ``x`` by conftest's SciPy/NumPy references."""
    w, b = layer.w.get_value(), layer.b.get_value()
    conv = reference_conv(x, w, layer.border_mode, layer.subsample)
    pooled = reference_pool(conv, layer.poolsize, layer.pool_stride, layer.pool_pad,
                            layer.pool_mode)
    return activation(pooled + b[None, :, None, None])


def set_inpt_output(layer, x, mini_batch_size):
    inpt = T.matrix()
    layer.set_inpt(inpt, inpt, mini_batch_size)
    return pytensor.function([inpt], layer.output)(x)


@pytest.mark.parametrize("activation, reference", [
    (ReLU, lambda z: np.maximum(0, z)),
    (sigmoid, lambda z: 1 / (1 + np.exp(-z))),
])
def test_conv_pool_layer_forward(activation, reference):
    layer = ConvPoolLayer(filter_shape=(3, 2, 3, 3), image_shape=(2, 2, 9, 8),
                          poolsize=(2, 3), activation_fn=activation, rng=0)
    x = np.random.default_rng(1).normal(size=(2, 2 * 9 * 8)).astype("float32")
    out = set_inpt_output(layer, x, 2)
    expected = numpy_conv_pool(x.reshape(2, 2, 9, 8), layer, reference)
    assert out.shape == (2, 3, 3, 2) == layer.output_shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("options", [
    dict(pool_mode="l2", pool_stride=(1, 2), pool_pad=(1, 1)),
    dict(pool_mode="sum", border_mode="full", subsample=(2, 3)),
    dict(pool_mode="average_inc_pad", pool_pad=(1, 2), border_mode=(1, 0)),
    dict(pool_mode="average_exc_pad", pool_pad=(1, 2), border_mode="half",
         subsample=(1, 2)),
    dict(pool_mode="max", pool_stride=(1, 1), pool_pad=(1, 0), border_mode=2),
], ids=str)
def test_conv_pool_layer_options_forward(options):
    layer = ConvPoolLayer(filter_shape=(3, 2, 3, 2), image_shape=(2, 2, 9, 8),
                          poolsize=(2, 3), activation_fn=ReLU, rng=0, **options)
    x = np.random.default_rng(1).normal(size=(2, 2 * 9 * 8)).astype("float32")
    out = set_inpt_output(layer, x, 2)
    expected = numpy_conv_pool(x.reshape(2, 2, 9, 8), layer, lambda z: np.maximum(0, z))
    assert out.shape == expected.shape == layer.output_shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_fully_connected_layer_scales_by_keep_probability_at_inference():
    layer = FullyConnectedLayer(n_in=6, n_out=4, activation_fn=tanh,
                                p_dropout=0.25, rng=0)
    x = np.random.default_rng(2).normal(size=(3, 6)).astype("float32")
    out = set_inpt_output(layer, x, 3)
    expected = np.tanh(0.75 * x @ layer.w.get_value() + layer.b.get_value())
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_fully_connected_dropout_output_uses_masks():
    layer = FullyConnectedLayer(n_in=400, n_out=1, activation_fn=linear,
                                p_dropout=0.5, rng=0)
    layer.w.set_value(np.ones((400, 1), "float32"))
    layer.b.set_value(np.zeros(1, "float32"))
    inpt = T.matrix()
    layer.set_inpt(inpt, inpt, 2)
    f = pytensor.function([inpt], layer.output_dropout,
                          updates=network3.ops.rng_updates([layer.output_dropout]))
    kept = f(np.ones((2, 400), "float32"))     # number of inputs kept per row
    assert np.all(np.abs(kept - 200) < 50)      # Binomial(400, 0.5): sd 10


def test_softmax_layer_forward_and_cost():
    layer = SoftmaxLayer(n_in=5, n_out=3)
    assert not layer.w.get_value().any() and not layer.b.get_value().any()
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    layer.w.set_value(w.astype("float32"))
    layer.b.set_value(b.astype("float32"))
    x = rng.normal(size=(4, 5)).astype("float32")
    y = np.array([0, 2, 1, 2], "int32")

    class Net:
        y = T.ivector()
    inpt = T.matrix()
    layer.set_inpt(inpt, inpt, 4)
    out, cost, y_out = pytensor.function(
        [inpt, Net.y], [layer.output, layer.cost(Net), layer.y_out])(x, y)
    p = numpy_softmax(x @ w + b)
    np.testing.assert_allclose(out, p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cost, -np.mean(np.log(p[np.arange(4), y])), rtol=1e-5)
    np.testing.assert_array_equal(y_out, p.argmax(axis=1))


def test_initialisation_follows_the_book():
    conv = ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), rng=0)
    fc = FullyConnectedLayer(784, 100, rng=0)
    for layer, shape, n_out in ((conv, (20, 1, 5, 5), 20 * 25 / 4),
                                (fc, (784, 100), 100)):
        w, b = layer.w.get_value(), layer.b.get_value()
        assert w.shape == shape and w.dtype == np.float32
        assert abs(w.std() / np.sqrt(1 / n_out) - 1) < 0.1
        assert abs(b.std() - 1) < 0.35 and b.dtype == np.float32
    assert conv.params == [conv.w, conv.b]


@pytest.mark.parametrize("init", ["book", "he", "glorot"])
def test_initializations_have_the_papers_statistics(init):
    fc = FullyConnectedLayer(1000, 400, activation_fn=ReLU, init=init, rng=3)
    conv = ConvPoolLayer((64, 8, 5, 5), (10, 8, 28, 28), activation_fn=ReLU,
                         init=init, rng=4)
    for layer, fan_in, fan_out, book_n_out in (
            (fc, 1000, 400, 400), (conv, 8 * 25, 64 * 25, 64 * 25 / 4)):
        w, b = (p.get_value().astype(float) for p in layer.params)
        variance = {"book": 1 / book_n_out, "he": 2 / fan_in,
                    "glorot": 2 / (fan_in + fan_out)}[init]
        # 400,000 and 12,800 draws: the sample sd is within 2% of the target
        assert abs(w.std() / np.sqrt(variance) - 1) < 0.02
        assert abs(w.mean()) < 0.05 * np.sqrt(variance)
        if init == "book":
            assert abs(b.std() - 1) < 0.15          # N(0, 1), as the chapter
        else:
            assert np.all(b == 0)
    # "book" draws exactly what the chapter's code draws
    rng = np.random.default_rng(3)
    expected_w = rng.normal(0.0, np.sqrt(1 / 400), size=(1000, 400))
    np.testing.assert_array_equal(
        FullyConnectedLayer(1000, 400, rng=3).w.get_value(), expected_w.astype("float32"))


def test_seed_makes_weights_repeatable():
    network3.seed(7)
    a = FullyConnectedLayer(10, 5).w.get_value()
    network3.seed(7)
    b = FullyConnectedLayer(10, 5).w.get_value()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, FullyConnectedLayer(10, 5).w.get_value())


def test_output_shape_helper():
    assert conv_pool_output_shape((10, 1, 28, 28), (20, 1, 5, 5), (2, 2)) == (10, 20, 12, 12)
    assert conv_pool_output_shape((10, 20, 12, 12), (40, 20, 5, 5), (2, 2)) == (10, 40, 4, 4)
    assert conv_pool_output_shape((1, 1, 9, 9), (1, 1, 2, 2), (3, 3)) == (1, 1, 2, 2)
    # with the options: the shape the references give
    for image, kernel, pool, options in [
            ((3, 2, 11, 9), (4, 2, 3, 4), (2, 3), dict(border_mode="full", subsample=(2, 3))),
            ((3, 2, 11, 9), (4, 2, 3, 4), (3, 2), dict(pool_stride=(1, 2), pool_pad=(2, 1))),
            ((3, 2, 11, 9), (4, 2, 4, 3), (2, 2), dict(border_mode="half", pool_pad=(1, 1))),
            ((3, 2, 11, 9), (4, 2, 5, 5), (2, 2), dict(border_mode=(3, 1), subsample=(3, 1),
                                                        pool_stride=(3, 1)))]:
        conv = reference_conv(np.zeros(image), np.zeros(kernel),
                              options.get("border_mode", "valid"),
                              options.get("subsample", (1, 1)))
        pooled = reference_pool(conv, pool, options.get("pool_stride"),
                                options.get("pool_pad", (0, 0)))
        assert conv_pool_output_shape(image, kernel, pool, **options) == pooled.shape


def test_repr_reads_like_the_constructor_call():
    layer = ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28),
                          poolsize=(2, 2), activation_fn=ReLU)
    assert repr(layer) == ("ConvPoolLayer(filter_shape=(20, 1, 5, 5), "
                           "image_shape=(10, 1, 28, 28), poolsize=(2, 2), "
                           "activation_fn=ReLU)")
    # the options beyond the chapter's appear where they are not the defaults
    layer = ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28),
                          pool_mode="l2", pool_stride=(2, 2), border_mode=1)
    assert repr(layer) == ("ConvPoolLayer(filter_shape=(20, 1, 5, 5), "
                           "image_shape=(10, 1, 28, 28), poolsize=(2, 2), "
                           "activation_fn=sigmoid, pool_mode='l2', "
                           "border_mode=(1, 1))")
    assert repr(SoftmaxLayer(100, 10)) == "SoftmaxLayer(n_in=100, n_out=10, p_dropout=0.0)"


@pytest.mark.parametrize("make, error, words", [
    (lambda: ConvPoolLayer((20, 3, 5, 5), (10, 1, 28, 28)), ValueError,
     ["filter_shape[1]=3", "image_shape[1]=1"]),
    (lambda: ConvPoolLayer((20, 1, 30, 5), (10, 1, 28, 28)), ValueError,
     ["height", "filter_shape[2]=30", "image_shape[2]=28"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), poolsize=(30, 2)),
     ValueError, ["poolsize=(30, 2)", "24x24"]),
    (lambda: ConvPoolLayer((20, 1, 5), (10, 1, 28, 28)), TypeError,
     ["filter_shape", "4 positive integers", "(20, 1, 5)"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 0, 28, 28)), ValueError,
     ["image_shape[1]", "positive", "0"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), activation_fn="relu"),
     TypeError, ["activation_fn", "'relu'"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), pool_mode="avg"),
     ValueError, ["ConvPoolLayer", "pool_mode", "'max', 'l2', 'sum', "
                  "'average_inc_pad', 'average_exc_pad'", "got 'avg'"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), border_mode="same"),
     ValueError, ["ConvPoolLayer", "border_mode", "'valid', 'full', 'half'",
                  "got 'same'"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), border_mode=-1),
     ValueError, ["border_mode", "non-negative", "got -1"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), pool_pad=(1, 2)),
     ValueError, ["ConvPoolLayer", "pool_pad=(1, 2)", "smaller than poolsize=(2, 2)"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), pool_pad=(0, -1)),
     ValueError, ["pool_pad", "non-negative", "(0, -1)"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), subsample=(0, 1)),
     ValueError, ["ConvPoolLayer", "subsample[0]", "positive", "0"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), pool_stride=(2,)),
     TypeError, ["ConvPoolLayer", "pool_stride", "2 positive integers", "(2,)"]),
    (lambda: ConvPoolLayer((20, 1, 9, 5), (10, 1, 6, 28), border_mode=1), ValueError,
     ["filter_shape[2]=9", "image_shape[2]=6", "1 pixels of padding", "border_mode=(1, 1)"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 8, 8), poolsize=(6, 6),
                           pool_pad=(1, 1), subsample=(2, 2)), ValueError,
     ["poolsize=(6, 6)", "(2x2)", "pool_pad=(1, 1)", "nothing would be left"]),
    (lambda: FullyConnectedLayer(10, 5, init="xavier"), ValueError,
     ["FullyConnectedLayer", "init", "'book', 'he', 'glorot'", "'xavier'"]),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), init=None), ValueError,
     ["ConvPoolLayer", "init", "got None"]),
    (lambda: FullyConnectedLayer(n_in=0, n_out=10), ValueError,
     ["FullyConnectedLayer", "n_in", "0"]),
    (lambda: FullyConnectedLayer(n_in=640.0, n_out=10), TypeError,
     ["n_in", "integer", "640.0"]),
    (lambda: FullyConnectedLayer(640, 10, p_dropout=1.0), ValueError,
     ["p_dropout", "[0, 1)", "1.0"]),
    (lambda: SoftmaxLayer(100, 10, p_dropout=-0.1), ValueError,
     ["SoftmaxLayer", "p_dropout", "-0.1"]),
])
def test_constructors_reject_bad_arguments(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


#### Layers of a user's own, defined outside network3
class ScaledReLULayer(network3.Layer):
    """A user's layer from the base class: ReLU(scale * x.w + b)."""

    def __init__(self, n_in, n_out, scale=1.0, *, rng=None):
        self.n_in, self.n_out, self.scale = n_in, n_out, scale
        self.input_size, self.output_size = n_in, n_out
        rng = network3.seeding.get_rng(rng)
        self.w = network3.params.parameter(rng.normal(0, n_in ** -0.5, (n_in, n_out)), "w")
        self.b = network3.params.parameter(np.zeros(n_out), "b")
        self.params = [self.w, self.b]

    def forward(self, inpt, training=False):
        return network3.ReLU(self.scale * pytensor.tensor.dot(inpt, self.w) + self.b)


class LeakyLayer(FullyConnectedLayer):
    """A user's subclass of ours with a constructor argument more."""

    def __init__(self, n_in, n_out, leak=0.1, p_dropout=0.0, *, init="book", rng=None):
        self.leak = leak
        super().__init__(n_in, n_out, activation_fn=network3.linear,
                         p_dropout=p_dropout, init=init, rng=rng)

    def forward(self, inpt, training=False):
        z = super().forward(inpt, training)
        return pytensor.tensor.maximum(z, self.leak * z)


def numpy_user_forward(net, images):
    """The user layers' formulas in NumPy, then the softmax."""
    a = np.asarray(images, dtype=float)
    for layer in net.layers:
        w, b = (p.get_value().astype(float) for p in layer.params)
        if isinstance(layer, ScaledReLULayer):
            a = np.maximum(0, layer.scale * a @ w + b)
        elif isinstance(layer, LeakyLayer):
            z = (1 - layer.p_dropout) * a @ w + b
            a = np.maximum(z, layer.leak * z)
        else:
            a = numpy_softmax(a @ w + b)
    return a


@pytest.mark.parametrize("backend", BACKENDS)
def test_users_own_layers_train_save_and_load(backend, subset, tmp_path):
    training_data, validation_data, _ = subset(300, 100, 100)
    network3.seed(5)
    net = network3.Network([ScaledReLULayer(784, 30, scale=0.5),
                            LeakyLayer(30, 20, leak=0.2, p_dropout=0.1),
                            SoftmaxLayer(20, 10)], 10, backend=backend, device="cpu")
    assert repr(net.layers[0]) == "ScaledReLULayer(n_in=784, n_out=30, scale=0.5)"
    assert repr(net.layers[1]) == ("LeakyLayer(n_in=30, n_out=20, leak=0.2, "
                                   "p_dropout=0.1)")
    history = net.SGD(training_data, 3, 10, 0.5, validation_data, None, lmbda=0.1,
                      verbose=False)
    assert history.best_validation_accuracy > 0.3      # (guessing: 0.1)
    images = validation_data[0].get_value()[:50]
    np.testing.assert_array_equal(
        net.predict(images), numpy_user_forward(net, images).argmax(axis=1))
    net.save(tmp_path / "mine.npz")
    loaded = network3.load_network(tmp_path / "mine.npz", backend=backend, device="cpu")
    assert [type(layer) for layer in loaded.layers] == [ScaledReLULayer, LeakyLayer,
                                                        SoftmaxLayer]
    assert loaded.layers[1].leak == 0.2 and loaded.layers[0].scale == 0.5
    np.testing.assert_array_equal(loaded.predict(images), net.predict(images))


def test_the_l2_term_penalises_each_layers_regularized_params():
    """A layer that regularises nothing adds nothing to the cost: with a
    large lmbda, its weights move exactly as without L2."""
    class Unregularized(ScaledReLULayer):
        def regularized_params(self):
            return []

    x = np.random.default_rng(0).uniform(size=(8, 6)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype="int32")
    moved = []
    for lmbda in (0.0, 5.0):
        net = network3.Network([Unregularized(6, 4, rng=1), SoftmaxLayer(4, 3)], 4)
        start = net.layers[0].w.get_value().copy()
        net.SGD((x, y), 1, 4, 0.1, None, None, lmbda=lmbda, verbose=False)
        moved.append(net.layers[0].w.get_value() - start)
    np.testing.assert_allclose(moved[0], moved[1], rtol=1e-5, atol=1e-7)
    assert [p.name for p in layers.FullyConnectedLayer(6, 4).regularized_params()] == ["w"]


def test_a_layer_type_name_is_registered_once():
    assert layers.LAYER_TYPES["ScaledReLULayer"] is ScaledReLULayer
    with pytest.raises(TypeError, match="a layer type called ConvPoolLayer is already "
                                        "registered"):
        class ConvPoolLayer(network3.Layer):
            pass
