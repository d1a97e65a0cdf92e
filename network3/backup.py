"""backup.py
~~~~~~~~~~~~

Long runs that survive anything: ``SGD(..., backup="run.state")`` writes the
whole state of training to a file after every epoch, and an SGD call with
the same file, the same network and the same arguments goes on from there
(the habit Keras' ``BackupAndRestore`` made familiar).  The resumed run's
parameters and history are, bit for bit, those of a run that was never
stopped.

What a backup holds, as of the end of an epoch, is what
``state.TrainingState.state()`` gives (the only way a backup reads training,
and ``set_state`` the only way it restores it):

* every variable the training step updates: the parameters and the update
  rule's state (velocities, running averages, Adam's step count);
* every random stream: the dropout generators (as the back end holds them),
  the augmentation's seed, network3's generator (``network3.seed``) and
  NumPy's global one;
* the callbacks' state (:meth:`network3.callbacks.Callback.state`): the
  best epoch and its parameters, the learning-rate schedule, the early
  stopping counter, ...; the learning rate; the history; the next epoch;

and beside it a *fingerprint* of the run: the architecture, the back end,
SGD's arguments and a digest of the data.  A backup whose fingerprint
differs from the run's is refused (:class:`BackupError`) before anything is
trained, and left as it is.  :class:`BackupAndRestore` is the callback that
does all this.

The file is an ``.npz`` archive (arrays, and the rest as JSON) that loads
without running code, written atomically (``files.atomic_write``): a crash
or a second Ctrl-C while it is written leaves the previous one.  A run that
ends by itself (its epochs done, early stopping, a schedule, divergence)
removes it; a run that is interrupted or fails keeps it.

"""

#### Libraries
# Standard library
import hashlib
import io
import json
import numbers
import os
import types
import zipfile

# Third-party libraries
import numpy as np

# network3
from network3 import config, files, saving
from network3.augmentation import Augmentation
from network3.callbacks import Callback
from network3.specs import format_augmentation
from network3.updates import UpdateRule

FORMAT = "network3-backup"
VERSION = 1


class BackupError(ValueError):
    """A backup that cannot be resumed from: damaged, not a backup, or
    written by another run."""


#### What the state is made of
def _pack(value, arrays):
    """``value`` (JSON-able values, NumPy arrays and scalars, in lists,
    tuples and dicts with string keys) as plain JSON, its arrays appended to
    ``arrays`` and referred to by number."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(key): _pack(item, arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(item, arrays) for item in value]
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return value
    raise TypeError("a backup holds numbers, strings, lists, dicts and NumPy "
                    "arrays; got {0!r}".format(value))


def _unpack(value, arrays):
    """The inverse of :func:`_pack` (tuples come back as lists)."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {key: _unpack(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_unpack(item, arrays) for item in value]
    return value


def data_digest(datasets):
    """BLAKE2 digest of data sets (pairs of arrays, or None), their shapes,
    dtypes and bytes."""
    h = hashlib.blake2b(digest_size=16)
    for dataset in datasets:
        for array in (() if dataset is None else dataset):
            array = np.ascontiguousarray(array)
            h.update("{0}{1}".format(array.dtype.str, array.shape).encode())
            h.update(memoryview(array).cast("B"))
    return h.hexdigest()


def describe(value):
    """A setting as a fingerprint holds it: numbers and strings as they are;
    an update rule or an augmentation by what defines it; a schedule that is
    a function by its name, one that is an object by its ``repr`` if its
    class gives one (``halve_on_plateau``'s names its arguments), else by
    its class's name (a function's ``repr`` holds its address, another in
    every process)."""
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return value
    if isinstance(value, UpdateRule):
        return {"rule": value.name, "hyper": value.hyper}
    if isinstance(value, Augmentation):
        return format_augmentation(value)
    named = value if isinstance(value, (types.FunctionType, types.BuiltinFunctionType,
                                        types.MethodType)) else None
    if named is None and type(value).__repr__ is not object.__repr__:
        return repr(value)
    named = named or type(value)
    return "{0}.{1}".format(named.__module__, named.__qualname__)


def fingerprint(net, settings, datasets):
    """What makes a run the run it is: ``net``'s architecture and back end,
    ``settings`` (SGD's arguments that shape training, by name) and the
    digest of the training, validation and test ``datasets``."""
    return {"architecture": saving.architecture(net)["layers"],
            "mini_batch_size": net.mini_batch_size, "floatX": config.floatX,
            "backend": net.engine.name, "device": net.engine.device,
            "settings": {name: describe(value) for name, value in settings.items()},
            "data": data_digest(datasets)}


def _differences(recorded, expected):
    """The top-level keys (and settings) in which two fingerprints differ."""
    names = []
    for key in expected:
        if key == "settings":
            names += [name for name in expected[key]
                      if recorded.get(key, {}).get(name) != expected[key][name]]
        elif recorded.get(key) != expected[key]:
            names.append({"data": "the data"}.get(key, key))
    return names


