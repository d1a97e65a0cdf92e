"""chapter.py
~~~~~~~~~~~~

The networks of chapter 6, by name, with the hyper-parameters the book
trains them with.  The command line and the experiment scripts build their
networks here, so each architecture is written down once.

"""

#### Libraries
# Standard library
import dataclasses

# network3
from network3.activations import ReLU
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One of the chapter's networks and how the book trains it."""

    description: str
    epochs: int
    eta: float
    lmbda: float
    book_accuracy: float


#: The chapter's networks, in the order the book introduces them.
RECIPES = {
    "fc": Recipe("FC 784-100-10, sigmoid (the baseline)", 60, 0.1, 0.0, 0.9780),
    "conv1": Recipe("ConvPool(20) + FC 100, sigmoid", 60, 0.1, 0.0, 0.9878),
    "conv2": Recipe("2 x ConvPool(20, 40) + FC 100, sigmoid", 60, 0.1, 0.0, 0.9906),
    "relu": Recipe("2 x ConvPool(20, 40) + FC 100, ReLU, lmbda=0.1",
                   60, 0.03, 0.1, 0.9923),
    "dropout": Recipe("2 x ConvPool + 2 x FC 1000, ReLU, dropout 0.5",
                      40, 0.03, 0.0, 0.9960),
}


def build_layers(name, mini_batch_size):
    """Return the layers of the chapter's network ``name`` (a key of RECIPES)."""
    if name not in RECIPES:
        raise ValueError("unknown network {0!r}; choose one of {1}".format(
            name, ", ".join(RECIPES)))
    mbs = mini_batch_size
    relu = {"activation_fn": ReLU} if name in ("relu", "dropout") else {}
    conv1 = ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                          poolsize=(2, 2), **relu)
    conv2 = ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                          filter_shape=(40, 20, 5, 5), poolsize=(2, 2), **relu)
    if name == "fc":
        return [FullyConnectedLayer(n_in=784, n_out=100),
                SoftmaxLayer(n_in=100, n_out=10)]
    if name == "conv1":
        return [conv1, FullyConnectedLayer(n_in=20*12*12, n_out=100),
                SoftmaxLayer(n_in=100, n_out=10)]
    if name == "dropout":
        return [conv1, conv2,
                FullyConnectedLayer(n_in=40*4*4, n_out=1000, activation_fn=ReLU,
                                    p_dropout=0.5),
                FullyConnectedLayer(n_in=1000, n_out=1000, activation_fn=ReLU,
                                    p_dropout=0.5),
                SoftmaxLayer(n_in=1000, n_out=10, p_dropout=0.5)]
    return [conv1, conv2, FullyConnectedLayer(n_in=40*4*4, n_out=100, **relu),
            SoftmaxLayer(n_in=100, n_out=10)]
