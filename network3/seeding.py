"""seeding.py
~~~~~~~~~~~

Where network3's random numbers come from: initial weights and biases, and
the seeds of the dropout masks.

The 2015 network3 drew initial weights from NumPy's global generator and gave
every dropout layer the same fixed seed.  Here one call,
``network3.seed(n)``, makes a whole run repeatable: the weights of every
layer built afterwards and every dropout mask drawn while training.  Without
it, network3 still honours ``np.random.seed(n)``, as the original did.

"""

#### Libraries
# Third-party libraries
import numpy as np

_generator = None


def seed(n):
    """Make everything network3 draws from now on repeatable.

    Parameters
    ----------
    n : int
        Any non-negative integer.  Call ``seed`` *before* building the layers:
        they draw their initial weights when they are constructed.
    """
    global _generator
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise TypeError(
            "seed: n must be a non-negative integer, got {0!r}".format(n))
    _generator = np.random.default_rng(int(n))


def reset():
    """Forget the seed set by :func:`seed`: from now on network3 draws from
    NumPy's global state again, as it does in a fresh process."""
    global _generator
    _generator = None


def get_state():
    """The state of the generator :func:`seed` set (a dict of plain
    numbers), or None if ``seed`` was not called."""
    return None if _generator is None else _generator.bit_generator.state


def set_state(state):
    """Put the generator :func:`seed` sets in ``state`` (from
    :func:`get_state`; None: as if ``seed`` had not been called)."""
    global _generator
    if state is None:
        _generator = None
        return
    _generator = np.random.default_rng()
    _generator.bit_generator.state = state


def get_rng(rng=None):
    """Return the NumPy generator to draw from.

    ``rng`` may be a ``numpy.random.Generator`` (returned as is), an integer
    seed, or ``None``: then the generator set by :func:`seed`, or, if ``seed``
    was never called, a fresh generator seeded from NumPy's global state (so
    that ``np.random.seed`` still governs network3, as in 2015).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None:
        if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
            raise TypeError(
                "rng must be a numpy.random.Generator, an integer seed or "
                "None, got {0!r}".format(rng))
        return np.random.default_rng(int(rng))
    if _generator is not None:
        return _generator
    return np.random.default_rng(np.random.randint(2**31 - 1))


def new_seed(rng=None):
    """Draw an integer seed (for a dropout mask's generator) from ``get_rng(rng)``."""
    return int(get_rng(rng).integers(2**63 - 1))
