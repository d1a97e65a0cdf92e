"""Shared fixtures: the bundled MNIST, loaded once, and small subsets of it;
every test starting from the same process-wide state; and independent
NumPy/SciPy references (convolution, pooling, finite differences, a whole
network's forward pass) to check network3 against."""

import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import convolve2d

import network3
from network3 import backends, seeding


#: The back ends to run a test on: JAX (on the CPU) where it is installed.
BACKENDS = ["numba", pytest.param("jax", marks=pytest.mark.skipif(
    not backends.find_jax("cpu")[0], reason="JAX is not installed"))]


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST as NumPy arrays: (training, validation, test)."""
    return network3.load_data()


@pytest.fixture(scope="session")
def subset(mnist):
    """Return ``subset(n_train, n_valid, n_test)``: the first images of each
    set, as shared variables, as load_data_shared gives them."""
    def make(n_train, n_valid=1000, n_test=1000):
        return [network3.shared((x[:n], y[:n]))
                for (x, y), n in zip(mnist, (n_train, n_valid, n_test))]
    return make


@pytest.fixture(scope="session")
def conv_model_file(tmp_path_factory, mnist):
    """A small net starting with a ConvPool layer (8 ReLU maps of 12x12),
    trained for two epochs on 3,000 images (some 90% right), saved:
    what network3 serve's tests serve."""
    (x, y), validation, _ = mnist
    network3.seed(5)
    net = network3.Network([
        network3.ConvPoolLayer((8, 1, 5, 5), (10, 1, 28, 28), activation_fn=network3.ReLU),
        network3.FullyConnectedLayer(8 * 12 * 12, 30, activation_fn=network3.ReLU),
        network3.SoftmaxLayer(30, 10)], 10)
    net.SGD(network3.shared((x[:3000], y[:3000])), 2, 10, 0.03,
            network3.shared(tuple(part[:500] for part in validation)), None,
            verbose=False)
    path = tmp_path_factory.mktemp("served") / "digits.npz"
    net.save(path)
    return path


@pytest.fixture(scope="session")
def digit_files(tmp_path_factory, mnist):
    """MNIST's first 200 test digits as files, drawn four ways in turn: as
    MNIST has them (28x28 PNG), dark on light at three times the size, a
    JPEG, light strokes on a transparent background."""
    from PIL import Image
    folder = tmp_path_factory.mktemp("digits")
    files = []
    for n, image in enumerate(mnist[2][0][:200]):
        ink = (image.reshape(28, 28) * 255).round().astype(np.uint8)
        kind = n % 4
        if kind == 0:
            picture, name = Image.fromarray(ink), "mnist{0}.png"
        elif kind == 1:
            picture = Image.fromarray(255 - ink).resize((84, 84), Image.Resampling.BILINEAR)
            name = "paper{0}.png"
        elif kind == 2:
            picture, name = Image.fromarray(255 - ink).convert("RGB"), "photo{0}.jpg"
        else:
            rgba = np.zeros((28, 28, 4), dtype=np.uint8)
            rgba[..., 3] = ink
            picture, name = Image.fromarray(rgba), "transparent{0}.png"
        path = folder / name.format(n)
        picture.save(path, **({"quality": 95} if kind == 2 else {}))
        files.append(path)
    return files


def start_serving(model, *args):
    """``network3 serve MODEL ARGS`` in a process of its own (SIGINT as an
    interactive shell leaves it), and its address once it prints it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", "serve", str(model), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()
    found = re.search(r"is at (http://\S+/) \(Ctrl-C stops it\)", line)
    assert found, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, found.group(1)


def chromium():
    """Debian's Chromium (or Chromium by another name), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Why a test that needs a real browser is skipped here.
NO_CHROMIUM = ("no Chromium: apt-get install chromium (Debian's package) to run the tests "
               "that use a real browser")


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test sees what a fresh process would: no network3.seed, NumPy's
    global generator in a fixed state, every once-only line unsaid, the
    GPU flag as the environment set it."""
    state = np.random.get_state()
    gpu = network3.config.GPU
    seeding.reset()
    np.random.seed(1234)
    backends.forget_notices()
    yield
    seeding.reset()
    np.random.set_state(state)
    network3.config.GPU = gpu


@pytest.fixture
def python_sigint():
    """SIGINT handled as Python handles it in an interactive process (a
    shell's ``cmd &`` starts a process with SIGINT ignored, where network3
    rightly leaves it alone), for tests of the Ctrl-C handling itself."""
    import signal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def numpy_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {"ReLU": lambda z: np.maximum(0.0, z),
               "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
               "tanh": np.tanh, "linear": lambda z: z}


def reference_conv(x, w, border_mode="valid", subsample=(1, 1)):
    """Theano's conv2d in float64 SciPy: a true convolution of each channel
    by scipy.signal.convolve2d, summed over channels.  'full' is SciPy's
    own mode; 'half' and explicit paddings pad the images with zeros first
    (half: kernel // 2); a stride keeps every s-th row and column."""
    kh, kw = w.shape[2:]
    mode, pad = "valid", (0, 0)
    if border_mode == "full":
        mode = "full"
    elif border_mode == "half":
        pad = (kh // 2, kw // 2)
    elif border_mode != "valid":
        pad = tuple(border_mode) if isinstance(border_mode, tuple) else (border_mode,) * 2
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2))
    out = np.array([[sum(convolve2d(x[m, c], w[k, c], mode=mode)
                         for c in range(x.shape[1]))
                     for k in range(w.shape[0])] for m in range(x.shape[0])])
    return out[:, :, ::subsample[0], ::subsample[1]]


