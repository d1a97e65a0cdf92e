"""backends/numba/: the kernels for PyTensor's own Ops (sums, shape checks,
matrix products with either BLAS, the sigmoid), against NumPy, on
contiguous arrays and on views; and the BLAS threads it gives up while
another thread computes."""

import glob
import os
import subprocess
import sys
import tempfile

import numba
import numpy as np
import pytensor
import pytensor.tensor as T
import pytest

from network3 import config
from network3.backends.numba import blas, kernels, runtime, sigmoid

HERE = os.path.dirname(os.path.abspath(__file__))


def views(array):
    """``array`` as it is, transposed twice, and sliced with a step."""
    doubled = np.repeat(array, 2, axis=0)
    return [array, array.T.copy().T, doubled[::2]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape, axis", [
    ((7, 5), 0), ((7, 5), 1), ((7, 5), None), ((6,), None),
    ((3, 4, 5, 6), (0, 2, 3)), ((3, 4, 5, 6), None),
    ((3, 4, 5), 1),                       # not one of ours: PyTensor's kernel
])
def test_sums_match_numpy(shape, axis, dtype):
    rng = np.random.default_rng(0)
    x = T.tensor(dtype=dtype, shape=(None,) * len(shape))
    f = pytensor.function([x], x.sum(axis=axis), mode=config.mode)
    for value in views(rng.normal(size=shape).astype(dtype)):
        got = f(value)
        want = value.astype(np.float64).sum(axis=axis).astype(dtype)
        assert got.dtype == np.dtype(dtype) and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_the_sums_of_the_gradients_use_our_kernels():
    x = T.matrix()
    f = pytensor.function([x], [x.sum(axis=0), (x ** 2).sum()], mode=config.mode)
    f(np.ones((3, 2), config.floatX))
    ours = {key[0].co_name for key in kernels._jitted}
    assert {"_sum_rows", "_sum_all"} <= ours


def test_specify_shape_checks_the_sizes_it_was_given():
    x = T.matrix()
    f = pytensor.function([x], T.specify_shape(x, (3, None)) * 2, mode=config.mode)
    np.testing.assert_array_equal(f(np.ones((3, 5), config.floatX)), 2.0)
    with pytest.raises(ValueError, match="dimension 0"):
        f(np.ones((4, 5), config.floatX))


def test_nodes_with_equal_ops_share_one_kernel():
    from network3.ops import Im2Col
    first = kernels._numba_im2col(Im2Col(5, 5))
    assert kernels._numba_im2col(Im2Col(5, 5)) is first
    assert kernels._numba_im2col(Im2Col(3, 5)) is not first


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_products_in_every_layout_match_numpy(dtype):
    check_products(dtype)


def check_products(dtype):
    """backends/numba/blas.py calls BLAS itself, reading each operand's
    strides: products of operands in every layout against NumPy's."""
    rng = np.random.default_rng(1)
    x, y = T.matrix(dtype=dtype), T.matrix(dtype=dtype)
    product = pytensor.function([x, y], T.dot(x, y), mode=config.mode)

    def layouts(rows, cols):
        a = rng.normal(size=(rows, cols)).astype(dtype)
        wide = rng.normal(size=(rows, 2 * cols)).astype(dtype)
        wide[:, ::2] = a
        padded = rng.normal(size=(rows, cols + 3)).astype(dtype)
        padded[:, :cols] = a
        return [a, np.asfortranarray(a), wide[:, ::2], padded[:, :cols],
                a[::-1]]

    for m, k, n in [(7, 5, 3), (1, 4, 6), (5, 1, 2), (3, 4, 1), (1, 1, 1), (0, 3, 2),
                    (2, 0, 3), (64, 33, 17)]:
        for a in layouts(m, k):
            for b in layouts(k, n):
                got = product(a, b)
                assert got.dtype == np.dtype(dtype) and got.shape == (m, n)
                np.testing.assert_allclose(got, a.astype(float) @ b.astype(float),
                                           rtol=1e-5, atol=1e-5)


def test_matrix_products_call_numpys_blas_where_numpy_bundles_one():
    # NumPy's wheels bundle an OpenBLAS (64-bit integers); blas.py calls it
    # where it is found, and SciPy's otherwise or when asked
    bundled = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir,
                                     "numpy.libs", "libscipy_openblas64_*"))
    assert blas.BLAS == ("numpy" if bundled else "scipy")
    # code compiled for one is never taken from the cache for the other
    assert kernels._source(blas._gemm).endswith(blas.BLAS)


