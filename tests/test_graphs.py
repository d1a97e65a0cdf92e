"""graphs.py: the training graph's cost (with the L2 term on each layer's
regularized parameters), its updates and hyper-parameters, and the
prediction graph's counts and cost, against NumPy."""

import numpy as np
import pytensor

from network3 import FullyConnectedLayer, Network, SoftmaxLayer, updates

from conftest import numpy_softmax
from test_network import numpy_sgd_step, tiny_data


def tiny_net():
    return Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4)


def test_the_training_graph_is_the_books_step_with_l2():
    x, y = tiny_data(4, 16, 3, seed=1)
    net = tiny_net()
    net.layers[-1].w.set_value(np.random.default_rng(2).normal(size=(6, 3))
                               .astype("float32"))
    graph = net.training_graph(True, updates.sgd())
    graph.set_hyper_parameters(0.5, 0.3, 7, updates.sgd())
    params = [p.get_value().astype(float) for p in net.params]
    step = pytensor.function([graph.x, graph.y], graph.cost, updates=graph.updates)
    cost = step(x, y)
    expected, expected_cost = numpy_sgd_step(params, x, y, 0.5, 0.3, 7)
    np.testing.assert_allclose(cost, expected_cost, rtol=1e-5)
    for param, value in zip(net.params, expected):
        np.testing.assert_allclose(param.get_value(), value, rtol=1e-4, atol=1e-6)
    # the same shape of graph, whatever the values; another for another rule
    assert net.training_graph(True, updates.sgd()) is graph
    assert net.training_graph(True, updates.momentum(0.5)) is \
        net.training_graph(True, updates.momentum(0.9)) is not graph


def test_hyper_parameters_and_state_live_in_shared_variables():
    net = tiny_net()
    rule = updates.adam(beta1=0.8)
    graph = net.training_graph(False, rule)
    assert graph.l2 is None and sorted(graph.hyper) == ["beta1", "beta2", "epsilon"]
    graph.set_hyper_parameters(0.01, 0.0, 5, rule)
    assert float(graph.hyper["beta1"].get_value()) == np.float32(0.8)
    assert float(graph.eta.get_value()) == np.float32(0.01)
    for var in graph.state:
        var.set_value(np.ones_like(var.get_value()))
    graph.reset_state()
    assert all(not var.get_value().any() for var in graph.state)
    assert len(graph.state) == 1 + 2 * len(net.params)      # t, m and v per parameter


def test_the_prediction_graph_counts_and_costs_any_batch():
    x, y = tiny_data(9, 16, 3, seed=3)
    net = tiny_net()
    net.layers[-1].w.set_value(np.random.default_rng(4).normal(size=(6, 3))
                               .astype("float32"))
    graph = net.prediction_graph
    f = pytensor.function([graph.x, graph.y], [graph.y_out, graph.correct, graph.cost])
    w1, b1, w2, b2 = (p.get_value().astype(float) for p in net.params)
    p = numpy_softmax((1 / (1 + np.exp(-(x @ w1 + b1)))) @ w2 + b2)
    predicted, correct, cost = f(x, y)
    np.testing.assert_array_equal(predicted, p.argmax(axis=1))
    assert correct == (p.argmax(axis=1) == y).sum()
    np.testing.assert_allclose(cost, -np.log(p[np.arange(9), y]).sum(), rtol=1e-5)
