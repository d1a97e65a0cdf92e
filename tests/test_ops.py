"""ops.py against independent references: SciPy's convolve2d, NumPy
pooling (conftest), finite-difference gradients, and mask statistics."""

import numpy as np
import pytensor
import pytensor.tensor as T
import pytest
from pytensor.compile.mode import Mode

from network3 import ops
from conftest import numeric_gradient, reference_conv, reference_pool

PY_MODE = Mode(linker="py", optimizer="fast_run")  # the ops' NumPy perform()


def conv_function(filter_shape, image_shape, dtype="float32", mode=None):
    x, w = T.tensor4(dtype=dtype), T.tensor4(dtype=dtype)
    return pytensor.function(
        [x, w], ops.conv2d(x, w, filter_shape, image_shape), mode=mode)


@pytest.mark.parametrize("filter_shape, image_shape", [
    ((4, 3, 3, 3), (2, 3, 8, 8)),
    ((2, 1, 2, 3), (3, 1, 6, 7)),   # non-square kernel and image
    ((5, 2, 1, 1), (1, 2, 4, 4)),
])
def test_conv2d_is_theano_convolution(filter_shape, image_shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=image_shape).astype("float32")
    w = rng.normal(size=filter_shape).astype("float32")
    expected = reference_conv(x, w)
    out = conv_function(filter_shape, image_shape)(x, w)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=5e-5)
    # The NumPy fallback (other linkers) computes the same.
    out_py = conv_function(filter_shape, image_shape, mode=PY_MODE)(x, w)
    np.testing.assert_allclose(out_py, expected, rtol=1e-5, atol=5e-5)


def test_conv2d_flips_the_kernel():
    # A kernel with a single 1 in its top-left corner moves the image's
    # bottom-right part to the output under a true convolution.
    x = np.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 2, 2), "float32")
    w[0, 0, 0, 0] = 1
    out = conv_function((1, 1, 2, 2), (1, 1, 4, 4))(x, w)
    np.testing.assert_array_equal(out[0, 0], x[0, 0, 1:, 1:])


@pytest.mark.parametrize("pad, stride", [((0, 0), (1, 1)), ((1, 2), (2, 1))])
def test_im2col_puts_a_pixel_in_each_row_and_a_tap_in_each_column(pad, stride):
    # out[(n*oh + i)*ow + j, (c*kh + a)*kw + b] = xp[n, c, i*sh + a, j*sw + b],
    # written out as loops; the matrix products of conv2d rely on this layout
    x = np.random.default_rng(3).normal(size=(2, 3, 5, 6)).astype("float32")
    (kh, kw), (ph, pw), (sh, sw) = (2, 3), pad, stride
    xp = np.zeros((2, 3, 5 + 2 * ph, 6 + 2 * pw), "float32")
    xp[:, :, ph:ph + 5, pw:pw + 6] = x
    oh, ow = (5 + 2 * ph - kh) // sh + 1, (6 + 2 * pw - kw) // sw + 1
    expected = np.empty((2 * oh * ow, 3 * kh * kw), "float32")
    for n in range(2):
        for c in range(3):
            for i in range(oh):
                for j in range(ow):
                    for a in range(kh):
                        for b in range(kw):
                            expected[(n * oh + i) * ow + j, (c * kh + a) * kw + b] = \
                                xp[n, c, i * sh + a, j * sw + b]
    t = T.tensor4()
    for mode in (None, PY_MODE):
        out = pytensor.function([t], ops.Im2Col(kh, kw, pad, stride)(t), mode=mode)(x)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("poolsize, shape", [((2, 2), (2, 3, 8, 8)),
                                             ((3, 2), (1, 2, 7, 9)),
                                             ((1, 1), (1, 1, 3, 3))])
def test_max_pool_ignores_border(poolsize, shape):
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    t = T.tensor4()
    expected = reference_pool(x, poolsize)
    for mode in (None, PY_MODE):
        out = pytensor.function([t], ops.max_pool_2d(t, poolsize), mode=mode)(x)
        np.testing.assert_array_equal(out, expected)


def test_conv2d_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 2, 5, 6))
    w = rng.normal(size=(3, 2, 2, 3))
    pytensor.gradient.verify_grad(
        lambda x, w: ops.conv2d(x, w, (3, 2, 2, 3), (2, 2, 5, 6)), [x, w], rng=rng)


def test_max_pool_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    # distinct values, far apart, so the maximum does not switch under eps
    x = rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5).astype(float)
    pytensor.gradient.verify_grad(
        lambda x: ops.max_pool_2d(x, (2, 2)), [x], rng=rng)


