"""network3
~~~~~~~~~~~

A PyTensor-based program for training and running simple neural networks: a
faithful, modern port of Michael Nielsen's ``network3.py`` from chapter 6 of
*Neural Networks and Deep Learning*.

Supports several layer types (fully connected, convolutional, max pooling,
softmax), and activation functions (sigmoid, tanh, and rectified linear
units, with more easily added).  The chapter's code runs verbatim::

    >>> import network3
    >>> from network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
    >>> training_data, validation_data, test_data = network3.load_data_shared()

"""

import sys
import types

from network3 import config
from network3.config import floatX
from network3.activations import linear, ReLU, sigmoid, tanh
from network3.layers import (ConvPoolLayer, FullyConnectedLayer, Layer,
                             SoftmaxLayer, dropout_layer)
from network3.network import Network, TrainingHistory, load as load_network
from network3.data import DataError, load_data, load_data_shared, shared, size
from network3.images import load_image
from network3.seeding import seed
from network3.saving import ModelFileError
from network3.ensemble import EnsembleResult, ensemble
from network3 import schedules
from network3.schedules import halve_on_plateau
from network3 import augmentation
from network3.augmentation import Augmentation
from network3 import callbacks, chapter, updates

__all__ = [
    "GPU", "floatX",
    "linear", "ReLU", "sigmoid", "tanh",
    "ConvPoolLayer", "FullyConnectedLayer", "Layer", "SoftmaxLayer",
    "dropout_layer",
    "Network", "TrainingHistory",
    "DataError", "load_data", "load_data_shared", "shared", "size",
    "load_image",
    "seed",
    "ModelFileError", "load_network",
    "EnsembleResult", "ensemble",
    "schedules", "halve_on_plateau",
    "augmentation", "Augmentation",
    "callbacks", "chapter", "updates",
]


class _Package(types.ModuleType):
    """The network3 module, whose ``GPU`` flag is ``network3.config.GPU``:
    ``network3.GPU = True``, as in 2015, asks every Network built afterwards
    to run on a GPU."""

    @property
    def GPU(self):
        return config.GPU

    @GPU.setter
    def GPU(self, value):
        config.GPU = bool(value)


sys.modules[__name__].__class__ = _Package
