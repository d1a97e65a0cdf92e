"""scripts/expand_mnist.py as a user runs it: the expanded file, the
original's "already exists" behaviour, --force, and a reproducible shuffle."""

import gzip
import os
import pickle
import subprocess
import sys

import numpy as np

from network3 import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def expand_mnist(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "expand_mnist.py"),
                           *args], capture_output=True, text=True, timeout=300)


def test_expand_mnist_script(tmp_path, mnist):
    small = tuple((x[:40], y[:40]) for x, y in mnist)
    source, target = str(tmp_path / "small.pkl.gz"), str(tmp_path / "expanded.pkl.gz")
    data.save_data(source, small)
    result = expand_mnist("--input", source, "--output", target, "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Expanding the MNIST training set")
    (x, y), validation, test = data.load_data(target)
    assert x.shape == (200, 784) and y.shape == (200,)
    np.testing.assert_array_equal(validation[0], small[1][0])
    np.testing.assert_array_equal(test[1], small[2][1])
    # every original image is there, with its label, and so are its shifts
    rows = {row.tobytes(): label for row, label in zip(x, y)}
    for image, label in zip(*small[0]):
        assert rows[image.tobytes()] == label
        down = np.zeros((28, 28), image.dtype)
        down[1:] = image.reshape(28, 28)[:-1]
        assert rows[down.reshape(784).tobytes()] == label
    # a plain pickle.load (what the 2015 code did) reads the file too
    with gzip.open(target) as f:
        np.testing.assert_array_equal(pickle.load(f, encoding="latin1")[0][0], x)
    # the original's behaviour: an existing file is left alone ...
    before = os.path.getmtime(target)
    result = expand_mnist("--input", source, "--output", target, "--seed", "4")
    assert "already exists" in result.stdout and os.path.getmtime(target) == before
    # ... unless --force; the same seed gives the same file
    result = expand_mnist("--input", source, "--output", target, "--seed", "3", "--force")
    assert result.returncode == 0
    np.testing.assert_array_equal(data.load_data(target)[0][0], x)
    assert sorted(os.listdir(tmp_path)) == ["expanded.pkl.gz", "small.pkl.gz"]
