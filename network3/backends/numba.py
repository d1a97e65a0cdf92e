"""backends/numba.py
~~~~~~~~~~~~~~~~~~~~~

The default back end: the CPU, through PyTensor's Numba linker.

PyTensor compiles a whole training step (forward pass, gradients, updates)
into one Numba function.  This module teaches that linker network3's Ops
(``network3.ops``) with kernels of its own, gives it a faster kernel for
matrix products with transposed operands, and runs training as Theano did:
the training set in shared variables, each step reading its mini-batch by
index (``givens``) without a copy, parameters and dropout generators updated
in place by the step itself.

Importing this module registers the kernels; ``network3.backends`` does so
when network3 is imported, so every PyTensor function compiled in the
default mode uses them.

"""

#### Libraries
# Standard library
import inspect
import zlib

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.link.numba.dispatch.basic import (
    numba_funcify_default_op_cache_key, numba_njit,
    register_funcify_default_op_cache_key)
from pytensor.tensor.math import Dot

# network3
from network3 import config
from network3.backends.base import Backend
from network3.ops import Col2Im, Im2Col, MaxPool, MaxPoolGrad


#### Running a network's graphs
class NumbaBackend(Backend):
    """Compiles a network's graphs with PyTensor's default (Numba) mode and
    runs them on the CPU; the shared variables always hold the current
    parameters, so :meth:`sync` has nothing to do."""

    name = "numba"
    chunk = 100

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._steps = {}
        self._predict = {}

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
        train_mb = pytensor.function(
            [i], graph.cost, updates=graph.updates, mode=config.mode,
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
def _compiled(kernel):
    """``kernel`` jitted for PyTensor, with a cache salt from its source."""
    salt = zlib.crc32(inspect.getsource(kernel).encode())
    return numba_njit(kernel, boundscheck=False), salt


@register_funcify_default_op_cache_key(Im2Col)
def _numba_im2col(op, **kwargs):
    kh, kw = op.window

    def im2col(x):
        n, c, height, width = x.shape
        oh, ow = height - kh + 1, width - kw + 1
        out = np.empty((n * oh * ow, c * kh * kw), dtype=x.dtype)
        for m in range(n):
            for i in range(oh):
                for j in range(ow):
                    row = (m * oh + i) * ow + j
                    for ch in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                out[row, (ch * kh + a) * kw + b] = x[m, ch, i + a, j + b]
        return out

    return _compiled(im2col)


@register_funcify_default_op_cache_key(Col2Im)
def _numba_col2im(op, **kwargs):
    kh, kw = op.window

    def col2im(cols, shape):
        n, c, height, width = shape[0], shape[1], shape[2], shape[3]
        oh, ow = height - kh + 1, width - kw + 1
        x = np.zeros((n, c, height, width), dtype=cols.dtype)
        for m in range(n):
            for i in range(oh):
                for j in range(ow):
                    row = (m * oh + i) * ow + j
                    for ch in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                x[m, ch, i + a, j + b] += cols[row, (ch * kh + a) * kw + b]
        return x

    return _compiled(col2im)


@register_funcify_default_op_cache_key(MaxPool)
def _numba_max_pool(op, **kwargs):
    ph, pw = op.window

    def max_pool(x):
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

    return _compiled(max_pool)


@register_funcify_default_op_cache_key(MaxPoolGrad)
def _numba_max_pool_grad(op, **kwargs):
    ph, pw = op.window

    def max_pool_grad(x, out, gout):
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

    return _compiled(max_pool_grad)


#### Matrix products without transposing copies
# Gradients are full of transposed operands (``dot(delta, w.T)``,
# ``dot(x.T, delta)``).  Numba types every array PyTensor hands it as of
# unknown layout, and its ``np.dot`` then copies such an operand into C order
# first: for the 1000x1000 weights of the dropout net that transposing copy
# costs more than the product.  BLAS takes column-major operands as they are,
# so this kernel checks the layout at run time and passes a transposed view
# straight through.  It replaces PyTensor's Numba kernel for 2-D float
# products only (everything else goes to PyTensor's own), and it does so for
# the whole process: once network3 is imported, every PyTensor function
# compiled with Numba uses it.
_pytensor_dot = numba_funcify_default_op_cache_key.dispatch(Dot)


@register_funcify_default_op_cache_key(Dot)
def _numba_dot(op, node, **kwargs):
    x, y = node.inputs
    out = node.outputs[0]
    if not (x.ndim == y.ndim == 2
            and x.type.dtype == y.type.dtype == out.type.dtype
            and out.type.dtype in ("float32", "float64")):
        return _pytensor_dot(op, node, **kwargs)

    def dot(x, y):
        x_f = x.flags.f_contiguous and not x.flags.c_contiguous
        y_f = y.flags.f_contiguous and not y.flags.c_contiguous
        if x_f and y_f:
            return np.dot(np.asfortranarray(x), np.asfortranarray(y))
        if x_f:
            return np.dot(np.asfortranarray(x), np.ascontiguousarray(y))
        if y_f:
            return np.dot(np.ascontiguousarray(x), np.asfortranarray(y))
        return np.dot(np.ascontiguousarray(x), np.ascontiguousarray(y))

    return _compiled(dot)


