"""network.py: SGD against an independent NumPy implementation and finite
differences, the book's printed lines, model selection, evaluation on every
example, reproducibility, and the errors Network and SGD raise."""

import re

import numpy as np
import pytest

import network3
from network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU,
                      SoftmaxLayer, sigmoid)

from conftest import BACKENDS, numpy_softmax, reference_conv, reference_pool


def tiny_data(n, n_in, n_classes, seed):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n, n_in)).astype("float32"),
            rng.integers(n_classes, size=n).astype("int32"))


def numpy_sgd_step(params, x, y, eta, lmbda, n_batches):
    """One SGD step of FC(sigmoid) + softmax, with the book's L2 term."""
    w1, b1, w2, b2 = params
    m = len(x)
    a1 = 1 / (1 + np.exp(-(x @ w1 + b1)))
    p = numpy_softmax(a1 @ w2 + b2)
    dz2 = p.copy()
    dz2[np.arange(m), y] -= 1
    dz2 /= m
    dz1 = (dz2 @ w2.T) * a1 * (1 - a1)
    grads = [x.T @ dz1 + lmbda / n_batches * w1, dz1.sum(0),
             a1.T @ dz2 + lmbda / n_batches * w2, dz2.sum(0)]
    cost = (-np.mean(np.log(p[np.arange(m), y]))
            + 0.5 * lmbda * ((w1**2).sum() + (w2**2).sum()) / n_batches)
    return [p - eta * g for p, g in zip(params, grads)], cost


def test_sgd_matches_numpy_reference():
    x, y = tiny_data(12, 16, 3, seed=0)
    net = Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4)
    params = [p.get_value().astype(float) for p in net.params]
    history = net.SGD((x, y), 2, 4, 0.5, None, None, lmbda=0.3)
    costs = []
    for epoch in range(2):
        epoch_costs = []
        for k in range(3):
            params, cost = numpy_sgd_step(params, x[4*k:4*k+4], y[4*k:4*k+4],
                                          0.5, 0.3, 3)
            epoch_costs.append(cost)
        costs.append(np.mean(epoch_costs))
    for ours, theirs in zip(net.params, params):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(history.cost, costs, rtol=1e-5)


def numpy_conv_net_cost(params, x, y, conv_layer):
    """Cost of ConvPool(sigmoid) + softmax, in float64 NumPy/SciPy, with
    ``conv_layer``'s pooling and convolution options."""
    w, b, ws, bs = params
    conv = reference_conv(x, w, conv_layer.border_mode, conv_layer.subsample)
    pooled = reference_pool(conv, conv_layer.poolsize, conv_layer.pool_stride,
                            conv_layer.pool_pad, conv_layer.pool_mode)
    a = 1 / (1 + np.exp(-(pooled + b[None, :, None, None])))
    p = numpy_softmax(a.reshape(len(x), -1) @ ws + bs)
    return -np.mean(np.log(p[np.arange(len(x)), y]))