def test_max_pool_gradient_goes_to_every_tied_maximum():
    x = np.array([[[[1, 1], [0, 1]]]], dtype="float32")
    t = T.tensor4()
    g = T.grad(ops.max_pool_2d(t, (2, 2)).sum(), t)
    for mode in (None, PY_MODE):
        out = pytensor.function([t], g, mode=mode)(x)
        np.testing.assert_array_equal(out, [[[[1, 1], [0, 1]]]])


#### Theano's other convolutions and pooling modes
#: (image shape, filter shape, border_mode, subsample): odd sizes, uneven
#: strides, every kind of padding
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), "full", (2, 1)),
    ((2, 3, 7, 6), (4, 3, 3, 2), "half", (1, 1)),
    ((1, 2, 9, 8), (3, 2, 4, 3), (1, 2), (2, 3)),
    ((2, 1, 5, 5), (2, 1, 5, 5), 2, (3, 2)),
]

#: (image shape, pool size, stride, pad, ignore_border): overlapping windows
#: with uneven strides and padding; windows side by side with padding on one
#: axis more than the other; Theano's partial windows at the border
#: (ignore_border=False) overlapping, side by side and gapped; windows larger
#: than the (padded) image, which give no output with ignore_border=True and
#: one partial window without it
POOL_CASES = [
    ((2, 3, 7, 6), (3, 2), (2, 1), (1, 1), True),
    ((1, 2, 5, 7), (2, 3), None, (1, 2), True),
    ((2, 3, 7, 6), (3, 2), (2, 1), (0, 0), False),
    ((1, 2, 5, 7), (2, 3), None, (0, 0), False),
    ((1, 2, 5, 5), (2, 2), (3, 3), (0, 0), False),
    ((1, 2, 3, 4), (5, 2), (1, 1), (1, 1), True),
    ((1, 2, 3, 4), (5, 5), None, (0, 0), False),
]


def conv_case(case):
    """Inputs and outputs of a float64 graph computing the convolution and
    the gradients of ``sum(out * r)``; values for them; and what SciPy and
    finite differences say the outputs are."""
    image_shape, filter_shape, border_mode, subsample = case
    xs = T.tensor(dtype="float64", shape=image_shape)
    ws = T.tensor(dtype="float64", shape=filter_shape)
    rs = T.tensor4(dtype="float64")
    out = ops.conv2d(xs, ws, filter_shape, image_shape, border_mode=border_mode,
                     subsample=subsample)
    graph = [xs, ws, rs], [out] + T.grad((out * rs).sum(), [xs, ws])
    rng = np.random.default_rng(sum(image_shape))
    x, w = rng.normal(size=image_shape), rng.normal(size=filter_shape)
    conv = lambda x, w: reference_conv(x, w, border_mode, subsample)
    r = rng.normal(size=conv(x, w).shape)
    expected = [conv(x, w), numeric_gradient(lambda x: (conv(x, w) * r).sum(), x),
                numeric_gradient(lambda w: (conv(x, w) * r).sum(), w)]
    return graph, (x, w, r), expected


def pool_case(case, mode):
    """As conv_case, for pooling: the pooled output and the gradient of
    ``sum(out * r)`` with respect to the input."""
    shape, ws, stride, pad, ignore_border = case
    xs = T.tensor(dtype="float64", shape=shape)
    rs = T.tensor4(dtype="float64")
    out = ops.pool_2d(xs, ws, stride, pad, mode, ignore_border)
    graph = [xs, rs], [out, T.grad((out * rs).sum(), xs)]
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape)
    pool = lambda x: reference_pool(x, ws, stride, pad, mode, ignore_border)
    r = rng.normal(size=pool(x).shape)
    return graph, (x, r), [pool(x), numeric_gradient(lambda x: (pool(x) * r).sum(), x)]


def check_outputs(got, expected):
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_padded_and_strided_convolutions_match_scipy_and_finite_differences(case):
    (inputs, outputs), values, expected = conv_case(case)
    for mode in (None, PY_MODE):
        check_outputs(pytensor.function(inputs, outputs, mode=mode)(*values), expected)


@pytest.mark.parametrize("mode", ops.POOL_MODES)
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_modes_match_numpy_and_finite_differences(case, mode):
    (inputs, outputs), values, expected = pool_case(case, mode)
    for linker in (None, PY_MODE):
        check_outputs(pytensor.function(inputs, outputs, mode=linker)(*values), expected)


#: (input shape, pool size, stride): pooling over the last two axes of a
#: matrix, of a 3-D tensor, and of a 5-D one (Theano's pool_2d takes any rank
#: from 2 up)
RANK_CASES = [((5, 7), (2, 3), None), ((3, 5, 7), (2, 2), (1, 2)),
              ((2, 1, 2, 5, 7), (3, 2), (2, 2))]


