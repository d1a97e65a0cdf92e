"""config.py
~~~~~~~~~~

Settings network3 needs before anything is compiled: the float type
(``floatX``), the compilation mode, and the device.

People ran network3 with Theano's flags on the command line::

    THEANO_FLAGS=mode=FAST_RUN,device=gpu,floatX=float32 python test.py

Theano is gone; its maintained descendant PyTensor reads ``PYTENSOR_FLAGS``
instead.  This module reads ``THEANO_FLAGS`` and translates what still means
something to PyTensor's settings.  Flags that only meant something to Theano's
old GPU back end are accepted quietly; flags nobody knows get a warning, never
a crash.

It imports nothing else of network3: every other module may read it.  Which
back end runs a network, given the device asked for here, is decided in
:mod:`network3.backends`.

"""

#### Libraries
# Standard library
import os
import sys
import warnings

#### The Theano flags we understand
# Theano modes and the PyTensor mode each becomes.  ``None`` keeps PyTensor's
# default, which compiles with Numba: the fastest linker on a CPU today.
MODES = {
    "FAST_RUN": None,
    "Mode": None,
    "FAST_COMPILE": "FAST_COMPILE",
    "DebugMode": "DebugMode",
    "DEBUG_MODE": "DebugMode",
    "NanGuardMode": "NanGuardMode",
    "NUMBA": "NUMBA",
    "CVM": "CVM",
    "C": "C",
    "JAX": "JAX",
}

# Flags that tuned Theano's CUDA back end or its C compiler.  They have no
# counterpart here, and asking for them was never an error, so they pass
# without a word.
_THEANO_ONLY = {
    "lib.cnmem", "gpuarray.preallocate", "gpuarray.single_stream",
    "nvcc.fastmath", "nvcc.flags", "cuda.root", "dnn.enabled",
    "dnn.conv.algo_fwd", "dnn.conv.algo_bwd_data", "dnn.conv.algo_bwd_filter",
    "dnn.include_path", "dnn.library_path", "init_gpu_device", "contexts",
    "force_device", "print_active_device", "blas.ldflags", "cxx", "openmp",
    "gcc.cxxflags", "cmodule.warn_no_version", "cmodule.compilation_warning",
    "assert_no_cpu_op", "compute_test_value", "on_unused_input",
    "optimizer", "optimizer_including", "optimizer_excluding",
    "allow_gc", "linker", "device_memory",
}

# Flags that PyTensor still has under the same name.
_PASSED_THROUGH = {"exception_verbosity", "warn_float64", "base_compiledir",
                   "compiledir"}

_FLOAT_TYPES = ("float32", "float64")


def parse_flags(text):
    """Split a ``THEANO_FLAGS`` string into a dict of ``name -> value``.

    Entries are separated by commas and written ``name=value``; an entry
    without ``=`` (Theano accepted a few bare words) maps to ``"True"``.
    """
    flags = {}
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        flags[name.strip()] = value.strip() if sep else "True"
    return flags


def translate_flags(flags):
    """Translate parsed Theano flags into network3's settings.

    Parameters
    ----------
    flags : dict
        ``name -> value`` as returned by :func:`parse_flags`.

    Returns
    -------
    settings : dict
        Any of ``floatX``, ``mode``, ``device`` and the PyTensor flags passed
        through unchanged (``exception_verbosity``, ...).
    problems : list of str
        One sentence per flag that was unknown or had a value we cannot use.
    """
    settings, problems = {}, []
    for name, value in flags.items():
        if name == "device":
            if value == "cpu":
                settings["device"] = "cpu"
            elif value.startswith(("gpu", "cuda")):
                settings["device"] = "gpu"
            else:
                problems.append(
                    "device={0!r} is not a device network3 knows (use cpu, "
                    "gpu or cuda); running on the CPU".format(value))
        elif name == "floatX":
            if value in _FLOAT_TYPES:
                settings["floatX"] = value
            else:
                problems.append(
                    "floatX={0!r} is not supported (use float32 or float64); "
                    "using float32".format(value))
        elif name == "mode":
            if value in MODES:
                settings["mode"] = MODES[value]
            else:
                problems.append(
                    "mode={0!r} is not a mode network3 knows ({1}); using "
                    "FAST_RUN".format(value, ", ".join(sorted(MODES))))
        elif name in _PASSED_THROUGH:
            settings[name] = value
        elif name not in _THEANO_ONLY:
            problems.append("unknown flag {0!r} ignored".format(name))
    return settings, problems


