"""compat/theano/tensor/nnet/conv.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.nnet.conv``: Theano's first 2-D convolution,
``conv.conv2d(input, filters, filter_shape, image_shape)``, the one the
chapter's ``network3.py`` calls, on network3's im2col Ops; and
:func:`convolution`, what it and the abstract
``theano.tensor.nnet.conv2d`` share.

"""

#### Libraries
# Third-party libraries
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable

# network3
from network3 import checks, ops
from network3.shapes import _pair, conv_padding


def conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), **kargs):
    """Theano's ``theano.tensor.nnet.conv.conv2d``: the 2-D (true)
    convolution of a batch of images ``input`` (batch, channels, height,
    width) by ``filters`` (n_filters, channels, kh, kw), ``border_mode``
    "valid" or "full", strided by ``subsample``.  ``image_shape`` and
    ``filter_shape`` promise shapes as in :func:`convolution`.
    """
    if border_mode not in ("valid", "full"):
        raise ValueError("conv.conv2d: border_mode must be 'valid' or 'full', got "
                         "{0!r} (theano.tensor.nnet.conv2d also takes 'half' and "
                         "paddings)".format(border_mode))
    unknown = set(kargs) - {"unroll_batch", "unroll_kern", "unroll_patch", "verbose",
                            "openmp"}
    if unknown:           # (the others tuned Theano's C code; they change nothing)
        raise TypeError("conv.conv2d: unexpected arguments {0}".format(
            ", ".join(sorted(unknown))))
    return convolution("conv.conv2d", input, filters, image_shape, filter_shape,
                       border_mode, subsample, True)


def convolution(owner, input, filters, input_shape, filter_shape, border_mode,
                subsample, filter_flip):
    """The convolution of Theano's ``conv2d`` functions (``owner`` names the
    one called, in messages), by ``ops.conv2d``.

    A shape given (``input_shape``, ``filter_shape``: 4 entries, each an int
    or None) is a promise: the variable's type is made to say so, and the
    compiled function checks it at every call, as Theano's did.  The
    filters' height and width must be known when the graph is built: from
    ``filter_shape``, the filters' type, or a shared variable's value.
    """
    input, filters = pt.as_tensor_variable(input), _as_filters(filters)
    for name, var in (("input", input), ("filters", filters)):
        if var.ndim != 4:
            raise TypeError("{0}: {1} must be a 4-D tensor, got {2}-D".format(
                owner, name, var.ndim))
    input, image = _promised(owner, "input_shape", input, input_shape)
    filters, kernel = _promised(owner, "filter_shape", filters, filter_shape)
    if None in kernel[2:]:
        raise ValueError("{0}: the filters' height and width must be known when the "
                         "graph is built; pass filter_shape=(n_filters, channels, "
                         "height, width)".format(owner))
    subsample = _pair(subsample, "subsample")
    conv_padding(border_mode, kernel[2:])      # (a bad border_mode is named here)
    return ops.conv2d(input, filters, kernel, image, border_mode=border_mode,
                      subsample=subsample, filter_flip=filter_flip)


def _as_filters(filters):
    return filters if isinstance(filters, SharedVariable) else pt.as_tensor_variable(filters)


def _promised(owner, name, var, given):
    """``var`` with the shape ``given`` promises, and that shape (entries
    known from ``var`` filled in)."""
    known = list(var.type.shape)
    if isinstance(var, SharedVariable):
        known = list(var.get_value(borrow=True).shape)
    if given is None:
        return var, tuple(known)
    if not isinstance(given, (tuple, list)) or len(given) != 4 or not all(
            g is None or (checks.is_natural(g) and g > 0) for g in given):
        raise ValueError("{0}: {1} must be 4 positive ints (or None where unknown), "
                         "got {2!r}".format(owner, name, given))
    given = [None if g is None else int(g) for g in given]
    for g, k in zip(given, known):
        if g is not None and k is not None and g != k:
            raise ValueError("{0}: {1}={2} does not match the shape {3} of the "
                             "variable".format(owner, name, tuple(given), tuple(known)))
    shape = tuple(k if g is None else g for g, k in zip(given, known))
    if not isinstance(var, SharedVariable) and tuple(var.type.shape) != shape:
        var = pt.specify_shape(var, shape)
    return var, shape
