"""backends/numba/kernels.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

Numba kernels for network3's Ops (``ops.OPS``): im2col and its adjoint
(convolution), pooling and its gradient, the softmax layer's cost and its
gradient.  Registering them (on import) teaches PyTensor's Numba linker the
Ops, so every PyTensor function compiled in the default mode uses them.

:func:`compiled` is how every kernel of this back end is jitted: with a
cache salt from its source, since PyTensor keys its disk cache on an Op's
props only (editing a kernel then recompiles it instead of reusing a stale
one).

"""

#### Libraries
# Standard library
import inspect
import zlib

# Third-party libraries
import numpy as np
from pytensor.link.numba.dispatch.basic import (
    numba_njit, register_funcify_default_op_cache_key)

# network3
from network3.ops import (POOL_MODES, Col2Im, Im2Col, LogLikelihood,
                          LogLikelihoodGrad, Pool, PoolGrad)
from network3.shapes import window_positions


#### Jitting, with a salt from the source
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


def compiled(kernel, *params, calls=()):
    """``kernel`` jitted for PyTensor, with a cache salt from its source and
    the source of the functions it ``calls``, each with the module it lives
    in: compiled code refers to the functions it calls by module, so moving
    one to another module must not find the code compiled where it was.

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
    """The module and source of a Python function, a jitted one or an
    intrinsic, and its ``salt`` if it has one (what else its code depends on)."""
    python = getattr(function, "py_func", None) or getattr(function, "_defn", function)
    return (python.__module__ + "\n" + inspect.getsource(python)
            + getattr(function, "salt", ""))


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
        return compiled(im2col, kh, kw, sh, sw)
    # Padded: the same loops over a zero-padded copy of the images.
    unpadded = compiled(im2col, kh, kw, sh, sw)[0]
    ph, pw = op.pad

    def padded_im2col(x):
        return unpadded(_pad(x, ph, pw))

    return compiled(padded_im2col, kh, kw, sh, sw, ph, pw, calls=(im2col, _pad))


@register_funcify_default_op_cache_key(Col2Im)
def _numba_col2im(op, **kwargs):
    (kh, kw), (sh, sw), (ph, pw) = op.window, op.stride, op.pad

    def col2im(cols, like):
        # onto zero-padded images, then the padding cut off
        n, c, height, width = like.shape
        padded_height, padded_width = height + 2 * ph, width + 2 * pw
        oh, ow = (padded_height - kh) // sh + 1, (padded_width - kw) // sw + 1
        x = np.zeros((n, c, padded_height, padded_width), dtype=cols.dtype)
        for m in range(n):
            for i in range(oh):
                for j in range(ow):
                    row = (m * oh + i) * ow + j
                    for ch in range(c):
                        for a in range(kh):
                            for b in range(kw):
                                x[m, ch, i * sh + a, j * sw + b] += \
                                    cols[row, (ch * kh + a) * kw + b]
        if ph == 0 and pw == 0:
            return x
        return _crop(x, ph, pw)

    return compiled(col2im, kh, kw, sh, sw, ph, pw, calls=(_crop,))


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


# How many windows fit along an axis, as ops.Pool counts them.
_window_positions = numba_njit(window_positions)


@numba_njit
def _inside(k, stride, window, size, pad):
    """How many pixels of the ``k``-th window along an axis lie inside the
    padded image (``window`` but for a partial window at the end)."""
    return min(k * stride + window, size + 2 * pad) - k * stride

# The pooling modes as the numbers the general pooling kernels branch on
# (each kernel is compiled for one mode, so the branches fold away).
_POOL_CODES = {mode: code for code, mode in enumerate(POOL_MODES)}
_MAX, _L2, _SUM, _AVERAGE_INC_PAD, _AVERAGE_EXC_PAD = (
    _POOL_CODES[m] for m in POOL_MODES)


@register_funcify_default_op_cache_key(Pool)
def _numba_pool(op, **kwargs):
    (ph, pw), (sh, sw), (pt, pl) = op.window, op.stride, op.pad
    mode, whole = _POOL_CODES[op.mode], op.ignore_border

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
        oh = _window_positions(height, ph, sh, pt, whole)
        ow = _window_positions(width, pw, sw, pl, whole)
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
                                acc /= (_inside(i, sh, ph, height, pt)
                                        * _inside(j, sw, pw, width, pl))
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
                                g = g / (_inside(i, sh, ph, height, pt)
                                         * _inside(j, sw, pw, width, pl))
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
    (closing over window, stride, padding, mode and ignore_border)."""
    if op.chapter_max:
        return compiled(chapter, *op.window)
    return compiled(general, *op.window, *op.stride, *op.pad, _POOL_CODES[op.mode],
                    op.ignore_border, calls=(window_positions, _inside))


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

    return compiled(log_likelihood)


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

    return compiled(log_likelihood_grad)
