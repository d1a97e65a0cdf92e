"""layers.py: forward passes against an independent NumPy implementation,
initialisation, and the errors constructors raise."""

import numpy as np
import pytensor
import pytensor.tensor as T
import pytest
from scipy.signal import convolve2d

import network3
from network3 import (ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer,
                      linear, sigmoid, tanh)
from network3.layers import conv_pool_output_shape

from conftest import numpy_softmax


def numpy_conv_pool(x, w, b, poolsize, activation):
    n, f = x.shape[0], w.shape[0]
    conv = np.array([[sum(convolve2d(x[m, c], w[k, c], mode="valid")
                          for c in range(x.shape[1])) for k in range(f)]
                     for m in range(n)])
    ph, pw = poolsize
    oh, ow = conv.shape[2] // ph, conv.shape[3] // pw
    pooled = conv[:, :, :oh*ph, :ow*pw].reshape(n, f, oh, ph, ow, pw).max(axis=(3, 5))
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
    expected = numpy_conv_pool(x.reshape(2, 2, 9, 8), layer.w.get_value(),
                               layer.b.get_value(), (2, 3), reference)
    assert out.shape == (2, 3, 3, 2) == layer.output_shape
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


def test_repr_reads_like_the_constructor_call():
    layer = ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28),
                          poolsize=(2, 2), activation_fn=ReLU)
    assert repr(layer) == ("ConvPoolLayer(filter_shape=(20, 1, 5, 5), "
                           "image_shape=(10, 1, 28, 28), poolsize=(2, 2), "
                           "activation_fn=ReLU)")
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
