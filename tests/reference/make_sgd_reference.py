"""Write sgd_reference.npz: what default SGD gave at commit 0986c54 (before
callbacks and update rules), for test_training.py's bit-for-bit test.

Run from the repository root on the commit whose numbers are the reference:
``python tests/reference/make_sgd_reference.py``.  Each case trains a small
seeded net (a ConvPool layer, a dropout FC layer, a softmax) on the first
200 MNIST images for 2 epochs and keeps every parameter and the history's
numbers (cost, validation and test accuracy, eta, gradient norms).
"""

import os
import sys
import warnings

import numpy as np

import network3
from network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer

#: name -> (back end, SGD keyword arguments)
CASES = {
    "numba-plain": ("numba", {}),
    "numba-momentum": ("numba", {"momentum": 0.5}),
    "jax-plain": ("jax", {}),
}


def train(backend, kwargs):
    """The case's net, trained; returns ``(net, history)``."""
    (x, y), (vx, vy), (tx, ty) = network3.load_data()
    network3.seed(7)
    mbs = 10
    net = Network([ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(4, 1, 5, 5),
                                 poolsize=(2, 2), activation_fn=ReLU),
                   FullyConnectedLayer(n_in=4 * 12 * 12, n_out=20, activation_fn=ReLU,
                                       p_dropout=0.3),
                   SoftmaxLayer(n_in=20, n_out=10, p_dropout=0.3)], mbs,
                  backend=backend, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.SGD(network3.shared((x[:200], y[:200])), 2, mbs, 0.05,
                          (vx[:100], vy[:100]), (tx[:100], ty[:100]), lmbda=0.1,
                          verbose=False, **kwargs)
    return net, history


def blas():
    """The BLAS libraries loaded, the kernels they chose, and the one
    network3's gemm calls (where the code says which), as text: the bits of
    a product depend on them."""
    import scipy.linalg.cython_blas  # noqa: F401  (SciPy's BLAS, loaded)
    from threadpoolctl import threadpool_info
    from network3.backends.numba import blas as ours
    loaded = ";".join(sorted("{0}:{1}:{2}".format(i.get("internal_api"),
                                                  i.get("version"), i.get("architecture"))
                             for i in threadpool_info() if i["user_api"] == "blas"))
    called = getattr(ours, "BLAS", "scipy")     # (before issue 25: always SciPy's)
    return loaded if called == "scipy" else loaded + ";called:" + called


def numbers(net, history):
    """The arrays the test compares, by name."""
    out = {"param{0}".format(k): p.get_value() for k, p in enumerate(net.params)}
    out["cost"] = np.asarray(history.cost)
    out["validation_accuracy"] = np.asarray(history.validation_accuracy)
    out["test_accuracy"] = np.asarray([np.nan if a is None else a
                                       for a in history.test_accuracy])
    out["eta"] = np.asarray(history.eta)
    out["gradient_norms"] = np.asarray(history.gradient_norms)
    out["best_epoch"] = np.asarray(history.best_epoch)
    return out


if __name__ == "__main__":
    arrays = {}
    for name, (backend, kwargs) in CASES.items():
        for key, value in numbers(*train(backend, kwargs)).items():
            arrays["{0}/{1}".format(name, key)] = value
    arrays["blas"] = np.asarray(blas())
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sgd_reference.npz")
    np.savez(path, **arrays)
    print("wrote", path, file=sys.stderr)
