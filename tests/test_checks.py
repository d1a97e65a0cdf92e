"""checks.py: each check passes good values through, normalised, and
names the owner, the argument, what was expected and what was given."""

import pytest

from network3 import checks


def test_good_values_come_back_normalised():
    assert checks.positive_int("L", "n", 3) == 3
    assert checks.int_tuple("L", "shape", [2, 3], 2) == (2, 3)
    assert checks.int_tuple("L", "pad", (0, 1), 2, minimum=0) == (0, 1)
    assert checks.choice("L", "mode", "max", ("max", "l2")) == "max"
    assert checks.probability("L", "p", 0.5) == 0.5
    assert checks.positive_number("L", "eta", 2) == 2.0
    assert checks.fraction("L", "mu", 0) == 0.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: checks.positive_int("L", "n", True), TypeError,
     "L: n must be a positive integer, got True"),
    (lambda: checks.positive_int("L", "n", 0), ValueError, "got 0"),
    (lambda: checks.int_tuple("L", "shape", (1,), 2), TypeError,
     "L: shape must be a tuple of 2 positive integers, got (1,)"),
    (lambda: checks.int_tuple("L", "shape", (1, 0), 2), ValueError, "shape[1]"),
    (lambda: checks.int_tuple("L", "pad", (1, -1), 2, minimum=0), ValueError,
     "non-negative integers"),
    (lambda: checks.choice("L", "mode", "avg", ("max", "l2")), ValueError,
     "L: mode must be one of 'max', 'l2', got 'avg'"),
    (lambda: checks.probability("L", "p", 1.0), ValueError, "L: p must be in [0, 1)"),
    (lambda: checks.probability("L", "p", "0.5"), TypeError, "a number in [0, 1)"),
    (lambda: checks.positive_number("L", "eta", float("inf")), ValueError,
     "L: eta must be a positive number, got inf"),
    (lambda: checks.fraction("L", "mu", 1), ValueError,
     "L: mu must be a number in [0, 1), got 1"),
])
def test_bad_values_are_named(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
