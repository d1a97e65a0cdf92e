"""Train a conv net and a dropout net with the Theano 1.0 fork.

    network3 run test.py DATA N EPOCHS
"""

import sys

from network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU,
                      SoftmaxLayer, load_data_shared)

data_file, n_train, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
training_data, validation_data, test_data = load_data_shared(data_file, n_train)
mbs = 10
for p in (0.0, 0.5):
    net = Network([
        ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(20, 1, 5, 5)),
        FullyConnectedLayer(n_in=20 * 12 * 12, n_out=100, activation_fn=ReLU,
                            p_dropout=p),
        SoftmaxLayer(n_in=100, n_out=10, p_dropout=p)], mbs)
    net.SGD(training_data, epochs, mbs, 0.1, validation_data, test_data, lmbda=0.1)
