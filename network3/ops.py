"""ops.py
~~~~~~~

The operations a convolutional network needs beyond matrix algebra: 2-D
convolution, max-pooling, dropout and the softmax layer's log-likelihood
cost.

Theano provided the first three (``theano.tensor.nnet.conv.conv2d``,
``theano.tensor.signal.downsample.max_pool_2d`` and ``RandomStreams``);
PyTensor, Theano's descendant, no longer does.  This module builds them from
PyTensor's pieces and Ops of network3's own (:class:`Im2Col`,
:class:`Col2Im`, :class:`MaxPool`, :class:`MaxPoolGrad`).  The cost is one
Op with its gradient (:class:`LogLikelihood`, :class:`LogLikelihoodGrad`)
because PyTensor's generic pieces for it take many seconds to compile.  Each
function takes and returns symbolic tensors and says which semantics it
implements.

An Op here is the whole contract: ``make_node`` (types and static shapes),
``perform`` (a NumPy implementation, the reference every back end must
match) and ``pullback`` (its gradient, written by hand in terms of the other
Ops).  Nothing here is specific to a back end: each back end in
``network3/backends/`` brings its own compiled kernels for these Ops.

"""

#### Libraries
# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.gradient import disconnected_type, grad_undefined
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.traversal import ancestors
from pytensor.tensor.basic import infer_static_shape
from pytensor.tensor.random.op import RandomVariable

# network3
from network3 import config


#### Convolution
def conv2d(inpt, filters, filter_shape, image_shape):
    """'Valid' 2-D convolution with Theano's ``conv2d`` semantics.

    As in Theano (and in mathematics) the kernel is *flipped*: this is a true
    convolution, not the cross-correlation most libraries call convolution.
    For every image ``n`` and filter ``f``::

        out[n, f, i, j] = sum_{c, a, b} inpt[n, c, i + a, j + b]
                                        * filters[f, c, kh-1-a, kw-1-b]

    Parameters
    ----------
    inpt : tensor4, shape (batch, channels, height, width)
        The batch may be any size; the other three must match ``image_shape``.
    filters : tensor4, shape (n_filters, channels, kh, kw)
    filter_shape : tuple of 4 ints
        ``(n_filters, channels, kh, kw)``.
    image_shape : tuple of 4 ints
        ``(batch, channels, height, width)``; the batch entry is not used.

    Returns
    -------
    tensor4, shape (batch, n_filters, height-kh+1, width-kw+1)
    """
    n_filters, channels, kh, kw = filter_shape
    height, width = image_shape[2], image_shape[3]
    oh, ow = height - kh + 1, width - kw + 1
    # im2col turns the whole convolution into one matrix product: a row per
    # output pixel, a column per filter tap.
    cols = Im2Col(kh, kw)(inpt)              # (batch*oh*ow, channels*kh*kw)
    # Flipping the kernel turns that cross-correlation into Theano's
    # convolution.
    w = filters[:, :, ::-1, ::-1].reshape((n_filters, channels * kh * kw))
    # Multiplying in this order leaves each output map's pixels contiguous
    # (pooling then reads memory in order) and cols.T goes to BLAS uncopied.
    out = T.dot(w, cols.T)                   # (n_filters, batch*oh*ow)
    return out.reshape((n_filters, -1, oh, ow)).dimshuffle(1, 0, 2, 3)


class _WindowOp(Op):
    """An Op on 4-D tensors, parametrised by a window of ``(height, width)``."""

    __props__ = ("window",)

    def __init__(self, height, width):
        self.window = (int(height), int(width))

    def _check_4d(self, x):
        x = T.as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError("{0}: x must be 4-D, got {1}-D".format(
                type(self).__name__, x.ndim))
        return x


class Im2Col(_WindowOp):
    """Unfold 'valid' ``kh`` x ``kw`` patches of a batch of images into rows.

    Input ``x`` of shape (batch, channels, height, width); output of shape
    ``(batch*oh*ow, channels*kh*kw)`` with ``oh = height-kh+1`` and
    ``ow = width-kw+1``, where ``out[(n*oh + i)*ow + j, (c*kh + a)*kw + b] =
    x[n, c, i+a, j+b]``.  Its gradient is :class:`Col2Im`.
    """

    def make_node(self, x):
        x = self._check_4d(x)
        n, c, height, width = x.type.shape
        kh, kw = self.window
        rows = (None if None in (n, height, width)
                else n * (height - kh + 1) * (width - kw + 1))
        cols = None if c is None else c * kh * kw
        return Apply(self, [x], [T.tensor(dtype=x.dtype, shape=(rows, cols))])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        n, c = x.shape[:2]
        windows = np.lib.stride_tricks.sliding_window_view(
            x, self.window, axis=(2, 3))          # (n, c, oh, ow, kh, kw)
        oh, ow = windows.shape[2:4]
        outputs[0][0] = np.ascontiguousarray(
            windows.transpose(0, 2, 3, 1, 4, 5)).reshape(
                n * oh * ow, c * np.prod(self.window))

    def pullback(self, inputs, outputs, cotangents):
        (x,) = inputs
        return [Col2Im(*self.window)(cotangents[0], x.shape)]


