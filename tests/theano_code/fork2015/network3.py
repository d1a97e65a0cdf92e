"""network3.py, a Python 3 fork for Theano 0.8: convolutional networks on MNIST.

Layers are given their input with set_inpt; a Network chains them and
trains with mini-batch stochastic gradient descent, printing its
validation accuracy each epoch.
"""

import gzip
import pickle

import numpy as np
import theano
import theano.tensor as T
from theano.tensor import shared_randomstreams
from theano.tensor.nnet import conv
from theano.tensor.nnet import sigmoid
from theano.tensor.nnet import softmax
from theano.tensor.signal import downsample


def linear(z): return z
def ReLU(z): return T.maximum(0.0, z)


GPU = True
if GPU:
    print("Trying to run under a GPU.")
    try:
        theano.config.device = 'gpu'
    except:
        pass  # it's already set
    theano.config.floatX = 'float32'


def load_data_shared(filename="mnist.pkl.gz", n_train=None):
    """The data as shared variables; with n_train, only that many training
    images and a thousand each of validation and test images."""
    with gzip.open(filename, 'rb') as f:
        training, validation, test = pickle.load(f, encoding="latin1")
    if n_train is not None:
        training = (training[0][:n_train], training[1][:n_train])
        validation = (validation[0][:1000], validation[1][:1000])
        test = (test[0][:1000], test[1][:1000])

    def shared(data):
        shared_x = theano.shared(
            np.asarray(data[0], dtype=theano.config.floatX), borrow=True)
        shared_y = theano.shared(
            np.asarray(data[1], dtype=theano.config.floatX), borrow=True)
        return shared_x, T.cast(shared_y, "int32")
    return [shared(training), shared(validation), shared(test)]


class Network(object):

    def __init__(self, layers, mini_batch_size):
        self.layers = layers
        self.mini_batch_size = mini_batch_size
        self.params = [p for layer in self.layers for p in layer.params]
        self.x = T.matrix("x")
        self.y = T.ivector("y")
        first = self.layers[0]
        first.set_inpt(self.x, self.x, self.mini_batch_size)
        for j in range(1, len(self.layers)):
            prev, layer = self.layers[j - 1], self.layers[j]
            layer.set_inpt(prev.output, prev.output_dropout, self.mini_batch_size)
        self.output = self.layers[-1].output
        self.output_dropout = self.layers[-1].output_dropout

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0):
        training_x, training_y = training_data
        validation_x, validation_y = validation_data
        test_x, test_y = test_data
        num_training_batches = size(training_data) // mini_batch_size
        num_validation_batches = size(validation_data) // mini_batch_size
        num_test_batches = size(test_data) // mini_batch_size

        l2_norm_squared = sum([(layer.w ** 2).sum() for layer in self.layers])
        cost = self.layers[-1].cost(self) + \
            0.5 * lmbda * l2_norm_squared / num_training_batches
        grads = T.grad(cost, self.params)
        updates = [(param, param - eta * grad)
                   for param, grad in zip(self.params, grads)]

        i = T.lscalar()
        mbs = self.mini_batch_size

        def batch(data, target):
            return {self.x: data[i * mbs:(i + 1) * mbs],
                    self.y: target[i * mbs:(i + 1) * mbs]}
        train_mb = theano.function([i], cost, updates=updates,
                                   givens=batch(training_x, training_y))
        validate_mb_accuracy = theano.function(
            [i], self.layers[-1].accuracy(self.y),
            givens=batch(validation_x, validation_y))
        test_mb_accuracy = theano.function(
            [i], self.layers[-1].accuracy(self.y), givens=batch(test_x, test_y))

        best_validation_accuracy = 0.0
        test_accuracy = 0.0
        for epoch in range(epochs):
            for minibatch_index in range(num_training_batches):
                cost_ij = train_mb(minibatch_index)
            validation_accuracy = np.mean(
                [validate_mb_accuracy(j) for j in range(num_validation_batches)])
            print("Epoch {0}: validation accuracy {1:.2%}".format(
                epoch, validation_accuracy))
            if validation_accuracy >= best_validation_accuracy:
                best_validation_accuracy = validation_accuracy
                test_accuracy = np.mean(
                    [test_mb_accuracy(j) for j in range(num_test_batches)])
                print("The corresponding test accuracy is {0:.2%}".format(
                    test_accuracy))
        print("Finished training network.")
        print("Best validation accuracy of {0:.2%}".format(best_validation_accuracy))
        print("Corresponding test accuracy of {0:.2%}".format(test_accuracy))
        return best_validation_accuracy, test_accuracy


