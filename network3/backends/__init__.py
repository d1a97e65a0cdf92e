"""backends
~~~~~~~~~~~

Where a network's graphs are compiled and run.  Each back end owns its
kernels for network3's Ops (``ops.OPS``) and its way of compiling and
running, behind the small interface of :class:`~network3.backends.base.Backend`,
and is registered here by name (:data:`BACKENDS`, in order of preference):

* ``numba/``: the CPU, through PyTensor's Numba linker (the default);
* ``jax.py``: a GPU through JAX (``THEANO_FLAGS=device=gpu``), or on request
  JAX's CPU back end.

:func:`select` decides, in this one place, which back end runs a network on
which device, from what each registered one says of itself (``devices``,
``available``); :func:`create` makes it.  Adding a back end is its module
(or package) and one :func:`register` call below.

"""

#### Libraries
# network3
from network3 import config
# The Numba back end registers its kernels for network3's Ops on import, so
# every PyTensor function compiled in the default mode uses them.
from network3.backends.numba import NumbaBackend
# (the JAX back end's module imports JAX only when one is created)
from network3.backends.jax import JaxBackend, find_jax  # noqa: F401 (find_jax: for callers)

#: The back ends a Network can run on, by name, the preferred first.
BACKENDS = {}


def register(cls):
    """Add the Backend subclass ``cls`` to :data:`BACKENDS` (as ``cls.name``)."""
    BACKENDS[cls.name] = cls
    return cls


register(NumbaBackend)
register(JaxBackend)

_DEVICES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}
_said = set()


def select(device=None, backend=None):
    """Decide where a network runs; return ``(backend, device)``.

    Parameters
    ----------
    device : {None, "cpu", "gpu", "cuda"}
        Asked for by a keyword; ``None`` falls back on ``THEANO_FLAGS``'s
        ``device``, then on the ``network3.GPU`` flag.
    backend : {None, "numba", "jax"}
        ``None`` picks the first registered back end that runs on the device
        (Numba on the CPU, JAX on a GPU).  ``"jax"`` with ``device="cpu"``
        runs the GPU code path on JAX's CPU back end.

    When a GPU is asked for but cannot be used (no JAX, or a JAX without
    CUDA), one line says so and why, and the network runs on the CPU.
    """
    if device is not None and (not isinstance(device, str)
                               or device.split(":")[0] not in _DEVICES):
        raise ValueError("device must be 'cpu', 'gpu' or 'cuda', got {0!r}".format(
            device))
    if backend is not None and backend not in BACKENDS:
        raise ValueError("backend must be one of {0}, got {1!r}".format(
            ", ".join(repr(b) for b in BACKENDS), backend))
    if device is None:
        device = config.device or ("gpu" if config.GPU else "cpu")
    device = _DEVICES[device.split(":")[0]]
    if backend is not None and device not in BACKENDS[backend].devices:
        say_once("network3: the {0} back end runs on the {1} only; running on the "
                  "CPU.".format(BACKENDS[backend].label, " and ".join(
                      d.upper() for d in BACKENDS[backend].devices)))
        device = "cpu"
    why = None
    for name in [backend] if backend is not None else BACKENDS:
        if device in BACKENDS[name].devices:
            usable, why = BACKENDS[name].available(device)
            if usable:
                if device == "gpu":
                    say_once("network3: running on the GPU through {0}.".format(
                        BACKENDS[name].label))
                return name, device
    if device == "cpu":
        raise RuntimeError("backend={0!r} needs {1}: {2}".format(
            backend, BACKENDS[backend].label, why))
    say_once("network3: device=gpu was asked for, but {0}; running on the "
              "CPU.".format(why))
    return select("cpu")


def create(backend, device):
    """A new :class:`~network3.backends.base.Backend` for one network:
    ``backend`` and ``device`` as :func:`select` returns them."""
    return BACKENDS[backend](device)


def say_once(line):
    """Print ``line`` the first time it comes up in this process."""
    if line not in _said:
        _said.add(line)
        print(line)


def forget_notices():
    """Let :func:`select` say its lines again (each is said once per process)."""
    _said.clear()
