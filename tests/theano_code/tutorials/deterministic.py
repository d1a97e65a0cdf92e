"""A deterministic Theano script in float64: five SGD steps of a small
convolutional net (true convolution, max-pooling that keeps the border's
partial windows, ReLU, softmax, cross-entropy), its costs and parameters
saved to the file named on the command line.

    python deterministic.py OUT.npz
"""
import sys

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.nnet import categorical_crossentropy, conv2d, relu, softmax
from theano.tensor.signal.pool import pool_2d

assert theano.config.floatX == 'float64'
rng = np.random.RandomState(42)
X = rng.normal(size=(8, 2, 7, 7))
Y = rng.randint(0, 3, size=8).astype('int32')
w = theano.shared(rng.normal(scale=0.5, size=(4, 2, 3, 3)), name='w')
b = theano.shared(rng.normal(scale=0.1, size=4), name='b')
v = theano.shared(rng.normal(scale=0.5, size=(4 * 3 * 3, 3)), name='v')

x = T.tensor4('x')
y = T.ivector('y')
h = relu(pool_2d(conv2d(x, w), ws=(2, 2), ignore_border=False)
         + b.dimshuffle('x', 0, 'x', 'x'))
p = softmax(T.dot(h.flatten(2), v))
cost = T.mean(categorical_crossentropy(p, y))
params = [w, b, v]
step = theano.function([x, y], cost,
                       updates=[(q, q - 0.1 * g) for q, g in zip(params, T.grad(cost, params))])
costs = [step(X, Y) for _ in range(5)]
np.savez(sys.argv[1], costs=costs, w=w.get_value(), b=b.get_value(), v=v.get_value())
