"""backends/__init__.py: choosing the back end and the device in one
place, and each back end behind the same interface.  (The JAX back end's
own tests: test_backends_jax.py; the Numba kernels: test_ops.py.)"""

import numpy as np
import pytest

import network3
from network3 import backends, ops
from network3.backends.base import Backend
from network3.layers import SoftmaxLayer


def test_gpu_without_cuda_runs_on_the_cpu_with_one_line(capsys):
    backend, device = backends.select("gpu")
    usable, _ = backends.find_jax("gpu")
    if usable:
        assert (backend, device) == ("jax", "gpu")
        return
    assert (backend, device) == ("numba", "cpu")
    backends.select("cuda")                    # the same line, not again
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert "device=gpu was asked for" in lines[0] and "running on the CPU" in lines[0]
    backends.forget_notices()
    backends.select("gpu")
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_the_gpu_flag_of_2015(capsys):
    network3.GPU = True
    assert network3.config.GPU is True
    net = network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10)
    assert net.device == ("gpu" if backends.find_jax("gpu")[0] else "cpu")
    network3.GPU = False
    assert network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10).device == "cpu"


@pytest.mark.parametrize("kwargs, message", [
    ({"device": "tpu"}, "device must be 'cpu', 'gpu' or 'cuda', got 'tpu'"),
    ({"backend": "theano"}, "backend must be one of 'numba', 'jax', got 'theano'"),
])
def test_bad_device_or_backend_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10, **kwargs)


def test_each_network_gets_its_own_back_end():
    a = network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10)
    b = network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10)
    assert (a.backend, a.device) == ("numba", "cpu")
    assert isinstance(a.engine, Backend) and a.engine is not b.engine
    assert a.engine.name == "numba" and a.engine.compilations == 0


def test_jax_on_the_cpu_when_asked():
    pytest.importorskip("jax")
    net = network3.Network([SoftmaxLayer(n_in=784, n_out=10)], 10, backend="jax",
                           device="cpu")
    assert (net.backend, net.device, net.engine.name) == ("jax", "cpu", "jax")


@pytest.mark.parametrize("name", list(backends.BACKENDS))
@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.__name__)
def test_every_back_end_has_a_kernel_for_every_op(name, op):
    cls = backends.BACKENDS[name]
    for device in cls.devices:
        if cls.available(device)[0]:
            break
    else:
        pytest.skip("{0} cannot run here".format(name))
    assert cls.provides(op), "the {0} back end has no kernel for {1}".format(
        name, op.__name__)


def test_an_op_without_a_kernel_is_caught():
    """The check above can fail: an Op no back end has a kernel for."""
    from pytensor.graph.op import Op

    class Lonely(Op):
        def make_node(self, x):
            raise NotImplementedError

        def perform(self, node, inputs, outputs):
            raise NotImplementedError
    for name, cls in backends.BACKENDS.items():
        if cls.available("cpu")[0]:
            assert not cls.provides(Lonely), name


def test_predict_and_evaluate_go_through_any_number_of_images_in_batches():
    """Base's batching, on each back end: 0, fewer than one batch, and a
    partial last batch, against NumPy."""
    from conftest import numpy_forward
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(613, 784)).astype("float32")
    labels = rng.integers(10, size=613).astype("int32")
    for name in backends.BACKENDS:
        if not backends.BACKENDS[name].available("cpu")[0]:
            continue
        network3.seed(1)
        net = network3.Network([network3.FullyConnectedLayer(784, 12),
                                SoftmaxLayer(n_in=12, n_out=10, p_dropout=0.2)], 10,
                               backend=name, device="cpu")
        net.layers[-1].w.set_value(rng.normal(size=(12, 10)).astype("float32"))
        probabilities = numpy_forward(net.layers, images)
        for n in (0, 7, 250, 613):
            expected = probabilities[:n].argmax(axis=1)
            np.testing.assert_array_equal(net.predict(images[:n]), expected)
        correct, cost = net.engine.evaluate(net.prediction_graph, images, labels)
        assert correct == int((probabilities.argmax(axis=1) == labels).sum())
        np.testing.assert_allclose(
            cost, -np.log(probabilities[np.arange(613), labels]).sum(), rtol=1e-4)
