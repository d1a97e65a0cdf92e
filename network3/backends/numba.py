"""backends/numba.py
~~~~~~~~~~~~~~~~~~~~~

The default back end: the CPU, through PyTensor's Numba linker.

PyTensor compiles a whole training step (forward pass, gradients, updates)
into one Numba function.  This module teaches that linker network3's Ops
(``network3.ops``) with kernels of its own; replaces its kernels for matrix
products (BLAS called directly, transposed operands uncopied) and for the
sums, shape checks and reshapes of training graphs (generic ones take
seconds to compile); gives it kernels for PyTensor's BLAS Ops, so that
small mini-batches update dense weights in place inside one ``gemm``; and
runs training as Theano did: the training set in shared variables, each
step reading its mini-batch by index (``givens``) without a copy,
parameters and dropout generators updated in place by the step itself.

Importing this module registers the kernels; ``network3.backends`` does so
when network3 is imported, so every PyTensor function compiled in the
default mode uses them.

"""

#### Libraries
# Standard library
import functools
import inspect
import zlib

# Third-party libraries
import llvmlite.binding as llvm
import numpy as np
import pytensor
import pytensor.tensor as T
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import get_cython_function_address, intrinsic
from pytensor.compile.mode import Mode, get_mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.link.numba.dispatch.basic import (
    numba_funcify_and_cache_key, numba_funcify_default_op_cache_key, numba_njit,
    register_funcify_and_cache_key, register_funcify_default_op_cache_key)
from pytensor.link.numba.linker import NumbaLinker
from pytensor.link.utils import compile_function_src
from pytensor.tensor.blas import Dot22, Dot22Scalar, Gemm, Gemv, Ger
from pytensor.tensor.math import Dot, Sum
from pytensor.tensor.shape import Reshape, SpecifyShape
from pytensor.tensor.type_other import NoneTypeT

# network3
from network3 import config
from network3.backends.base import Backend
from network3.ops import (POOL_MODES, Col2Im, Im2Col, LogLikelihood,
                          LogLikelihoodGrad, Pool, PoolGrad)


#### Running a network's graphs
class NumbaBackend(Backend):
    """Compiles a network's graphs with PyTensor's default (Numba) mode (with
    BLAS rewrites for mini-batches of up to ``FUSED_UPDATES_MAX_BATCH``) and
    runs them on the CPU; the shared variables always hold the current
    parameters, so :meth:`sync` has nothing to do."""

    name = "numba"
    chunk = 100

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._steps = {}
        self._predict = {}
        self._evaluate = {}
        self._blas_limit = None      # while make_room(True): threadpoolctl's limit

    def training_run(self, graph, training_data, arrays):
        key = (graph, id(training_data[0]), id(training_data[1]))
        if key not in self._steps:
            # The data is kept alive with the step, so that its id stays unique.
            self._steps[key] = (self._compile_step(graph, training_data, arrays),
                                training_data)
            self.compilations += 1
        step = self._steps[key][0]

        def run(first, count, stop=None):
            costs = []
            for i in range(first, first + count):
                costs.append(step(np.asarray(i, dtype=np.int64)))
                if stop is not None and stop():
                    break
            return np.asarray(costs, dtype=float)
        return run

    def _compile_step(self, graph, training_data, arrays):
        """The compiled function that trains on mini-batch ``i`` and returns its cost."""
        training_x, training_y = _shared_training_data(training_data, arrays)
        i = T.lscalar()  # mini-batch index
        mbs = graph.mini_batch_size
        fused = mbs <= FUSED_UPDATES_MAX_BATCH
        train_mb = pytensor.function(
            [i], graph.cost, updates=graph.updates, mode=mode(fused),
            givens={
                graph.x: training_x[i*mbs: (i+1)*mbs],
                graph.y: training_y[i*mbs: (i+1)*mbs]
            })
        # The index is always ours and always an int64 array, so PyTensor's
        # checks of the inputs can be skipped: that is a fifth of the FC
        # net's step.
        train_mb.trust_input = True
        return train_mb

    def predict(self, graph, images):
        fn = self._predict.get(graph)
        if fn is None:
            fn = pytensor.function([graph.x], graph.y_out, mode=config.mode)
            fn.trust_input = True    # images is a checked floatX array
            self._predict[graph] = fn
        size = graph.batch_size
        return np.concatenate(
            [fn(images[k:k + size]) for k in range(0, len(images), size)]
            or [np.zeros(0, dtype=np.int64)])


    def evaluate(self, graph, images, labels):
        fn = self._evaluate.get(graph)
        if fn is None:
            fn = pytensor.function([graph.x, graph.y], [graph.correct, graph.cost],
                                   mode=config.mode)
            fn.trust_input = True    # checked floatX images and int32 labels
            self._evaluate[graph] = fn
        size, correct, cost = graph.batch_size, 0, 0.0
        for k in range(0, len(images), size):
            right, total = fn(images[k:k + size], labels[k:k + size])
            correct, cost = correct + int(right), cost + float(total)
        return correct, cost

    def make_room(self, busy):
        # OpenBLAS's threads wait for work by spinning on every core: a
        # thread computing beside them takes turns with a spinning one,
        # and a matrix product stalls until the OS gives its thread back.
        # So while another thread is busy, BLAS keeps to one core fewer.
        if busy and self._blas_limit is None:
            controller = _blas_threads()
            cores = max((info["num_threads"] for info in controller.info()), default=1)
            if cores > 1:
                self._blas_limit = controller.limit(limits=cores - 1)
        elif not busy and self._blas_limit is not None:
            self._blas_limit.restore_original_limits()
            self._blas_limit = None


