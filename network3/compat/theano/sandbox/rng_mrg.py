"""compat/theano/sandbox/rng_mrg.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.sandbox.rng_mrg.MRG_RandomStreams``: Theano's GPU-friendly random
streams, with their signatures (``size`` first and required for
``uniform`` and ``normal``, ``nstreams``), on PyTensor's generators (see
``shared_randomstreams``: the draws are NumPy's, not MRG31k3p's).

"""

from network3.compat.theano.tensor.shared_randomstreams import RandomStreams


class MRG_RandomStreams(RandomStreams):
    """Symbolic random draws, seeded by ``seed`` (default 12345, as in Theano)."""

    def __init__(self, seed=12345):
        super().__init__(seed)

    def binomial(self, size=None, n=1, p=None, ndim=None, dtype="int64", nstreams=None,
                 **kwargs):
        """1 with probability ``p`` (Theano's MRG draws one trial: ``n=1``)."""
        if n != 1:
            raise NotImplementedError("MRG_RandomStreams.binomial: only n=1 is "
                                      "implemented, as in Theano; got n={0!r}".format(n))
        if p is None:
            raise TypeError("MRG_RandomStreams.binomial: p is required")
        return super().binomial(size, 1, p, dtype=dtype)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None,
                **kwargs):
        """Uniform on ``[low, high)``, as ``dtype`` (default floatX)."""
        return super().uniform(size, low, high, dtype=dtype)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None,
               truncate=False, **kwargs):
        """Normal of mean ``avg`` and standard deviation ``std``."""
        if truncate:
            raise NotImplementedError("MRG_RandomStreams.normal: truncate=True is not "
                                      "implemented by network3's Theano compatibility "
                                      "layer")
        return super().normal(size, avg, std, dtype=dtype)
