"""backends/__init__.py: choosing the back end and the device in one
place, and each back end behind the same interface.  (The JAX back end's
own tests: test_backends_jax.py; the Numba kernels: test_ops.py.)"""

import pytest

import network3
from network3 import backends
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
