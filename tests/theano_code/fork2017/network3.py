"""network3.py for Theano 1.0: a later fork, with Theano 1.0's convolution,
pooling and MRG random streams, and a cost of its own.

Layers build their outputs in set_inpt; Network trains with mini-batch SGD.
"""

import gzip
import pickle

import numpy as np
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams
from theano.tensor.nnet import conv2d, relu, softmax
from theano.tensor.signal.pool import pool_2d

srng = MRG_RandomStreams(seed=1234)


def ReLU(z):
    return relu(z)


def load_data_shared(filename, n_train=None):
    """Shared training, validation and test data; with n_train, that many
    training images and the first thousand of the others."""
    with gzip.open(filename, "rb") as f:
        sets = pickle.load(f, encoding="latin1")
    limits = [n_train, 1000, 1000] if n_train else [None] * 3
    return [(theano.shared(np.asarray(x[:n], dtype=theano.config.floatX), borrow=True),
             T.cast(theano.shared(np.asarray(y[:n], dtype="float64")), "int32"))
            for (x, y), n in zip(sets, limits)]


def size(data):
    return data[0].get_value(borrow=True).shape[0]


def weights(shape, scale, name):
    rng = np.random.RandomState(sum(shape))
    return theano.shared(np.asarray(rng.normal(0.0, scale, size=shape),
                                    dtype=theano.config.floatX), name=name)


def dropout(x, p):
    if p == 0.0:
        return x
    keep = srng.binomial(size=x.shape, p=1.0 - p, dtype=theano.config.floatX)
    return x * keep


class ConvPoolLayer(object):
    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=ReLU):
        self.filter_shape, self.image_shape = filter_shape, image_shape
        self.poolsize, self.activation_fn = poolsize, activation_fn
        fan_out = filter_shape[0] * np.prod(filter_shape[2:]) / np.prod(poolsize)
        self.w = weights(filter_shape, np.sqrt(1.0 / fan_out), "w")
        self.b = weights((filter_shape[0],), 1.0, "b")
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        images = inpt.reshape(self.image_shape)
        z = conv2d(images, self.w, input_shape=self.image_shape,
                   filter_shape=self.filter_shape)
        pooled = pool_2d(z, ws=self.poolsize, ignore_border=True)
        self.output = self.activation_fn(pooled + self.b.dimshuffle("x", 0, "x", "x"))
        self.output_dropout = self.output


class FullyConnectedLayer(object):
    def __init__(self, n_in, n_out, activation_fn=T.nnet.sigmoid, p_dropout=0.0):
        self.n_in, self.activation_fn, self.p_dropout = n_in, activation_fn, p_dropout
        self.w = weights((n_in, n_out), np.sqrt(1.0 / n_out), "w")
        self.b = weights((n_out,), 1.0, "b")
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        x = inpt.flatten(2)
        self.output = self.activation_fn((1 - self.p_dropout) * T.dot(x, self.w) + self.b)
        self.y_out = T.argmax(self.output, axis=1)
        x_dropout = dropout(inpt_dropout.flatten(2), self.p_dropout)
        self.output_dropout = self.activation_fn(T.dot(x_dropout, self.w) + self.b)

    def accuracy(self, y):
        return T.mean(T.eq(y, self.y_out))


class SoftmaxLayer(FullyConnectedLayer):
    def __init__(self, n_in, n_out, p_dropout=0.0):
        super(SoftmaxLayer, self).__init__(n_in, n_out, softmax, p_dropout)
        self.w.set_value(np.zeros((n_in, n_out), dtype=theano.config.floatX))
        self.b.set_value(np.zeros((n_out,), dtype=theano.config.floatX))

    def cost(self, net):
        return T.mean(T.nnet.categorical_crossentropy(self.output_dropout, net.y))


class Network(object):
    def __init__(self, layers, mini_batch_size):
        self.layers, self.mini_batch_size = layers, mini_batch_size
        self.params = [p for layer in layers for p in layer.params]
        self.x, self.y = T.matrix("x"), T.ivector("y")
        inpt = inpt_dropout = self.x
        for layer in layers:
            layer.set_inpt(inpt, inpt_dropout, mini_batch_size)
            inpt, inpt_dropout = layer.output, layer.output_dropout

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data,
            test_data, lmbda=0.0):
        n_batches = size(training_data) // mini_batch_size
        l2 = sum((layer.w ** 2).sum() for layer in self.layers)
        cost = self.layers[-1].cost(self) + 0.5 * lmbda * l2 / n_batches
        updates = [(p, p - eta * g) for p, g in zip(self.params, T.grad(cost, self.params))]
        i = T.lscalar()
        mbs = mini_batch_size

        def on(data):
            return {self.x: data[0][i * mbs:(i + 1) * mbs],
                    self.y: data[1][i * mbs:(i + 1) * mbs]}
        train = theano.function([i], cost, updates=updates, givens=on(training_data))
        accuracy = self.layers[-1].accuracy(self.y)
        validate = theano.function([i], accuracy, givens=on(validation_data))
        test = theano.function([i], accuracy, givens=on(test_data))
        best = (0.0, 0.0)
        for epoch in range(epochs):
            for j in range(n_batches):
                train(j)
            v = np.mean([validate(j) for j in range(size(validation_data) // mbs)])
            print("Epoch {0}: validation accuracy {1:.2%}".format(epoch, v))
            if v >= best[0]:
                best = (v, np.mean([test(j) for j in range(size(test_data) // mbs)]))
                print("The corresponding test accuracy is {0:.2%}".format(best[1]))
        print("Best validation accuracy of {0:.2%}, test accuracy {1:.2%}".format(*best))
        return best
