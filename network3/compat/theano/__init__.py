"""compat/theano
~~~~~~~~~~~~~~~~

``import theano``, as network3 serves it: Theano's public paths, backed by
PyTensor (Theano's maintained descendant) and network3's own Ops for what
PyTensor dropped (``theano.tensor.nnet.conv2d``, ``conv.conv2d``,
``signal.pool.pool_2d``, ``signal.downsample.max_pool_2d``, the random
streams).  Code written for Theano 0.8-1.0 runs unchanged::

    network3 run test.py          # a script, with `import theano` served
    network3 run -c "import theano; print(theano.config.floatX)"

or, inside ipython or Jupyter::

    import network3.compat.theano
    network3.compat.theano.install()
    import theano                 # this module

This module is ``theano``: ``shared``, ``function``, ``config``, ``grad``,
``tensor``, ``sandbox``, and every other name of ``pytensor`` under the same
name (``theano.printing``, ``theano.scan``, ``theano.ifelse``,
``theano.gradient``, ...).  Names Theano had and PyTensor keeps elsewhere
are forwarded there (``theano.dot``, ``theano.clone``, ``theano.gof``);
names nothing serves raise an error that says what to use instead.

As in Theano, ``floatX`` is float64 unless ``THEANO_FLAGS`` (or
``PYTENSOR_FLAGS``) say otherwise, and ``THEANO_FLAGS=device=gpu`` compiles
functions for a GPU: through JAX where a CUDA-enabled JAX finds one, else
(saying so in one line) for the CPU.

"""

#### Libraries
# Standard library
import warnings

# Third-party libraries
import pytensor

# network3
from network3 import backends
from network3 import config as network3_config
from network3.backends import jax as jax_backend
from network3.compat.forwarding import forward
from network3.compat.theano.configparser import config
from network3.compat.theano import sandbox, tensor  # noqa: F401 (theano.tensor, ...)
from network3.compat.theano.tensor import shared_randomstreams

#: Theano's last release: the version the compatibility layer serves.
__version__ = "1.0.5"

shared = pytensor.shared
grad = pytensor.grad


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None,
             rebuild_strict=True, allow_input_downcast=None, profile=None,
             on_unused_input=None):
    """``theano.function``: PyTensor's ``function``, with Theano's arguments.

    The mode is ``mode`` if given, else ``theano.config.mode``, in Theano's
    names (``"FAST_RUN"``, ``"FAST_COMPILE"``, ``"DebugMode"``, ...).  With
    ``THEANO_FLAGS=device=gpu`` (or ``cuda``) a FAST_RUN function is
    compiled through JAX, for a GPU where JAX finds one; otherwise one line
    says why it runs on the CPU.  Random streams advance at every call, as
    in Theano.
    """
    updates = list(updates.items() if isinstance(updates, dict) else updates or [])
    if no_default_updates is not True:
        updates += _default_updates(outputs, updates, givens, no_default_updates or ())
    with warnings.catch_warnings():
        # (PyTensor's JAX functions draw from a copy of each generator)
        warnings.filterwarnings("ignore", message="The RandomType SharedVariables")
        return pytensor.function(
            inputs, outputs, mode=_mode(config.mode if mode is None else mode),
            updates=updates, givens=givens, accept_inplace=accept_inplace, name=name,
            rebuild_strict=rebuild_strict, allow_input_downcast=allow_input_downcast,
            profile=profile, on_unused_input=on_unused_input)


def _default_updates(outputs, updates, givens, excluded):
    """The random streams' updates a function of ``outputs`` (with
    ``updates`` and ``givens``) needs and is not given, but for ``excluded``."""
    graphs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    graphs += [new for _, new in updates]
    if givens:
        graphs += list(givens.values() if isinstance(givens, dict)
                       else (new for _, new in givens))
    return shared_randomstreams.default_updates(
        [g for g in graphs if g is not None], updated=[var for var, _ in updates],
        excluded=excluded)


def _mode(mode):
    """The PyTensor mode for Theano's ``mode`` (a name or a Mode)."""
    if not isinstance(mode, str):
        return mode
    if mode not in network3_config.MODES:
        raise ValueError("theano.function: mode must be one of {0} or a Mode, got "
                         "{1!r}".format(", ".join(sorted(network3_config.MODES)), mode))
    translated = network3_config.MODES[mode]
    if translated is None and str(config.device).startswith(("gpu", "cuda")):
        usable, why = jax_backend.find_jax("gpu")
        if usable:
            backends.say_once("network3: Theano functions run on the GPU through JAX.")
            return jax_backend.mode()
        backends.say_once("network3: THEANO_FLAGS asks for device={0}, but {1}; Theano "
                          "functions run on the CPU.".format(config.device, why))
    return translated


def install():
    """Serve ``import theano`` from this package in this process (see
    :func:`network3.compat.importer.install`)."""
    from network3.compat import importer
    importer.install()


__getattr__, __dir__ = forward(globals(), "theano", "pytensor", renamed={
    "dot": "pytensor.tensor:dot",
    "clone": "pytensor.graph.replace:clone_replace",
    "pp": "pytensor.printing:pp",
    "pprint": "pytensor.printing:pprint",
    "debugprint": "pytensor.printing:debugprint",
    "Variable": "pytensor.graph.basic:Variable",
    "Constant": "pytensor.graph.basic:Constant",
    "Apply": "pytensor.graph.basic:Apply",
    "Op": "pytensor.graph.op:Op",
    "gof": "pytensor.graph",
    "scan_module": "pytensor.scan",
    "reduce": "pytensor.scan.views:reduce",
    "foldl": "pytensor.scan.views:foldl",
    "foldr": "pytensor.scan.views:foldr",
    "ProfileStats": "pytensor.compile:ProfileStats",
    "as_op": "pytensor.compile.ops:as_op",
}, missing={
    "Param": "Theano 0.7's Param became theano.In (pytensor.In)",
    "function_dump": "save the graph with pickle, or pytensor.printing.debugprint it",
    "gpuarray": "Theano's CUDA back ends are gone; THEANO_FLAGS=device=gpu compiles "
                "theano.function through JAX",
})