def _read_environment():
    """Return the settings asked for by ``THEANO_FLAGS`` (and ``PYTENSOR_FLAGS``)."""
    settings, problems = translate_flags(
        parse_flags(os.environ.get("THEANO_FLAGS", "")))
    for problem in problems:
        warnings.warn("THEANO_FLAGS: " + problem, stacklevel=3)
    # network3 always ran in float32 unless told otherwise; a floatX given
    # to PyTensor directly is respected too.
    if "floatX" not in settings:
        pytensor_flags = parse_flags(os.environ.get("PYTENSOR_FLAGS", ""))
        settings["floatX"] = pytensor_flags.get("floatX", "float32")
    return settings


#### A compile directory of its own for each Dask worker process
# PyTensor keeps compiled code (its Numba cache included) under
# base_compiledir, and that cache is not safe to share between processes
# compiling at the same time.  Runs of a sweep do exactly that, one per Dask
# worker process, so each worker process takes a directory of its own: the
# first of BASE/worker-0, BASE/worker-1, ... that no live process holds.  A
# lock on it lasts as long as the process, and the directory stays, so the
# next worker to take it finds its compiled code there (a warm cache).

#: multiprocessing's name for the processes Dask's nannies start workers in
#: (``distributed.LocalCluster``, ``dask worker``).
DASK_WORKER_PROCESS = "Dask Worker process"

#: Set to 1 to give any process a compile directory of its own, as a Dask
#: worker process gets (``dask worker --no-nanny``, other process pools).
OWN_COMPILEDIR = "NETWORK3_OWN_COMPILEDIR"

_held_locks = []


def _default_base_compiledir():
    """Where PyTensor keeps compiled code unless told otherwise."""
    if sys.platform == "win32" and os.getenv("LOCALAPPDATA"):
        return os.path.join(os.getenv("LOCALAPPDATA"), "PyTensor")
    return os.path.join(os.path.expanduser("~"), ".pytensor")


def claim_compiledir(base):
    """Return ``base/worker-K`` for the smallest K no other live process holds,
    and hold it until this process ends (an exclusive ``flock`` on
    ``base/worker-K.lock``; where there is no ``flock``, a directory named
    after the process id)."""
    os.makedirs(base, exist_ok=True)
    try:
        import fcntl
    except ImportError:                     # Windows
        return os.path.join(base, "worker-pid{0}".format(os.getpid()))
    for k in range(4096):
        path = os.path.join(base, "worker-{0}".format(k))
        fd = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held_locks.append(fd)
        return path
    raise RuntimeError("no free compile directory among {0}/worker-*.lock".format(base))


def _wants_own_compiledir():
    import multiprocessing
    return (multiprocessing.current_process().name.startswith(DASK_WORKER_PROCESS)
            or os.environ.get(OWN_COMPILEDIR, "") not in ("", "0"))


#### Apply the settings before PyTensor is imported
_settings = _read_environment()

#: This process's own PyTensor compile directory (see :func:`claim_compiledir`),
#: or None when it uses the one every process shares.
own_compiledir = None
if "pytensor" not in sys.modules and _wants_own_compiledir():
    own_compiledir = claim_compiledir(
        _settings.get("base_compiledir")
        or parse_flags(os.environ.get("PYTENSOR_FLAGS", "")).get("base_compiledir")
        or _default_base_compiledir())
    _settings["base_compiledir"] = own_compiledir

# Flags that only take effect when PyTensor starts (where it keeps compiled
# code) must reach it through its own environment variable.
_startup = ["{0}={1}".format(name, _settings[name])
            for name in ("base_compiledir", "compiledir") if name in _settings]
if _startup and "pytensor" not in sys.modules:
    os.environ["PYTENSOR_FLAGS"] = ",".join(
        [os.environ.get("PYTENSOR_FLAGS", "")] + _startup).strip(",")

import pytensor  # noqa: E402  (must come after the environment is set)

pytensor.config.floatX = _settings["floatX"]
for _name in ("exception_verbosity", "warn_float64"):
    if _name in _settings:
        try:
            setattr(pytensor.config, _name, _settings[_name])
        except (ValueError, TypeError) as error:
            warnings.warn("THEANO_FLAGS: {0}={1!r} ignored ({2})".format(
                _name, _settings[_name], error))

#: The float type of images, weights and biases.
floatX = pytensor.config.floatX

#: The PyTensor mode every network3 function is compiled with (``None``:
#: PyTensor's default, the Numba linker).
mode = _settings.get("mode")

#: The device asked for by ``THEANO_FLAGS``: ``"cpu"``, ``"gpu"``, or
#: ``None`` when the flags do not say.
device = _settings.get("device")

#: The 2015 network3.py's switch: set ``network3.GPU = True`` (or
#: ``THEANO_FLAGS=device=gpu``) to train on a GPU when one can be used.
#: ``network3.GPU`` reads and writes this value; a Network reads it when it
#: is built (see ``network3.backends.select``).
GPU = device == "gpu"
