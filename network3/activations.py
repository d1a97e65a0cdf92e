"""activations.py
~~~~~~~~~~~~~~~~~~

The activation functions the chapter uses.  Each takes and returns a symbolic
tensor, so any of them can be passed as a layer's ``activation_fn``, and so
can any function of your own that does the same.

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
