"""ops.py
~~~~~~~

The operations a convolutional network needs beyond matrix algebra: 2-D
convolution, pooling, dropout and the softmax layer's log-likelihood cost.

Theano provided the first three (``theano.tensor.nnet.conv2d``,
``theano.tensor.signal.pool.pool_2d`` and ``RandomStreams``), with the
options network3.py did not use: padded ('full', 'half') and strided
convolutions, sum and average pooling, overlapping and padded pooling
windows.  PyTensor, Theano's descendant, no longer does.  This module builds
them, options and all, from PyTensor's pieces and Ops of network3's own
(:class:`Im2Col`, :class:`Col2Im`, :class:`Pool`, :class:`PoolGrad`), and
adds L2 pooling.  The cost is one Op with its gradient (:class:`LogLikelihood`,
:class:`LogLikelihoodGrad`): PyTensor's generic pieces for it are slow to
compile.  Each function takes and returns symbolic tensors and says which
semantics it implements.

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
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.op import RandomVariable

# network3
from network3.shapes import (BORDER_MODES, POOL_MODES, _pair,  # noqa: F401 (ops' names)
                             conv_padding, pool_windows, window_positions)
from network3 import config


class _WindowOp(Op):
    """An Op on 4-D tensors that slides a ``window`` of ``(height, width)``
    over the last two axes, ``stride`` apart, over the input zero-padded by
    ``pad`` pixels on each side."""

    __props__ = ("window", "stride", "pad")
    #: whether windows that do not fit whole are dropped (see Pool)
    ignore_border = True

    def __init__(self, window, stride, pad):
        self.window = _pair(window, "window")
        self.stride = _pair(stride, "stride")
        self.pad = _pair(pad, "pad", minimum=0)

    def output_size(self, height, width):
        """``(rows, columns)`` of window positions over a ``height`` x
        ``width`` image (None where a size is not known)."""
        return tuple(None if size is None
                     else window_positions(size, *args, self.ignore_border)
                     for size, args in zip((height, width),
                                           zip(self.window, self.stride, self.pad)))

    def _check_4d(self, x):
        x = T.as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError("{0}: x must be 4-D, got {1}-D".format(
                type(self).__name__, x.ndim))
        return x


#### Convolution
def conv2d(inpt, filters, filter_shape, image_shape, *, border_mode="valid",
           subsample=(1, 1), filter_flip=True):
    """2-D convolution with Theano's ``conv2d`` semantics.

    As in Theano (and in mathematics) the kernel is *flipped*: this is a true
    convolution, not the cross-correlation most libraries call convolution.
    With ``(ph, pw)`` the padding of ``border_mode`` (see
    :func:`conv_padding`), ``xp`` the input zero-padded by it and ``(sh,
    sw) = subsample``, for every image ``n`` and filter ``f``::

        out[n, f, i, j] = sum_{c, a, b} xp[n, c, i*sh + a, j*sw + b]
                                        * filters[f, c, kh-1-a, kw-1-b]

    ``"valid"`` with stride 1, the chapter's convolution, is the default;
    ``"full"`` is SciPy's ``convolve2d(mode="full")``, and a stride keeps
    every ``sh``-th row and ``sw``-th column of the stride-1 output.

    Parameters
    ----------
    inpt : tensor4, shape (batch, channels, height, width)
        The batch may be any size; the other three must match ``image_shape``.
    filters : tensor4, shape (n_filters, channels, kh, kw)
    filter_shape : tuple of 4 ints
        ``(n_filters, channels, kh, kw)``; ``kh`` and ``kw`` must be known,
        the others may be None (taken from ``filters`` as the graph runs).
    image_shape : tuple of 4 ints
        ``(batch, channels, height, width)``; the batch entry is not used,
        and the others may be None (taken from ``inpt`` as the graph runs).
    border_mode : {"valid", "full", "half"}, int or pair of ints, optional
    subsample : pair of ints, optional
        The stride ``(sh, sw)``.
    filter_flip : bool, optional
        False computes the cross-correlation (``filters[f, c, a, b]`` for
        ``filters[f, c, kh-1-a, kw-1-b]``), as Theano's ``filter_flip=False``.

    Returns
    -------
    tensor4, shape (batch, n_filters, oh, ow)
        ``oh = (height + 2*ph - kh) // sh + 1``, and ``ow`` likewise.
    """
    n_filters, channels, kh, kw = filter_shape
    im2col = Im2Col(kh, kw, pad=conv_padding(border_mode, (kh, kw)),
                    stride=subsample)
    oh, ow = im2col.output_size(image_shape[2], image_shape[3])
    if oh is None or ow is None:        # sizes the graph computes as it runs
        (ph, pw), (sh, sw) = im2col.pad, im2col.stride
        oh = (inpt.shape[2] + 2 * ph - kh) // sh + 1 if oh is None else oh
        ow = (inpt.shape[3] + 2 * pw - kw) // sw + 1 if ow is None else ow
    if n_filters is None:
        n_filters = filters.shape[0]
    taps = -1 if channels is None else channels * kh * kw
    # im2col turns the whole convolution into one matrix product: a row per
    # output pixel, a column per filter tap.
    cols = im2col(inpt)                      # (batch*oh*ow, channels*kh*kw)
    # Flipping the kernel turns that cross-correlation into Theano's
    # convolution.
    if filter_flip:
        filters = filters[:, :, ::-1, ::-1]
    w = filters.reshape((n_filters, taps))
    # Multiplying in this order leaves each output map's pixels contiguous
    # (pooling then reads memory in order) and cols.T goes to BLAS uncopied.
    out = T.dot(w, cols.T)                   # (n_filters, batch*oh*ow)
    return out.reshape((n_filters, -1, oh, ow)).dimshuffle(1, 0, 2, 3)


class Im2Col(_WindowOp):
    """Unfold the ``kh`` x ``kw`` patches of a batch of images into rows.

    The images are zero-padded by ``pad = (ph, pw)`` on each side and the
    patches taken ``stride = (sh, sw)`` apart.  Input ``x`` of shape (batch,
    channels, height, width); output of shape ``(batch*oh*ow,
    channels*kh*kw)`` with ``oh = (height + 2*ph - kh)//sh + 1`` (``ow``
    likewise), where ``out[(n*oh + i)*ow + j, (c*kh + a)*kw + b] =
    xp[n, c, i*sh + a, j*sw + b]`` for the padded images ``xp``.  Its
    gradient is :class:`Col2Im`.
    """

    def __init__(self, kh, kw, pad=(0, 0), stride=(1, 1)):
        super().__init__((kh, kw), stride, pad)

    def make_node(self, x):
        x = self._check_4d(x)
        n, c, height, width = x.type.shape
        kh, kw = self.window
        oh, ow = self.output_size(height, width)
        rows = None if None in (n, oh, ow) else n * oh * ow
        cols = None if c is None else c * kh * kw
        return Apply(self, [x], [T.tensor(dtype=x.dtype, shape=(rows, cols))])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        n, c = x.shape[:2]
        (ph, pw), (sh, sw) = self.pad, self.stride
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        windows = np.lib.stride_tricks.sliding_window_view(
            x, self.window, axis=(2, 3))[:, :, ::sh, ::sw]   # (n, c, oh, ow, kh, kw)
        oh, ow = windows.shape[2:4]
        outputs[0][0] = np.ascontiguousarray(
            windows.transpose(0, 2, 3, 1, 4, 5)).reshape(
                n * oh * ow, c * np.prod(self.window))

    def pullback(self, inputs, outputs, cotangents):
        (x,) = inputs
        return [Col2Im(*self.window, pad=self.pad, stride=self.stride)(
            cotangents[0], x)]


class Col2Im(_WindowOp):
    """The adjoint of :class:`Im2Col`: add each row's entries back onto the
    image pixels they came from (those from the padding are dropped).
    Inputs: the rows, and the images they came from, whose shape is the
    output's (their values are not read): every back end, JAX included,
    knows a shape when it compiles, even where the graph does not say it."""

    def __init__(self, kh, kw, pad=(0, 0), stride=(1, 1)):
        super().__init__((kh, kw), stride, pad)

    def make_node(self, cols, like):
        cols = T.as_tensor_variable(cols)
        like = self._check_4d(like)
        return Apply(self, [cols, like],
                     [T.tensor(dtype=cols.dtype, shape=like.type.shape)])

    def connection_pattern(self, node):
        return [[True], [False]]

    def perform(self, node, inputs, outputs):
        cols, like = inputs
        n, c, height, width = like.shape
        (kh, kw), (ph, pw), (sh, sw) = self.window, self.pad, self.stride
        oh, ow = self.output_size(height, width)
        patches = cols.reshape(n, oh, ow, c, kh, kw)
        x = np.zeros((n, c, height + 2 * ph, width + 2 * pw), dtype=cols.dtype)
        for a in range(kh):
            for b in range(kw):
                x[:, :, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw] += \
                    patches[:, :, :, :, a, b].transpose(0, 3, 1, 2)
        outputs[0][0] = np.ascontiguousarray(x[:, :, ph:ph + height, pw:pw + width])

    def pullback(self, inputs, outputs, cotangents):
        return [Im2Col(*self.window, pad=self.pad, stride=self.stride)(cotangents[0]),
                disconnected_type()]


#### Pooling
def pool_2d(inpt, ws, stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Pooling with Theano's ``pool_2d`` semantics.

    Windows of ``ws = (wh, ww)`` pixels, ``stride`` apart (default: ``ws``,
    windows that do not overlap), over the last two axes of the input
    zero-padded by ``pad`` pixels on each side (each smaller than the
    window).  With ``ignore_border=True`` (the chapter's) windows that do
    not fit whole are dropped; with ``False`` (Theano's default, without
    padding) partial windows at the bottom and right edges are kept.
    Window ``(i, j)`` covers the padded rows ``i*sh ... i*sh + wh - 1``
    (columns likewise); ``mode`` says what it gives:

    * ``"max"``: the largest of its real (unpadded) pixels.  Where several
      share the maximum, each receives the gradient, as in Theano.
    * ``"l2"``: the square root of the sum of the squares of its pixels.
      Where they are all 0 the gradient is 0 (not NaN).
    * ``"sum"``: the sum of its pixels.
    * ``"average_inc_pad"``: that sum divided by the number of its pixels
      inside the padded image (``wh*ww`` for a whole window).
    * ``"average_exc_pad"``: that sum divided by the number of real pixels
      in the window.

    Where no whole window fits (``ignore_border=True``) the output is empty.

    Parameters
    ----------
    inpt : tensor of 2 or more dimensions, shape (..., height, width)
        Usually (batch, channels, height, width); leading axes are any.
    ws, stride, pad : pairs of ints
    mode : str, one of :data:`POOL_MODES`
    ignore_border : bool

    Returns
    -------
    tensor of the input's rank, shape (..., oh, ow)
        ``oh`` is :func:`window_positions` of ``(height, wh, sh, pad[0],
        ignore_border)``, and ``ow`` likewise.
    """
    op = Pool(ws, stride, pad, mode, ignore_border)
    inpt = T.as_tensor_variable(inpt)
    if inpt.ndim == 4:
        return op(inpt)
    if inpt.ndim < 2:
        raise TypeError("pool_2d: the input must have 2 or more dimensions (it "
                        "pools the last two), got {0}-D".format(inpt.ndim))
    # as a batch of one-channel images, and back
    images = inpt.reshape((-1, 1) + tuple(inpt.shape[-2:]), ndim=4)
    pooled = op(images)
    return pooled.reshape(tuple(inpt.shape[:-2]) + tuple(pooled.shape[2:]),
                          ndim=inpt.ndim)


