"""Ensembles: the plurality vote against collections.Counter (the chapter's
way), and ensembles of trained nets on a data set."""

import collections

import numpy as np
import pytest

import network3
from network3 import ensemble
from network3.ensemble import plurality
from network3.layers import FullyConnectedLayer, SoftmaxLayer


def test_plurality_matches_counter_most_common():
    rng = np.random.default_rng(0)
    votes = rng.integers(0, 4, size=(5, 2000))     # many ties among 4 classes
    expected = [collections.Counter(column).most_common(1)[0][0]
                for column in votes.T]
    np.testing.assert_array_equal(plurality(votes, 4), expected)


def test_ensemble_of_trained_nets(subset):
    training_data, validation_data, test_data = subset(300, 100, 250)
    nets = []
    for seed in range(3):
        network3.seed(seed)
        net = network3.Network([FullyConnectedLayer(n_in=784, n_out=20),
                                SoftmaxLayer(n_in=20, n_out=10)], 10)
        net.SGD(training_data, 2, 10, 0.5, validation_data, None, verbose=False)
        nets.append(net)
    result = ensemble(nets, test_data)
    images, labels = (v.get_value() for v in test_data)
    votes = np.stack([net.predict(images) for net in nets])
    np.testing.assert_array_equal(result.votes, votes)
    np.testing.assert_array_equal(result.predictions, plurality(votes, 10))
    assert result.accuracy == np.mean(result.predictions == labels)
    np.testing.assert_array_equal(result.errors,
                                  np.flatnonzero(result.predictions != labels))
    np.testing.assert_array_equal(result.wrong_predictions,
                                  result.predictions[result.errors])
    assert len(result.errors) == round((1 - result.accuracy) * 250)
    # one net alone is its own ensemble
    assert ensemble(nets[:1], test_data).accuracy == nets[0].accuracy(test_data)
    # any number of images, arrays as well as shared variables
    assert len(ensemble(nets, (images[:7], labels[:7])).predictions) == 7


def test_ensemble_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty list"):
        ensemble([], (np.zeros((1, 784)), np.zeros(1)))
    with pytest.raises(TypeError, match=r"nets\[0\] must be a Network"):
        ensemble(["net"], (np.zeros((1, 784)), np.zeros(1)))
