"""updates.py: every rule moves the parameters as a NumPy re-implementation
of its published formula does, over several mini-batches and a schedule's
changing eta, on both back ends; its state starts at zero in every SGD call;
a user's own rule trains; bad hyper-parameters are refused."""

import numpy as np
import pytest

from network3 import FullyConnectedLayer, Network, SoftmaxLayer, updates

from conftest import BACKENDS
from test_network import numpy_sgd_step, tiny_data


def numpy_rule(name, hyper):
    """``step(params, grads, eta, state) -> (params, state)`` in float64
    NumPy, each rule as its paper (and Lasagne) writes it; ``state`` starts
    as None."""
    def step(params, grads, eta, state):
        if state is None:
            state = {"t": 0, "a": [np.zeros_like(p) for p in params],
                     "b": [np.zeros_like(p) for p in params]}
        a, b, out = state["a"], state["b"], []
        state["t"] += 1
        t = state["t"]
        for k, (p, g) in enumerate(zip(params, grads)):
            if name == "sgd":
                p = p - eta * g
            elif name == "momentum":
                a[k] = hyper["mu"] * a[k] - eta * g
                p = p + a[k]
            elif name == "nesterov":
                a[k] = hyper["mu"] * a[k] - eta * g
                p = p + hyper["mu"] * a[k] - eta * g
            elif name == "adagrad":
                a[k] = a[k] + g**2
                p = p - eta * g / np.sqrt(a[k] + hyper["epsilon"])
            elif name == "rmsprop":
                a[k] = hyper["rho"] * a[k] + (1 - hyper["rho"]) * g**2
                p = p - eta * g / np.sqrt(a[k] + hyper["epsilon"])
            elif name == "adam":
                a[k] = hyper["beta1"] * a[k] + (1 - hyper["beta1"]) * g
                b[k] = hyper["beta2"] * b[k] + (1 - hyper["beta2"]) * g**2
                m_hat = a[k] / (1 - hyper["beta1"]**t)
                v_hat = b[k] / (1 - hyper["beta2"]**t)
                p = p - eta * m_hat / (np.sqrt(v_hat) + hyper["epsilon"])
            out.append(p)
        return out, state
    return step


def numpy_run(step, params, x, y, etas, lmbda, mbs):
    """Train FC(sigmoid) + softmax in NumPy with the rule ``step``, one epoch
    per entry of ``etas``, state starting at zero."""
    state, n = None, len(x) // mbs
    for eta in etas:
        for k in range(n):
            # numpy_sgd_step with eta 1 moves each parameter by -grad
            moved, _ = numpy_sgd_step(params, x[mbs*k:mbs*(k+1)], y[mbs*k:mbs*(k+1)],
                                      1.0, lmbda, n)
            grads = [p - m for p, m in zip(params, moved)]
            params, state = step(params, grads, eta, state)
    return params


RULES = [("sgd", {}), ("momentum", {"mu": 0.8}), ("nesterov", {"mu": 0.7}),
         ("adagrad", {"epsilon": 1e-6}), ("rmsprop", {"rho": 0.8, "epsilon": 1e-6}),
         ("adam", {"beta1": 0.9, "beta2": 0.99, "epsilon": 1e-8})]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, hyper", RULES)
def test_each_rule_matches_its_numpy_formula(name, hyper, backend):
    x, y = tiny_data(16, 12, 3, seed=4)
    net = Network([FullyConnectedLayer(12, 5, rng=2), SoftmaxLayer(5, 3)], 4,
                  backend=backend, device="cpu")
    start = [p.get_value().astype(float) for p in net.params]
    rule = updates.RULES[name](**hyper)
    eta = 0.05 if name in ("adam", "rmsprop", "adagrad") else 0.5
    schedule = lambda epoch: eta * 0.5**epoch
    history = net.SGD((x, y), 3, 4, schedule, None, None, lmbda=0.2, update=rule,
                      verbose=False)
    expected = numpy_run(numpy_rule(name, hyper), start, x, y, history.eta, 0.2, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=2e-4, atol=2e-5)
    # another call starts the rule's state afresh and compiles nothing new
    net.SGD((x, y), 1, 4, eta, None, None, lmbda=0.2, update=rule, verbose=False)
    expected = numpy_run(numpy_rule(name, hyper), expected, x, y, [eta], 0.2, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=2e-4, atol=2e-5)
    assert net.engine.compilations == 1


def test_other_hyper_parameters_reuse_the_compiled_step():
    x, y = tiny_data(16, 12, 3, seed=4)
    net = Network([FullyConnectedLayer(12, 5, rng=2), SoftmaxLayer(5, 3)], 4)
    start = [p.get_value().astype(float) for p in net.params]
    net.SGD((x, y), 1, 4, 0.5, None, None, update=updates.momentum(0.5), verbose=False)
    for p, value in zip(net.params, start):
        p.set_value(value.astype("float32"))
    net.SGD((x, y), 1, 4, 0.5, None, None, update=updates.momentum(0.9), verbose=False)
    expected = numpy_run(numpy_rule("momentum", {"mu": 0.9}), start, x, y, [0.5], 0.0, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=2e-4, atol=2e-5)
    assert net.engine.compilations == 1


class sign_descent(updates.UpdateRule):
    """A user's rule: each weight moves by eta against its gradient's sign."""

    name = "sign"

    def __init__(self, scale=1.0):
        super().__init__(scale=scale)

    def step(self, params, grads, eta, hyper):
        import pytensor.tensor as T
        return [(p, p - hyper["scale"] * eta * T.sign(g))
                for p, g in zip(params, grads)], []


def test_a_users_own_rule_trains():
    x, y = tiny_data(16, 12, 3, seed=4)
    net = Network([FullyConnectedLayer(12, 5, rng=2), SoftmaxLayer(5, 3)], 4)
    start = [p.get_value().astype(float) for p in net.params]
    net.SGD((x, y), 1, 4, 0.01, None, None, update=sign_descent(2.0), verbose=False)
    step = lambda params, grads, eta, state: (
        [p - 2.0 * eta * np.sign(g) for p, g in zip(params, grads)], state)
    expected = numpy_run(step, start, x, y, [0.01], 0.0, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: updates.momentum(1.0), "momentum: mu must be a number in [0, 1), got 1.0"),
    (lambda: updates.adam(beta2=-0.1), "adam: beta2 must be a number in [0, 1)"),
    (lambda: updates.rmsprop(epsilon=0), "rmsprop: epsilon must be a positive number"),
    (lambda: updates.by_name("sgdd"), "update must be one of sgd, momentum, nesterov"),
])
def test_bad_hyper_parameters_are_refused(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_sgd_refuses_a_rule_that_is_not_one_and_momentum_with_a_rule():
    x, y = tiny_data(16, 12, 3, seed=4)
    net = Network([FullyConnectedLayer(12, 5, rng=2), SoftmaxLayer(5, 3)], 4)
    with pytest.raises(TypeError, match="update must be an update rule such as"):
        net.SGD((x, y), 1, 4, 0.1, None, None, update=0.9)
    with pytest.raises(ValueError, match="give momentum=0.5 or update=adam"):
        net.SGD((x, y), 1, 4, 0.1, None, None, update=updates.adam(), momentum=0.5)
    assert net.engine.compilations == 0