@pytest.mark.parametrize("options", [
    {},
    dict(pool_mode="l2", pool_stride=(1, 1), pool_pad=(1, 1), border_mode="full",
         subsample=(2, 1)),
    dict(pool_mode="average_exc_pad", pool_pad=(1, 0), border_mode=(2, 1)),
], ids=["chapter", "l2-full-strided", "average-padded"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_net_gradient_matches_finite_differences(backend, options):
    rng = np.random.default_rng(4)
    x, y = tiny_data(3, 1 * 6 * 6, 4, seed=5)
    conv = ConvPoolLayer((2, 1, 3, 3), (3, 1, 6, 6), activation_fn=sigmoid, rng=6,
                         **options)
    soft = SoftmaxLayer(conv.output_size, 4)
    soft.w.set_value(rng.normal(size=(conv.output_size, 4)).astype("float32"))
    net = Network([conv, soft], 3, backend=backend, device="cpu")
    before = [p.get_value().astype(float) for p in net.params]
    eta = 1e-3
    net.SGD((x, y), 1, 3, eta, None, None)
    step = [(b - p.get_value()) / eta for b, p in zip(before, net.params)]
    images = x.reshape(3, 1, 6, 6).astype(float)
    for k, param in enumerate(before):
        for index in list(np.ndindex(param.shape))[:6]:
            plus = [p.copy() for p in before]
            minus = [p.copy() for p in before]
            plus[k][index] += 1e-5
            minus[k][index] -= 1e-5
            numeric = (numpy_conv_net_cost(plus, images, y, conv)
                       - numpy_conv_net_cost(minus, images, y, conv)) / 2e-5
            assert step[k][index] == pytest.approx(numeric, rel=2e-2, abs=2e-3)


BOOK_LINES = [
    r"Training mini-batch number \d+",
    r"Epoch \d+: validation accuracy \d+\.\d\d%",
    r"This is the best validation accuracy to date\.",
    r"The corresponding test accuracy is \d+\.\d\d%",
    r"Finished training network\.",
    r"Best validation accuracy of \d+\.\d\d% obtained at iteration \d+",
    r"Corresponding test accuracy of \d+\.\d\d%",
]


def test_sgd_prints_the_books_lines_and_returns_history(subset, capsys):
    training_data, validation_data, test_data = subset(2000, 500, 300)
    network3.seed(0)
    net = Network([FullyConnectedLayer(n_in=784, n_out=30),
                   SoftmaxLayer(n_in=30, n_out=10)], 10)
    history = net.SGD(training_data, 3, 10, 0.5, validation_data, test_data)
    lines = capsys.readouterr().out.splitlines()
    for line in lines:
        assert any(re.fullmatch(p, line) for p in BOOK_LINES), line
    assert lines[0] == "Training mini-batch number 0"
    assert lines[-3] == "Finished training network."
    assert [l for l in lines if l.startswith("Epoch")] == [
        "Epoch {0}: validation accuracy {1:.2%}".format(k, a)
        for k, a in enumerate(history.validation_accuracy)]
    assert lines[-2] == "Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
        history.best_validation_accuracy, history.best_iteration)
    assert lines[-1] == "Corresponding test accuracy of {0:.2%}".format(
        history.best_test_accuracy)
    assert history.epochs == 3 and len(history.seconds) == 3
    assert history.best_iteration == 200 * (history.best_epoch + 1) - 1
    assert history.test_accuracy[history.best_epoch] == history.best_test_accuracy
    assert history.cost[0] > history.cost[-1]
    # the net holds its best epoch's parameters, and says so
    assert net.accuracy(validation_data) == history.best_validation_accuracy
    assert net.accuracy(test_data) == history.best_test_accuracy
    assert "test_mb_predictions" in dir(net)
    np.testing.assert_array_equal(net.test_mb_predictions(2),
                                  net.predict(test_data[0].get_value()[20:30]))


def test_restore_best_false_keeps_the_last_epoch(subset):
    training_data, validation_data, _ = subset(1000, 500)
    net = Network([FullyConnectedLayer(784, 30, rng=0), SoftmaxLayer(30, 10)], 10)
    history = net.SGD(training_data, 3, 10, 3.0, validation_data, None,
                      restore_best=False, verbose=False)
    assert net.accuracy(validation_data) == history.validation_accuracy[-1]


def test_evaluation_counts_every_example(subset):
    training_data, _, _ = subset(100)
    net = Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], 10)
    net.SGD(training_data, 1, 10, 0.1, None, None, verbose=False)
    x, y = [v.get_value() for v in subset(100, 1003)[1]]
    predictions = net.predict(x)
    assert predictions.shape == (1003,)
    assert net.accuracy((x, y)) == np.mean(predictions == y)
    # predictions do not depend on how the images are batched
    np.testing.assert_array_equal(net.predict(x[:7]), predictions[:7])


def test_epochs_zero_and_no_test_data(subset, capsys):
    training_data, validation_data, _ = subset(100, 50)
    net = Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], 10)
    history = net.SGD(training_data, 0, 10, 0.1, validation_data, None)
    assert history.epochs == 0
    assert capsys.readouterr().out == "Finished training network.\n"
    history = net.SGD(training_data, 1, 10, 0.1, validation_data, None)
    out = capsys.readouterr().out
    assert "Corresponding test accuracy" not in out
    assert "Best validation accuracy of" in out


def test_sgd_twice_continues_and_reuses_the_compiled_step(subset):
    training_data, validation_data, _ = subset(500, 200)

    def net():
        return Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], 10)
    a, b = net(), net()
    for _ in range(2):
        a.SGD(training_data, 1, 10, 0.5, validation_data, None,
              restore_best=False, verbose=False)
    b.SGD(training_data, 2, 10, 0.5, validation_data, None,
          restore_best=False, verbose=False)
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa.get_value(), pb.get_value())
    assert a.engine.compilations == 1
    a.SGD(training_data, 1, 10, 0.1, validation_data, None, lmbda=0.1, verbose=False)
    a.SGD(training_data, 1, 10, 0.2, validation_data, None, lmbda=1.0, verbose=False)
    assert a.engine.compilations == 2     # without and with L2


def test_two_networks_share_nothing(subset):
    training_data, _, _ = subset(100)
    a = Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], 10)
    b = Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], 10)
    a.SGD(training_data, 1, 10, 0.1, None, None, verbose=False)
    assert not np.array_equal(a.params[0].get_value(), b.params[0].get_value())
    assert a.params[0].name == "FullyConnectedLayer0.w"


