"""seeding.py: network3.seed makes weights and masks repeatable, reset goes
back to NumPy's global state, and get_rng takes what it says."""

import numpy as np
import pytest

import network3
from network3 import FullyConnectedLayer, seeding


def weights():
    return FullyConnectedLayer(5, 3).w.get_value()


def test_seed_repeats_and_reset_returns_to_numpys_global_state():
    network3.seed(3)
    a = weights()
    network3.seed(3)
    np.testing.assert_array_equal(weights(), a)
    network3.seed(4)
    assert not np.array_equal(weights(), a)
    seeding.reset()
    np.random.seed(9)
    b = weights()
    np.random.seed(9)
    np.testing.assert_array_equal(weights(), b)      # as in 2015: np.random.seed rules


def test_the_seeded_generators_state_goes_back_where_it_was():
    assert seeding.get_state() is None
    network3.seed(3)
    seeding.new_seed()
    state = seeding.get_state()
    following = [seeding.new_seed() for _ in range(3)]
    seeding.reset()
    seeding.set_state(state)
    assert [seeding.new_seed() for _ in range(3)] == following
    seeding.set_state(None)
    assert seeding.get_state() is None


def test_get_rng_and_new_seed():
    generator = np.random.default_rng(0)
    assert seeding.get_rng(generator) is generator
    assert seeding.get_rng(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert seeding.new_seed(5) == int(np.random.default_rng(5).integers(2**63 - 1))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        seeding.get_rng(1.5)
    with pytest.raises(TypeError, match="seed: n must be a non-negative integer"):
        network3.seed(-1)
