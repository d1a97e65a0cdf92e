"""The GPU code path (JAX), run on JAX's CPU back end: its ops against the
independent references of test_ops, its training against the default
(Numba) back end, and that it keeps data and parameters on the device."""

import numpy as np
import pytensor
import pytensor.tensor as T
import pytest

jax = pytest.importorskip("jax")

import network3  # noqa: E402
from network3 import ReLU, ops  # noqa: E402
from network3.backends import jax as jax_backend  # noqa: E402
from network3.layers import (ConvPoolLayer, FullyConnectedLayer,  # noqa: E402
                             SoftmaxLayer)
from conftest import numpy_forward, reference_conv, reference_pool  # noqa: E402
from test_ops import (CONV_CASES, POOL_CASES, RANK_CASES, check_outputs,  # noqa: E402
                      conv_case, pool_case, rank_case)


def jax_function(inputs, outputs):
    return pytensor.function(inputs, outputs, mode=jax_backend.mode())


#### The ops, translated to JAX
def test_conv2d_on_jax_is_theano_convolution():
    rng = np.random.default_rng(0)
    filter_shape, image_shape = (4, 3, 3, 2), (2, 3, 8, 7)
    x = rng.normal(size=image_shape).astype("float32")
    w = rng.normal(size=filter_shape).astype("float32")
    xs = T.tensor(dtype="float32", shape=image_shape)
    ws = T.tensor4(dtype="float32")
    out = jax_function([xs, ws], ops.conv2d(xs, ws, filter_shape, image_shape))(x, w)
    np.testing.assert_allclose(out, reference_conv(x, w), rtol=1e-5, atol=5e-5)


def test_conv_and_pool_gradients_on_jax_match_finite_differences():
    rng = np.random.default_rng(1)
    image_shape, filter_shape = (2, 2, 7, 7), (3, 2, 3, 3)
    x = rng.normal(size=image_shape)
    w = rng.normal(size=filter_shape)
    xs = T.tensor(dtype="float64", shape=image_shape)
    ws = T.tensor(dtype="float64", shape=filter_shape)
    cost = (ops.max_pool_2d(ops.conv2d(xs, ws, filter_shape, image_shape),
                            (2, 2)) ** 2).sum()
    with jax.enable_x64(True):
        gx, gw = jax_function([xs, ws], T.grad(cost, [xs, ws]))(x, w)
    f = pytensor.function([xs, ws], cost)
    for value, grad, which in ((x, gx, 0), (w, gw, 1)):
        for index in [(0, 1, 2, 3), (1, 0, 4, 4)] if which == 0 else [(2, 1, 0, 2)]:
            step = np.zeros_like(value)
            step[index] = 1e-6
            args_plus = [x, w]
            args_minus = [x, w]
            args_plus[which] = value + step
            args_minus[which] = value - step
            numeric = (f(*args_plus) - f(*args_minus)) / 2e-6
            assert grad[index] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_max_pool_on_jax_ignores_the_border_and_shares_ties():
    x = np.random.default_rng(2).normal(size=(2, 3, 7, 5)).astype("float32")
    xs = T.tensor(dtype="float32", shape=x.shape)
    np.testing.assert_array_equal(
        jax_function([xs], ops.max_pool_2d(xs, (2, 2)))(x), reference_pool(x, (2, 2)))
    ties = np.ones((1, 1, 3, 3), dtype="float32")
    ts = T.tensor(dtype="float32", shape=ties.shape)
    (g,) = jax_function([ts], T.grad(ops.max_pool_2d(ts, (2, 2)).sum(), [ts]))(ties)
    expected = np.zeros((1, 1, 3, 3), dtype="float32")
    expected[0, 0, :2, :2] = 1.0     # every tied entry of the one full window
    np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_padded_and_strided_convolutions_on_jax(case):
    (inputs, outputs), values, expected = conv_case(case)
    with jax.enable_x64(True):
        check_outputs(jax_function(inputs, outputs)(*values), expected)


@pytest.mark.parametrize("mode", ops.POOL_MODES)
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_modes_on_jax(case, mode):
    (inputs, outputs), values, expected = pool_case(case, mode)
    with jax.enable_x64(True):
        check_outputs(jax_function(inputs, outputs)(*values), expected)


@pytest.mark.parametrize("ignore_border", [True, False])
@pytest.mark.parametrize("case", RANK_CASES, ids=str)
def test_pooling_inputs_of_any_rank_on_jax(case, ignore_border):
    for mode in ("max", "average_inc_pad"):
        (inputs, outputs), values, expected = rank_case(case, mode, ignore_border)
        with jax.enable_x64(True):
            check_outputs(jax_function(inputs, outputs)(*values), expected)


