"""compat/theano/tensor/signal/pool.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.signal.pool``: Theano 1.0's ``pool_2d``, with its arguments,
defaults, deprecated names and warnings, on network3's pooling Op.

"""

#### Libraries
# Standard library
import warnings

# network3
from network3 import ops
from network3.compat.forwarding import forward
from network3.shapes import _pair

#: Theano's warning when ignore_border is not given (it then meant False).
IGNORE_BORDER_WARNING = (
    "{0}() will have the parameter ignore_border default value changed to True "
    "(currently False). To have consistent behavior with all Theano version, "
    "explicitly add the parameter ignore_border=True.")


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Theano's ``pool_2d``: pool the last two axes of ``input`` (2 or more
    dimensions) in windows of ``ws`` pixels, ``stride`` apart (default
    ``ws``), over the input zero-padded by ``pad``.

    ``mode`` is "max", "sum", "average_inc_pad" or "average_exc_pad" (and
    network3's "l2").  ``ignore_border=False`` keeps partial windows at the
    bottom and right edges; not given, it warns as Theano did and means
    False.  ``ds``, ``st`` and ``padding`` are the old names of ``ws``,
    ``stride`` and ``pad``; using them warns, as in Theano.
    """
    ws = _renamed("ds", ds, "ws", ws)
    stride = _renamed("st", st, "stride", stride)
    pad = _renamed("padding", padding, "pad", None if pad in ((0, 0), [0, 0]) else pad)
    if ws is None:
        raise ValueError("You must provide a tuple value for the window size.")
    return pool_checked("pool_2d", input, ws, ignore_border, stride,
                 (0, 0) if pad is None else pad, mode)


def max_pool_2d_same_size(input, patch_size):
    """``input`` (4-D) with every pixel that is not the maximum of its
    ``patch_size`` window (windows side by side) set to 0."""
    op = ops.PoolGrad(_pair(patch_size, "patch_size"))
    pooled = ops.pool_2d(input, op.window)
    return op(input, pooled, pooled)


def _renamed(old, old_value, new, value):
    """Theano's handling of a deprecated argument name: the value given
    under either name, a warning for the old one, an error for both."""
    if old_value is None:
        return value
    if value is not None:
        raise ValueError("You can't provide a tuple value to both '{0}' and '{1}'. "
                         "Please provide a value only to '{1}'.".format(old, new))
    warnings.warn("DEPRECATION: the '{0}' parameter is not going to exist anymore as "
                  "it is going to be replaced by the parameter '{1}'.".format(old, new),
                  stacklevel=3)
    return old_value


def pool_checked(owner, input, ws, ignore_border, stride, pad, mode):
    """Pool as Theano's ``owner`` function did; its arguments checked and named."""
    if ignore_border is None:
        warnings.warn(IGNORE_BORDER_WARNING.format(owner), stacklevel=3)
        ignore_border = False
    ws = _pair(ws, "ws")
    stride = None if stride is None else _pair(stride, "stride")
    pad = _pair(pad, "pad", minimum=0)
    if mode == "max_deterministic":       # Theano's name for max on the GPU
        mode = "max"
    if mode not in ops.POOL_MODES:
        raise ValueError("{0}: mode must be one of {1}, got {2!r}".format(
            owner, ", ".join(ops.POOL_MODES), mode))
    if not ignore_border and pad != (0, 0):
        raise NotImplementedError("padding works only with ignore_border=True")
    return ops.pool_2d(input, ws, stride, pad, mode, bool(ignore_border))


__getattr__, __dir__ = forward(globals(), "theano.tensor.signal.pool", missing={
    "pool_3d": "network3 pools 2-D images only (pool_2d)",
    "Pool": "call pool_2d (network3's Op is network3.ops.Pool)",
})
