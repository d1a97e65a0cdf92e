"""network3.compat.theano, in this process (without install()): each
covered function of theano.tensor.nnet, nnet.conv, signal.pool,
signal.downsample and the random streams against NumPy/SciPy and finite
differences, on the NumPy (Python linker), Numba and JAX paths; Theano's
config; and clear errors for what is not covered."""

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode

from network3.backends import jax as jax_backend
from network3.compat import theano
from network3.compat.theano.tensor import nnet
from network3.compat.theano.tensor.nnet import conv
from network3.compat.theano.tensor.signal import downsample, pool
from network3.compat.theano.tensor.shared_randomstreams import RandomStreams
from network3.compat.theano.sandbox.rng_mrg import MRG_RandomStreams
from conftest import numeric_gradient, numpy_softmax, reference_conv, reference_pool

#: The three ways a function runs: the Ops' NumPy perform(), Numba, JAX (CPU).
PATHS = {
    "numpy": lambda: Mode(linker="py", optimizer="fast_run"),
    "numba": lambda: None,
    "jax": lambda: jax_backend.mode(),
}
PATH_PARAMS = ["numpy", "numba", pytest.param("jax", marks=pytest.mark.skipif(
    not jax_backend.find_jax("cpu")[0], reason="JAX is not installed"))]


@pytest.fixture(params=PATH_PARAMS)
def compile(request):
    """``compile(inputs, outputs)``: theano.function on one path, in float64
    throughout (the compatibility layer's floatX: Python floats in graphs
    stay float64)."""
    def make(inputs, outputs, **kwargs):
        return theano.function(inputs, outputs, mode=PATHS[request.param](), **kwargs)
    with pytensor.config.change_flags(floatX="float64"):
        if request.param == "jax":
            import jax
            with jax.enable_x64(True):
                yield make
        else:
            yield make


def matrix():
    return pt.matrix(dtype="float64")


#### Activations and costs
ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softmax": numpy_softmax,
    "logsoftmax": lambda z: np.log(numpy_softmax(z)),
    "relu": lambda z: np.maximum(z, 0),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772
                                                    * np.expm1(z)),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "hard_sigmoid": lambda z: np.clip(0.2 * z + 0.5, 0, 1),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_numpy_and_finite_differences(name, compile):
    z = np.random.default_rng(0).normal(scale=3, size=(4, 5))
    t = matrix()
    out = getattr(nnet, name)(t)
    value, grad = compile([t], [out, pt.grad(out.sum(), t)])(z)
    np.testing.assert_allclose(value, ACTIVATIONS[name](z), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, numeric_gradient(
        lambda a: ACTIVATIONS[name](a).sum(), z), rtol=1e-5, atol=1e-7)


def test_leaky_relu_and_the_shared_sigmoid(compile):
    t = matrix()
    z = np.linspace(-2, 2, 12).reshape(3, 4)
    out = compile([t], nnet.relu(t, alpha=0.1))(z)
    np.testing.assert_allclose(out, np.where(z > 0, z, 0.1 * z), rtol=1e-12)
    # client code compares these objects
    assert nnet.sigmoid is pt.sigmoid is theano.tensor.nnet.sigmoid
    assert theano.tensor.nnet is nnet


def test_crossentropies_match_numpy(compile):
    rng = np.random.default_rng(1)
    p = numpy_softmax(rng.normal(size=(6, 4)))
    labels = rng.integers(0, 4, size=6).astype("int32")
    onehot = np.eye(4)[labels]
    target = rng.uniform(size=(6, 4))
    logits = rng.normal(scale=2, size=(6, 4))
    tp, tt, tl = matrix(), matrix(), pt.ivector()
    by_index, by_rows, binary, stable = compile([tp, tt, tl], [
        nnet.categorical_crossentropy(tp, tl), nnet.categorical_crossentropy(tp, tt),
        nnet.binary_crossentropy(tp, tt), nnet.sigmoid_binary_crossentropy(tp, tt)])(
            p, onehot, labels)
    np.testing.assert_allclose(by_index, -np.log(p[np.arange(6), labels]))
    np.testing.assert_allclose(by_rows, by_index)
    (binary, stable) = compile([tp, tt], [nnet.binary_crossentropy(tp, tt),
                                          nnet.sigmoid_binary_crossentropy(tp, tt)])(
        p, target)
    np.testing.assert_allclose(binary, -(target * np.log(p) + (1 - target) * np.log(1 - p)))
    s = 1 / (1 + np.exp(-logits))
    (stable,) = compile([tp, tt], [nnet.sigmoid_binary_crossentropy(tp, tt)])(logits, target)
    np.testing.assert_allclose(stable, -(target * np.log(s) + (1 - target) * np.log(1 - s)))
    with pytest.raises(TypeError, match="true_dist must have the rank of coding_dist"):
        nnet.categorical_crossentropy(tp, pt.tensor3())


