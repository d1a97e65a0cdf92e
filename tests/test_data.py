"""data.py: the bundled MNIST, the safe loader and its error messages."""

import gzip
import os
import pickle
import shutil

import numpy as np
import pytest

import network3
from network3 import data


def write_pkl_gz(path, obj):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f)
    return str(path)


def test_bundled_mnist_has_the_books_split(mnist):
    sizes = [len(x) for x, _ in mnist]
    assert sizes == [50000, 10000, 10000]
    for x, y in mnist:
        assert x.shape[1] == 784 and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert y.dtype == np.int32 and set(np.unique(y)) == set(range(10))


def test_load_data_shared_gives_shared_variables_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # the book's "../data/..." is not here
    training_data, validation_data, test_data = network3.load_data_shared()
    assert network3.size(training_data) == 50000
    assert network3.size(test_data) == 10000
    assert training_data[0].get_value(borrow=True).dtype == np.float32
    assert validation_data[1].get_value(borrow=True).dtype == np.int32


def test_missing_file_names_the_file():
    with pytest.raises(FileNotFoundError, match="nothere.pkl.gz: no such data file"):
        network3.load_data_shared("nothere.pkl.gz")


def test_not_a_gzip(tmp_path):
    path = tmp_path / "plain.pkl.gz"
    path.write_bytes(b"this is not gzip data")
    with pytest.raises(network3.DataError, match="plain.pkl.gz: not a readable gzip"):
        data.load_data(str(path))


def test_truncated_gzip(tmp_path, mnist):
    good = write_pkl_gz(tmp_path / "good.pkl.gz",
                        tuple((x[:50], y[:50]) for x, y in mnist))
    cut = tmp_path / "cut.pkl.gz"
    cut.write_bytes(open(good, "rb").read()[:3000])
    with pytest.raises(network3.DataError, match="cut.pkl.gz: .*truncated"):
        data.load_data(str(cut))


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_pkl_gz(tmp_path / "evil.pkl.gz", Exploit())
    with pytest.raises(network3.DataError, match="refusing to load posix.system"):
        data.load_data(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("obj, message", [
    ([1, 2], "expected (training_data, validation_data, test_data)"),
    (((np.zeros((3, 4)),), (0, 0), (0, 0)), "training_data: expected a pair"),
    (((np.zeros((3, 4), "float32"), np.zeros(2, "int64")),) * 3, "3 images but 2 labels"),
    (((np.zeros((3, 4), "float32"), np.zeros(3, "float32")),) * 3,
     "labels must be a 1-D integer array"),
    (((np.zeros(3, "float32"), np.zeros(3, "int64")),) * 3,
     "images must be a 2-D numeric array"),
    (((np.full((3, 4), np.nan, "float32"), np.zeros(3, "int64")),) * 3,
     "images contain NaN"),
    (((np.zeros((3, 4), "float32"), np.array([0, -1, 2])),) * 3,
     "labels must be non-negative"),
])
def test_wrong_structure_is_explained(tmp_path, obj, message):
    path = write_pkl_gz(tmp_path / "odd.pkl.gz", obj)
    with pytest.raises(network3.DataError) as info:
        data.load_data(path)
    assert message in str(info.value) and "odd.pkl.gz" in str(info.value)


def test_damaged_bundled_file_fails_its_checksum(tmp_path, monkeypatch):
    copy = tmp_path / "mnist.pkl.gz"
    shutil.copy(os.path.join(data.DATA_DIR, "mnist.pkl.gz"), copy)
    with open(copy, "r+b") as f:
        f.seek(1000)
        f.write(b"\0\0\0\0")
    monkeypatch.setattr(data, "DATA_DIR", str(tmp_path))
    with pytest.raises(network3.DataError, match="SHA-256 is [0-9a-f]+, expected f11bb9.*git checkout"):
        data.load_data(str(copy))


def test_size_accepts_shared_variables_and_arrays():
    x = np.zeros((7, 3), "float32")
    assert network3.size((x, np.zeros(7, "int32"))) == 7
    assert network3.size(network3.shared((x, np.zeros(7, "int32")))) == 7


def reference_shift(image, direction):
    """One image shifted by a pixel, the way the 2015 expand_mnist.py did it:
    np.roll, then zero the row or column that wrapped around."""
    d, axis, index = {"down": (1, 0, 0), "up": (-1, 0, 27),
                      "right": (1, 1, 0), "left": (-1, 1, 27)}[direction]
    new = np.roll(image.reshape(28, 28), d, axis)
    if axis == 0:
        new[index, :] = 0
    else:
        new[:, index] = 0
    return new.reshape(784)


def test_expand_matches_the_originals_shifts(mnist):
    x, y = mnist[0][0][:6], mnist[0][1][:6]
    ex, ey = data.expand((x, y), rng=0)
    assert ex.shape == (30, 784) and ey.shape == (30,) and ex.dtype == x.dtype
    expected = {(k, d): reference_shift(x[k], d) for k in range(6)
                for d in ("down", "up", "right", "left")}
    expected.update({(k, "same"): x[k] for k in range(6)})
    rows = {row.tobytes(): label for row, label in zip(ex, ey)}
    for (k, _), image in expected.items():
        assert rows[image.tobytes()] == y[k]
    # a different seed, a different shuffle, the same images
    ex2, _ = data.expand((x, y), rng=1)
    assert not np.array_equal(ex, ex2)
    assert sorted(r.tobytes() for r in ex) == sorted(r.tobytes() for r in ex2)


def test_saved_data_loads_back(tmp_path, mnist):
    small = tuple((x[:20], y[:20]) for x, y in mnist)
    path = str(tmp_path / "small.pkl.gz")
    data.save_data(path, small)
    for (x, y), (x2, y2) in zip(small, data.load_data(path)):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert os.listdir(tmp_path) == ["small.pkl.gz"]
