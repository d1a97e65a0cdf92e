"""Shared fixtures: the bundled MNIST, loaded once, and small subsets of it."""

import numpy as np
import pytest

import network3


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


def numpy_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
