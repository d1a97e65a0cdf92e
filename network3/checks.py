"""checks.py
~~~~~~~~~~~~~

The argument checks constructors share (layers, schedules, update rules):
each returns the value it was given, normalised, or raises naming the
owner, the argument, what was expected and what was given, so that a
mistake is reported before anything compiles.

"""

#### Libraries
# Standard library
import math
import numbers


def positive_int(owner, name, value):
    """Return ``value`` as an int, or raise naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("{0}: {1} must be a positive integer, got {2!r}".format(
            owner, name, value))
    if value <= 0:
        raise ValueError("{0}: {1} must be a positive integer, got {2!r}".format(
            owner, name, value))
    return int(value)


def int_tuple(owner, name, value, length, minimum=1):
    """Return ``value`` as a tuple of ``length`` ints, each at least
    ``minimum`` (1 or 0), or raise."""
    kind = "positive" if minimum == 1 else "non-negative"
    if not isinstance(value, (tuple, list)) or len(value) != length:
        raise TypeError(
            "{0}: {1} must be a tuple of {2} {3} integers, got {4!r}".format(
                owner, name, length, kind, value))
    if minimum == 1:
        return tuple(positive_int(owner, "{0}[{1}]".format(name, j), v)
                     for j, v in enumerate(value))
    if not all(is_natural(v) for v in value):
        raise ValueError("{0}: {1} must be a tuple of {2} non-negative integers, "
                         "got {3!r}".format(owner, name, length, value))
    return tuple(int(v) for v in value)


def is_natural(value):
    """Whether ``value`` is an int (not a bool) >= 0."""
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and value >= 0)


def choice(owner, name, value, choices):
    """Return ``value`` if it is one of ``choices``, or raise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError("{0}: {1} must be one of {2}, got {3!r}".format(
            owner, name, ", ".join(repr(c) for c in choices), value))
    return value


def probability(owner, name, value):
    """Return ``value`` as a float in [0, 1), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{0}: {1} must be a number in [0, 1), got {2!r}".format(
            owner, name, value))
    if not 0.0 <= value < 1.0:
        raise ValueError("{0}: {1} must be in [0, 1), got {2!r}".format(
            owner, name, value))
    return float(value)


def positive_number(owner, name, value):
    """``value`` as a float, if it is a positive finite number; else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError("{0}: {1} must be a positive number, got {2!r}".format(
            owner, name, value))
    return float(value)


def fraction(owner, name, value):
    """``value`` as a float, if it is a number in [0, 1); else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0 <= value < 1:
        raise ValueError("{0}: {1} must be a number in [0, 1), got {2!r}".format(
            owner, name, value))
    return float(value)
