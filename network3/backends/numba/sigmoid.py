"""backends/numba/sigmoid.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

The sigmoid, with an exponential the compiler can vectorize.  It replaces
PyTensor's Numba kernel for the sigmoid of float arrays, process-wide,
when network3 is imported: inside the activations of the chapter's
sigmoid nets and inside the fused kernels of their gradients alike.

"""

#### Libraries
# Standard library
import math

# Third-party libraries
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from pytensor.link.numba.dispatch.basic import (
    numba_funcify_and_cache_key, register_funcify_and_cache_key)
from pytensor.scalar.math import Sigmoid

# network3
from network3.backends.numba.kernels import compiled


#### Why an exponential of our own
# PyTensor's kernel is ``1/(1 + exp(-x))``.  Numba turns ``exp`` into a
# call to the C library's, one element at a time: LLVM vectorizes a loop
# with a call in it only with Intel's SVML, which the llvmlite wheels on
# PyPI are built without.  For the conv1 net at mini-batch 256 the sigmoid
# and its gradient took 41% of a training step that way (~10 ns per
# element, 2 cores of an AMD EPYC).  The exponential below is additions,
# multiplications and bit shifts only, so LLVM vectorizes the loops that
# call it (4 lanes of float64 with AVX2).  It is accurate to within 2 units
# in the last place of a float64 (tests/test_backends_numba.py measures it
# against NumPy's), so the sigmoid of a float32 rounds to the same float32
# as NumPy's in float64 but for ties a float64 cannot see.
#
# exp(x) = 2**n * exp(r), with n = round(x/ln 2) and r = x - n*ln 2, so
# that |r| <= ln(2)/2; exp(r) is its Taylor polynomial of degree 13
# (truncation error below 1e-17), evaluated by Estrin's scheme (short
# dependency chains), and 2**n is built from its bits, as the product of
# two powers of two so that results down to the subnormals and up to
# overflow come out as NumPy's do.  ln 2 is split in two (Cody and Waite)
# so that n*ln 2 is exact enough for r.
_LOG2_E = 1.4426950408889634
_LN2_HIGH = 6.93147180369123816490e-01   # ln 2 to 32 bits, so n*_LN2_HIGH is exact
_LN2_LOW = 1.90821492927058770002e-10    # ln 2 - _LN2_HIGH
# Adding 1.5*2**52 rounds a float64 of magnitude below 2**51 to an integer
# n, and the sum's bits are those of 1.5*2**52 plus n.
_ROUNDER = 6755399441055744.0
_ROUNDER_BITS = 0x4338000000000000
(_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12,
 _C13) = (1.0 / math.factorial(k) for k in range(14))


@intrinsic
def _bits_as_float64(typingctx, bits):
    """The float64 whose bits are the int64 ``bits``."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _float64_bits(typingctx, x):
    """The bits of the float64 ``x``, as an int64."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


# Contraction into fused multiply-adds only: PyTensor's default fast-math
# flags include reassociation, which would fold ``(t - _ROUNDER)`` back
# into ``x*_LOG2_E`` and undo the rounding.
@numba.njit(fastmath={"contract"}, error_model="numpy", no_cpython_wrapper=True,
            no_cfunc_wrapper=True)
def _exp(x):
    # exp underflows to 0 below -745.2 and overflows above 709.8: the clamp
    # keeps n where both powers of two below are normal float64s.
    clamped = min(max(x, -746.0), 710.0)
    t = clamped * _LOG2_E + _ROUNDER
    n = t - _ROUNDER
    r = (clamped - n * _LN2_HIGH) - n * _LN2_LOW
    r2 = r * r
    r4 = r2 * r2
    low = (_C0 + _C1 * r) + (_C2 + _C3 * r) * r2 + ((_C4 + _C5 * r) + (_C6 + _C7 * r) * r2) * r4
    high = (_C8 + _C9 * r) + (_C10 + _C11 * r) * r2 + (_C12 + _C13 * r) * r4
    # 2**n = 2**half * 2**(n - half), each made by putting its exponent
    # (plus the float64 bias, 1023) into the exponent field
    whole = _float64_bits(t) - _ROUNDER_BITS
    half = whole >> 1
    y = (low + high * (r4 * r4)) * _bits_as_float64((half + 1023) << 52)
    y = y * _bits_as_float64((whole - half + 1023) << 52)
    return y if x == x else x                  # NaN stays NaN


# Compiled code holds the constants' values: they salt its cache with its source.
_exp.salt = repr((_LOG2_E, _LN2_HIGH, _LN2_LOW, _ROUNDER, _ROUNDER_BITS, _C0, _C1, _C2,
                  _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13))


#### The kernel
_pytensor_sigmoid = numba_funcify_and_cache_key.dispatch(Sigmoid)


@register_funcify_and_cache_key(Sigmoid)
def _numba_sigmoid(op, node, **kwargs):
    if node.inputs[0].type.dtype not in ("float32", "float64"):
        return _pytensor_sigmoid(op, node=node, **kwargs)
    jitted, salt = compiled(_sigmoid, calls=(_exp, _bits_as_float64, _float64_bits))
    return jitted, "network3-sigmoid-{0}".format(salt)


def _sigmoid(x):
    # In float64 whatever x is, as PyTensor's kernel computes it: a fused
    # gradient such as g*sigmoid(x)*(1 - sigmoid(x)) then keeps
    # 1 - sigmoid(x) for saturated units that a float32 would round to 0.
    # np.divide has NumPy's rules: no check for a zero divisor, which
    # would keep LLVM from vectorizing the loop.
    return np.divide(1.0, 1.0 + _exp(-np.float64(x)))