#### Convolutions
#: (image shape, filter shape, border_mode, subsample, filter_flip)
CONV_CASES = [((2, 3, 7, 6), (4, 3, 3, 2), "valid", (1, 1), True),
              ((2, 3, 7, 6), (4, 3, 3, 2), "full", (2, 1), True),
              ((1, 2, 6, 6), (3, 2, 3, 3), "half", (1, 1), False),
              ((1, 2, 6, 5), (2, 2, 2, 3), (1, 2), (2, 2), True)]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("shapes_given", [True, False])
def test_abstract_conv2d_matches_scipy_and_finite_differences(case, shapes_given, compile,
                                                               request):
    image_shape, filter_shape, border_mode, subsample, flip = case
    rng = np.random.default_rng(sum(image_shape))
    x, w = rng.normal(size=image_shape), rng.normal(size=filter_shape)
    xs = pt.tensor4(dtype="float64")
    ws = pytensor.shared(w)        # the filters' shape comes from the shared value
    out = nnet.conv2d(xs, ws, input_shape=image_shape if shapes_given else None,
                      filter_shape=filter_shape if shapes_given else None,
                      border_mode=border_mode, subsample=subsample, filter_flip=flip)
    if not shapes_given and "jax" in request.node.callspec.id:
        with pytest.raises(NotImplementedError, match="needs the images' height and "
                                                      "width .* input_shape="):
            compile([xs], out)
        return

    def reference(x):
        return reference_conv(x, w if flip else w[:, :, ::-1, ::-1], border_mode,
                              subsample)
    r, rs = rng.normal(size=reference(x).shape), pt.tensor4(dtype="float64")
    value, grad = compile([xs, rs], [out, pt.grad((out * rs).sum(), xs)])(x, r)
    np.testing.assert_allclose(value, reference(x), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(grad, numeric_gradient(lambda a: (reference(a) * r).sum(), x),
                               rtol=1e-5, atol=1e-6)


def test_old_conv2d_is_the_chapters_convolution(compile):
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(3, 1, 8, 8)), rng.normal(size=(2, 1, 5, 5))
    xs, ws = pt.tensor4(dtype="float64"), pt.tensor4(dtype="float64")
    for border_mode in ("valid", "full"):
        out = conv.conv2d(input=xs, filters=ws, filter_shape=(2, 1, 5, 5),
                          image_shape=(3, 1, 8, 8), border_mode=border_mode)
        np.testing.assert_allclose(compile([xs, ws], out)(x, w),
                                   reference_conv(x, w, border_mode), rtol=1e-9)


