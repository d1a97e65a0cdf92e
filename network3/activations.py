"""activations.py
~~~~~~~~~~~~~~~~~~

The activation functions the chapter uses.  Each takes and returns a symbolic
tensor, so any of them can be passed as a layer's ``activation_fn``, and so
can any function of your own that does the same.

:data:`ACTIVATIONS` is the one table of them by name: model files record an
activation by its name and the command line's ``--activation`` looks it up
here.

"""

#### Libraries
# Third-party libraries
import pytensor.tensor as T


#### Activation functions for neurons
def linear(z):
    """The identity: ``z`` unchanged."""
    return z


def ReLU(z):
    """The rectified linear unit, ``max(0, z)``."""
    return T.maximum(0.0, z)


def sigmoid(z):
    """The logistic function, ``1 / (1 + exp(-z))``."""
    return T.sigmoid(z)


def tanh(z):
    """The hyperbolic tangent."""
    return T.tanh(z)


#### The registry
#: The activation functions network3 knows by name (the book's spelling).
ACTIVATIONS = {fn.__name__: fn for fn in (linear, ReLU, sigmoid, tanh)}


def by_name(name):
    """The activation function called ``name``, in any letter case
    (``"relu"`` is ``ReLU``); raise ValueError naming the choices."""
    for known, fn in ACTIVATIONS.items():
        if isinstance(name, str) and name.lower() == known.lower():
            return fn
    raise ValueError("unknown activation function {0!r}; choose one of {1}".format(
        name, ", ".join(ACTIVATIONS)))


def name_of(fn):
    """The registry's name for ``fn``, or None if ``fn`` is not one of them."""
    name = getattr(fn, "__name__", None)
    return name if ACTIVATIONS.get(name) is fn else None
