"""compat/theano/tensor/shared_randomstreams.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.shared_randomstreams.RandomStreams``: random draws in a
graph, with Theano's signatures, on PyTensor's shared generators.

As in Theano, each draw has a generator of its own in a shared variable
that ``theano.function`` advances by default (:func:`default_updates`), so
a compiled function draws afresh at every call without being told
(network3.py's dropout masks).  The generators are seeded in turn from the
stream's seed.  The numbers are
NumPy's ``Generator``'s, not Theano's ``RandomState``'s: the same seed gives
other masks than it gave in 2015.

"""

#### Libraries
# Standard library
import weakref

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytensor.tensor.random as ptr
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.variable import RandomGeneratorVariable

# network3
from network3 import checks

#: Each generator a stream made -> the expression of its next state.
_NEXT = weakref.WeakKeyDictionary()


def default_updates(variables, updated=(), excluded=()):
    """The ``(generator, next state)`` updates Theano made by default: one
    for each generator of a stream that the graphs of ``variables`` draw
    from, unless it is ``updated`` already or ``excluded``."""
    skip = set(updated) | set(excluded)
    return [(v, _NEXT[v]) for v in ancestors(variables)
            if v in _NEXT and v not in skip]


class RandomStreams(object):
    """Symbolic random draws, seeded by ``seed`` (an int, or None: a random seed).

    ``binomial``, ``uniform`` and ``normal`` take Theano's arguments; the
    other distributions of a PyTensor generator (``choice``,
    ``permutation``, ``integers``, ...) take PyTensor's.
    """

    def __init__(self, seed=None):
        if seed is not None and not checks.is_natural(seed):
            raise TypeError("{0}: seed must be a non-negative integer or None, got "
                            "{1!r}".format(type(self).__name__, seed))
        self._seeds = np.random.SeedSequence(None if seed is None else int(seed))
        self._generators = []

    def seed(self, seed=None):
        """Seed every generator made so far afresh from ``seed``, in turn."""
        self._seeds = np.random.SeedSequence(seed)
        for generator in self._generators:
            generator.set_value(np.random.default_rng(self._seeds.spawn(1)[0]))

    def updates(self):
        """The ``(generator, next generator)`` pair of every draw made so far."""
        return [(g, _NEXT[g]) for g in self._generators]

    def _draw(self, distribution, *args, **kwargs):
        """A draw from a new generator's ``distribution`` (a method name)."""
        generator = ptr.shared_rng(np.random.default_rng(self._seeds.spawn(1)[0]),
                                   borrow=True)
        _NEXT[generator], draw = getattr(generator, distribution)(*args, **kwargs)
        self._generators.append(generator)
        return draw

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        """``n`` trials of probability ``p`` per entry (``prob``: Theano's old
        name for ``p``), as ``dtype``.  One trial (network3.py's dropout
        masks) is a uniform draw below ``p``, which every back end runs."""
        if prob is not None:
            p = prob
        if isinstance(n, int) and n == 1:
            return _as(pt.lt(self._draw("uniform", 0.0, 1.0, size=_size(size)), p), dtype)
        return _as(self._draw("binomial", n, p, size=_size(size)), dtype)

    def uniform(self, size=(), low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform on ``[low, high)``, as ``dtype`` (default floatX)."""
        return _as(self._draw("uniform", low, high, size=_size(size)), dtype)

    def normal(self, size=(), avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal of mean ``avg`` and standard deviation ``std``, as ``dtype``
        (default floatX)."""
        return _as(self._draw("normal", avg, std, size=_size(size)), dtype)

    def __getattr__(self, name):
        # (a generator's distributions are methods of its class)
        distribution = getattr(RandomGeneratorVariable, name, None)
        if name.startswith("_") or not callable(distribution):
            raise AttributeError("{0} has no attribute {1!r}".format(
                type(self).__name__, name))
        return lambda *args, **kwargs: self._draw(name, *args, **kwargs)


def _size(size):
    """Theano's ``size`` (``()`` for one draw, a tuple, or a symbolic shape)
    as PyTensor's (``None`` for one draw)."""
    if size is None or (isinstance(size, (tuple, list)) and len(size) == 0):
        return None
    return size


def _as(draw, dtype):
    """``draw`` cast to ``dtype`` (floatX when None and ``draw`` is a float)."""
    if dtype is None:
        dtype = pytensor.config.floatX if draw.dtype.startswith("float") else draw.dtype
    return draw if draw.dtype == dtype else pt.cast(draw, dtype)