def max_pool_2d(inpt, poolsize):
    """Max-pooling over non-overlapping windows, with ``ignore_border=True``:
    Theano's ``max_pool_2d(input, ds=poolsize, ignore_border=True)``, the
    chapter's pooling (see :func:`pool_2d`).

    Returns a tensor4 of shape (batch, channels, height // ph, width // pw).
    """
    return pool_2d(inpt, poolsize)


class Pool(_WindowOp):
    """:func:`pool_2d` on 4-D tensors, as an Op.  Gradient: :class:`PoolGrad`."""

    __props__ = _WindowOp.__props__ + ("mode", "ignore_border")

    def __init__(self, window, stride=None, pad=(0, 0), mode="max", ignore_border=True):
        super().__init__(window, window if stride is None else stride, pad)
        if mode not in POOL_MODES:
            raise ValueError("pool mode must be one of {0}, got {1!r}".format(
                POOL_MODES, mode))
        if self.pad[0] >= self.window[0] or self.pad[1] >= self.window[1]:
            raise ValueError("pool pad={0} must be smaller than the window {1} on "
                             "each axis".format(self.pad, self.window))
        if not isinstance(ignore_border, (bool, np.bool_)):
            raise TypeError("ignore_border must be True or False, got {0!r}".format(
                ignore_border))
        if not ignore_border and self.pad != (0, 0):
            raise ValueError("pool pad={0} needs ignore_border=True (as in Theano, "
                             "padding works only with it)".format(self.pad))
        self.mode = mode
        self.ignore_border = bool(ignore_border)

    @property
    def chapter_max(self):
        """Whether this is the chapter's pooling: max over whole windows that
        neither overlap nor reach into padding (back ends have kernels of
        their own for it)."""
        return (self.mode == "max" and self.stride == self.window
                and self.pad == (0, 0) and self.ignore_border)

    def windows(self, height, width):
        """Each window's ``(i, j, rows, columns, divisor)`` over a ``height``
        x ``width`` image (see :func:`pool_windows`)."""
        return pool_windows((height, width), self.window, self.stride, self.pad,
                            self.mode, self.ignore_border)

    def make_node(self, x):
        x = self._check_4d(x)
        n, c, height, width = x.type.shape
        shape = (n, c) + self.output_size(height, width)
        return Apply(self, [x], [T.tensor(dtype=x.dtype, shape=shape)])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        n, c, height, width = x.shape
        out = np.empty((n, c) + self.output_size(height, width), dtype=x.dtype)
        for i, j, rows, cols, divisor in self.windows(height, width):
            region = x[:, :, rows, cols]
            if self.mode == "max":
                out[:, :, i, j] = region.max(axis=(2, 3))
            elif self.mode == "l2":
                out[:, :, i, j] = np.sqrt((region * region).sum(axis=(2, 3)))
            else:
                out[:, :, i, j] = region.sum(axis=(2, 3)) / divisor
        outputs[0][0] = out

    def pullback(self, inputs, outputs, cotangents):
        return [PoolGrad(self.window, self.stride, self.pad, self.mode,
                         self.ignore_border)(inputs[0], outputs[0], cotangents[0])]