def test_seed_makes_dropout_training_repeatable(subset):
    training_data, validation_data, _ = subset(300, 100)

    def run():
        network3.seed(11)
        net = Network([FullyConnectedLayer(784, 30, p_dropout=0.5),
                       FullyConnectedLayer(30, 20, p_dropout=0.5),
                       SoftmaxLayer(20, 10, p_dropout=0.5)], 10)
        history = net.SGD(training_data, 1, 10, 0.1, validation_data, None,
                          verbose=False)
        return history, [p.get_value() for p in net.params]

    (h1, p1), (h2, p2) = run(), run()
    assert h1.cost == h2.cost and h1.validation_accuracy == h2.validation_accuracy
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)


def test_dropout_layers_draw_independent_masks():
    network3.seed(5)
    net = Network([FullyConnectedLayer(50, 50, activation_fn=lambda z: z, p_dropout=0.5),
                   SoftmaxLayer(50, 2, p_dropout=0.5)], 1)
    rngs = network3.ops.rng_updates([net.output_dropout])
    assert len(rngs) == 2
    seeds = [rng.get_value().bit_generator.state["state"]["state"] for rng, _ in rngs]
    assert seeds[0] != seeds[1]


def test_one_epoch_of_the_fc_baseline_reaches_92_percent(mnist):
    training_data, validation_data, test_data = (network3.shared(p) for p in mnist)
    network3.seed(0)
    net = Network([FullyConnectedLayer(n_in=784, n_out=100),
                   SoftmaxLayer(n_in=100, n_out=10)], 10)
    history = net.SGD(training_data, 1, 10, 0.1, validation_data, test_data,
                      verbose=False)
    assert history.best_validation_accuracy >= 0.92


def test_short_run_of_the_relu_conv_net_learns(subset):
    training_data, validation_data, test_data = subset(3000, 1000, 1000)
    network3.seed(0)
    mbs = 10
    net = Network([ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                                 poolsize=(2, 2), activation_fn=ReLU),
                   ConvPoolLayer(image_shape=(mbs, 20, 12, 12), filter_shape=(40, 20, 5, 5),
                                 poolsize=(2, 2), activation_fn=ReLU),
                   FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=ReLU),
                   SoftmaxLayer(n_in=100, n_out=10)], mbs)
    history = net.SGD(training_data, 1, mbs, 0.03, validation_data, test_data,
                      lmbda=0.1, verbose=False)
    # an untrained net scores about 10%; 300 mini-batches reach about 84%
    assert history.best_validation_accuracy >= 0.80
    assert history.best_test_accuracy >= 0.78


#### Errors
def fc_net(mbs=10):
    return Network([FullyConnectedLayer(784, 20, rng=0), SoftmaxLayer(20, 10)], mbs)


@pytest.mark.parametrize("layers, mbs, error, message", [
    ([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28)),
      ConvPoolLayer((40, 20, 5, 5), (10, 20, 12, 12)),
      FullyConnectedLayer(n_in=800, n_out=100)], 10, ValueError,
     "layer 2 (FullyConnectedLayer): n_in=800 but layer 1 (ConvPoolLayer) "
     "outputs 40*4*4=640 values per image"),
    ([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28)),
      ConvPoolLayer((40, 20, 5, 5), (10, 20, 11, 12))], 10, ValueError,
     "layer 1 (ConvPoolLayer): image_shape=(10, 20, 11, 12) takes 2640 values "
     "per image but layer 0 (ConvPoolLayer) outputs 20*12*12=2880 values per image"),
    ([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), border_mode="half",
                    subsample=(2, 2), pool_mode="l2"),
      FullyConnectedLayer(n_in=640, n_out=100)], 10, ValueError,
     "layer 1 (FullyConnectedLayer): n_in=640 but layer 0 (ConvPoolLayer) "
     "outputs 20*7*7=980 values per image"),
    ([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), pool_stride=(1, 1)),
      ConvPoolLayer((40, 20, 5, 5), (10, 20, 12, 12))], 10, ValueError,
     "layer 1 (ConvPoolLayer): image_shape=(10, 20, 12, 12) takes 2880 values "
     "per image but layer 0 (ConvPoolLayer) outputs 20*23*23=10580 values per image"),
    ([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28))], 5, ValueError,
     "layer 0 (ConvPoolLayer): image_shape[0]=10 but mini_batch_size=5"),
    ([], 10, TypeError, "non-empty list of layers"),
    ([FullyConnectedLayer(784, 10), "softmax"], 10, TypeError,
     "layer 1 must be a layer"),
    ([SoftmaxLayer(784, 10)], 0, ValueError, "mini_batch_size must be a positive"),
])
def test_network_rejects_layers_that_do_not_fit(layers, mbs, error, message):
    with pytest.raises(error) as info:
        Network(layers, mbs)
    assert message in str(info.value)