#### The file
class Backup(object):
    """One run's backup file.

    ``SGD(backup=...)`` takes a file name or one of these.

    Parameters
    ----------
    filename : str or path
        Where the backup lives; its folder must exist.
    on_write : callable, optional
        Called with the backup's bytes each time it has been written (a
        Dask worker sends them to the client: ``network3.runs.on_dask``).
    name : str, optional
        What messages call the backup (default: ``filename``): a Dask
        worker's copy is called by the client's file, the one a user can
        remove or keep.
    """

    def __init__(self, filename, on_write=None, name=None):
        self.filename = os.fspath(filename)
        self.on_write = on_write
        self.name = self.filename if name is None else os.fspath(name)

    def exists(self):
        return os.path.exists(self.filename)

    def write(self, state, fingerprint):
        """Write ``state`` (``TrainingState.state()``) with the run's ``fingerprint``,
        atomically."""
        arrays = []
        meta = {"format": FORMAT, "version": VERSION, "fingerprint": fingerprint,
                "state": _pack(state, arrays)}
        members = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        members.update(("array{0}".format(k), a) for k, a in enumerate(arrays))
        content = io.BytesIO()
        np.savez(content, **members)
        with files.atomic_write(self.filename) as f:
            f.write(content.getbuffer())
        if self.on_write is not None:
            self.on_write(content.getvalue())

    def read(self, fingerprint):
        """The state the backup holds, if it was written by the run whose
        fingerprint is ``fingerprint``; else :class:`BackupError`."""
        name = self.name
        try:
            meta, arrays = _load(name)
        except _UNREADABLE as error:
            raise BackupError(
                "backup={0!r}: not a readable network3 backup ({1}: {2}); it may be "
                "damaged. Remove it to start afresh".format(
                    name, type(error).__name__, error)) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise BackupError("backup={0!r}: not a network3 backup".format(name))
        if meta.get("version") != VERSION:
            raise BackupError("backup={0!r}: backup version {1!r}; this network3 reads "
                              "version {2}".format(name, meta.get("version"), VERSION))
        recorded = json.loads(json.dumps(meta.get("fingerprint")))
        expected = json.loads(json.dumps(fingerprint))
        if recorded != expected:
            raise BackupError(
                "backup={0!r} was written by another run: it differs from this one "
                "in {1}. It is left as it is; give another file, or remove it to "
                "start afresh".format(name, ", ".join(
                    _differences(recorded or {}, expected)) or "its fingerprint"))
        return _unpack(meta["state"], arrays)

    def remove(self):
        if self.exists():
            os.remove(self.filename)


def epoch_of(backup):
    """The epoch the run would go on from with ``backup`` (a file name or a
    :class:`Backup`), or None if there is none or it cannot be read (SGD
    says why, when it reads it)."""
    filename = getattr(backup, "filename", backup)
    if filename is None or not os.path.exists(filename):
        return None
    try:
        return int(_load(filename, arrays=False)[0]["state"]["epoch"])
    except _UNREADABLE + (TypeError,):
        return None


#: What reading a file that is not a whole backup raises.
_UNREADABLE = (OSError, ValueError, EOFError, KeyError, UnicodeDecodeError,
               zipfile.BadZipFile)


def _load(filename, arrays=True):
    """A backup file's JSON and (if ``arrays``) its arrays, unchecked."""
    with np.load(filename, allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
        found = []
        while arrays and "array{0}".format(len(found)) in archive.files:
            found.append(archive["array{0}".format(len(found))])
    return meta, found


#### The callback
class BackupAndRestore(Callback):
    """``SGD(backup=...)``'s callback: at the start, a run with a backup
    goes on from it (the fingerprint checked first); after every epoch but
    the last, the state of training is written to it; at the end, a run
    that ended by itself (not interrupted, no error) removes it.  It runs
    after every other callback (``training.CALLBACKS``), so that it
    restores their state after their ``on_train_begin``, and writes it
    after their ``on_epoch_end``.

    Parameters
    ----------
    backup : str or path or Backup
    """

    def __init__(self, backup):
        self.file = backup if isinstance(backup, Backup) else Backup(backup)
        self.fingerprint = None

    @classmethod
    def from_settings(cls, settings):
        return None if settings.backup is None else cls(settings.backup)

    def on_train_begin(self, net, state, event):
        self.fingerprint = fingerprint(net, state.settings.fingerprint(),
                                       (state.training, state.validation, state.test))
        if not self.file.exists():
            return
        state.set_state(self.file.read(self.fingerprint))
        history = state.history
        line = "Resuming from the backup {0} at epoch {1} of {2}".format(
            self.file.name, state.epoch, state.epochs)
        if history.best_epoch is not None:
            line += " (best validation accuracy so far {0:.2%}, at epoch {1})".format(
                history.best_validation_accuracy, history.best_epoch)
        state.notice(line + ".")

    def on_epoch_end(self, net, state, event):
        if state.stopping is None and event.epoch + 1 < state.epochs:
            with state.shielded():
                self.file.write(state.state(), self.fingerprint)

    def on_train_end(self, net, state, event):
        if event.error is None and event.stopped != "interrupted":
            self.file.remove()
