"""compat/theano/tensor/nnet
~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.nnet``: the activations, costs and convolutions of Theano's
neural-network module, on PyTensor and network3's Ops.

``sigmoid`` and ``softplus`` are PyTensor's (``T.nnet.sigmoid is
T.sigmoid``, as in Theano); ``softmax`` works row by row (along the last
axis); the others are written here from Theano's definitions.  ``conv2d``
is Theano's abstract convolution (``filter_flip=True``: a true
convolution), on network3's im2col Ops; ``conv`` is the older module.

"""

#### Libraries
# Third-party libraries
import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.special import log_softmax, softmax as _softmax

# network3
from network3.compat.forwarding import forward
from network3.compat.theano.tensor.nnet import conv
from network3.compat.theano.tensor.nnet.conv import convolution

sigmoid = pt.sigmoid
softplus = pt.softplus


#### Activations
def softmax(c, axis=-1):
    """The softmax of each row of ``c`` (along its last axis)."""
    return _softmax(c, axis=axis)


def logsoftmax(c, axis=-1):
    """``log(softmax(c))``, computed stably, along the last axis."""
    return log_softmax(c, axis=axis)


def relu(x, alpha=0):
    """``max(0, x)``; with ``alpha``, ``x`` where positive and ``alpha * x``
    elsewhere (a leaky ReLU), as Theano wrote it: with abs."""
    if alpha == 0:
        return 0.5 * (x + abs(x))
    return 0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * abs(x)


def elu(x, alpha=1):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    return pt.switch(x > 0, x, alpha * pt.expm1(x))


def selu(x):
    """The scaled ELU of Klambauer et al. (2017)."""
    return 1.0507009873554804934193349852946 * elu(x, 1.6732632423543772848170429916717)


def softsign(x):
    """``x / (1 + |x|)``."""
    return x / (1.0 + abs(x))


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: ``clip(0.2 x + 0.5, 0, 1)``."""
    return pt.clip(x * 0.2 + 0.5, 0.0, 1.0)


#### Costs
def categorical_crossentropy(coding_dist, true_dist):
    """``-sum(true_dist * log(coding_dist))`` per row, for ``true_dist`` a
    matrix of probabilities, or ``-log(coding_dist[i, true_dist[i]])`` for
    ``true_dist`` a vector of class indices."""
    coding_dist, true_dist = pt.as_tensor_variable(coding_dist), pt.as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -pt.sum(true_dist * pt.log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError("categorical_crossentropy: true_dist must have the rank of "
                    "coding_dist ({0}) or one less, got {1}".format(
                        coding_dist.ndim, true_dist.ndim))


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """``-log(coding_dist[i, true_one_of_n[i]])`` for each row ``i``."""
    coding_dist = pt.as_tensor_variable(coding_dist)
    return -pt.log(coding_dist[pt.arange(coding_dist.shape[0]), true_one_of_n])


def binary_crossentropy(output, target):
    """``-(target * log(output) + (1 - target) * log(1 - output))``."""
    return -(target * pt.log(output) + (1.0 - target) * pt.log(1.0 - output))


def sigmoid_binary_crossentropy(output, target):
    """``binary_crossentropy(sigmoid(output), target)`` for pre-activations
    ``output``, computed stably."""
    return softplus(-abs(output)) + output * ((output > 0) - target)


#### Convolution
def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None,
           filter_dilation=(1, 1), num_groups=1, unshared=False, **kwargs):
    """Theano's ``theano.tensor.nnet.conv2d``: the 2-D convolution of a batch
    of images ``input`` (batch, channels, height, width) by ``filters``
    (n_filters, channels, kh, kw).

    ``input_shape`` and ``filter_shape`` (4-tuples, entries may be None)
    promise shapes, checked as the graph runs; where not given they are
    taken from the variables (a shared variable's value counts).  The
    filters' height and width must be known one way or the other.
    ``border_mode`` is "valid", "full", "half", an int or a pair;
    ``subsample`` the stride; ``filter_flip=False`` computes the
    cross-correlation.  ``image_shape`` is Theano's old name for
    ``input_shape``.  Dilated, grouped and unshared convolutions are not
    implemented.
    """
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or image_shape (its old "
                             "name), not both")
        input_shape = image_shape
    unsupported = {"filter_dilation": (filter_dilation, (1, 1)),
                   "num_groups": (num_groups, 1), "unshared": (unshared, False)}
    for name, (value, default) in unsupported.items():
        if tuple(np.atleast_1d(value)) != tuple(np.atleast_1d(default)):
            raise NotImplementedError(
                "conv2d: {0}={1!r} is not implemented by network3's Theano "
                "compatibility layer (only {0}={2!r})".format(name, value, default))
    if kwargs:
        raise TypeError("conv2d: unexpected arguments {0}".format(", ".join(kwargs)))
    return convolution("conv2d", input, filters, input_shape, filter_shape,
                       border_mode, subsample, filter_flip)


__getattr__, __dir__ = forward(globals(), "theano.tensor.nnet", missing={
    "ultra_fast_sigmoid": "use sigmoid, the exact one (ultra_fast_sigmoid was "
                          "Theano's piecewise approximation of it)",
    "conv3d": "network3 has 2-D convolutions only (conv2d)",
    "conv2d_transpose": "network3 has 2-D convolutions only (conv2d)",
    "abstract_conv": "use theano.tensor.nnet.conv2d",
    "h_softmax": "write it with softmax and T.dot",
    "bn": "write batch normalisation with T.mean and T.var",
    "neighbours": "images2neibs is not served; pooling is "
                  "theano.tensor.signal.pool.pool_2d",
    "images2neibs": "pooling is theano.tensor.signal.pool.pool_2d",
    "crossentropy_softmax_1hot": "use categorical_crossentropy(softmax(x), y)",
    "softmax_with_bias": "use softmax(x + b)",
})
