"""plots.py
~~~~~~~~~~~

The chapter's figures, each written to a PNG file by one call:

* :func:`plot_errors`: the digits a network (or an ensemble) gets wrong,
  each with its true and predicted label, like the chapter's 33 errors;
* :func:`plot_filters`: the learned filters of a ``ConvPoolLayer``;
* :func:`plot_history`: validation and test accuracy (and the training
  cost) epoch by epoch, from the ``TrainingHistory`` that ``SGD`` returns;
* :func:`plot_augmentation`: a few training digits, each followed by
  versions of it that ``SGD(augment=...)`` might train on;
* :func:`plot_sweep`: a hyper-parameter sweep's accuracies against each
  option it varied (``network3 sweep``).

They draw with Matplotlib's Agg canvas directly, never with ``pyplot``, so
they work without a display and leave any interactive backend alone.
"""

#### Libraries
# Standard library
import math
import os

# Third-party libraries
import numpy as np


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _write(figure, filename):
    filename = os.fspath(filename)
    figure.savefig(filename, dpi=100, bbox_inches="tight")
    return filename


def plot_errors(images, labels, predictions, filename, *, columns=11, limit=100,
                side=28):
    """Draw the images whose prediction differs from their label.

    Parameters
    ----------
    images : array_like, shape (n, side*side)
    labels, predictions : array_like of int, shape (n,)
        E.g. ``test_data`` and ``net.predict(...)``, or an ensemble's
        ``predictions``.
    filename : str or path
        Where the PNG goes.
    columns : int, optional
        Digits per row (the chapter's figure has 11).
    limit : int, optional
        Draw at most this many errors.

    Returns
    -------
    str
        ``filename``.
    """
    images = np.asarray(images)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if not (len(images) == len(labels) == len(predictions)):
        raise ValueError(
            "plot_errors: images, labels and predictions must have the same length, "
            "got {0}, {1} and {2}".format(len(images), len(labels), len(predictions)))
    wrong = np.flatnonzero(labels != predictions)[:limit]
    rows = max(1, math.ceil(len(wrong) / columns))
    figure = _figure(columns * 0.9, rows * 1.1)
    for k, index in enumerate(wrong):
        axes = figure.add_subplot(rows, columns, k + 1)
        axes.imshow(images[index].reshape(side, side), cmap="Greys",
                    interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title("{0} \u2192 {1}".format(labels[index], predictions[index]),
                       fontsize=8)
    figure.suptitle("{0} misclassified (true \u2192 predicted)".format(
        int(np.sum(labels != predictions))), fontsize=10)
    return _write(figure, filename)


def plot_filters(layer, filename, *, feature_map=0, columns=10):
    """Draw the filters of a ``ConvPoolLayer`` as small grey images.

    ``feature_map`` picks which input feature map's weights to show (the
    first layer has one).  Dark is positive, as in the chapter's figure.
    """
    w = getattr(layer, "w", None)
    if getattr(layer, "filter_shape", None) is None or w is None:
        raise TypeError("plot_filters: layer must be a ConvPoolLayer, got {0!r}".format(
            type(layer).__name__))
    weights = w.get_value()
    if not 0 <= feature_map < weights.shape[1]:
        raise ValueError("plot_filters: feature_map must be in 0..{0}, got {1}".format(
            weights.shape[1] - 1, feature_map))
    n = weights.shape[0]
    rows = math.ceil(n / columns)
    figure = _figure(columns * 0.8, rows * 0.8)
    for k in range(n):
        axes = figure.add_subplot(rows, columns, k + 1)
        axes.imshow(weights[k, feature_map], cmap="Greys", interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
    figure.suptitle("{0} learned filters, {1}x{2}".format(n, *weights.shape[2:]),
                    fontsize=10)
    return _write(figure, filename)


def plot_history(history, filename):
    """Draw a ``TrainingHistory``: accuracies above, costs below.

    With ``monitor_training`` the training accuracy is drawn against the
    validation accuracy, the gap between them (how much the network
    overfits) shaded, and the training cost measured at each epoch's end
    next to the mean cost of its mini-batches.
    """
    epochs = np.arange(history.epochs)
    figure = _figure(7, 5)
    top = figure.add_subplot(2, 1, 1)
    validation = 100 * np.asarray(history.validation_accuracy)
    if history.training_accuracy:
        training = 100 * np.asarray(history.training_accuracy)
        top.plot(epochs[:len(training)], training, label="training")
        if len(validation) == len(training):
            top.fill_between(epochs[:len(training)], validation, training, alpha=0.2,
                             label="gap: {0:.1f} points at the end".format(
                                 training[-1] - validation[-1]))
    if len(validation):
        top.plot(epochs[:len(validation)], validation, label="validation")
    tested = [(e, a) for e, a in zip(epochs, history.test_accuracy) if a is not None]
    if tested:
        top.plot(*zip(*[(e, 100 * a) for e, a in tested]), "o", label="test")
    top.set_ylabel("accuracy (%)")
    top.legend(loc="lower right")
    bottom = figure.add_subplot(2, 1, 2, sharex=top)
    bottom.plot(epochs, history.cost, label="mean of the epoch's mini-batches")
    if history.training_cost:
        bottom.plot(epochs[:len(history.training_cost)], history.training_cost,
                    label="training images, at the epoch's end")
        bottom.legend(loc="upper right")
    bottom.set_ylabel("training cost")
    bottom.set_xlabel("epoch")
    return _write(figure, filename)


def plot_augmentation(images, augment, filename, *, rows=6, copies=7, shape=(28, 28),
                      rng=None):
    """Draw ``rows`` images, each followed by ``copies`` random transforms of
    it by ``augment`` (a ``network3.Augmentation``).

    Parameters
    ----------
    images : array_like, shape (n, height*width)
        The first ``rows`` are drawn.
    augment : network3.Augmentation
    filename : str or path
        Where the PNG goes.
    shape : pair of int, optional
        One image's (height, width).
    rng : numpy.random.Generator or int, optional
        Where the transforms' amounts come from (see ``network3.seed``).

    Returns
    -------
    str
        ``filename``.
    """
    from network3 import seeding
    images = np.asarray(images)[:rows]
    rng = seeding.get_rng(rng)
    versions = [augment.transform(images, shape, rng=rng) for _ in range(copies)]
    figure = _figure((copies + 1) * 0.9, len(images) * 0.9)
    for row, image in enumerate(images):
        for column, picture in enumerate([image] + [v[row] for v in versions]):
            axes = figure.add_subplot(len(images), copies + 1,
                                      row * (copies + 1) + column + 1)
            axes.imshow(picture.reshape(shape), cmap="Greys", vmin=0, vmax=1,
                        interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title("given" if column == 0 else "epoch {0}".format(column - 1),
                               fontsize=7)
    figure.suptitle(repr(augment), fontsize=8)
    return _write(figure, filename)


def plot_sweep(records, options, filename):
    """Draw a sweep: for each varied option, a panel of every run's best
    validation accuracy (dots) and the mean over the runs with each value
    (a line), against the option's values.

    Parameters
    ----------
    records : list of dict
        The sweep's lines of ``runs.jsonl`` (``config`` and
        ``best_validation_accuracy``); diverged runs are left out.
    options : list of str
        The varied options, a panel each.  Numbers above 0 that span a
        factor of 10 or more (eta, lmbda) get a log scale; words (pool
        modes) and ``none`` are spaced evenly.
    filename : str or path
        Where the PNG goes.

    Returns
    -------
    str
        ``filename``.
    """
    figure = _figure(3.2 * max(1, len(options)), 3.2)
    for k, name in enumerate(options):
        axes = figure.add_subplot(1, max(1, len(options)), k + 1)
        points = [(r["config"].get(name), 100 * r["best_validation_accuracy"])
                  for r in records if not r.get("diverged")
                  and r.get("best_validation_accuracy") is not None]
        values = sorted({v for v, _ in points}, key=lambda v: (v is None, str(type(v)),
                                                              v if v is not None else 0))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      for v in values)
        where = ({v: v for v in values} if numeric and values
                 else {v: i for i, v in enumerate(values)})
        if points:
            axes.plot([where[v] for v, _ in points], [a for _, a in points], "o",
                      alpha=0.5, label="runs")
            means = [np.mean([a for u, a in points if u == v]) for v in values]
            axes.plot([where[v] for v in values], means, "-", label="mean")
        if numeric and values and min(values) > 0 and max(values) >= 10 * min(values):
            axes.set_xscale("log")
        if not numeric:
            axes.set_xticks(range(len(values)))
            axes.set_xticklabels(["none" if v is None else str(v) for v in values],
                                 rotation=30)
        axes.set_xlabel(name)
        if k == 0:
            axes.set_ylabel("best validation accuracy (%)")
            axes.legend(loc="lower right")
    return _write(figure, filename)