class Col2Im(_WindowOp):
    """The adjoint of :class:`Im2Col`: add each row's entries back onto the
    image pixels they came from.  Inputs: the rows and the image shape
    ``(batch, channels, height, width)``."""

    def make_node(self, cols, shape):
        cols = T.as_tensor_variable(cols)
        shape = T.as_tensor_variable(shape, ndim=1).astype("int64")
        # The image shape is usually known when the graph is built; PyTensor's
        # JAX back end needs it then.
        _, static_shape = infer_static_shape(shape)
        return Apply(self, [cols, shape],
                     [T.tensor(dtype=cols.dtype, shape=tuple(static_shape))])

    def perform(self, node, inputs, outputs):
        cols, shape = inputs
        n, c, height, width = (int(v) for v in shape)
        kh, kw = self.window
        oh, ow = height - kh + 1, width - kw + 1
        patches = cols.reshape(n, oh, ow, c, kh, kw)
        x = np.zeros((n, c, height, width), dtype=cols.dtype)
        for a in range(kh):
            for b in range(kw):
                x[:, :, a:a + oh, b:b + ow] += patches[:, :, :, :, a, b].transpose(
                    0, 3, 1, 2)
        outputs[0][0] = x

    def pullback(self, inputs, outputs, cotangents):
        return [Im2Col(*self.window)(cotangents[0]),
                grad_undefined(self, 1, inputs[1])]


#### Pooling
def max_pool_2d(inpt, poolsize):
    """Max-pooling over non-overlapping windows, with ``ignore_border=True``.

    This is Theano's ``max_pool_2d(input, ds=poolsize, ignore_border=True)``:
    rows and columns that do not fill a whole window are dropped.  Where
    several entries of a window share the maximum, each receives the
    gradient, as in Theano.

    Parameters
    ----------
    inpt : tensor4, shape (batch, channels, height, width)
    poolsize : tuple of 2 ints
        ``(ph, pw)``, the window's height and width.

    Returns
    -------
    tensor4, shape (batch, channels, height // ph, width // pw)
    """
    return MaxPool(*poolsize)(inpt)


