"""Shared fixtures: the bundled MNIST, loaded once, and small subsets of it;
every test starting from the same process-wide state; and an independent
NumPy forward pass to check whole networks against."""

import numpy as np
import pytest
from scipy.signal import convolve2d

import network3
from network3 import backends, seeding


#: The back ends to run a test on: JAX (on the CPU) where it is installed.
BACKENDS = ["numba", pytest.param("jax", marks=pytest.mark.skipif(
    not backends.find_jax("cpu")[0], reason="JAX is not installed"))]


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST as NumPy arrays: (training, validation, test)."""
    return network3.load_data()


@pytest.fixture(scope="session")
def subset(mnist):
    """Return ``subset(n_train, n_valid, n_test)``: the first images of each
    set, as shared variables, as load_data_shared gives them."""
    def make(n_train, n_valid=1000, n_test=1000):
        return [network3.shared((x[:n], y[:n]))
                for (x, y), n in zip(mnist, (n_train, n_valid, n_test))]
    return make


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test sees what a fresh process would: no network3.seed, NumPy's
    global generator in a fixed state, every once-only line unsaid, the
    GPU flag as the environment set it."""
    state = np.random.get_state()
    gpu = network3.config.GPU
    seeding.reset()
    np.random.seed(1234)
    backends.forget_notices()
    yield
    seeding.reset()
    np.random.set_state(state)
    network3.config.GPU = gpu


def numpy_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {"ReLU": lambda z: np.maximum(0.0, z),
               "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
               "tanh": np.tanh, "linear": lambda z: z}


def numpy_forward(layers, images):
    """Class probabilities of ``images`` (n, pixels) through ``layers``, in
    float64 NumPy/SciPy: convolutions by scipy.signal.convolve2d (true
    convolution, as Theano's), max-pooling ignoring the border, dropout
    replaced by scaling with 1 - p_dropout, as the chapter evaluates."""
    a = np.asarray(images, dtype=float)
    for layer in layers:
        w, b = (p.get_value().astype(float) for p in layer.params)
        kind = type(layer).__name__
        if kind == "ConvPoolLayer":
            x = a.reshape((len(a),) + layer.image_shape[1:])
            conv = np.array([[sum(convolve2d(x[m, c], w[k, c], mode="valid")
                                  for c in range(x.shape[1]))
                              for k in range(w.shape[0])] for m in range(len(x))])
            n, f, h, wd = conv.shape
            ph, pw = layer.poolsize
            oh, ow = h // ph, wd // pw
            pooled = conv[:, :, :oh*ph, :ow*pw].reshape(n, f, oh, ph, ow, pw).max(
                axis=(3, 5))
            a = ACTIVATIONS[layer.activation_fn.__name__](
                pooled + b[None, :, None, None]).reshape(n, -1)
        else:
            z = (1 - layer.p_dropout) * a.reshape(len(a), -1) @ w + b
            a = (numpy_softmax(z) if kind == "SoftmaxLayer"
                 else ACTIVATIONS[layer.activation_fn.__name__](z))
    return a
