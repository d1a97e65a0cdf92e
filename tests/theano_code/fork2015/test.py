"""Train the chapter's networks with the fork's network3.py.

    THEANO_FLAGS=mode=FAST_RUN,device=gpu,floatX=float32 python3 test.py DATA N EPOCHS
"""

import sys

import numpy as np

import network3
from network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, ReLU

data_file, n_train, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
training_data, validation_data, test_data = network3.load_data_shared(data_file, n_train)
mini_batch_size = 10
np.random.seed(12345)       # the weights' initial values

# a fully connected network, then a convolutional one with dropout
net = Network([
    FullyConnectedLayer(n_in=784, n_out=100),
    SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
net.SGD(training_data, epochs, mini_batch_size, 0.1, validation_data, test_data)

net = Network([
    ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                  filter_shape=(20, 1, 5, 5), poolsize=(2, 2), activation_fn=ReLU),
    FullyConnectedLayer(n_in=20 * 12 * 12, n_out=100, activation_fn=ReLU,
                        p_dropout=0.5),
    SoftmaxLayer(n_in=100, n_out=10, p_dropout=0.5)], mini_batch_size)
net.SGD(training_data, epochs, mini_batch_size, 0.03, validation_data, test_data,
        lmbda=0.1)
