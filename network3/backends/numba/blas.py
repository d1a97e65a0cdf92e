"""backends/numba/blas.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~

Matrix products on the CPU: BLAS ``gemm`` called directly from compiled
code, transposed operands uncopied (``Dot``, replacing PyTensor's kernel for
2-D float products), and kernels for PyTensor's BLAS Ops (``Gemm``,
``Dot22``, ``Dot22Scalar``, ``Gemv``, ``Ger``), so that training steps for
small mini-batches keep PyTensor's BLAS rewrites and update a dense layer's
weights in place inside one ``gemm`` (:func:`mode`).

"""

#### Libraries
# Standard library
import ctypes
import glob
import os

# Third-party libraries
import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import get_cython_function_address, intrinsic
from pytensor.compile.mode import Mode, get_mode
from pytensor.link.numba.dispatch.basic import (
    numba_funcify_default_op_cache_key, numba_njit,
    register_funcify_default_op_cache_key)
from pytensor.link.numba.linker import NumbaLinker
from pytensor.tensor.blas import Dot22, Dot22Scalar, Gemm, Gemv, Ger
from pytensor.tensor.math import Dot

# network3
from network3 import config
from network3.backends.numba.kernels import compiled


#### Matrix products: BLAS called directly
# Gradients are full of transposed operands (``dot(delta, w.T)``,
# ``dot(x.T, delta)``).  Numba's ``np.dot`` copies such an operand into C
# order first (for the 1000x1000 weights of the dropout net that copy costs
# more than the product), and it takes seconds to compile for each
# combination of memory layouts.  BLAS takes row- and column-major operands
# as they are, so this kernel calls BLAS's ``gemm`` itself: it reads
# each operand's strides at run time and passes it with the matching
# transpose flag, copying only an operand that is neither (a strided
# slice).  It replaces PyTensor's Numba kernel for 2-D float products only
# (everything else goes to PyTensor's own), and it does so for the whole
# process: once network3 is imported, every PyTensor function compiled with
# Numba uses it.
#
# The compiled code calls BLAS by a symbol name registered here on import,
# not by an address, so PyTensor can cache it on disk like any other kernel.
#
# Which BLAS: NumPy's wheels bundle an OpenBLAS of their own (with 64-bit
# integers), SciPy's another (32-bit).  On 2 cores of an AMD EPYC VM the
# one NumPy 2.4 bundles (OpenBLAS 0.3.31) ran the convolutions' matrix
# products 1.2x faster than SciPy 1.17's (0.3.30), square ones as fast,
# and every chapter net's training step 6-44% faster
# (benchmarks/results/profile.md), so it is the one called
# where it is found; other builds of NumPy (conda's, Accelerate) have no
# such library, and SciPy's gemm is called.  NETWORK3_BLAS=scipy asks for
# SciPy's.
_GEMM = {"float32": "network3_sgemm", "float64": "network3_dgemm"}


def _numpy_gemm():
    """The addresses of ``sgemm`` and ``dgemm`` in the OpenBLAS bundled with
    NumPy's wheel, or None where there is none."""
    if os.environ.get("NETWORK3_BLAS", "numpy") == "scipy":
        return None
    folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas64_*"))):
        try:
            library = ctypes.CDLL(path)      # (already loaded by NumPy: the same one)
            return {dtype: ctypes.cast(getattr(library, "scipy_{0}gemm_64_".format(
                letter)), ctypes.c_void_p).value
                for dtype, letter in (("float32", "s"), ("float64", "d"))}
        except (OSError, AttributeError):
            continue
    return None


def _scipy_gemm():
    """The addresses of SciPy's BLAS ``sgemm`` and ``dgemm``."""
    return {dtype: get_cython_function_address("scipy.linalg.cython_blas", letter + "gemm")
            for dtype, letter in (("float32", "s"), ("float64", "d"))}


_addresses = _numpy_gemm()
#: The BLAS whose gemm the compiled code calls, and the width of its integers.
BLAS, _INT_BITS = ("numpy", 64) if _addresses else ("scipy", 32)
for _dtype, _address in (_addresses or _scipy_gemm()).items():
    llvm.add_symbol(_GEMM[_dtype], _address)