def test_matrix_products_match_numpy_with_scipys_blas():
    # the same checks, in a process that asks for SciPy's BLAS (32-bit
    # integers), with a compilation cache of its own
    script = ("import test_backends_numba as t\n"
              "assert t.blas.BLAS == 'scipy', t.blas.BLAS\n"
              "t.check_products('float32')\n")
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, NETWORK3_BLAS="scipy",
                   PYTENSOR_FLAGS="base_compiledir=" + folder,
                   PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run([sys.executable, "-c", script], env=env,
                              capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_weight_updates_become_one_gemm_that_matches_numpy():
    # w <- w*(1 - eta*l2) - eta*x.T.delta: PyTensor's BLAS rewrites make it
    # a Gemm on w itself, which the Numba back end's mode keeps
    from pytensor.tensor.blas import Gemm
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=(6, 4)).astype("float32")
    w = pytensor.shared(w0.copy())
    x, delta = T.matrix(), T.matrix()
    eta, l2 = np.float32(0.3), np.float32(0.1)
    step = pytensor.function([x, delta], [], updates=[
        (w, w - eta * (T.dot(x.T, delta) + l2 * w))], mode=blas.mode(True))
    assert any(isinstance(node.op, Gemm) for node in step.maker.fgraph.toposort())
    xs = rng.normal(size=(5, 6)).astype("float32")
    ds = rng.normal(size=(5, 4)).astype("float32")
    step(xs, ds)
    want = w0 - eta * (xs.T @ ds + l2 * w0)
    np.testing.assert_allclose(w.get_value(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("z_layout", ["C", "F", "strided", "broadcast"])
def test_gemm_kernel_in_every_layout_matches_numpy(z_layout):
    from pytensor.tensor.blas import gemm_inplace, gemm_no_inplace
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3)).astype("float32")
    y = rng.normal(size=(3, 4)).astype("float32")
    z = rng.normal(size=(5, 4)).astype("float32")
    if z_layout == "F":
        z = np.asfortranarray(z)
    elif z_layout == "strided":
        wide = np.zeros((5, 8), "float32")
        wide[:, ::2] = z
        z = wide[:, ::2]
    elif z_layout == "broadcast":
        z = z[:1]
    want = 0.5 * z + 2.0 * (x @ y)
    zs = T.matrix(shape=(1, None)) if z_layout == "broadcast" else T.matrix()
    xs, ys = T.matrix(), T.matrix()
    a, b = T.constant(np.float32(2.0)), T.constant(np.float32(0.5))
    for op in ((gemm_no_inplace,) if z_layout == "broadcast"
               else (gemm_no_inplace, gemm_inplace)):
        f = pytensor.function([zs, xs, ys], op(zs, a, xs, ys, b),
                              mode=blas.mode(True), accept_inplace=True)
        np.testing.assert_allclose(f(z.copy(order="K") if z_layout != "strided" else z,
                                     x, y), want, rtol=1e-5, atol=1e-5)


def test_make_room_leaves_a_core_to_another_thread_and_gives_it_back():
    from threadpoolctl import threadpool_info
    engine = runtime.NumbaBackend()
    before = [info["num_threads"] for info in threadpool_info()
              if info["user_api"] == "blas"]
    engine.make_room(True)
    during = [info["num_threads"] for info in threadpool_info()
              if info["user_api"] == "blas"]
    engine.make_room(False)
    after = [info["num_threads"] for info in threadpool_info()
             if info["user_api"] == "blas"]
    assert during == [max(1, max(before) - 1)] * len(before)
    assert after == before


def test_a_kernel_moved_to_another_module_gets_another_cache_salt():
    """Compiled code calls its helpers by module: the same source in another
    module must not reuse what was compiled where it was (moving kernels
    between modules once made an older network3 load entries it could not
    import)."""
    import types
    moved = types.FunctionType(kernels._pad.py_func.__code__,
                               kernels._pad.py_func.__globals__, "_pad")
    moved.__module__ = "network3.backends.elsewhere"
    assert kernels._source(kernels._pad) != kernels._source(moved)
    assert kernels._source(kernels._pad).startswith("network3.backends.numba.kernels\n")


#### The sigmoid
def test_the_sigmoids_exponential_is_within_two_ulps_of_numpys():
    @numba.njit
    def exp(values):
        out = np.empty_like(values)
        for i in range(values.size):
            out[i] = sigmoid._exp(values[i])
        return out

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-745, 709.7, 200_000), rng.uniform(-1, 1, 100_000),
                        [0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2), -708.0, 709.0, -740.0]])
    np.testing.assert_array_max_ulp(exp(x), np.exp(x), maxulp=2)
    assert np.isnan(exp(np.array([np.nan])))[0]