@functools.cache
def _blas_threads():
    """threadpoolctl's controller of the BLAS libraries loaded (made once:
    finding them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas")


def _shared_training_data(training_data, arrays):
    """Training data as shared variables, so that each step reads its
    mini-batch without a copy: ``arrays`` (the checked images and labels)
    are wrapped where the user handed over something else."""
    (x, y), (images, labels) = training_data, arrays
    if not isinstance(x, SharedVariable) or x.dtype != config.floatX:
        x = pytensor.shared(images, borrow=True)
    if not isinstance(y, Variable) or y.dtype != "int32":
        y = pytensor.shared(labels, borrow=True)
    return x, y


#### Compiled kernels for PyTensor's Numba linker
# Without these, Numba runs network3's Ops through their NumPy ``perform`` in
# object mode.  Each kernel is a plain loop nest, quick to compile and cached
# on disk by PyTensor.  PyTensor keys that cache on the Op and its props
# only, so each kernel also hands back a checksum of its own source: editing
# a kernel then recompiles it instead of reusing the stale cached one.
# A padded convolution runs the unpadded loops over a zero-padded copy of its
# images.  The chapter's pooling (max over windows side by side, no padding)
# has a kernel of its own, tuned for it; the other modes, strides and
# paddings share a general one.
_jitted = {}


def _compiled(kernel, *params, calls=()):
    """``kernel`` jitted for PyTensor, with a cache salt from its source and
    the source of the functions it ``calls``.

    ``params`` are the values ``kernel`` closes over.  Nodes whose kernels
    have the same code and ``params`` share one jitted function, so that
    Numba compiles it once per process and argument types however many
    nodes of a graph use it: two convolutional layers, three matrix
    products.
    """
    key = (kernel.__code__, params)
    if key not in _jitted:
        source = "".join(_source(f) for f in (kernel,) + tuple(calls))
        _jitted[key] = numba_njit(kernel, boundscheck=False), zlib.crc32(source.encode())
    return _jitted[key]


def _source(function):
    """The source of a Python function, a jitted one or an intrinsic."""
    python = getattr(function, "py_func", None) or getattr(function, "_defn", function)
    return inspect.getsource(python)


@register_funcify_default_op_cache_key(Im2Col)
def _numba_im2col(op, **kwargs):
    (kh, kw), (sh, sw) = op.window, op.stride

    def im2col(x):
        n, c, height, width = x.shape
        oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
        out = np.empty((n * oh * ow, c * kh * kw), dtype=x.dtype)
        for m in range(n):
            for i in range(oh):
                for j in range(ow):
                    row = (m * oh + i) * ow + j
                    for ch in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                out[row, (ch * kh + a) * kw + b] = \
                                    x[m, ch, i * sh + a, j * sw + b]
        return out

    if op.pad == (0, 0):
        return _compiled(im2col, kh, kw, sh, sw)
    # Padded: the same loops over a zero-padded copy of the images.
    unpadded = _compiled(im2col, kh, kw, sh, sw)[0]
    ph, pw = op.pad

    def padded_im2col(x):
        return unpadded(_pad(x, ph, pw))

    return _compiled(padded_im2col, kh, kw, sh, sw, ph, pw, calls=(im2col, _pad))


@register_funcify_default_op_cache_key(Col2Im)
def _numba_col2im(op, **kwargs):
    (kh, kw), (sh, sw) = op.window, op.stride

    def col2im(cols, shape):
        n, c, height, width = shape[0], shape[1], shape[2], shape[3]
        oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
        x = np.zeros((n, c, height, width), dtype=cols.dtype)
        for m in range(n):
            for i in range(oh):
                for j in range(ow):
                    row = (m * oh + i) * ow + j
                    for ch in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                x[m, ch, i * sh + a, j * sw + b] += \
                                    cols[row, (ch * kh + a) * kw + b]
        return x

    if op.pad == (0, 0):
        return _compiled(col2im, kh, kw, sh, sw)
    # Padded: the same loops onto zero-padded images, then the padding cut off.
    unpadded = _compiled(col2im, kh, kw, sh, sw)[0]
    ph, pw = op.pad

    def padded_col2im(cols, shape):
        padded_shape = shape.copy()
        padded_shape[2] += 2 * ph
        padded_shape[3] += 2 * pw
        return _crop(unpadded(cols, padded_shape), ph, pw)

    return _compiled(padded_col2im, kh, kw, sh, sw, ph, pw, calls=(col2im, _crop))


@numba_njit
def _pad(x, ph, pw):
    """``x`` (n, c, h, w) with ``ph`` rows and ``pw`` columns of 0s on each side."""
    n, c, height, width = x.shape
    out = np.zeros((n, c, height + 2 * ph, width + 2 * pw), dtype=x.dtype)
    for m in range(n):
        for ch in range(c):
            for i in range(height):
                for j in range(width):
                    out[m, ch, i + ph, j + pw] = x[m, ch, i, j]
    return out


@numba_njit
def _crop(x, ph, pw):
    """``x`` (n, c, h, w) without ``ph`` rows and ``pw`` columns on each side."""
    n, c, height, width = x.shape
    out = np.empty((n, c, height - 2 * ph, width - 2 * pw), dtype=x.dtype)
    for m in range(n):
        for ch in range(c):
            for i in range(height - 2 * ph):
                for j in range(width - 2 * pw):
                    out[m, ch, i, j] = x[m, ch, i + ph, j + pw]
    return out


# The pooling modes as the numbers the general pooling kernels branch on
# (each kernel is compiled for one mode, so the branches fold away).
_POOL_CODES = {mode: code for code, mode in enumerate(POOL_MODES)}
_MAX, _L2, _SUM, _AVERAGE_INC_PAD, _AVERAGE_EXC_PAD = (
    _POOL_CODES[m] for m in POOL_MODES)


@register_funcify_default_op_cache_key(Pool)
def _numba_pool(op, **kwargs):
    (ph, pw), (sh, sw), (pt, pl) = op.window, op.stride, op.pad
    mode = _POOL_CODES[op.mode]

    def chapter_max_pool(x):
        n, c, height, width = x.shape
        oh, ow = height // ph, width // pw
        out = np.empty((n, c, oh, ow), dtype=x.dtype)
        for m in range(n):
            for ch in range(c):
                for i in range(oh):
                    # the window's first row, then the others, in memory order
                    for j in range(ow):
                        best = x[m, ch, i * ph, j * pw]
                        for b in range(1, pw):
                            best = max(best, x[m, ch, i * ph, j * pw + b])
                        out[m, ch, i, j] = best
                    for a in range(1, ph):
                        for j in range(ow):
                            best = out[m, ch, i, j]
                            for b in range(pw):
                                best = max(best, x[m, ch, i * ph + a, j * pw + b])
                            out[m, ch, i, j] = best
        return out

    def pool(x):
        n, c, height, width = x.shape
        oh = (height + 2 * pt - ph) // sh + 1
        ow = (width + 2 * pl - pw) // sw + 1
        out = np.empty((n, c, oh, ow), dtype=x.dtype)
        for m in range(n):
            for ch in range(c):
                for i in range(oh):
                    # the window's real (unpadded) rows r0..r1-1, columns c0..c1-1
                    r0, r1 = max(i * sh - pt, 0), min(i * sh - pt + ph, height)
                    for j in range(ow):
                        c0, c1 = max(j * sw - pl, 0), min(j * sw - pl + pw, width)
                        if mode == _MAX:
                            acc = x[m, ch, r0, c0]
                            for r in range(r0, r1):
                                for q in range(c0, c1):
                                    acc = max(acc, x[m, ch, r, q])
                        else:
                            acc = 0.0
                            for r in range(r0, r1):
                                for q in range(c0, c1):
                                    v = x[m, ch, r, q]
                                    acc += v * v if mode == _L2 else v
                            if mode == _L2:
                                acc = np.sqrt(acc)
                            elif mode == _AVERAGE_INC_PAD:
                                acc /= ph * pw
                            elif mode == _AVERAGE_EXC_PAD:
                                acc /= (r1 - r0) * (c1 - c0)
                        out[m, ch, i, j] = acc
        return out

    return _pool_kernel(op, chapter_max_pool, pool)


@register_funcify_default_op_cache_key(PoolGrad)
def _numba_pool_grad(op, **kwargs):
    (ph, pw), (sh, sw), (pt, pl) = op.window, op.stride, op.pad
    mode = _POOL_CODES[op.mode]

    def chapter_max_pool_grad(x, out, gout):
        n, c, oh, ow = out.shape
        gx = np.zeros(x.shape, dtype=x.dtype)
        # Row by row and without branches: several times faster than
        # visiting window by window with an ``if``.
        for m in range(n):
            for ch in range(c):
                for i in range(oh):
                    for a in range(ph):
                        row = i * ph + a
                        for j in range(ow):
                            best = out[m, ch, i, j]
                            g = gout[m, ch, i, j]
                            for b in range(pw):
                                col = j * pw + b
                                gx[m, ch, row, col] = g if x[m, ch, row, col] == best else 0.0
        return gx

    def pool_grad(x, out, gout):
        n, c, height, width = x.shape
        oh, ow = out.shape[2], out.shape[3]
        gx = np.zeros(x.shape, dtype=x.dtype)
        for m in range(n):
            for ch in range(c):
                for i in range(oh):
                    r0, r1 = max(i * sh - pt, 0), min(i * sh - pt + ph, height)
                    for j in range(ow):
                        c0, c1 = max(j * sw - pl, 0), min(j * sw - pl + pw, width)
                        g = gout[m, ch, i, j]
                        if mode == _MAX:
                            # every pixel equal to the maximum gets g
                            best = out[m, ch, i, j]
                            for r in range(r0, r1):
                                for q in range(c0, c1):
                                    if x[m, ch, r, q] == best:
                                        gx[m, ch, r, q] += g
                        elif mode == _L2:
                            # x / out: none where the window is all 0s (out = 0)
                            norm = out[m, ch, i, j]
                            if norm > 0:
                                scale = g / norm
                                for r in range(r0, r1):
                                    for q in range(c0, c1):
                                        gx[m, ch, r, q] += scale * x[m, ch, r, q]
                        else:
                            if mode == _AVERAGE_INC_PAD:
                                g = g / (ph * pw)
                            elif mode == _AVERAGE_EXC_PAD:
                                g = g / ((r1 - r0) * (c1 - c0))
                            for r in range(r0, r1):
                                for q in range(c0, c1):
                                    gx[m, ch, r, q] += g
        return gx

    return _pool_kernel(op, chapter_max_pool_grad, pool_grad)


def _pool_kernel(op, chapter, general):
    """The compiled kernel for a Pool or PoolGrad node ``op``: ``chapter``
    (closing over the window) for the chapter's pooling, else ``general``
    (closing over window, stride, padding and mode)."""
    if op.chapter_max:
        return _compiled(chapter, *op.window)
    return _compiled(general, *op.window, *op.stride, *op.pad, _POOL_CODES[op.mode])


@register_funcify_default_op_cache_key(LogLikelihood)
def _numba_log_likelihood(op, **kwargs):

    def log_likelihood(z, y):
        n, k = z.shape
        total = 0.0
        for m in range(n):
            label = y[m]
            if label < 0 or label >= k:
                raise IndexError("log_likelihood: a label is out of range")
            top = z[m, 0]
            for j in range(1, k):
                top = max(top, z[m, j])
            s = 0.0
            for j in range(k):
                s += np.exp(np.float64(z[m, j] - top))
            total += top + np.log(s) - z[m, label]
        return np.asarray(total / n, dtype=z.dtype)

    return _compiled(log_likelihood)


@register_funcify_default_op_cache_key(LogLikelihoodGrad)
def _numba_log_likelihood_grad(op, **kwargs):

    def log_likelihood_grad(z, y, g):
        n, k = z.shape
        gz = np.empty((n, k), dtype=z.dtype)
        scale = g[()] / n
        for m in range(n):
            top = z[m, 0]
            for j in range(1, k):
                top = max(top, z[m, j])
            s = 0.0
            for j in range(k):
                e = np.exp(z[m, j] - top)
                gz[m, j] = e
                s += e
            for j in range(k):
                gz[m, j] *= scale / s
            gz[m, y[m]] -= scale
        return gz

    return _compiled(log_likelihood_grad)


#### Matrix products: BLAS called directly
# Gradients are full of transposed operands (``dot(delta, w.T)``,
# ``dot(x.T, delta)``).  Numba's ``np.dot`` copies such an operand into C
# order first (for the 1000x1000 weights of the dropout net that copy costs
# more than the product), and it takes seconds to compile for each
# combination of memory layouts.  BLAS takes row- and column-major operands
# as they are, so this kernel calls SciPy's BLAS ``gemm`` itself: it reads
# each operand's strides at run time and passes it with the matching
# transpose flag, copying only an operand that is neither (a strided
# slice).  It replaces PyTensor's Numba kernel for 2-D float products only
# (everything else goes to PyTensor's own), and it does so for the whole
# process: once network3 is imported, every PyTensor function compiled with
# Numba uses it.
#
# The compiled code calls BLAS by a symbol name registered here on import,
# not by an address, so PyTensor can cache it on disk like any other kernel.
_GEMM = {"float32": "network3_sgemm", "float64": "network3_dgemm"}
for _symbol in _GEMM.values():
    llvm.add_symbol(_symbol, get_cython_function_address(
        "scipy.linalg.cython_blas", _symbol[-5:]))


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
        i8, i32 = ir.IntType(8), ir.IntType(32)
        pointers = [i8, i8, i32, i32, i32, real, real, i32, real, i32, real, real, i32]
        fnty = ir.FunctionType(ir.VoidType(), [t.as_pointer() for t in pointers])
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        values = []
        for value, kind, ty in zip(args, pointers, sig.args):
            if isinstance(ty, types.Array):
                data = context.make_array(ty)(context, builder, value).data
                values.append(builder.bitcast(data, kind.as_pointer()))
                continue
            if kind in (i8, i32):
                value = builder.trunc(value, kind)
            slot = cgutils.alloca_once(builder, kind)
            builder.store(value, slot)
            values.append(slot)
        builder.call(fn, values)
        return context.get_dummy_value()

    return signature, codegen


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


# The product kernel and its cache salt, shared by Dot, Dot22 and Gemm.
_DOT = _compiled(_dot, calls=(_blas_layout, _gemm))
_dot_jitted = _DOT[0]


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
    jitted, salt = _compiled(kernel)
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
    return _compiled(kernel)


def _reshape_1(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0],))


def _reshape_2(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1]))


def _reshape_3(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1], shape[2]))


def _reshape_4(x, shape):
    return np.ascontiguousarray(x).reshape((shape[0], shape[1], shape[2], shape[3]))


_RESHAPES = {1: _reshape_1, 2: _reshape_2, 3: _reshape_3, 4: _reshape_4}



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

    return _compiled(dot22_scalar, calls=(_gemm_into, _dot, _blas_layout, _gemm))


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

    return _compiled(gemm, inplace, calls=(_gemm_into, _dot, _blas_layout, _gemm))


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

    return _compiled(gemv, inplace)


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

    return _compiled(ger, destructive)
