"""compat/importer.py
~~~~~~~~~~~~~~~~~~~~~~

Activating the Theano compatibility layer: ``import theano`` (and every
``theano.*`` module) served from :mod:`network3.compat.theano`, in this
process only.  No ``theano`` is installed anywhere.

* :func:`install` registers the layer's modules under Theano's names and puts
  a finder first on ``sys.meta_path`` for the rest: ``theano.X`` not
  written here is ``pytensor.X`` (``theano.printing``, ``theano.ifelse``,
  ...) or a module PyTensor renamed (``theano.gof`` is ``pytensor.graph``),
  and a module nothing serves (``theano.sandbox.cuda``) is an ImportError
  that says what to use.
* :func:`run_script` and :func:`run_code` are ``network3 run SCRIPT
  [ARGS...]`` and ``network3 run -c CODE``: the layer installed, then the
  code run as ``python SCRIPT`` or ``python -c CODE`` would run it
  (``sys.argv``, ``sys.path[0]``, ``__main__``).

The people who learned from chapter 6 kept their own ``network3.py`` beside
their driver scripts.  Where ``import network3`` would find such a file
first on ``sys.path`` (the script's folder, or the current one), the name
``network3`` is handed to it: the script imports its own ``network3.py``,
while network3's own modules, all imported by then, keep working under
their full names (``network3.ops``, ...).

"""

#### Libraries
# Standard library
import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import types

# Third-party libraries
import pytensor

# network3
from network3 import config
from network3.compat.forwarding import not_covered

#: The layer's modules, by the names Theano code imports them under.
MODULES = ("theano", "theano.configparser", "theano.tensor", "theano.tensor.nnet",
           "theano.tensor.nnet.conv", "theano.tensor.signal",
           "theano.tensor.signal.pool", "theano.tensor.signal.downsample",
           "theano.tensor.shared_randomstreams", "theano.sandbox",
           "theano.sandbox.rng_mrg")

#: Theano modules that live on in PyTensor under another name.
RENAMED = {"theano.gof": "pytensor.graph", "theano.scan_module": "pytensor.scan",
           "theano.tensor.raw_random": "pytensor.tensor.random.basic"}

#: Theano modules nothing serves, and what to use instead.
MISSING = {
    "theano.sandbox.cuda": "Theano's old CUDA back end is gone; THEANO_FLAGS=device=gpu "
                           "compiles theano.function through JAX",
    "theano.gpuarray": "Theano's CUDA back ends are gone; THEANO_FLAGS=device=gpu "
                       "compiles theano.function through JAX",
    "theano.tensor.nnet.bn": "write batch normalisation with T.mean and T.var",
    "theano.tensor.nnet.neighbours": "pooling is theano.tensor.signal.pool.pool_2d",
    "theano.tensor.nnet.abstract_conv": "use theano.tensor.nnet.conv2d",
    "theano.tensor.signal.conv": "convolve images with theano.tensor.nnet.conv2d",
    "theano.d3viz": "draw graphs with theano.printing.pydotprint",
}


def _ours(name):
    """The layer's module for the Theano module ``name``."""
    return importlib.import_module("network3.compat." + name)


class _Alias(importlib.abc.Loader):
    """Loads a Theano name as a module that already exists (PyTensor's),
    leaving the module as it was."""

    def __init__(self, module):
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        # importlib set __spec__ to the alias's; the module keeps its own
        module.__spec__ = self.spec


class _TheanoFinder(importlib.abc.MetaPathFinder):
    """Finds ``theano.*`` modules the layer does not register itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "theano" and not fullname.startswith("theano."):
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(_resolve(fullname)))


def _resolve(name):
    """The module that serves the Theano module ``name``, or ImportError."""
    for prefix in sorted(MISSING, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            raise ImportError(not_covered(name, MISSING[prefix]), name=name)
    target = "pytensor" + name[len("theano"):]
    for prefix in sorted(RENAMED, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            target = RENAMED[prefix] + name[len(prefix):]
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError:
        raise ImportError(not_covered(name, "PyTensor has no {0} either".format(target)),
                          name=name) from None


_FINDER = _TheanoFinder()


def install():
    """Serve ``import theano`` from the compatibility layer in this process.

    Also sets ``floatX`` to Theano's default, float64, unless
    ``THEANO_FLAGS`` or ``PYTENSOR_FLAGS`` name one, and hands the name
    ``network3`` to a ``network3.py`` that ``import network3`` would find
    first on ``sys.path``.  Installing twice changes nothing.

    Raises
    ------
    RuntimeError
        When a real Theano has been imported in this process already.
    """
    present = sys.modules.get("theano")
    if present is not None and present is not _ours("theano"):
        raise RuntimeError(
            "a real Theano ({0}) is already imported in this process; network3's "
            "Theano compatibility layer can serve `import theano` only in a process "
            "that has not imported it (start a fresh Python, or use `network3 run "
            "SCRIPT`)".format(getattr(present, "__file__", present)))
    if _FINDER not in sys.meta_path:
        for name in MODULES:
            sys.modules[name] = _ours(name)
        sys.meta_path.insert(0, _FINDER)
        if not any("floatX" in config.parse_flags(os.environ.get(variable, ""))
                   for variable in ("THEANO_FLAGS", "PYTENSOR_FLAGS")):
            pytensor.config.floatX = "float64"
    _yield_network3_to_local_file()


def _yield_network3_to_local_file():
    """Let ``import network3`` find a ``network3.py`` (or package) that comes
    first on ``sys.path`` and is not this package."""
    ours = sys.modules.get("network3")
    if ours is None or getattr(ours, "__file__", None) is None:
        return
    spec = importlib.machinery.PathFinder.find_spec("network3", sys.path)
    if spec is None or spec.origin is None:
        return
    if os.path.realpath(spec.origin) != os.path.realpath(ours.__file__):
        # every module of ours the layer uses is imported by now, under its
        # full name (network3.ops, ...); the short name goes to the script's
        del sys.modules["network3"]


def run_script(path, args=()):
    """Run the Python file ``path`` as ``python path args...`` would, with the
    compatibility layer installed.  The script's exceptions (SystemExit
    included) propagate."""
    if not os.path.isfile(path):
        raise FileNotFoundError("network3 run: no such script: {0}".format(path))
    sys.argv = [path] + list(args)
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    install()
    runpy.run_path(path, run_name="__main__")


def run_code(code, args=()):
    """Run the Python source ``code`` as ``python -c code args...`` would,
    with the compatibility layer installed."""
    sys.argv = ["-c"] + list(args)
    sys.path[0] = ""
    install()
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    exec(compile(code, "<string>", "exec"), main.__dict__)
