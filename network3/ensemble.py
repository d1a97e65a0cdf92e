"""ensemble.py
~~~~~~~~~~~~~~

Let several trained networks vote.

The chapter trains five dropout nets and lets them vote, reaching 99.67%
("all but 33 of the 10,000 test images").  Its script rebuilt Theano
functions by hand for the test set only; here any data set and any nets will
do, each net predicting in large batches.
"""

#### Libraries
# Standard library
import dataclasses

# Third-party libraries
import numpy as np

# network3
from network3 import data
from network3.network import Network


@dataclasses.dataclass
class EnsembleResult:
    """What :func:`ensemble` found.

    Attributes
    ----------
    accuracy : float
        Fraction of images the vote classifies correctly.
    predictions : ndarray of int, shape (n,)
        The vote's class for each image.
    errors : ndarray of int
        Indices of the images the vote gets wrong.
    wrong_predictions : ndarray of int
        The vote's (wrong) class for each of ``errors``.
    votes : ndarray of int, shape (n_nets, n)
        Each net's own prediction.
    """

    accuracy: float
    predictions: np.ndarray
    errors: np.ndarray
    wrong_predictions: np.ndarray
    votes: np.ndarray


def plurality(votes, n_classes=None):
    """The most common class in each column of ``votes`` (n_nets, n).

    A tie goes to the tied class that the earliest net voted for, as
    ``collections.Counter.most_common`` did in the chapter's script.
    """
    votes = np.asarray(votes)
    n_classes = int(votes.max()) + 1 if n_classes is None else n_classes
    counts = np.zeros((votes.shape[1], n_classes), dtype=np.int64)
    for row in votes:
        counts[np.arange(votes.shape[1]), row] += 1
    best = counts.max(axis=1)
    winner = np.full(votes.shape[1], -1, dtype=np.int64)
    for row in votes:                      # the earliest net's tied class wins
        take = (winner < 0) & (counts[np.arange(votes.shape[1]), row] == best)
        winner[take] = row[take]
    return winner


def ensemble(nets, dataset):
    """Classify ``dataset`` by the plurality vote of ``nets``.

    Parameters
    ----------
    nets : list of Network
        Trained networks taking the same images (any mini-batch sizes).
    dataset : pair
        ``(images, labels)``, shared variables or arrays, any number of images.

    Returns
    -------
    EnsembleResult
    """
    nets = list(nets)
    if not nets:
        raise ValueError("ensemble: nets must be a non-empty list of networks")
    for j, net in enumerate(nets):
        if not isinstance(net, Network):
            raise TypeError("ensemble: nets[{0}] must be a Network, got {1!r}".format(
                j, type(net).__name__))
    images, labels = data.check_dataset(dataset, "dataset", nets[0].layers)
    votes = np.stack([net.predict(images) for net in nets])
    n_classes = max(net.layers[-1].output_size for net in nets)
    predictions = plurality(votes, n_classes) if len(images) else votes[0]
    errors = np.flatnonzero(predictions != labels)
    return EnsembleResult(accuracy=float(np.mean(predictions == labels)),
                          predictions=predictions, errors=errors,
                          wrong_predictions=predictions[errors], votes=votes)
