"""shapes.py
~~~~~~~~~~~~~

Shape arithmetic, as pure functions: how much zero padding a convolution's
``border_mode`` means, how many windows fit along an axis, and so how large
a ConvPoolLayer's output is.  The Ops (``network3.ops``) and the layers
(``network3.layers``) both use them, and check their arguments with them
before anything is compiled.

"""

#### Libraries
# Third-party libraries
import numpy as np


#### Windows along an axis
#: Theano's names for a convolution's zero padding, besides a number of pixels.
BORDER_MODES = ("valid", "full", "half")

#: Theano's pooling modes, and L2 pooling (the seed article's alternative).
POOL_MODES = ("max", "l2", "sum", "average_inc_pad", "average_exc_pad")


def conv_padding(border_mode, kernel):
    """Zero padding ``(rows, columns)`` on each side of a convolution's input.

    ``border_mode`` as in Theano's ``conv2d``: ``"valid"`` (none), ``"full"``
    (``kernel - 1``: every partial overlap), ``"half"`` (``kernel // 2``: the
    output is as large as the input for odd kernels), an int (the same
    padding on both axes) or a pair of ints.  ``kernel`` is ``(kh, kw)``.
    """
    if isinstance(border_mode, str):
        if border_mode not in BORDER_MODES:
            raise ValueError("border_mode must be one of {0}, an int or a pair of "
                             "ints, got {1!r}".format(BORDER_MODES, border_mode))
        return {"valid": (0, 0), "full": (kernel[0] - 1, kernel[1] - 1),
                "half": (kernel[0] // 2, kernel[1] // 2)}[border_mode]
    if isinstance(border_mode, (tuple, list)):
        return _pair(border_mode, "border_mode", minimum=0)
    return _pair((border_mode, border_mode), "border_mode", minimum=0)


def window_positions(size, window, stride, pad, ignore_border=True):
    """How many windows of ``window`` pixels, ``stride`` apart, go along an
    axis of ``size`` pixels zero-padded by ``pad`` on each side.

    With ``ignore_border=True`` only windows that fit whole count: Theano's
    ``(size + 2*pad - window) // stride + 1``, and 0 where none fits.  With
    ``ignore_border=False`` (Theano's pooling without it) a last, partial
    window also covers the pixels whole windows leave over at the end:
    ``ceil(size / stride)`` windows where they do not overlap, and at least
    one.  (Plain arithmetic on ints, which Numba compiles too.)
    """
    padded = size + 2 * pad
    if ignore_border:
        return max(0, (padded - window) // stride + 1)
    if stride >= window:
        return (padded - 1) // stride + 1
    return max(0, (padded - 1 - window + stride) // stride) + 1


def pool_windows(size, window, stride, pad, mode, ignore_border=True):
    """Each pooling window's ``(i, j, rows, columns, divisor)`` over an image
    of ``size = (height, width)``: its output position, the slices of the
    real (unpadded) pixels it covers, and what its sum is divided by: for
    ``"average_inc_pad"`` its pixels inside the padded image, for
    ``"average_exc_pad"`` its real pixels, else 1."""
    spans = [[(k, slice(max(k * s - p, 0), min(k * s - p + w, n)),
               min(k * s + w, n + 2 * p) - k * s)        # (inside the padded image)
              for k in range(window_positions(n, w, s, p, ignore_border))]
             for n, w, s, p in zip(size, window, stride, pad)]

    def divisor(rows, cols, padded_rows, padded_cols):
        if mode == "average_inc_pad":
            return padded_rows * padded_cols
        if mode == "average_exc_pad":
            return (rows.stop - rows.start) * (cols.stop - cols.start)
        return 1

    return [(i, j, rows, cols, divisor(rows, cols, r, c))
            for i, rows, r in spans[0] for j, cols, c in spans[1]]


def _pair(value, name, minimum=1):
    """``value`` as a tuple of two ints, each at least ``minimum``."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError("{0} must be a pair of integers, got {1!r}".format(
            name, value)) from None
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError("{0} must be a pair of integers >= {1}, got {2!r}".format(
                name, minimum, value))
    return int(a), int(b)


#### A ConvPoolLayer's output
def conv_pool_output_shape(image_shape, filter_shape, poolsize, *, pool_stride=None,
                           pool_pad=(0, 0), border_mode="valid", subsample=(1, 1)):
    """Shape of a ConvPoolLayer's output: ``(batch, n_filters, height, width)``.

    With the defaults, the chapter's arithmetic: a 'valid' convolution
    shrinks each side by ``kernel - 1``, and pooling with
    ``ignore_border=True`` then divides it, rounding down.  In general each
    side has :func:`window_positions` of the filter over the
    image (padded as ``border_mode`` says, ``subsample`` apart), then of the
    pooling window over that (padded by ``pool_pad``, ``pool_stride`` apart).
    """
    batch = image_shape[0]
    conv = conv_output_shape(image_shape, filter_shape, border_mode, subsample)
    stride = poolsize if pool_stride is None else pool_stride
    return (batch, filter_shape[0]) + tuple(
        window_positions(conv[k], poolsize[k], stride[k], pool_pad[k])
        for k in (0, 1))


def conv_output_shape(image_shape, filter_shape, border_mode="valid", subsample=(1, 1)):
    """``(height, width)`` of the convolution's output, before pooling."""
    pad = conv_padding(border_mode, filter_shape[2:])
    return tuple(window_positions(image_shape[2 + k], filter_shape[2 + k],
                                      subsample[k], pad[k]) for k in (0, 1))
