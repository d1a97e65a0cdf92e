"""Logistic regression on MNIST, in the style of the Theano tutorial.

    python logistic_sgd.py DATA N_TRAIN EPOCHS
"""
from __future__ import print_function

import gzip
import sys
import timeit

import numpy
import six.moves.cPickle as pickle

import theano
import theano.tensor as T


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name='W', borrow=True)
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX),
                               name='b', borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        if y.ndim != self.y_pred.ndim:
            raise TypeError('y should have the same shape as self.y_pred',
                            ('y', y.type, 'y_pred', self.y_pred.type))
        if y.dtype.startswith('int'):
            return T.mean(T.neq(self.y_pred, y))
        raise NotImplementedError()


def load_data(dataset, n_train):
    with gzip.open(dataset, 'rb') as f:
        train_set, valid_set, test_set = pickle.load(f, encoding='latin1')
    train_set = (train_set[0][:n_train], train_set[1][:n_train])
    valid_set, test_set = [(x[:1000], y[:1000]) for x, y in (valid_set, test_set)]

    def shared_dataset(data_xy, borrow=True):
        data_x, data_y = data_xy
        shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX),
                                 borrow=borrow)
        shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX),
                                 borrow=borrow)
        return shared_x, T.cast(shared_y, 'int32')

    return [shared_dataset(s) for s in (train_set, valid_set, test_set)]


def train(classifier, x, y, cost, datasets, learning_rate, n_epochs, batch_size):
    """Minibatch SGD with the tutorials' functions; returns the test error
    at the best validation error."""
    (train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y) = \
        datasets
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size
    index = T.lscalar()

    def givens(set_x, set_y):
        return {x: set_x[index * batch_size: (index + 1) * batch_size],
                y: set_y[index * batch_size: (index + 1) * batch_size]}
    test_model = theano.function(inputs=[index], outputs=classifier.errors(y),
                                 givens=givens(test_set_x, test_set_y))
    validate_model = theano.function(inputs=[index], outputs=classifier.errors(y),
                                     givens=givens(valid_set_x, valid_set_y))
    gparams = [T.grad(cost=cost, wrt=param) for param in classifier.params]
    updates = [(param, param - learning_rate * gparam)
               for param, gparam in zip(classifier.params, gparams)]
    train_model = theano.function(inputs=[index], outputs=cost, updates=updates,
                                  givens=givens(train_set_x, train_set_y))

    best_validation_loss = numpy.inf
    test_score = 0.
    start_time = timeit.default_timer()
    for epoch in range(1, n_epochs + 1):
        for minibatch_index in range(n_train_batches):
            train_model(minibatch_index)
        this_validation_loss = numpy.mean([validate_model(i)
                                           for i in range(n_valid_batches)])
        print('epoch %i, validation error %f %%' % (epoch, this_validation_loss * 100.))
        if this_validation_loss < best_validation_loss:
            best_validation_loss = this_validation_loss
            test_score = numpy.mean([test_model(i) for i in range(n_test_batches)])
    end_time = timeit.default_timer()
    print('Optimization complete with best validation score of %f %%, '
          'with test performance %f %%' % (best_validation_loss * 100., test_score * 100.))
    print('The code ran for %.1fs' % (end_time - start_time), file=sys.stderr)
    return test_score


if __name__ == '__main__':
    dataset, n_train, n_epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    datasets = load_data(dataset, n_train)
    x = T.matrix('x')
    y = T.ivector('y')
    classifier = LogisticRegression(input=x, n_in=28 * 28, n_out=10)
    cost = classifier.negative_log_likelihood(y)
    train(classifier, x, y, cost, datasets, 0.13, n_epochs, 20)