def test_pooling_ties_padding_and_zero_windows_on_jax():
    def pool_and_gradient(x, ws, stride, pad, mode):
        t = T.tensor(dtype="float32", shape=x.shape)
        out = ops.pool_2d(t, ws, stride, pad, mode)
        return jax_function([t], [out, T.grad(out.sum(), t)])(x)
    ones = np.ones((1, 1, 3, 3), dtype="float32")
    _, g = pool_and_gradient(ones, (2, 2), (1, 1), (0, 0), "max")
    np.testing.assert_array_equal(g[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    out, g = pool_and_gradient(-ones, (2, 2), (2, 2), (1, 1), "max")
    np.testing.assert_array_equal(out, -np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(g, ones)
    x = np.zeros((1, 1, 4, 4), dtype="float32")
    x[0, 0, 2:, 2:] = [[3, 0], [0, 4]]
    out, g = pool_and_gradient(x, (2, 2), None, (0, 0), "l2")
    np.testing.assert_allclose(out[0, 0], [[0, 0], [0, 5]])
    expected = np.zeros_like(x)
    expected[0, 0, 2:, 2:] = [[0.6, 0], [0, 0.8]]     # x / 5; 0 in the zero windows
    np.testing.assert_allclose(g, expected, rtol=1e-6)


#### Training on JAX against training on Numba
def small_conv_net(backend, mbs=5, p_dropout=0.0, **options):
    """A conv net, with ConvPoolLayer ``options`` (pool_mode, border_mode, ...)."""
    conv = ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(4, 1, 5, 5),
                         poolsize=(2, 2), activation_fn=ReLU, **options)
    return network3.Network([
        conv,
        FullyConnectedLayer(n_in=conv.output_size, n_out=20, activation_fn=ReLU,
                            p_dropout=p_dropout),
        SoftmaxLayer(n_in=20, n_out=10, p_dropout=p_dropout)], mbs,
        device="cpu", backend=backend)


def options_conv_net(backend):
    """L2 pooling of overlapping windows after a padded, strided convolution."""
    return small_conv_net(backend, pool_mode="l2", pool_stride=(1, 1),
                          pool_pad=(1, 0), border_mode="half", subsample=(2, 2))


def fc_net(backend, mbs=10):
    return network3.Network([FullyConnectedLayer(n_in=784, n_out=30),
                             SoftmaxLayer(n_in=30, n_out=10)], mbs,
                            device="cpu", backend=backend)


@pytest.mark.parametrize("build, n_train, eta, lmbda", [
    (fc_net, 400, 0.5, 0.0),
    (small_conv_net, 100, 0.03, 0.1),
    (options_conv_net, 100, 0.03, 0.1),
])
def test_jax_trains_like_numba(subset, build, n_train, eta, lmbda):
    training_data, validation_data, test_data = subset(n_train, 200, 200)
    results = {}
    for backend in ("numba", "jax"):
        network3.seed(3)
        net = build(backend)
        history = net.SGD(training_data, 2, net.mini_batch_size, eta,
                          validation_data, test_data, lmbda=lmbda, verbose=False,
                          restore_best=False)
        results[backend] = (history, [p.get_value() for p in net.params], net)
    (h_numba, p_numba, net_numba), (h_jax, p_jax, net_jax) = \
        results["numba"], results["jax"]
    np.testing.assert_allclose(h_jax.cost, h_numba.cost, rtol=1e-4)
    for a, b in zip(p_jax, p_numba):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    # float32 rounding may flip an image or two near a decision boundary
    for a, b in zip(h_jax.validation_accuracy, h_numba.validation_accuracy):
        assert abs(a - b) <= 2 / 200
    # the shared variables show the device's values: same predictions
    images = validation_data[0].get_value()
    agree = np.mean(net_jax.predict(images) == net_numba.predict(images))
    assert agree >= 0.99


def test_dropout_on_jax_draws_fresh_masks_reproducibly(subset):
    training_data, validation_data, _ = subset(200, 100, 100)

    def run(seed, backend="jax"):
        network3.seed(seed)
        net = small_conv_net(backend, p_dropout=0.5)
        return net.SGD(training_data, 2, 5, 0.03, validation_data, None,
                       verbose=False).cost
    first, again, other = run(4), run(4), run(5)
    assert first == again                      # same seed, same masks
    assert first != other
    numba = run(4, "numba")                    # other masks, same statistics
    np.testing.assert_allclose(first, numba, rtol=0.1)


def test_data_and_parameters_are_copied_to_the_device_once(subset, monkeypatch):
    training_data, validation_data, test_data = subset(500, 100, 100)
    network3.seed(6)
    net = fc_net("jax")
    copies = []
    real_put = jax.device_put
    monkeypatch.setattr(jax, "device_put",
                        lambda value, *a, **k: copies.append(np.shape(value))
                        or real_put(value, *a, **k))
    net.SGD(training_data, 3, 10, 0.1, validation_data, test_data, verbose=False)
    steps = 3 * 50
    data_copies = [s for s in copies if len(s) == 2 and s[0] in (500, 100)]
    label_copies = [s for s in copies if len(s) == 1 and s[0] in (500, 100)]
    # training, validation and test images and training labels, once each
    assert len(data_copies) == 3 and len(label_copies) == 1
    # parameters: once when training starts and once after the best
    # epoch's are restored, not once per mini-batch (dropout generators
    # become keys without a copy)
    assert len(copies) - 4 <= 2 * len(net.params) < steps


def test_shared_variables_show_the_trained_values(subset):
    training_data, validation_data, _ = subset(100, 50, 50)
    network3.seed(7)
    net = fc_net("jax")
    before = net.layers[0].w.get_value().copy()
    net.SGD(training_data, 1, 10, 0.5, validation_data, None, verbose=False,
            restore_best=False)
    after = net.layers[0].w.get_value()
    assert not np.allclose(before, after)
    # the device predicts with what the shared variables now hold
    images = validation_data[0].get_value()
    probabilities = numpy_forward(net.layers, images)
    sure = np.sort(probabilities, axis=1)[:, -1] - np.sort(probabilities, axis=1)[:, -2] > 1e-4
    np.testing.assert_array_equal(net.predict(images)[sure],
                                  probabilities.argmax(axis=1)[sure])
    # a value set by the user is what predict uses next
    for p in net.params:
        p.set_value(np.zeros_like(p.get_value()))
    assert set(net.predict(images)) == {0}


#### Runs longer than one chunk
def test_an_epoch_of_several_chunks_matches_numba_and_numpy(mnist):
    """Mini-batches of one image: 2,300 mini-batches an epoch, run by JAX as
    chunks of 1,000, 1,000 and 300 (and 700, 1,000, 600 in the second epoch,
    whose printed lines come every 1,000 mini-batches)."""
    (x, y), (vx, vy), _ = mnist
    training_data = network3.shared((x[:2300], y[:2300]))
    results = {}
    for backend in ("numba", "jax"):
        network3.seed(12)
        net = network3.Network([FullyConnectedLayer(n_in=784, n_out=10),
                                SoftmaxLayer(n_in=10, n_out=10)], 1,
                               device="cpu", backend=backend)
        assert net.engine.chunk == (1000 if backend == "jax" else 100)
        history = net.SGD(training_data, 2, 1, 0.05, (vx[:300], vy[:300]), None,
                          verbose=False, restore_best=False)
        results[backend] = history, net
    (h_numba, numba), (h_jax, net) = results["numba"], results["jax"]
    np.testing.assert_allclose(h_jax.cost, h_numba.cost, rtol=1e-4)
    for a, b in zip(net.params, numba.params):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-3, atol=2e-5)
    probabilities = numpy_forward(net.layers, vx[:300])
    assert np.mean(net.predict(vx[:300]) == probabilities.argmax(axis=1)) >= 0.99
    assert h_jax.validation_accuracy[-1] > 0.75


def test_a_conv_net_in_small_chunks_matches_numba(subset):
    """A chunk that starts after mini-batch 0, on a conv net with dropout
    switched off: the chunk size must not change any number."""
    training_data, validation_data, _ = subset(100, 100, 10)
    results = {}
    for backend, chunk in (("numba", None), ("jax", 7), ("jax", None)):
        network3.seed(13)
        net = small_conv_net(backend)
        if chunk:
            net.engine.chunk = chunk        # 20 mini-batches: 7, 7, 6
        history = net.SGD(training_data, 2, 5, 0.03, validation_data, None,
                          verbose=False, restore_best=False)
        results[backend, chunk] = history.cost, [p.get_value() for p in net.params]
    small, whole = results["jax", 7], results["jax", None]
    assert small[0] == whole[0]
    for a, b in zip(small[1], whole[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(small[0], results["numba", None][0], rtol=1e-4)


def test_log_likelihood_on_jax_matches_numpy():
    from test_ops import reference_log_likelihood
    rng = np.random.default_rng(9)
    z = (rng.normal(size=(7, 5)) * 4).astype("float32")
    y = rng.integers(0, 5, size=7).astype("int32")
    zs, ys = T.matrix(), T.ivector()
    cost = ops.log_likelihood(zs, ys)
    value, grad = jax_function([zs, ys], [cost, T.grad(2.0 * cost, zs)])(z, y)
    want_value, want_grad = reference_log_likelihood(z, y)
    assert float(value) == pytest.approx(want_value, rel=1e-6)
    np.testing.assert_allclose(grad, 2.0 * want_grad, rtol=1e-5, atol=1e-7)
