"""backends/numba/overrides.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

PyTensor's own Ops in the forms training graphs use, with kernels that
compile in a fraction of the time of PyTensor's generic ones: sums
(``Sum``), shape checks (``SpecifyShape``) and reshapes (``Reshape``).  They
replace PyTensor's kernels for those forms only, process-wide, when
network3 is imported.

"""

#### Libraries
# Standard library
import zlib

# Third-party libraries
import numpy as np
from pytensor.link.numba.dispatch.basic import (
    numba_funcify_and_cache_key, numba_funcify_default_op_cache_key, numba_njit,
    register_funcify_and_cache_key, register_funcify_default_op_cache_key)
from pytensor.link.utils import compile_function_src
from pytensor.tensor.math import Sum
from pytensor.tensor.shape import Reshape, SpecifyShape
from pytensor.tensor.type_other import NoneTypeT

# network3
from network3.backends.numba.kernels import compiled


#### Sums and shape checks that compile in a fraction of a second
# PyTensor's Numba kernels for these two Ops are generic (any axes, any
# number of dimensions) and build error messages with formatted numbers;
# compiling them takes seconds, a large part of the wait before a new
# network's first mini-batch.  The sums a network's gradients need (a
# bias's: over the mini-batch, and over the pixels of a convolution's maps;
# the L2 term's: over everything) get small kernels here, which add in
# float64 as PyTensor's do; every other sum goes to PyTensor's kernel.
_pytensor_careduce = numba_funcify_and_cache_key.dispatch(Sum)


@register_funcify_and_cache_key(Sum)
def _numba_sum(op, node, **kwargs):
    x, out = node.inputs[0], node.outputs[0]
    axes = tuple(range(x.ndim)) if op.axis is None else tuple(sorted(op.axis))
    kernel = _SUMS.get((x.ndim, axes))
    if (kernel is None or x.type.dtype != out.type.dtype
            or x.type.dtype not in ("float32", "float64")
            or op.acc_dtype != "float64"):
        return _pytensor_careduce(op, node, **kwargs)
    jitted, salt = compiled(kernel)
    return jitted, "network3-sum-{0}-{1}-{2}".format(x.ndim, axes, salt)


def _sum_all(x):
    total = 0.0
    for v in x.flat:
        total += v
    return np.asarray(total, dtype=x.dtype)


def _sum_rows(x):                      # (n, k) -> (k,): over the mini-batch
    n, k = x.shape
    total = np.zeros(k)
    for m in range(n):
        for j in range(k):
            total[j] += x[m, j]
    return total.astype(x.dtype)


def _sum_columns(x):                   # (n, k) -> (n,)
    n, k = x.shape
    out = np.empty(n, dtype=x.dtype)
    for m in range(n):
        total = 0.0
        for j in range(k):
            total += x[m, j]
        out[m] = total
    return out


def _sum_maps(x):                      # (n, c, h, w) -> (c,): a conv bias
    n, c, height, width = x.shape
    out = np.empty(c, dtype=x.dtype)
    for ch in range(c):
        total = 0.0
        for m in range(n):
            for i in range(height):
                for j in range(width):
                    total += x[m, ch, i, j]
        out[ch] = total
    return out


_SUMS = {(2, (0,)): _sum_rows, (2, (1,)): _sum_columns, (4, (0, 2, 3)): _sum_maps}
_SUMS.update({(ndim, tuple(range(ndim))): _sum_all for ndim in range(1, 5)})


@register_funcify_default_op_cache_key(SpecifyShape)
def _numba_specify_shape(op, node, **kwargs):
    checked = tuple(i for i, s in enumerate(node.inputs[1:])
                    if not isinstance(s.type, NoneTypeT))
    names = ", ".join("shape_{0}".format(i) for i in range(len(node.inputs) - 1))
    lines = "".join(
        "    if x.shape[{0}] != shape_{0}:\n"
        "        raise ValueError('SpecifyShape: dimension {0} of the input does "
        "not have the size the graph expects')\n".format(i) for i in checked)
    source = "def specify_shape(x, {0}):\n{1}    return x\n".format(names, lines)
    return numba_njit(compile_function_src(source, "specify_shape", {})), \
        zlib.crc32(source.encode())


# PyTensor's reshape kernel, as generic, compiles slowly for the same reasons.
_pytensor_reshape = numba_funcify_default_op_cache_key.dispatch(Reshape)


@register_funcify_default_op_cache_key(Reshape)
def _numba_reshape(op, node, **kwargs):
    kernel = _RESHAPES.get(op.ndim)
    if kernel is None:
        return _pytensor_reshape(op, node=node, **kwargs)
    return compiled(kernel)


def _reshape_1(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0],))


def _reshape_2(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1]))


def _reshape_3(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1], shape[2]))


def _reshape_4(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1], shape[2], shape[3]))


_RESHAPES = {1: _reshape_1, 2: _reshape_2, 3: _reshape_3, 4: _reshape_4}