@intrinsic
def _gemm(typingctx, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """BLAS ``gemm`` (column-major): ``c = alpha*op(a).op(b) + beta*c``,
    ``transa``/``transb`` the character codes ``ord("N")`` or ``ord("T")``.
    ``a``, ``b``, ``c`` are arrays of one float dtype; BLAS gets the address
    of each one's first element."""
    dtype = c.dtype
    int_ = types.intp
    signature = types.void(int_, int_, int_, int_, int_, dtype, a, int_, b, int_,
                           dtype, c, int_)
    symbol = _GEMM[str(dtype)]

    def codegen(context, builder, sig, args):
        real = context.get_value_type(dtype)
        i8, integer = ir.IntType(8), ir.IntType(_INT_BITS)
        pointers = [i8, i8, integer, integer, integer, real, real, integer, real,
                    integer, real, real, integer]
        fnty = ir.FunctionType(ir.VoidType(), [t.as_pointer() for t in pointers])
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        values = []
        for value, kind, ty in zip(args, pointers, sig.args):
            if isinstance(ty, types.Array):
                data = context.make_array(ty)(context, builder, value).data
                values.append(builder.bitcast(data, kind.as_pointer()))
                continue
            if isinstance(kind, ir.IntType) and kind.width < value.type.width:
                value = builder.trunc(value, kind)
            slot = cgutils.alloca_once(builder, kind)
            builder.store(value, slot)
            values.append(slot)
        builder.call(fn, values)
        return context.get_dummy_value()

    return signature, codegen


# Code compiled for one BLAS must not be taken from the disk cache for the
# other: their integers differ in width.
_gemm.salt = BLAS


_pytensor_dot = numba_funcify_default_op_cache_key.dispatch(Dot)


@register_funcify_default_op_cache_key(Dot)
def _numba_dot(op, node, **kwargs):
    x, y = node.inputs
    out = node.outputs[0]
    if not (x.ndim == y.ndim == 2
            and x.type.dtype == y.type.dtype == out.type.dtype
            and out.type.dtype in _GEMM):
        return _pytensor_dot(op, node, **kwargs)
    return _DOT


def _dot(x, y):
    m, k = x.shape
    n = y.shape[1]
    out = np.empty((m, n), dtype=x.dtype)
    if m == 0 or n == 0:
        return out
    if k == 0:
        out[:] = 0
        return out
    # The row-major product out = x.y is, read column-major,
    # out^T = y^T . x^T: y is BLAS's first operand, x its second.
    y_flag, y_ld = _blas_layout(y, n, k)
    if y_flag == 0:
        y = np.ascontiguousarray(y)
        y_flag, y_ld = _blas_layout(y, n, k)
    x_flag, x_ld = _blas_layout(x, k, m)
    if x_flag == 0:
        x = np.ascontiguousarray(x)
        x_flag, x_ld = _blas_layout(x, k, m)
    _gemm(y_flag, x_flag, n, m, k, 1.0, y, y_ld, x, x_ld, 0.0, out, n)
    return out


@numba_njit
def _blas_layout(a, rows, cols):
    """How BLAS can read the row-major matrix ``a`` as the column-major
    ``rows`` x ``cols`` matrix ``a^T``: ``(ord("N"), leading dimension)`` if
    its rows are contiguous, ``(ord("T"), ...)`` if its columns are, and
    ``(0, 0)`` if neither (it must be copied)."""
    size = a.itemsize
    if a.strides[0] % size or a.strides[1] % size:
        return 0, 0
    # strides in elements; along an axis of length 1 any stride will do
    along_rows = max(1, rows) if a.shape[0] == 1 else a.strides[0] // size
    along_cols = 1 if a.shape[1] == 1 else a.strides[1] // size
    if along_cols == 1 and along_rows >= max(1, rows):
        return 78, along_rows                              # "N"
    along_rows = 1 if a.shape[0] == 1 else a.strides[0] // size
    along_cols = max(1, cols) if a.shape[1] == 1 else a.strides[1] // size
    if along_rows == 1 and along_cols >= max(1, cols):
        return 84, along_cols                              # "T"
    return 0, 0


@intrinsic
def _any_layout(typingctx, a):
    """The array ``a`` itself, typed as an array of any memory layout.

    Numba compiles a function once for every combination of its arguments'
    layouts (C, Fortran, strided); a training step hands the product kernel
    six of them, and compiling it six times took 4 s of a cold start of the
    relu net (Numba's compile events, 2 cores of an EPYC VM).  Called
    through this, it compiles once per dtype; only a wrapper of two calls
    compiles per layout."""
    def codegen(context, builder, sig, args):
        # every layout has the same data model: the value is passed on as it is
        context.nrt.incref(builder, sig.args[0], args[0])
        return args[0]

    return a.copy(layout="A")(a), codegen


_dot_jitted = compiled(_dot, calls=(_blas_layout, _gemm))[0]


def _dot_any_layout(x, y):
    return _dot_jitted(_any_layout(x), _any_layout(y))


# The product kernel and its cache salt, shared by Dot, Dot22 and Gemm.
_DOT = compiled(_dot_any_layout, calls=(_any_layout, _dot, _blas_layout, _gemm))


#### Updates fused into matrix products
# A dense layer's weights are updated with ``w - eta*dot(x.T, delta)`` (and,
# with L2, ``w*(1 - eta*l2) - ...``).  As separate steps, the gradient is
# written to a new matrix, read back, and the weights are read and written
# once more: for the dropout net's 1000x1000 layer, 12 MB of memory traffic
# per mini-batch that BLAS does not need, since its ``gemm`` computes
# ``c = alpha*a.b + beta*c`` in place.  PyTensor has the graph rewrites that
# find these patterns ("BlasOpt": Gemm, Dot22, Dot22Scalar, Gemv, Ger) but
# leaves them out of its Numba mode, which has no kernels for those Ops.
# Here they get kernels, and training steps for mini-batches of up to
# FUSED_UPDATES_MAX_BATCH images are compiled with a Numba linker that keeps
# the rewrites (``mode(fused_updates=True)``).
class _BlasNumbaLinker(NumbaLinker):
    """PyTensor's Numba linker with its BLAS rewrites, which these kernels serve."""

    incompatible_rewrites = tuple(
        r for r in NumbaLinker.incompatible_rewrites if r != "BlasOpt")


#: The largest mini-batch whose training step gets the BLAS rewrites.  At
#: mini-batch 10 they make the dropout net's step 15% faster; at 256 the
#: in-place update made it 50% slower in bench_cpu.py's runs on 2 cores of
#: an AMD EPYC (and not in every process: it depends on where the arrays
#: lie in memory), so larger mini-batches keep separate updates.
FUSED_UPDATES_MAX_BATCH = 64


def mode(fused_updates=False):
    """The PyTensor mode the Numba back end compiles with: the default Numba
    mode (or the one ``THEANO_FLAGS`` asked for), with PyTensor's BLAS
    rewrites if ``fused_updates``."""
    base = get_mode(config.mode)
    if not fused_updates or not isinstance(base.linker, NumbaLinker):
        return base
    return Mode(linker=_BlasNumbaLinker(), optimizer=base.provided_optimizer)


@register_funcify_default_op_cache_key(Dot22)
def _numba_dot22(op, node, **kwargs):
    return _DOT


@register_funcify_default_op_cache_key(Dot22Scalar)
def _numba_dot22_scalar(op, node, **kwargs):

    def dot22_scalar(x, y, a):
        return _gemm_into(np.empty((x.shape[0], y.shape[1]), dtype=x.dtype),
                          a[()], x, y, 0.0)

    return compiled(dot22_scalar, calls=(_gemm_into, _dot, _blas_layout, _gemm))


@register_funcify_default_op_cache_key(Gemm)
def _numba_gemm(op, node, **kwargs):
    inplace = op.inplace

    def gemm(z, a, x, y, b):
        m, n = x.shape[0], y.shape[1]
        if inplace and z.shape[0] == m and z.shape[1] == n:
            return _gemm_into(z, a[()], x, y, b[()])
        out = np.empty((m, n), dtype=z.dtype)
        rows, cols = z.shape              # (z may be broadcast along an axis)
        for i in range(m):
            for j in range(n):
                out[i, j] = z[i if rows > 1 else 0, j if cols > 1 else 0]
        return _gemm_into(out, a[()], x, y, b[()])

    return compiled(gemm, inplace, calls=(_gemm_into, _dot, _blas_layout, _gemm))


@numba_njit
def _gemm_into(z, a, x, y, b):
    """``z = a*x.y + b*z`` in place, in one BLAS call where ``z``'s rows are
    contiguous and BLAS can read ``x`` and ``y`` as they are; returns ``z``."""
    m, k = x.shape
    n = y.shape[1]
    z_flag, z_ld = _blas_layout(z, n, m)
    x_flag, x_ld = _blas_layout(x, k, m)
    y_flag, y_ld = _blas_layout(y, n, k)
    if z_flag == 78 and x_flag and y_flag and m and n and k:
        # column-major z^T = a*y^T.x^T + b*z^T
        _gemm(y_flag, x_flag, n, m, k, a, y, y_ld, x, x_ld, b, z, z_ld)
        return z
    product = _dot_jitted(x, y)
    for i in range(m):
        for j in range(n):
            z[i, j] = a * product[i, j] + (b * z[i, j] if b != 0 else 0.0)
    return z


@register_funcify_default_op_cache_key(Gemv)
def _numba_gemv(op, node, **kwargs):
    inplace = op.inplace

    def gemv(y, alpha, a, x, beta):
        out = y if inplace else y.copy()
        m, k = a.shape
        al, be = alpha[()], beta[()]
        for i in range(m):
            total = 0.0
            for j in range(k):
                total += a[i, j] * x[j]
            out[i] = al * total + (be * out[i] if be != 0 else 0.0)
        return out

    return compiled(gemv, inplace)


@register_funcify_default_op_cache_key(Ger)
def _numba_ger(op, node, **kwargs):
    destructive = op.destructive

    def ger(a, alpha, x, y):
        out = a if destructive else a.copy()
        al = alpha[()]
        for i in range(x.shape[0]):
            for j in range(y.shape[0]):
                out[i, j] += al * x[i] * y[j]
        return out

    return compiled(ger, destructive)
