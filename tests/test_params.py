"""params.py: initial weights drawn with the spread each rule prescribes
(checked on large draws against the formula), biases as each says."""

import numpy as np
import pytest

from network3 import config, params


@pytest.mark.parametrize("init, variance, zero_biases", [
    ("book", 1 / 50, False), ("he", 2 / 400, True), ("glorot", 2 / (400 + 300), True)])
def test_each_rule_draws_with_its_variance(init, variance, zero_biases):
    rng = np.random.default_rng(0)
    w, b = params.initial(init, rng, (400, 300), 400, 300, 50)
    assert w.shape == (400, 300) and b.shape == (300,)
    # 120,000 draws: the sample variance is within 2% of the formula's
    assert abs(w.var() / variance - 1) < 0.02 and abs(w.mean()) < 0.01 * variance ** 0.5
    assert (not b.any()) if zero_biases else abs(b.var() - 1) < 0.2
    w, b = params.initial(init, rng, (20, 3, 5, 5), 75, 500, 125)
    assert b.shape == (20,)                   # one bias per filter


def test_a_parameter_is_a_named_floatx_shared_variable():
    p = params.parameter(np.ones((2, 3)), "w")
    assert p.name == "w" and p.get_value().dtype == config.floatX
