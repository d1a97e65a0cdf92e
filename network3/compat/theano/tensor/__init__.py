"""compat/theano/tensor
~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor``: PyTensor's ``pytensor.tensor`` (``T.matrix``, ``T.dot``,
``T.mean``, ``T.grad``, ...), with ``nnet``, ``signal`` and
``shared_randomstreams`` served by network3 and the few names PyTensor
renamed under their Theano names (``abs_``, ``inv``, ``flatten(x,
outdim)``, ``addbroadcast``).

"""

#### Libraries
# Third-party libraries
import pytensor.tensor as pt

# network3
from network3.compat.forwarding import forward
from network3.compat.theano.tensor import nnet, shared_randomstreams, signal  # noqa: F401


def flatten(x, outdim=1, ndim=None):
    """``theano.tensor.flatten``: ``x`` with its last axes merged so that
    ``outdim`` remain (PyTensor's ``ndim``)."""
    return pt.flatten(x, outdim if ndim is None else ndim)


def addbroadcast(x, *axes):
    """``theano.tensor.addbroadcast``: ``x`` with ``axes`` known to be of length 1."""
    return pt.specify_broadcastable(x, *axes)


__getattr__, __dir__ = forward(globals(), "theano.tensor", "pytensor.tensor", renamed={
    "abs_": "pytensor.tensor:abs",
    "inv": "pytensor.tensor:reciprocal",
    "NotScalarConstantError": "pytensor.tensor.exceptions:NotScalarConstantError",
    "Rop": "pytensor.gradient:Rop",
    "Lop": "pytensor.gradient:Lop",
    "raw_random": "pytensor.tensor.random.basic",
}, missing={
    "patternbroadcast": "PyTensor's types carry static shapes instead: use "
                        "T.specify_shape or T.specify_broadcastable",
    "unbroadcast": "PyTensor's types carry static shapes instead; none to undo",
    "opt": "Theano's graph optimisations are PyTensor's rewrites "
           "(pytensor.tensor.rewriting)",
})
