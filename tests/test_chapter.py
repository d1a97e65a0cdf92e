"""chapter.py: each of the chapter's networks built as the book writes it
(the command line's default net included), and whole networks' predictions
-- convolution, pooling, ReLU, dropout scaling, softmax -- against an
independent NumPy forward pass on both back ends."""

import numpy as np
import pytest

import network3
from network3 import ReLU, chapter, sigmoid

from conftest import BACKENDS, numpy_forward


CONV1 = ("ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28), "
         "poolsize=(2, 2), activation_fn={0})")
CONV2 = ("ConvPoolLayer(filter_shape=(40, 20, 5, 5), image_shape=(10, 20, 12, 12), "
         "poolsize=(2, 2), activation_fn={0})")
FC = "FullyConnectedLayer(n_in={0}, n_out={1}, activation_fn={2}, p_dropout={3})"
SOFTMAX = "SoftmaxLayer(n_in={0}, n_out=10, p_dropout={1})"

# The networks as chapter 6 writes them (mini-batch 10).
BOOK = {
    "fc": [FC.format(784, 100, "sigmoid", 0.0), SOFTMAX.format(100, 0.0)],
    "conv1": [CONV1.format("sigmoid"), FC.format(2880, 100, "sigmoid", 0.0),
              SOFTMAX.format(100, 0.0)],
    "conv1-nofc": [CONV1.format("sigmoid"), SOFTMAX.format(2880, 0.0)],
    "conv2": [CONV1.format("sigmoid"), CONV2.format("sigmoid"),
              FC.format(640, 100, "sigmoid", 0.0), SOFTMAX.format(100, 0.0)],
    "relu": [CONV1.format("ReLU"), CONV2.format("ReLU"),
             FC.format(640, 100, "ReLU", 0.0), SOFTMAX.format(100, 0.0)],
    "expanded-fc300": [CONV1.format("ReLU"), CONV2.format("ReLU"),
                       FC.format(640, 300, "ReLU", 0.0), SOFTMAX.format(300, 0.0)],
    "expanded-2fc": [CONV1.format("ReLU"), CONV2.format("ReLU"),
                     FC.format(640, 100, "ReLU", 0.0), FC.format(100, 100, "ReLU", 0.0),
                     SOFTMAX.format(100, 0.0)],
    "dropout": [CONV1.format("ReLU"), CONV2.format("ReLU"),
                FC.format(640, 1000, "ReLU", 0.5), FC.format(1000, 1000, "ReLU", 0.5),
                SOFTMAX.format(1000, 0.5)],
}


@pytest.mark.parametrize("name", sorted(BOOK))
def test_the_chapters_networks(name):
    layers = chapter.build_layers(name, 10)
    assert [repr(layer) for layer in layers] == BOOK[name]
    net = network3.Network(layers, 10)          # they fit together
    assert net.layers[-1].output_size == 10


def test_every_recipe_builds_and_has_the_books_hyper_parameters():
    for name, recipe in chapter.RECIPES.items():
        layers = chapter.build_layers(name, 4)
        assert layers[0].input_size == 784 and layers[-1].output_size == 10
        assert recipe.eta in (0.1, 0.03) and recipe.epochs in (40, 60)
    assert (chapter.RECIPES["relu"].eta, chapter.RECIPES["relu"].lmbda) == (0.03, 0.1)
    assert chapter.RECIPES["dropout"].epochs == 40
    assert chapter.RECIPES["fc"].activation is sigmoid
    assert chapter.RECIPES["expanded-fc1000"].activation is ReLU
    with pytest.raises(ValueError, match="unknown network 'nosuch'; choose one of fc"):
        chapter.build_layers("nosuch", 10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dropout_net_predicts_as_numpy_does(mnist, backend):
    """The book's best network against conftest.numpy_forward: SciPy's true
    convolution, max-pooling, ReLU, inputs scaled by 1 - p_dropout.  Its
    softmax weights are made non-zero (the book starts them at zero) and its
    biases small, so that the images decide the answers."""
    network3.seed(21)
    layers = chapter.build_layers("dropout", 10)
    rng = np.random.default_rng(22)
    layers[-1].w.set_value(rng.normal(scale=1.0, size=(1000, 10)).astype("float32"))
    for layer in layers:
        layer.b.set_value(0.01 * layer.b.get_value())
    net = network3.Network(layers, 10, backend=backend, device="cpu")
    images = mnist[2][0][:60]
    probabilities = numpy_forward(net.layers, images)
    top = np.log(np.sort(probabilities, axis=1))
    sure = top[:, -1] - top[:, -2] > 1e-4        # leave float32's near-ties aside
    assert sure.sum() >= 50
    predictions = net.predict(images)
    np.testing.assert_array_equal(predictions[sure], probabilities.argmax(axis=1)[sure])
    assert len(set(predictions)) > 2            # not a constant answer