@pytest.mark.parametrize("dtype, maxulp", [("float32", 1), ("float64", 4)])
def test_sigmoid_and_its_fused_gradient_match_numpy(dtype, maxulp):
    rng = np.random.default_rng(1)
    values = np.concatenate([
        rng.normal(scale=6.0, size=5000), rng.uniform(-800, 800, 1000),
        [0.0, -0.0, 1e-30, 16.6, -16.6, 88.0, -88.0, 104.0, -104.0, 709.0, -709.0,
         746.0, -746.0, np.inf, -np.inf]]).astype(dtype)
    x, g = T.vector(dtype=dtype), T.vector(dtype=dtype)
    s = T.sigmoid(x)
    gradient = pytensor.grad(None, x, known_grads={s: g})
    f = pytensor.function([x, g], [s, gradient], mode=config.mode)
    weights = rng.normal(size=values.size).astype(dtype)
    for value, weight in zip(views(values[:, None]), views(weights[:, None])):
        got_s, got_g = f(value[:, 0], weight[:, 0])
        with np.errstate(over="ignore"):
            want = 1.0 / (1.0 + np.exp(-value[:, 0].astype(np.float64)))
        np.testing.assert_array_max_ulp(got_s, want.astype(dtype), maxulp=maxulp)
        # 1 - sigmoid(x) cancels for saturated units: its error is the
        # sigmoid's, eps, and the gradient's at most a few eps times |g|*sigmoid
        error = np.abs(got_g - weight[:, 0] * want * (1.0 - want))
        eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny
        assert (error <= 4 * eps * np.abs(weight[:, 0]) * want + tiny).all()
    assert np.isnan(f(np.array([np.nan], dtype), np.ones(1, dtype))).all()


def test_the_sigmoid_of_floats_uses_our_kernel_and_of_integers_pytensors():
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
    for dtype, ours in (("float32", True), ("float64", True), ("int32", False)):
        node = T.sigmoid(T.vector(dtype=dtype)).owner
        scalar_node = node.op.scalar_op.make_node(
            *[pytensor.scalar.get_scalar_type(dtype)() for _ in node.inputs])
        _, key = numba_funcify_and_cache_key(node.op.scalar_op, node=scalar_node)
        assert str(key).startswith("network3-sigmoid") == ours
    f = pytensor.function([x := T.ivector()], T.sigmoid(x), mode=config.mode)
    np.testing.assert_allclose(f(np.array([-3, 0, 3], np.int32)),
                               1 / (1 + np.exp(-np.array([-3.0, 0.0, 3.0]))), rtol=1e-6)


#### A graph function's final pass
LINKING_CHILD = r"""
import json, sys
import numpy as np
import network3
from network3 import ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer
from numba.core import codegen
library = codegen.CPUCodeLibrary
cheap = library._optimize_final_module
graph_passes = []
if sys.argv[1] == "full":
    library._optimize_final_module = cheap.full
else:
    def counting(self):
        graph_passes.append(self.name)
        return cheap(self)
    library._optimize_final_module = counting
network3.seed(3)
net = network3.Network(
    [ConvPoolLayer((3, 1, 5, 5), (4, 1, 12, 12), activation_fn=ReLU),
     FullyConnectedLayer(3 * 4 * 4, 10, activation_fn=ReLU, p_dropout=0.5),
     SoftmaxLayer(10, 3, p_dropout=0.5)], 4)
rng = np.random.default_rng(0)
x = rng.uniform(size=(40, 144)).astype("float32")
y = rng.integers(3, size=40).astype("int32")
history = net.SGD((x, y), 2, 4, 0.1, (x, y), None, lmbda=0.1, verbose=False)
np.savez(sys.argv[2], *[p.get_value() for p in net.params], cost=np.array(history.cost))
print(json.dumps(sorted(set(graph_passes))))
"""


def test_a_graph_functions_cheap_final_pass_changes_no_number(tmp_path):
    """The same seeded training (a conv layer, dropout, L2), compiled from
    empty caches once with Numba's full final pass over the graph's function
    and once with network3's cheap one: the same numbers, bit for bit."""
    results = {}
    for kind in ("full", "cheap"):
        env = dict(os.environ, PYTENSOR_FLAGS="base_compiledir={0}".format(
            tmp_path / kind / "pytensor"), NUMBA_CACHE_DIR=str(tmp_path / kind / "numba"))
        out = subprocess.run([sys.executable, "-c", LINKING_CHILD, kind,
                              str(tmp_path / (kind + ".npz"))],
                             capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
        results[kind] = out.stdout.strip().splitlines()[-1]
    # the cheap pass ran, for the graphs' functions (and Numba's for the others)
    assert "numba_funcified_fgraph" in results["cheap"]
    with np.load(tmp_path / "full.npz") as full, np.load(tmp_path / "cheap.npz") as cheap:
        assert full.files == cheap.files
        for name in full.files:
            np.testing.assert_array_equal(full[name], cheap[name], err_msg=name)