class MaxPool(_WindowOp):
    """Max over non-overlapping ``ph`` x ``pw`` windows of the last two axes
    of a 4-D tensor, ignoring an incomplete border.  Gradient:
    :class:`MaxPoolGrad`."""

    def make_node(self, x):
        x = self._check_4d(x)
        n, c, height, width = x.type.shape
        ph, pw = self.window
        shape = (n, c, None if height is None else height // ph,
                 None if width is None else width // pw)
        return Apply(self, [x], [T.tensor(dtype=x.dtype, shape=shape)])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        n, c, height, width = x.shape
        ph, pw = self.window
        oh, ow = height // ph, width // pw
        windows = x[:, :, :oh * ph, :ow * pw].reshape(n, c, oh, ph, ow, pw)
        outputs[0][0] = windows.max(axis=(3, 5))

    def pullback(self, inputs, outputs, cotangents):
        return [MaxPoolGrad(*self.window)(inputs[0], outputs[0], cotangents[0])]


class MaxPoolGrad(_WindowOp):
    """Gradient of :class:`MaxPool`: each window's output gradient goes to
    every entry equal to the window's maximum (Theano's rule).  Inputs: the
    pooled input ``x``, the pooled output and its gradient."""

    def make_node(self, x, out, gout):
        x, out, gout = (T.as_tensor_variable(v) for v in (x, out, gout))
        return Apply(self, [x, out, gout], [x.type()])

    def perform(self, node, inputs, outputs):
        x, out, gout = inputs
        ph, pw = self.window
        oh, ow = out.shape[2:]
        up = lambda a: np.repeat(np.repeat(a, ph, axis=2), pw, axis=3)
        gx = np.zeros_like(x)
        region = (slice(None), slice(None), slice(0, oh * ph), slice(0, ow * pw))
        gx[region] = np.where(x[region] == up(out), up(gout), 0)
        outputs[0][0] = gx


#### The log-likelihood cost
def log_likelihood(logits, y):
    """The mean log-likelihood cost of a softmax output layer, in one Op.

    This is ``-T.mean(T.log(softmax(logits))[T.arange(n), y])``, the cost
    ``network3.py``'s ``SoftmaxLayer`` writes down, computed stably as
    ``mean(logsumexp(logits) - logits[arange(n), y])``.  Its gradient with
    respect to ``logits`` is ``(softmax(logits) - onehot(y)) / n``.  Two small
    Ops of our own stand for what PyTensor would otherwise build from a dozen
    generic ones (softmax, log-softmax, fancy indexing and its gradient), which
    are slow to compile.

    Parameters
    ----------
    logits : matrix, shape (n, classes)
        The softmax's input.
    y : int vector, shape (n,)
        The correct class of each row, in ``range(classes)``.

    Returns
    -------
    symbolic scalar, of the logits' dtype
    """
    return LogLikelihood()(logits, y)


class LogLikelihood(Op):
    """``mean(logsumexp(z, axis=1) - z[arange(n), y])`` for logits ``z`` and
    int labels ``y``.  Gradient: :class:`LogLikelihoodGrad`."""

    __props__ = ()

    def make_node(self, z, y):
        z, y = _check_logits_labels(type(self).__name__, z, y)
        return Apply(self, [z, y], [T.tensor(dtype=z.dtype, shape=())])

    def perform(self, node, inputs, outputs):
        z, y = inputs
        z = z.astype(np.float64)
        top = z.max(axis=1)
        logsumexp = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        outputs[0][0] = np.asarray(
            np.mean(logsumexp - z[np.arange(len(y)), y]), dtype=node.outputs[0].dtype)

    def connection_pattern(self, node):
        return [[True], [False]]

    def pullback(self, inputs, outputs, cotangents):
        z, y = inputs
        return [LogLikelihoodGrad()(z, y, cotangents[0]), disconnected_type()]


class LogLikelihoodGrad(Op):
    """Gradient of :class:`LogLikelihood`: ``g * (softmax(z) - onehot(y)) / n``
    for logits ``z``, labels ``y`` and the cost's gradient ``g`` (a scalar)."""

    __props__ = ()

    def make_node(self, z, y, g):
        z, y = _check_logits_labels(type(self).__name__, z, y)
        g = T.as_tensor_variable(g)
        if g.ndim != 0:
            raise TypeError("LogLikelihoodGrad: g must be a scalar, got {0}-D".format(
                g.ndim))
        return Apply(self, [z, y, g], [z.type()])

    def perform(self, node, inputs, outputs):
        z, y, g = inputs
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities = e / e.sum(axis=1, keepdims=True)
        probabilities[np.arange(len(y)), y] -= 1
        outputs[0][0] = (probabilities * (g / len(y))).astype(z.dtype)


def _check_logits_labels(owner, z, y):
    z, y = T.as_tensor_variable(z), T.as_tensor_variable(y)
    if z.ndim != 2 or z.dtype not in ("float32", "float64"):
        raise TypeError("{0}: logits must be a float matrix, got {1}".format(
            owner, z.type))
    if y.ndim != 1 or not y.dtype.startswith(("int", "uint")):
        raise TypeError("{0}: y must be an int vector, got {1}".format(owner, y.type))
    return z, y


#### Dropout
def shared_rng(seed):
    """A PyTensor random generator variable, seeded with ``seed``."""
    return pytensor.shared(np.random.default_rng(seed), name="dropout_rng")


def dropout(inpt, p_dropout, rng):
    """Zero each entry of ``inpt`` with probability ``p_dropout``.

    The mask is drawn from ``rng``, a shared PyTensor random generator (see
    :func:`shared_rng`).  No rescaling is done while training: as in the
    chapter, layers instead multiply by ``1 - p_dropout`` at inference.  A
    function that should draw a fresh mask on every call must update ``rng``:
    :func:`rng_updates` finds those updates in a graph.
    """
    keep = T.cast(1.0 - p_dropout, config.floatX)
    _, uniform = T.random.uniform(size=inpt.shape, rng=rng, dtype=config.floatX,
                                  return_next_rng=True)
    mask = T.cast(T.lt(uniform, keep), config.floatX)
    return inpt * mask


def rng_updates(outputs):
    """The ``(rng, next_rng)`` pairs that advance every shared generator in
    the graph of ``outputs``, for ``pytensor.function(updates=...)``."""
    updates = {}
    for var in ancestors(outputs):
        node = var.owner
        if node is not None and isinstance(node.op, RandomVariable):
            rng = node.inputs[0]
            if isinstance(rng, SharedVariable):
                updates[rng] = node.outputs[0]
    return list(updates.items())
