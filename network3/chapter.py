"""chapter.py
~~~~~~~~~~~~

The networks of chapter 6, by name, with the hyper-parameters the book
trains them with and the test accuracy it reports: the chapter's ladder,
from the fully connected baseline (97.80%) to the dropout net (99.60%), with
one rung the book leaves to its reader: the ReLU net trained on images
transformed afresh each epoch (``network3.augmentation``), not the expanded set.

This is the one place they are written down.  The command line (``network3
train --net NAME``), the experiment runner (``network3 experiments``) and the
benchmarks all build their networks with :func:`build_layers`.

"""

#### Libraries
# Standard library
import dataclasses

# network3
from network3.activations import ReLU, sigmoid
from network3.augmentation import Augmentation
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One of the chapter's networks and how the book trains it.

    The layers: ``conv`` ConvPool layers (20 then 40 filters of 5x5,
    max-pooled 2x2), then fully connected layers of ``fc`` neurons, then a
    softmax over 10 classes; ``activation`` throughout, and dropout with
    probability ``p_dropout`` on the inputs of the fully connected and
    softmax layers.
    """

    description: str
    conv: int
    fc: tuple
    activation: object
    p_dropout: float
    expanded: bool           # the book trains it on the expanded (250,000-image) set
    epochs: int
    eta: float
    lmbda: float
    book_accuracy: float     # the test accuracy the book reports, or None
    #: transform the training images afresh each epoch (``SGD(augment=...)``)
    augment: Augmentation = None


#: The chapter's problem, solved: small shifts, rotations and skews, and
#: Simard et al.'s elastic distortions (alpha=34, sigma=4 as they used on
#: MNIST), applied on the fly.  ``network3 train --augment`` and the
#: experiments' "augmented" rung use it.
AUGMENTATION = Augmentation(shift=2, rotate=10, shear=10, elastic=(34, 4))


#: The chapter's networks, in the order the book introduces them.
RECIPES = {
    "fc": Recipe("FC 784-100-10, sigmoid (the baseline)", 0, (100,), sigmoid, 0.0,
                 False, 60, 0.1, 0.0, 0.9780),
    "conv1": Recipe("ConvPool(20) + FC 100, sigmoid", 1, (100,), sigmoid, 0.0,
                    False, 60, 0.1, 0.0, 0.9878),
    "conv1-nofc": Recipe("ConvPool(20) + softmax, no FC layer, sigmoid", 1, (),
                         sigmoid, 0.0, False, 60, 0.1, 0.0, None),
    "conv2": Recipe("2 x ConvPool(20, 40) + FC 100, sigmoid", 2, (100,), sigmoid,
                    0.0, False, 60, 0.1, 0.0, 0.9906),
    "relu": Recipe("2 x ConvPool(20, 40) + FC 100, ReLU, lmbda=0.1", 2, (100,),
                   ReLU, 0.0, False, 60, 0.03, 0.1, 0.9923),
    "expanded": Recipe("the ReLU net on the expanded data", 2, (100,), ReLU, 0.0,
                       True, 60, 0.03, 0.1, 0.9937),
    "augmented": Recipe("the ReLU net, training images shifted, rotated, sheared and "
                        "elastically distorted afresh each epoch", 2, (100,), ReLU, 0.0,
                        False, 60, 0.03, 0.1, None, AUGMENTATION),
    "expanded-fc300": Recipe("expanded data, FC 300", 2, (300,), ReLU, 0.0,
                             True, 60, 0.03, 0.1, 0.9946),
    "expanded-fc1000": Recipe("expanded data, FC 1000", 2, (1000,), ReLU, 0.0,
                              True, 60, 0.03, 0.1, 0.9943),
    "expanded-2fc": Recipe("expanded data, two FC 100 layers", 2, (100, 100), ReLU,
                           0.0, True, 60, 0.03, 0.1, 0.9943),
    "dropout": Recipe("2 x ConvPool + 2 x FC 1000, ReLU, dropout 0.5 (expanded "
                      "data)", 2, (1000, 1000), ReLU, 0.5, True, 40, 0.03, 0.0, 0.9960),
}


def build_layers(name, mini_batch_size, init="book", pool_mode="max"):
    """Return the layers of the chapter's network ``name`` (a key of RECIPES),
    their weights drawn as ``init`` says (see ``params.initial``),
    its conv layers pooling with ``pool_mode`` (the book's: max; see
    ``ops.POOL_MODES``)."""
    if name not in RECIPES:
        raise ValueError("unknown network {0!r}; choose one of {1}".format(
            name, ", ".join(RECIPES)))
    recipe, mbs = RECIPES[name], mini_batch_size
    act = recipe.activation
    layers = []
    if recipe.conv >= 1:
        layers.append(ConvPoolLayer(image_shape=(mbs, 1, 28, 28),
                                    filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                                    activation_fn=act, init=init, pool_mode=pool_mode))
    if recipe.conv >= 2:
        layers.append(ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                                    filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                                    activation_fn=act, init=init, pool_mode=pool_mode))
    n_in = layers[-1].output_size if layers else 784
    for n in recipe.fc:
        layers.append(FullyConnectedLayer(n_in=n_in, n_out=n, activation_fn=act,
                                          p_dropout=recipe.p_dropout, init=init))
        n_in = n
    return layers + [SoftmaxLayer(n_in=n_in, n_out=10, p_dropout=recipe.p_dropout)]