class ConvPoolLayer(object):

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2),
                 activation_fn=sigmoid):
        self.filter_shape = filter_shape
        self.image_shape = image_shape
        self.poolsize = poolsize
        self.activation_fn = activation_fn
        n_out = filter_shape[0] * np.prod(filter_shape[2:]) // np.prod(poolsize)
        self.w = theano.shared(
            np.asarray(np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out),
                                        size=filter_shape),
                       dtype=theano.config.floatX), borrow=True)
        self.b = theano.shared(
            np.asarray(np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)),
                       dtype=theano.config.floatX), borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape(self.image_shape)
        conv_out = conv.conv2d(input=self.inpt, filters=self.w,
                               filter_shape=self.filter_shape,
                               image_shape=self.image_shape)
        pooled_out = downsample.max_pool_2d(input=conv_out, ds=self.poolsize,
                                            ignore_border=True)
        self.output = self.activation_fn(
            pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.output_dropout = self.output  # no dropout in the convolutional layers


class FullyConnectedLayer(object):

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.activation_fn = activation_fn
        self.p_dropout = p_dropout
        self.w = theano.shared(
            np.asarray(np.random.normal(loc=0.0, scale=np.sqrt(1.0 / n_out),
                                        size=(n_in, n_out)),
                       dtype=theano.config.floatX), name='w', borrow=True)
        self.b = theano.shared(
            np.asarray(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)),
                       dtype=theano.config.floatX), name='b', borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape((mini_batch_size, self.n_in))
        self.output = self.activation_fn(
            (1 - self.p_dropout) * T.dot(self.inpt, self.w) + self.b)
        self.y_out = T.argmax(self.output, axis=1)
        self.inpt_dropout = dropout_layer(
            inpt_dropout.reshape((mini_batch_size, self.n_in)), self.p_dropout)
        self.output_dropout = self.activation_fn(
            T.dot(self.inpt_dropout, self.w) + self.b)

    def accuracy(self, y):
        return T.mean(T.eq(y, self.y_out))


class SoftmaxLayer(object):

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.p_dropout = p_dropout
        self.w = theano.shared(np.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name='w', borrow=True)
        self.b = theano.shared(np.zeros((n_out,), dtype=theano.config.floatX),
                               name='b', borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape((mini_batch_size, self.n_in))
        self.output = softmax((1 - self.p_dropout) * T.dot(self.inpt, self.w) + self.b)
        self.y_out = T.argmax(self.output, axis=1)
        self.inpt_dropout = dropout_layer(
            inpt_dropout.reshape((mini_batch_size, self.n_in)), self.p_dropout)
        self.output_dropout = softmax(T.dot(self.inpt_dropout, self.w) + self.b)

    def cost(self, net):
        return -T.mean(T.log(self.output_dropout)[T.arange(net.y.shape[0]), net.y])

    def accuracy(self, y):
        return T.mean(T.eq(y, self.y_out))


def size(data):
    return data[0].get_value(borrow=True).shape[0]


def dropout_layer(layer, p_dropout):
    srng = shared_randomstreams.RandomStreams(
        np.random.RandomState(0).randint(999999))
    mask = srng.binomial(n=1, p=1 - p_dropout, size=layer.shape)
    return layer * T.cast(mask, theano.config.floatX)
