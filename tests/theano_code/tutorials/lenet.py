"""LeNet on MNIST (two convolution and pooling layers, a hidden layer and
logistic regression), in the style of the Theano tutorial.

    python lenet.py DATA N_TRAIN EPOCHS
"""
from __future__ import print_function

import sys

import numpy

import theano
import theano.tensor as T
from theano.tensor.signal import pool
from theano.tensor.nnet import conv2d

from logistic_sgd import LogisticRegression, load_data, train
from mlp import HiddenLayer


class LeNetConvPoolLayer(object):
    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        self.input = input
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = (filter_shape[0] * numpy.prod(filter_shape[2:]) // numpy.prod(poolsize))
        W_bound = numpy.sqrt(6. / (fan_in + fan_out))
        self.W = theano.shared(
            numpy.asarray(rng.uniform(low=-W_bound, high=W_bound, size=filter_shape),
                          dtype=theano.config.floatX), borrow=True)
        b_values = numpy.zeros((filter_shape[0],), dtype=theano.config.floatX)
        self.b = theano.shared(value=b_values, borrow=True)
        conv_out = conv2d(input=input, filters=self.W, filter_shape=filter_shape,
                          input_shape=image_shape)
        pooled_out = pool.pool_2d(input=conv_out, ws=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.params = [self.W, self.b]


class LeNet(object):
    def __init__(self, rng, x, batch_size, nkerns=(8, 16)):
        layer0_input = x.reshape((batch_size, 1, 28, 28))
        self.layer0 = LeNetConvPoolLayer(rng, input=layer0_input,
                                         image_shape=(batch_size, 1, 28, 28),
                                         filter_shape=(nkerns[0], 1, 5, 5))
        self.layer1 = LeNetConvPoolLayer(rng, input=self.layer0.output,
                                         image_shape=(batch_size, nkerns[0], 12, 12),
                                         filter_shape=(nkerns[1], nkerns[0], 5, 5))
        self.layer2 = HiddenLayer(rng, input=self.layer1.output.flatten(2),
                                  n_in=nkerns[1] * 4 * 4, n_out=100, activation=T.tanh)
        self.layer3 = LogisticRegression(input=self.layer2.output, n_in=100, n_out=10)
        self.errors = self.layer3.errors
        self.params = (self.layer3.params + self.layer2.params + self.layer1.params
                       + self.layer0.params)


if __name__ == '__main__':
    dataset, n_train, n_epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batch_size = 20
    datasets = load_data(dataset, n_train)
    x = T.matrix('x')
    y = T.ivector('y')
    net = LeNet(numpy.random.RandomState(23455), x, batch_size)
    cost = net.layer3.negative_log_likelihood(y)
    train(net, x, y, cost, datasets, 0.1, n_epochs, batch_size)
