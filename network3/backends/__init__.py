"""backends
~~~~~~~~~~~

Where a network's graphs are compiled and run.  One module per back end,
each owning its kernels for network3's Ops and its way of compiling and
running, behind the small interface of :class:`~network3.backends.base.Backend`:

* ``numba.py``: the CPU, through PyTensor's Numba linker (the default);
* ``jax.py``: a GPU through JAX (``THEANO_FLAGS=device=gpu``), or on request
  JAX's CPU back end.

:func:`select` decides, in this one place, which back end runs a network on
which device; :func:`create` makes it.  Adding a back end touches only this
package: its module, its name in :data:`BACKENDS`, and its choice in
:func:`select` and :func:`create`.

"""

#### Libraries
# network3
from network3 import config
# The Numba back end registers its kernels for network3's Ops on import, so
# every PyTensor function compiled in the default mode uses them.
from network3.backends.numba import NumbaBackend
# (the JAX back end's module imports JAX only when one is created)
from network3.backends.jax import JaxBackend, find_jax

#: The back ends a Network can run on.
BACKENDS = ("numba", "jax")

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
        ``None`` picks Numba on the CPU and JAX on a GPU.  ``"jax"`` with
        ``device="cpu"`` runs the GPU code path on JAX's CPU back end.

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
    if device == "cpu":
        if backend == "jax":
            usable, why = find_jax("cpu")
            if not usable:
                raise RuntimeError("backend='jax' needs JAX: " + why)
        return backend or "numba", "cpu"
    if backend == "numba":
        _say_once("network3: the Numba back end runs on the CPU only; running on "
                  "the CPU.")
        return "numba", "cpu"
    usable, why = find_jax("gpu")
    if not usable:
        _say_once("network3: device=gpu was asked for, but {0}; running on the "
                  "CPU.".format(why))
        return "numba", "cpu"
    _say_once("network3: running on the GPU through JAX.")
    return "jax", "gpu"


def create(backend, device):
    """A new :class:`~network3.backends.base.Backend` for one network:
    ``backend`` and ``device`` as :func:`select` returns them."""
    if backend == "jax":
        return JaxBackend(device)
    return NumbaBackend(device)


def _say_once(line):
    """Print ``line`` the first time it comes up in this process."""
    if line not in _said:
        _said.add(line)
        print(line)


def forget_notices():
    """Let :func:`select` say its lines again (each is said once per process)."""
    _said.clear()