def rank_case(case, mode, ignore_border):
    """As pool_case, for an input of any rank: the reference pools it as a
    batch of one-channel images."""
    shape, ws, stride = case
    xs = T.tensor(dtype="float64", shape=(None,) * len(shape))
    out = ops.pool_2d(xs, ws, stride, (0, 0), mode, ignore_border)
    rng = np.random.default_rng(len(shape))
    x = rng.normal(size=shape)

    def pool(x):
        images = reference_pool(x.reshape((-1, 1) + shape[-2:]), ws, stride,
                                (0, 0), mode, ignore_border)
        return images.reshape(shape[:-2] + images.shape[2:])

    r = rng.normal(size=pool(x).shape)
    rs = T.tensor(dtype="float64", shape=(None,) * len(shape))
    graph = [xs, rs], [out, T.grad((out * rs).sum(), xs)]
    return graph, (x, r), [pool(x), numeric_gradient(lambda x: (pool(x) * r).sum(), x)]


@pytest.mark.parametrize("ignore_border", [True, False])
@pytest.mark.parametrize("case", RANK_CASES, ids=str)
def test_pooling_inputs_of_any_rank(case, ignore_border):
    for mode in ("max", "average_inc_pad"):
        (inputs, outputs), values, expected = rank_case(case, mode, ignore_border)
        for linker in (None, PY_MODE):
            check_outputs(pytensor.function(inputs, outputs, mode=linker)(*values),
                          expected)


def test_pool_2d_refuses_a_vector():
    with pytest.raises(TypeError, match="2 or more dimensions .* got 1-D"):
        ops.pool_2d(T.vector(), (2, 2))


def pool_and_gradient(x, ws, stride, pad, mode, linker=None):
    t = T.tensor4(dtype=x.dtype)
    out = ops.pool_2d(t, ws, stride, pad, mode)
    return pytensor.function([t], [out, T.grad(out.sum(), t)], mode=linker)(x)