@pytest.mark.parametrize("change, error, message", [
    (dict(mini_batch_size=20), ValueError, "mini_batch_size=20 but the network"),
    (dict(eta=-1.0), ValueError, "eta must be a positive number, got -1.0"),
    (dict(eta="0.1"), ValueError, "eta must be a positive number, got '0.1'"),
    (dict(lmbda=float("nan")), ValueError, "lmbda must be a non-negative number"),
    (dict(epochs=-1), ValueError, "epochs must be a non-negative integer, got -1"),
    (dict(epochs=2.5), ValueError, "epochs must be a non-negative integer, got 2.5"),
    (dict(training_data=[1, 2, 3]), TypeError, "training_data must be a pair"),
    (dict(training_data=(np.zeros((30, 784)), np.zeros(29, "int32"))),
     network3.DataError, "30 images but 29 labels"),
    (dict(training_data=(np.zeros((30, 100)), np.zeros(30, "int32"))),
     ValueError, "images have 100 values each but layer 0 (FullyConnectedLayer) expects 784"),
    (dict(training_data=(np.zeros((30, 784)), np.full(30, 10, "int32"))),
     ValueError, "labels go up to 10 but the last layer (SoftmaxLayer) has only 10"),
    (dict(training_data=(np.zeros((5, 784)), np.zeros(5, "int32"))),
     ValueError, "5 images, fewer than one mini-batch of 10"),
    (dict(validation_data=(np.zeros((5, 784)), np.zeros(5, "float32"))),
     network3.DataError, "validation_data: labels must be a 1-D integer array"),
])
def test_sgd_rejects_bad_arguments_before_compiling(change, error, message):
    arguments = dict(training_data=(np.zeros((30, 784), "float32"), np.zeros(30, "int32")),
                     epochs=1, mini_batch_size=10, eta=0.1,
                     validation_data=None, test_data=None)
    arguments.update(change)
    net = fc_net()
    with pytest.raises(error) as info:
        net.SGD(**arguments)
    assert message in str(info.value)
    assert net.engine.compilations == 0


def test_sgd_needs_a_cost_layer():
    net = Network([FullyConnectedLayer(784, 10, rng=0)], 10)
    with pytest.raises(TypeError, match="end the network with a SoftmaxLayer"):
        net.SGD((np.zeros((30, 784)), np.zeros(30, "int32")), 1, 10, 0.1, None, None)


def test_predict_rejects_wrong_image_size():
    with pytest.raises(ValueError, match=r"shape \(n, 784\).*got shape \(3, 100\)"):
        fc_net().predict(np.zeros((3, 100)))


def test_repr():
    assert repr(fc_net()).startswith("Network([FullyConnectedLayer(n_in=784, n_out=20")


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_output_gives_each_layers_activations(mnist, backend):
    """A ConvPool layer's feature maps and a fully connected layer's
    activations, as SciPy/NumPy compute them from the same weights (dropout
    scaled as in prediction); one image or many."""
    network3.seed(12)
    net = Network([ConvPoolLayer((3, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU),
                   FullyConnectedLayer(3 * 12 * 12, 7, activation_fn=sigmoid,
                                       p_dropout=0.5),
                   SoftmaxLayer(7, 10)], 10, backend=backend,
                  **({"device": "cpu"} if backend == "jax" else {}))
    images = mnist[2][0][:6]
    (w, b), (w1, b1) = ([p.get_value().astype(float) for p in layer.params]
                        for layer in net.layers[:2])
    maps = np.maximum(0, reference_pool(reference_conv(images.reshape(6, 1, 28, 28), w),
                                        (2, 2)) + b[None, :, None, None])
    hidden = 1 / (1 + np.exp(-(0.5 * maps.reshape(6, -1) @ w1 + b1)))
    got = net.layer_output(images)
    assert got.shape == (6, 3, 12, 12)
    np.testing.assert_allclose(got, maps, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.layer_output(images[2].reshape(28, 28)), maps[2],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.layer_output(images, 1), hidden, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.layer_output(images, 2), net.predict_proba(images),
                               rtol=1e-6)
    for wrong in (3, -1, 1.0, True, "0"):
        with pytest.raises(ValueError, match=r"layer: expected a layer's index, 0\.\.2, "
                                             r"got " + re.escape(repr(wrong))):
            net.layer_output(images, wrong)
