"""compat/forwarding.py
~~~~~~~~~~~~~~~~~~~~~~~~

How each module of the Theano compatibility layer hands on the names it
does not define itself: to the PyTensor module that holds them today (most
of ``theano.tensor`` is ``pytensor.tensor`` under the same names), to one
under another name (``theano.tensor.abs_`` is ``pytensor.tensor.abs``), or
to a clear error that names what to use instead.

"""

#### Libraries
# Standard library
import importlib

#: Where the documentation lists what the compatibility layer covers.
COVERAGE = "docs/theano.md"


def not_covered(name, advice):
    """The message for a Theano name (``theano.tensor.nnet.conv3d``) that the
    compatibility layer does not serve, with ``advice`` on what to use."""
    return ("{0} is not covered by network3's Theano compatibility layer: {1} "
            "(what is covered: {2})".format(name, advice, COVERAGE))


def forward(namespace, module, target=None, renamed=None, missing=None):
    """A module's ``__getattr__`` and ``__dir__`` for the Theano module named
    ``module``, whose own names are ``namespace`` (its ``globals()``).

    Parameters
    ----------
    namespace : dict
    module : str
        Its name as Theano code imports it (``"theano.tensor"``).
    target : str, optional
        The PyTensor module whose names it offers under the same names
        (``"pytensor.tensor"``).
    renamed : dict, optional
        ``theano name -> "pytensor.module:attribute"`` (or a module,
        ``"pytensor.module"``) for names PyTensor keeps elsewhere or under
        another name.
    missing : dict, optional
        ``theano name -> advice`` for names that are not served: asking
        for one raises an AttributeError saying so and what to use.
    """
    renamed, missing = renamed or {}, missing or {}

    def __getattr__(name):
        if name in renamed:
            where, _, attribute = renamed[name].partition(":")
            module_there = importlib.import_module(where)
            return getattr(module_there, attribute) if attribute else module_there
        if name in missing:
            raise AttributeError(not_covered(module + "." + name, missing[name]))
        # dunders (__path__, __file__, ...) are the module's own business
        if target is not None and not name.startswith("__"):
            try:
                return getattr(importlib.import_module(target), name)
            except AttributeError:
                pass
        raise AttributeError("module {0!r} has no attribute {1!r} (neither network3's "
                             "Theano compatibility layer nor {2} has it; what is "
                             "covered: {3})".format(module, name, target or "PyTensor",
                                                    COVERAGE))

    def __dir__():
        names = set(namespace) | set(renamed)
        if target is not None:
            names.update(n for n in dir(importlib.import_module(target))
                         if not n.startswith("_"))
        return sorted(names)

    return __getattr__, __dir__