def test_overlapping_max_windows_give_every_tied_maximum_its_gradient():
    ones = np.ones((1, 1, 3, 3), dtype="float32")
    for linker in (None, PY_MODE):
        # four 2x2 windows, one pixel apart: each gives 1 to each of its pixels
        _, g = pool_and_gradient(ones, (2, 2), (1, 1), (0, 0), "max", linker)
        np.testing.assert_array_equal(g[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
        # padding takes no part: the maximum of -1s is -1, not a padded 0
        out, g = pool_and_gradient(-ones, (2, 2), (2, 2), (1, 1), "max", linker)
        np.testing.assert_array_equal(out, -np.ones((1, 1, 2, 2)))
        np.testing.assert_array_equal(g, ones)


def test_l2_pooling_gradient_is_finite_where_a_window_is_all_zeros():
    rng = np.random.default_rng(7)
    x = np.maximum(rng.normal(size=(2, 2, 6, 6)), 0)   # as after a ReLU
    x[:, :, :2, :2] = 0                                # one window all 0s
    for linker in (None, PY_MODE):
        out, g = pool_and_gradient(x, (2, 2), None, (0, 0), "l2", linker)
        assert np.all(np.isfinite(g)) and np.all(g[:, :, :2, :2] == 0)
        np.testing.assert_allclose(out, reference_pool(x, (2, 2), mode="l2"))
        # elsewhere x / out, the derivative of sqrt(sum of squares)
        norms = out.repeat(2, axis=2).repeat(2, axis=3)
        np.testing.assert_allclose(
            g, np.divide(x, norms, out=np.zeros_like(x), where=norms > 0))


def test_bad_pooling_and_convolution_arguments():
    with pytest.raises(ValueError, match="pool mode must be one of .* got 'avg'"):
        ops.Pool((2, 2), mode="avg")
    with pytest.raises(ValueError, match=r"pad=\(2, 0\) must be smaller than the "
                                         r"window \(2, 2\)"):
        ops.Pool((2, 2), pad=(2, 0))
    with pytest.raises(ValueError, match="stride must be a pair of integers >= 1"):
        ops.Pool((2, 2), stride=(0, 1))
    with pytest.raises(ValueError, match=r"pad=\(1, 0\) needs ignore_border=True"):
        ops.Pool((2, 2), pad=(1, 0), ignore_border=False)
    with pytest.raises(TypeError, match="ignore_border must be True or False, got None"):
        ops.Pool((2, 2), ignore_border=None)
    with pytest.raises(ValueError, match="border_mode must be one of .* got 'same'"):
        ops.conv_padding("same", (3, 3))
    assert ops.conv_padding("full", (3, 4)) == (2, 3)
    assert ops.conv_padding("half", (3, 4)) == (1, 2)
    assert ops.conv_padding(1, (3, 4)) == (1, 1)


def test_dropout_draws_fresh_masks_at_the_right_rate():
    x = T.matrix()
    rng = ops.shared_rng(0)
    out = ops.dropout(x, 0.3, rng)
    f = pytensor.function([x], out, updates=ops.rng_updates([out]))
    ones = np.ones((200, 100), "float32")
    a, b = f(ones), f(ones)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert abs(a.mean() - 0.7) < 0.01       # 20,000 draws: sd ~ 0.003
    assert not np.array_equal(a, b)          # a new mask every call
    # the same seed gives the same masks
    rng.set_value(np.random.default_rng(0))
    np.testing.assert_array_equal(f(ones), a)


def test_rng_updates_finds_each_generator_once():
    x = T.matrix()
    r1, r2 = ops.shared_rng(1), ops.shared_rng(2)
    out = ops.dropout(ops.dropout(x, 0.5, r1), 0.5, r2)
    updates = ops.rng_updates([out, out * 2])
    assert {rng for rng, _ in updates} == {r1, r2}


def test_matrix_products_with_transposed_operands():
    # ops.py gives Numba a Dot kernel that passes transposed views to BLAS
    # without copying; every layout must still give NumPy's product.
    rng = np.random.default_rng(5)
    a = rng.normal(size=(7, 5)).astype("float32")
    b = rng.normal(size=(5, 3)).astype("float32")
    x, y = T.matrix(), T.matrix()
    products = pytensor.function(
        [x, y], [T.dot(x, y), T.dot(x.T.T, y), T.dot(y.T, x.T), T.dot(x.T, x),
                 T.dot(y, y.T), T.dot(x[:, ::2], y[::2])])
    expected = [a @ b, a @ b, b.T @ a.T, a.T @ a, b @ b.T, a[:, ::2] @ b[::2]]
    for got, want in zip(products(a, b), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    v = T.vector()
    mv = pytensor.function([x, v], T.dot(x, v))(a, b[:, 0])   # PyTensor's own kernel
    np.testing.assert_allclose(mv, a @ b[:, 0], rtol=1e-5, atol=1e-5)


#### The log-likelihood cost
def reference_log_likelihood(z, y):
    """-mean(log(softmax(z))[arange(n), y]) and its gradient, in float64."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    return -np.mean(np.log(p[rows, y])), (p - np.eye(z.shape[1])[y]) / len(y)


@pytest.mark.parametrize("mode", [None, PY_MODE])
def test_log_likelihood_and_its_gradient_match_numpy(mode):
    rng = np.random.default_rng(6)
    z = (rng.normal(size=(9, 4)) * 5).astype("float32")
    z[0] += 80.0          # large logits: exp would overflow without the shift
    y = rng.integers(0, 4, size=9).astype("int32")
    zs, ys = T.matrix(), T.ivector()
    cost = ops.log_likelihood(zs, ys)
    f = pytensor.function([zs, ys], [cost, T.grad(3.0 * cost, zs)], mode=mode)
    value, grad = f(z, y)
    want_value, want_grad = reference_log_likelihood(z, y)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    assert value == pytest.approx(want_value, rel=1e-6)
    np.testing.assert_allclose(grad, 3.0 * want_grad, rtol=1e-5, atol=1e-7)


def test_log_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(7)
    y = np.array([2, 0, 1, 2, 2], dtype="int32")
    pytensor.gradient.verify_grad(
        lambda z: ops.log_likelihood(z, T.constant(y)), [rng.normal(size=(5, 3))],
        rng=rng)


def test_log_likelihood_is_the_chapters_cost():
    # what network3.py's SoftmaxLayer.cost wrote, on the softmax's output
    rng = np.random.default_rng(8)
    z = rng.normal(size=(6, 10)).astype("float32")
    y = rng.integers(0, 10, size=6).astype("int32")
    zs, ys = T.matrix(), T.ivector()
    book = -T.mean(T.log(T.special.softmax(zs, axis=-1))[T.arange(ys.shape[0]), ys])
    f = pytensor.function([zs, ys], [ops.log_likelihood(zs, ys), book])
    ours, theirs = f(z, y)
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_log_likelihood_refuses_a_label_out_of_range():
    zs, ys = T.matrix(), T.ivector()
    f = pytensor.function([zs, ys], ops.log_likelihood(zs, ys))
    with pytest.raises(IndexError):
        f(np.zeros((2, 3), "float32"), np.array([1, 3], "int32"))
    with pytest.raises(TypeError, match="y must be an int vector"):
        ops.log_likelihood(zs, T.matrix())
