"""compat/theano/sandbox
~~~~~~~~~~~~~~~~~~~~~~~~

``theano.sandbox``: ``rng_mrg`` (``MRG_RandomStreams``).  Theano's old CUDA
back end (``theano.sandbox.cuda``) is gone: ``THEANO_FLAGS=device=gpu``
compiles ``theano.function`` through JAX instead.

"""

from network3.compat.forwarding import forward
from network3.compat.theano.sandbox import rng_mrg  # noqa: F401

__getattr__, __dir__ = forward(globals(), "theano.sandbox", missing={
    "cuda": "Theano's old CUDA back end is gone; THEANO_FLAGS=device=gpu compiles "
            "theano.function through JAX",
    "gpuarray": "Theano's CUDA back ends are gone; THEANO_FLAGS=device=gpu compiles "
                "theano.function through JAX",
})