def test_promised_shapes_are_checked():
    xs, ws = pt.tensor4(dtype="float64"), pt.tensor4(dtype="float64")
    f = pytensor.function([xs, ws], conv.conv2d(xs, ws, image_shape=(2, 1, 8, 8),
                                                filter_shape=(3, 1, 5, 5)))
    with pytest.raises(Exception, match="size the graph expects"):   # as in Theano
        f(np.zeros((2, 1, 9, 8)), np.zeros((3, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"filter_shape=\(3, 1, 5, 5\) does not match "
                                         r"the shape \(3, 1, 4, 4\)"):
        nnet.conv2d(xs, pytensor.shared(np.zeros((3, 1, 4, 4))), filter_shape=(3, 1, 5, 5))
    with pytest.raises(ValueError, match="height and width must be known"):
        nnet.conv2d(xs, ws)
    with pytest.raises(ValueError, match="border_mode must be 'valid' or 'full', got "
                                         "'half'"):
        conv.conv2d(xs, ws, filter_shape=(3, 1, 5, 5), border_mode="half")
    with pytest.raises(ValueError, match="border_mode must be one of"):
        nnet.conv2d(xs, ws, filter_shape=(3, 1, 5, 5), border_mode="same")
    with pytest.raises(ValueError, match="input_shape must be 4 positive ints"):
        nnet.conv2d(xs, ws, input_shape=(2, 8, 8), filter_shape=(3, 1, 5, 5))
    for name, value in (("filter_dilation", (2, 2)), ("num_groups", 2), ("unshared", True)):
        with pytest.raises(NotImplementedError, match=name + ".* is not implemented"):
            nnet.conv2d(xs, ws, filter_shape=(3, 1, 5, 5), **{name: value})


#### Pooling
#: (input shape, ws, stride, pad, mode, ignore_border): Theano's default
#: ignore_border=False with partial windows, overlapping and gapped;
#: padding; inputs of rank 2, 3 and 5; a window larger than the image
POOL_CASES = [((2, 3, 7, 6), (3, 2), (2, 1), (0, 0), "max", False),
              ((2, 3, 7, 6), (2, 2), None, (0, 0), "average_inc_pad", False),
              ((1, 2, 5, 7), (2, 3), (3, 2), (0, 0), "sum", False),
              ((1, 2, 5, 7), (3, 3), (2, 2), (1, 1), "average_exc_pad", True),
              ((5, 7), (2, 2), None, (0, 0), "max", False),
              ((3, 5, 7), (2, 3), (1, 1), (0, 0), "average_exc_pad", True),
              ((2, 1, 2, 5, 7), (2, 2), None, (0, 0), "max", True),
              ((1, 2, 3, 4), (5, 5), None, (0, 0), "max", False),
              ((1, 2, 3, 4), (5, 5), None, (0, 0), "max", True)]


def reference_pool_any_rank(x, ws, stride, pad, mode, ignore_border):
    images = x.reshape((-1, 1) + x.shape[-2:])
    out = reference_pool(images, ws, stride, pad, mode, ignore_border)
    return out.reshape(x.shape[:-2] + out.shape[2:])


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_2d_matches_numpy_and_finite_differences(case, compile):
    shape, ws, stride, pad, mode, ignore_border = case
    rng = np.random.default_rng(len(shape) + sum(shape))
    x = rng.normal(size=shape)
    xs = pt.tensor(dtype="float64", shape=(None,) * len(shape))
    out = pool.pool_2d(xs, ws=ws, ignore_border=ignore_border, stride=stride, pad=pad,
                       mode=mode)

    def reference(a):
        return reference_pool_any_rank(a, ws, stride, pad, mode, ignore_border)
    r = rng.normal(size=reference(x).shape)
    rs = pt.tensor(dtype="float64", shape=(None,) * len(shape))
    value, grad = compile([xs, rs], [out, pt.grad((out * rs).sum(), xs)])(x, r)
    assert value.shape == reference(x).shape
    np.testing.assert_allclose(value, reference(x), rtol=1e-10)
    np.testing.assert_allclose(grad, numeric_gradient(lambda a: (reference(a) * r).sum(), x),
                               rtol=1e-5, atol=1e-7)


def test_pooling_without_ignore_border_warns_as_theano_did_and_keeps_the_border():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    xs = pt.tensor4(dtype="float64")
    for spelling in (lambda: pool.pool_2d(xs, (2, 2)),
                     lambda: downsample.max_pool_2d(xs, (2, 2))):
        with pytest.warns(UserWarning, match="ignore_border default value changed to "
                                             "True"):
            out = spelling()
        # the docstring's example: a 5x5 image gives 3x3 without ignore_border
        np.testing.assert_array_equal(pytensor.function([xs], out)(x)[0, 0],
                                      [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


def test_old_argument_names_warn_and_clash_as_in_theano():
    xs = pt.tensor4(dtype="float64")
    x = np.random.default_rng(2).normal(size=(1, 1, 6, 6))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        old = pool.pool_2d(xs, ds=(2, 2), st=(1, 1), ignore_border=True)
    assert ["DEPRECATION: the '{0}' parameter is not going to exist anymore as it is "
            "going to be replaced by the parameter '{1}'.".format(*names)
            for names in (("ds", "ws"), ("st", "stride"))] == [str(w.message) for w in said]
    new = pool.pool_2d(xs, ws=(2, 2), stride=(1, 1), ignore_border=True)
    np.testing.assert_array_equal(*pytensor.function([xs], [old, new])(x))
    with pytest.raises(ValueError, match="both 'ds' and 'ws'"):
        pool.pool_2d(xs, ws=(2, 2), ds=(2, 2), ignore_border=True)
    with pytest.raises(ValueError, match="You must provide a tuple value for the window"):
        pool.pool_2d(xs, ignore_border=True)
    with pytest.raises(NotImplementedError, match="padding works only with "
                                                  "ignore_border=True"):
        pool.pool_2d(xs, (3, 3), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match="mode must be one of .* got 'average'"):
        pool.pool_2d(xs, (2, 2), ignore_border=True, mode="average")
    with pytest.raises(TypeError, match="ws must be a pair of integers"):
        pool.pool_2d(xs, 2, ignore_border=True)


def test_max_pool_2d_same_size_keeps_each_windows_maximum(compile):
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 6))
    xs = pt.tensor4(dtype="float64")
    out = compile([xs], pool.max_pool_2d_same_size(xs, (2, 2)))(x)
    windows = x.reshape(2, 3, 2, 2, 3, 2)
    is_max = windows == windows.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(out, np.where(is_max, windows, 0).reshape(x.shape))


#### Random streams
@pytest.mark.parametrize("streams", [RandomStreams(7), MRG_RandomStreams(7)],
                         ids=["RandomStreams", "MRG_RandomStreams"])
def test_random_streams_draw_afresh_at_every_call(streams, compile):
    x = matrix()
    mask = streams.binomial(size=x.shape, n=1, p=0.8)
    uniform = streams.uniform(size=(2000,), low=-1.0, high=3.0)
    normal = streams.normal(size=(2000,), avg=5.0, std=2.0)
    f = compile([x], [x * pt.cast(mask, "float64"), uniform, normal])
    first, second = f(np.ones((50, 40))), f(np.ones((50, 40)))
    assert first[0].dtype == np.float64 and mask.dtype == "int64"
    assert not np.array_equal(first[0], second[0])        # fresh masks per call
    for kept, u, z in (first, second):
        assert abs(kept.mean() - 0.8) < 0.05 and set(np.unique(kept)) <= {0.0, 1.0}
        assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.1
        assert abs(z.mean() - 5) < 0.2 and abs(z.std() - 2) < 0.2


def test_random_streams_repeat_from_a_seed():
    def draws(seed):
        streams = RandomStreams(seed)
        f = pytensor.function([], streams.uniform(size=(5,)))
        return f(), f()
    np.testing.assert_array_equal(draws(3), draws(3))
    assert not np.array_equal(draws(3)[0], draws(4)[0])
    streams = RandomStreams(3)
    f = pytensor.function([], streams.uniform(size=(5,)))
    first = f()
    streams.seed(3)
    np.testing.assert_array_equal(f(), first)
    assert len(streams.updates()) == 1
    assert streams.permutation(5).ndim == 1        # PyTensor's other distributions
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        RandomStreams(seed=-1)
    with pytest.raises(NotImplementedError, match="only n=1"):
        MRG_RandomStreams().binomial(size=(2,), n=2, p=0.5)


#### theano itself, and what is not covered
def test_config_reads_and_writes_theanos_names(monkeypatch):
    config = theano.config
    assert config.floatX == pytensor.config.floatX
    with pytest.raises(Exception, match="Can't change the value of this config "
                                        "parameter after initialization!"):
        config.device = "gpu"
    assert config.dnn.enabled == "auto" and config.lib.cnmem == 0.0
    config.lib.cnmem = 0.5                      # Theano-only: accepted, changes nothing
    assert config.lib.cnmem == 0.5
    previous = pytensor.config.floatX
    try:
        config.floatX = "float64"
        assert pt.matrix().dtype == "float64"
    finally:
        pytensor.config.floatX = previous
    with pytest.raises(ValueError, match="theano.config.mode must be one of"):
        config.mode = "FASTEST"
    with pytest.raises(AttributeError, match="theano.config has no setting 'nosuch'"):
        config.nosuch


def test_function_on_the_gpu_goes_through_jax_and_says_why_not(monkeypatch, capsys):
    pytest.importorskip("jax")
    monkeypatch.setitem(theano.config._values, "device", "cuda")
    monkeypatch.setattr(jax_backend, "find_jax", lambda device: (False, "no GPU here"))
    x = pt.vector(dtype="float64")
    f = theano.function([x], 2 * x)
    assert "device=cuda, but no GPU here; Theano functions run on the CPU" in \
        capsys.readouterr().out
    assert not isinstance(f.vm, type(jax_backend.mode().linker.make_all))  # (any VM)
    # where JAX finds a GPU (here: JAX's CPU stands in), a JAX function
    monkeypatch.setattr(jax_backend, "find_jax", lambda device: (True, ""))
    f = theano.function([x], 2 * x)
    assert "through JAX" in capsys.readouterr().out
    assert f.maker.mode.linker.__class__.__name__ == "JAXLinker"
    np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 4.0])
    # an explicit mode other than FAST_RUN is kept
    assert theano.function([x], x, mode="FAST_COMPILE").maker.mode.linker.__class__ \
        .__name__ != "JAXLinker"


def test_names_forward_to_pytensor_or_say_what_to_use():
    assert theano.tensor.matrix is pt.matrix and theano.shared is pytensor.shared
    assert theano.tensor.abs_ is pt.abs and theano.dot is pt.dot
    assert theano.printing is pytensor.printing
    assert theano.tensor.flatten(pt.tensor4(), outdim=2).ndim == 2
    with pytest.raises(AttributeError, match="ultra_fast_sigmoid is not covered .* use "
                                             "sigmoid"):
        theano.tensor.nnet.ultra_fast_sigmoid
    with pytest.raises(AttributeError, match="theano.tensor.signal.pool.pool_3d is not "
                                             "covered"):
        pool.pool_3d
    with pytest.raises(AttributeError, match="module 'theano.tensor' has no attribute "
                                             "'nosuch'"):
        theano.tensor.nosuch
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no deprecation noise from PyTensor
        RandomStreams(1).uniform(size=(2,))
