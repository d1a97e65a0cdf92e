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


#### IDX files (Fashion-MNIST, KMNIST, EMNIST, the original MNIST)
def write_idx(path, array, compress=True):
    """An IDX file written independently of network3: magic, dims, bytes."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">f4"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as f:
        f.write(raw)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(15, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz",
              (np.arange(60) % 10).astype(np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", (np.arange(15) % 10).astype(np.uint8),
              compress=False)
    return tmp_path, train, test


def test_idx_folder_loads_like_mnist(idx_folder):
    folder, train, test = idx_folder
    (tx, ty), (vx, vy), (sx, sy) = data.load_idx(folder, validation_size=12, seed=1)
    assert tx.shape == (48, 784) and vx.shape == (12, 784) and sx.shape == (15, 784)
    assert tx.dtype == np.float32 and ty.dtype == np.int32
    np.testing.assert_allclose(sx, test.reshape(15, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(sy, np.arange(15) % 10)
    # training and validation split the training file between them
    rows = {tuple(np.round(r * 255).astype(int)): y for r, y in zip(
        np.concatenate([tx, vx]), np.concatenate([ty, vy]))}
    assert len(rows) == 60
    for k in range(60):
        assert rows[tuple(train[k].reshape(784).astype(int))] == k % 10
    # seeded: the same seed, the same split; another seed, another
    again = data.load_idx(folder, validation_size=12, seed=1)
    np.testing.assert_array_equal(again[1][0], vx)
    assert not np.array_equal(data.load_idx(folder, validation_size=12, seed=2)[1][0], vx)
    # load_data_shared takes the folder too, as the chapter's code would
    shared = network3.load_data_shared(str(folder))
    assert shared[0][0].get_value().shape == (50, 784)


def test_bad_idx_files_are_reported(idx_folder, tmp_path):
    folder, _, _ = idx_folder
    path = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(data.DataError, match="the header promises 47040 values"):
        data.load_idx(folder)
    path.write_bytes(b"not an idx file at all")
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.load_idx(folder)
    (folder / "emnist-x-train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(data.DataError, match="expected one train-images IDX file"):
        data.load_idx(folder)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.load_idx(tmp_path / "nowhere")
