"""activations.py: each activation function against its formula in NumPy,
and the one table of them by name."""

import numpy as np
import pytensor
import pytensor.tensor as T
import pytest

from network3 import activations, config


@pytest.mark.parametrize("name, formula", [
    ("linear", lambda z: z),
    ("ReLU", lambda z: np.maximum(0.0, z)),
    ("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))),
    ("tanh", lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))),
])
def test_each_activation_is_its_formula(name, formula):
    z = T.matrix()
    f = pytensor.function([z], activations.ACTIVATIONS[name](z))
    values = np.linspace(-6, 6, 25, dtype=config.floatX).reshape(5, 5)
    np.testing.assert_allclose(f(values), formula(values.astype(float)), rtol=1e-5,
                               atol=1e-6)


def test_names_in_any_case_and_back():
    assert activations.by_name("relu") is activations.ReLU
    assert activations.by_name("Sigmoid") is activations.sigmoid
    for name, fn in activations.ACTIVATIONS.items():
        assert activations.name_of(fn) == name
    assert activations.name_of(lambda z: z) is None
    with pytest.raises(ValueError, match="unknown activation function 'swish'; choose "
                                         "one of linear, ReLU, sigmoid, tanh"):
        activations.by_name("swish")
