"""compat/theano/tensor/signal
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.signal``: pooling (``pool``, and ``downsample``, its name
before Theano 0.9).

"""

from network3.compat.forwarding import forward
from network3.compat.theano.tensor.signal import downsample, pool  # noqa: F401

__getattr__, __dir__ = forward(globals(), "theano.tensor.signal", missing={
    "conv": "convolve images with theano.tensor.nnet.conv2d",
})