def reference_pool(x, ws, stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Theano's pool_2d in float64 NumPy, written as pooling over padded
    images: max pads with -inf (so only real pixels can win), the sums with
    0; average_exc_pad divides by the same pooling of a padded image of ones
    (its real pixels per window), average_inc_pad by that of ones over the
    padded image.  With ignore_border=False the windows are counted as
    Theano's Pool.out_shape counts them, and the images are padded at the
    bottom and right as far as the last window reaches (with what no max
    picks and no divisor counts)."""
    stride = ws if stride is None else stride
    x = np.asarray(x, dtype=float)
    padded = [x.shape[2 + k] + 2 * pad[k] for k in (0, 1)]
    if ignore_border:
        counts = [max(0, (padded[k] - ws[k]) // stride[k] + 1) for k in (0, 1)]
    else:       # Theano's Pool.out_shape
        counts = [(padded[k] - 1) // stride[k] + 1 if stride[k] >= ws[k]
                  else max(0, (padded[k] - 1 - ws[k]) // stride[k] + 1) + 1
                  for k in (0, 1)]
    if 0 in counts:
        return np.zeros(x.shape[:2] + tuple(counts))
    after = [max(0, (counts[k] - 1) * stride[k] + ws[k] - padded[k]) for k in (0, 1)]

    def windows(a, fill, fill_pad=None):
        """(n, c, oh, ow, wh, ww): the windows over ``a`` padded by ``pad``
        with ``fill_pad`` (default ``fill``), then by ``after`` with ``fill``."""
        a = np.pad(a, ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2),
                   constant_values=fill if fill_pad is None else fill_pad)
        a = np.pad(a, ((0, 0), (0, 0), (0, after[0]), (0, after[1])),
                   constant_values=fill)
        return np.lib.stride_tricks.sliding_window_view(a, ws, axis=(2, 3))[
            :, :, ::stride[0], ::stride[1]][:, :, :counts[0], :counts[1]]

    if mode == "max":
        return windows(x, -np.inf).max(axis=(4, 5))
    if mode == "l2":
        return np.sqrt((windows(x, 0) ** 2).sum(axis=(4, 5)))
    total = windows(x, 0).sum(axis=(4, 5))
    if mode == "sum":
        return total
    ones = np.ones_like(x)
    inc_pad = mode == "average_inc_pad"
    return total / windows(ones, 0, fill_pad=1 if inc_pad else 0).sum(axis=(4, 5))


def numeric_gradient(f, x, eps=1e-6):
    """The gradient of the scalar ``f(x)`` by central differences, entry by
    entry, in float64."""
    x = np.array(x, dtype=float)
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        plus = f(x)
        x[index] = saved - eps
        grad[index] = (plus - f(x)) / (2 * eps)
        x[index] = saved
    return grad


def numpy_forward(layers, images):
    """Class probabilities of ``images`` (n, pixels) through ``layers``, in
    float64 NumPy/SciPy: convolutions by scipy.signal.convolve2d (true
    convolution, as Theano's) and pooling by reference_conv and
    reference_pool, with each ConvPoolLayer's options, dropout replaced by
    scaling with 1 - p_dropout, as the chapter evaluates."""
    a = np.asarray(images, dtype=float)
    for layer in layers:
        w, b = (p.get_value().astype(float) for p in layer.params)
        kind = type(layer).__name__
        if kind == "ConvPoolLayer":
            x = a.reshape((len(a),) + layer.image_shape[1:])
            conv = reference_conv(x, w, layer.border_mode, layer.subsample)
            pooled = reference_pool(conv, layer.poolsize, layer.pool_stride,
                                    layer.pool_pad, layer.pool_mode)
            a = ACTIVATIONS[layer.activation_fn.__name__](
                pooled + b[None, :, None, None]).reshape(len(x), -1)
        else:
            z = (1 - layer.p_dropout) * a.reshape(len(a), -1) @ w + b
            a = (numpy_softmax(z) if kind == "SoftmaxLayer"
                 else ACTIVATIONS[layer.activation_fn.__name__](z))
    return a