class PoolGrad(Pool):
    """Gradient of :class:`Pool`.  Inputs: the pooled input ``x``, the pooled
    output and its gradient; each window adds its share of the gradient to
    the pixels it covers (where windows overlap, the shares add up)."""

    def make_node(self, x, out, gout):
        x, out, gout = (T.as_tensor_variable(v) for v in (x, out, gout))
        return Apply(self, [x, out, gout], [x.type()])

    def perform(self, node, inputs, outputs):
        x, out, gout = inputs
        gx = np.zeros_like(x)
        for i, j, rows, cols, divisor in self.windows(*x.shape[2:]):
            region = x[:, :, rows, cols]
            g = gout[:, :, i, j, None, None]
            best = out[:, :, i, j, None, None]
            if self.mode == "max":
                share = np.where(region == best, g, 0)
            elif self.mode == "l2":
                # d sqrt(sum x^2) / dx = x / sqrt(sum x^2), and 0 for a window of 0s
                share = np.where(best > 0, g / np.where(best > 0, best, 1), 0) * region
            else:
                share = np.broadcast_to(g / divisor, region.shape)
            gx[:, :, rows, cols] += share.astype(x.dtype)
        outputs[0][0] = gx

    def pullback(self, inputs, outputs, cotangents):
        raise NotImplementedError("PoolGrad: second derivatives of pooling are not "
                                  "implemented")


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


#: The Ops network3 adds to PyTensor: every back end must have a kernel for
#: each (``Backend.provides``; tests/test_backends.py checks them all).
OPS = (Im2Col, Col2Im, Pool, PoolGrad, LogLikelihood, LogLikelihoodGrad)
