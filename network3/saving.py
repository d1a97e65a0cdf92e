"""saving.py
~~~~~~~~~~~~

Save a trained network to a file and load it back.

The 2015 network3 had no way to keep a trained net; people pickled it, and a
pickle runs code when it is loaded.  A network3 model file is an ``.npz``
archive that holds only data: the architecture as JSON text, each parameter
as an array, and a SHA-256 digest of both.  Loading uses NumPy with pickles
refused, rebuilds the layers from the JSON, checks every parameter's shape
against them, and checks the digest, so a truncated, damaged or altered file
gives a clear :class:`ModelFileError` rather than a wrong network.

Saving is atomic (:func:`network3.files.atomic_write`): a crash or a Ctrl-C
mid-save leaves the previous file intact.

Layers describe themselves (``Layer.config``), and a file names each
layer's type by its class name, which must be registered (every ``Layer``
subclass is, when it is defined): a file cannot make network3 import or run
anything.

This module knows layers and files, not networks: :func:`save` takes any
object with ``layers``, ``params`` and ``mini_batch_size``, and
:func:`read_layers` gives back layers holding the saved parameters, from
which ``network3.load_network`` builds the ``Network``.
"""

#### Libraries
# Standard library
import hashlib
import json
import os
import zipfile

# Third-party libraries
import numpy as np

# network3
from network3 import config, files
from network3.layers import LAYER_TYPES

FORMAT = "network3-model"
VERSION = 2
#: The versions this network3 reads.  Version 1 files predate the pooling,
#: convolution and initialization options; their layers use the defaults.
READABLE_VERSIONS = (1, 2)

class ModelFileError(ValueError):
    """A model file that cannot be loaded: missing, damaged, altered, or
    holding parameters that do not fit its architecture."""


#### Saving
def architecture(net):
    """The network's architecture as a JSON-able dict: each layer's type
    (its class name) and ``config()``."""
    layers = []
    for j, layer in enumerate(net.layers):
        try:
            layers.append(dict(layer.config(), type=type(layer).__name__))
        except ValueError as error:
            raise ValueError("save: layer {0} ({1}): {2}".format(
                j, type(layer).__name__, error)) from None
    return {"format": FORMAT, "version": VERSION,
            "mini_batch_size": net.mini_batch_size, "floatX": config.floatX,
            "layers": layers, "params": [p.name for p in net.params]}


def digest(arch_bytes, arrays):
    """SHA-256 of the architecture and of every parameter's dtype, shape and bytes."""
    h = hashlib.sha256(arch_bytes)
    for array in arrays:
        h.update("{0}{1}".format(array.dtype.str, array.shape).encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def save(net, filename, values=None):
    """Write ``net`` (architecture and parameters) to ``filename``.

    The file is an ``.npz`` archive (whatever its name) that loads without
    running code; see :func:`read_layers`.  It appears whole or not at all.
    ``values``, if given, are written instead of the parameters' current
    values (one array per ``net.params``, as a copy of them taken earlier).
    """
    with files.atomic_write(filename) as f:
        write(net, f, values)


def write(net, f, values=None):
    """Write what :func:`save` writes to ``f``, a binary file open for
    writing (an ``io.BytesIO`` gives the model file as bytes, to send
    elsewhere)."""
    arch_bytes = json.dumps(architecture(net), sort_keys=True).encode()
    arrays = ([p.get_value() for p in net.params] if values is None
              else list(values))
    members = {"architecture": np.frombuffer(arch_bytes, dtype=np.uint8)}
    members.update(("param{0}".format(k), a) for k, a in enumerate(arrays))
    members["sha256"] = np.frombuffer(digest(arch_bytes, arrays).encode(),
                                      dtype=np.uint8)
    np.savez(f, **members)


#### Loading
def read_layers(filename, mini_batch_size=None):
    """The layers saved in ``filename``, holding the saved parameters.

    Parameters
    ----------
    filename : str or path
    mini_batch_size : int, optional
        Build the layers for this mini-batch size instead of the saved one
        (the parameters do not depend on it).

    Returns
    -------
    layers : list of Layer
    mini_batch_size : int

    Raises
    ------
    ModelFileError
        If the file is missing, not a model file, truncated or altered, or
        its parameters do not fit its architecture.
    """
    filename = os.fspath(filename)
    arch, arrays = _read(filename)
    mbs = arch.get("mini_batch_size") if mini_batch_size is None else mini_batch_size
    try:
        layers = [_build_layer(spec, mbs) for spec in arch["layers"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError("{0}: the architecture it describes cannot be built: "
                             "{1}".format(filename, error)) from None
    params = [param for layer in layers for param in layer.params]
    if len(arrays) != len(params):
        raise ModelFileError(
            "{0}: holds {1} parameter arrays but its architecture has {2}".format(
                filename, len(arrays), len(params)))
    names = arch.get("params") or [p.name for p in params]
    for name, param, array in zip(names, params, arrays):
        expected = param.get_value(borrow=True).shape
        if array.shape != expected:
            raise ModelFileError(
                "{0}: parameter {1} has shape {2} but the architecture needs "
                "{3}".format(filename, name, array.shape, expected))
        param.set_value(array.astype(config.floatX))
    return layers, mbs


def _read(filename):
    """The architecture dict and parameter arrays of a model file, checked."""
    if not os.path.exists(filename):
        raise ModelFileError("{0}: no such model file".format(filename))
    try:
        with np.load(filename, allow_pickle=False) as archive:
            names = set(archive.files)
            if not {"architecture", "sha256"} <= names:
                raise ModelFileError(
                    "{0}: not a network3 model file (it lacks the architecture "
                    "or the digest)".format(filename))
            arch_bytes = archive["architecture"].tobytes()
            recorded = archive["sha256"].tobytes().decode("ascii", "replace")
            arrays = []
            while "param{0}".format(len(arrays)) in names:
                arrays.append(archive["param{0}".format(len(arrays))])
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(
            "{0}: not a readable network3 model file ({1}: {2}); it may be "
            "truncated or damaged".format(filename, type(error).__name__, error)) \
            from None
    if digest(arch_bytes, arrays) != recorded:
        raise ModelFileError(
            "{0}: its contents do not match its SHA-256 digest; the file was "
            "altered or damaged".format(filename))
    try:
        arch = json.loads(arch_bytes.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError("{0}: the architecture is not valid JSON ({1})".format(
            filename, error)) from None
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise ModelFileError("{0}: not a network3 model file".format(filename))
    if arch.get("version") not in READABLE_VERSIONS:
        raise ModelFileError(
            "{0}: model file version {1!r}; this network3 reads versions {2}".format(
                filename, arch.get("version"),
                " and ".join(str(v) for v in READABLE_VERSIONS)))
    return arch, arrays


def _build_layer(spec, mini_batch_size):
    """A layer from its JSON description, by its registered type (see
    ``layers.LAYER_TYPES``; nothing is imported)."""
    spec = dict(spec)
    name = spec.pop("type")
    cls = LAYER_TYPES.get(name)
    if cls is None:
        raise ValueError(
            "it holds a layer of type {0!r}, which is not a known layer type (known: "
            "{1}); define that Layer subclass before loading".format(
                name, ", ".join(LAYER_TYPES)))
    return cls.from_config(spec, mini_batch_size)
