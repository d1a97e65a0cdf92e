"""tensorboard.py
~~~~~~~~~~~~~~~~~~

Training as TensorBoard shows it: what a run reports (made here, from the
network and its history, as plain numbers and arrays) and the event files
that hold it (written with tensorboardX, which needs no TensorFlow).

A *report* is a dict, one of three kinds:

* ``{"kind": "epoch", "epoch": e, "scalars": {...}, "histograms": {...},
  "images": {...}}`` after each epoch (:func:`epoch_report`): the cost,
  validation, test and training accuracy and eta of the history, each
  layer's speed of learning (chapter 5), histograms of each layer's weights
  and biases, and the first layer's filters as one image;
* ``{"kind": "batches", "costs": [(iteration, cost), ...]}``: the mean cost
  of every ``N`` mini-batches, while an epoch trains;
* ``{"kind": "end", "epoch": e, "images": {...}, "hparams": {...},
  "metrics": {...}}`` when training ends (:func:`end_report`): the
  misclassified validation digits, and the run's settings with its final
  numbers for TensorBoard's HParams tab.

``network3.callbacks.TensorBoard`` makes the reports and writes them with an
:class:`EventWriter` in the same process; a sweep on Dask makes them on the
workers and writes them on the machine that runs the command
(``network3.runs``).  Either way an :class:`EventWriter` never leaves a step
twice: a run that goes on from an earlier epoch (resumed from a backup, or
by another Dask worker) purges what was written from that epoch on.

TensorBoard is an extra: ``pip install -e '.[tensorboard]'`` (tensorboardX
to write, tensorboard to look: ``tensorboard --logdir DIR``).

"""

#### Libraries
# Standard library
import math
import os
import time

# Third-party libraries
import numpy as np

_INSTALL = "pip install -e '.[tensorboard]' (or pip install tensorboardX tensorboard)"

#: Buckets of each histogram.
BUCKETS = 30
#: The most misclassified digits the end's image shows.
MISTAKES = 100


#### What a run reports
def epoch_report(net, history, epoch, *, histograms=True, images=True):
    """The report of ``epoch``, just measured: ``history``'s numbers for it
    and, if asked, ``net``'s parameters as histograms and its first layer's
    filters as an image."""
    scalars = {"cost/training": history.cost[-1], "eta": history.eta[-1]}
    last = {"accuracy/validation": history.validation_accuracy,
            "accuracy/test": history.test_accuracy,
            "accuracy/training": history.training_accuracy,
            "cost/monitored_training": history.training_cost}
    for tag, values in last.items():
        # (test accuracy is measured at a new best only, as in the book)
        if len(values) == history.epochs and values[-1] is not None:
            scalars[tag] = values[-1]
    if len(history.gradient_norms) == history.epochs:
        scalars.update(("learning_speed/" + layer_name(j, layer), float(norm))
                       for j, (layer, norm) in enumerate(
                           zip(net.layers, history.gradient_norms[-1])))
    report = {"kind": "epoch", "epoch": epoch,
              "scalars": {tag: float(value) for tag, value in scalars.items()},
              "histograms": {}, "images": {}}
    if histograms:
        for j, layer in enumerate(net.layers):
            for param in layer.params:
                report["histograms"]["{0}/{1}".format(
                    layer_name(j, layer), param.name.rpartition(".")[2])] = histogram(
                        param.get_value(borrow=True))
    filters = getattr(net.layers[0], "filter_shape", None)
    if images and filters is not None:
        w = net.layers[0].w.get_value()
        report["images"]["filters/" + layer_name(0, net.layers[0])] = grid(
            -w[:, 0], columns=min(10, len(w)))       # (dark is positive, as the book)
    return report


def end_report(net, history, validation=None, hparams=None, *, images=True):
    """The report of a run that has ended: the ``validation`` digits (a pair
    of arrays) the network now gets wrong, as one image, and the run's
    ``hparams`` (a dict) with its final numbers."""
    report = {"kind": "end", "epoch": max(history.epochs - 1, 0), "images": {}}
    if images and validation is not None:
        x, y = validation
        wrong = np.flatnonzero(net.predict(x) != y)[:MISTAKES]
        if len(wrong):
            side = int(round(math.sqrt(x.shape[1])))
            report["images"]["misclassified/validation"] = grid(
                x[wrong].reshape(-1, side, side), columns=10)
    if hparams is not None:
        report["hparams"] = {name: _hparam(value) for name, value in hparams.items()}
        report["metrics"] = {"final/" + name: float(value) for name, value in (
            ("best_validation_accuracy", history.best_validation_accuracy),
            ("test_accuracy", history.best_test_accuracy),
            ("epochs", history.epochs)) if value is not None}
    return report


def layer_name(j, layer):
    """How TensorBoard's tags name layer ``j``: ``layer0_ConvPoolLayer``."""
    return "layer{0}_{1}".format(j, type(layer).__name__)


def histogram(values, buckets=BUCKETS):
    """``values`` as TensorBoard's histogram holds them: ``(min, max, count,
    sum, sum of squares, bucket upper edges, bucket counts)``."""
    values = np.asarray(values, dtype=float).ravel()
    counts, edges = np.histogram(values, bins=buckets)
    return (float(values.min()), float(values.max()), int(values.size),
            float(values.sum()), float(np.dot(values, values)),
            edges[1:].tolist(), counts.tolist())


def grid(images, columns=10, gap=1):
    """``images`` (n, height, width) side by side, ``columns`` to a row,
    each scaled to [0, 1] by the range of all of them, on a grey background:
    one (H, W) image."""
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    low, high = images.min(), images.max()
    images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap), 0.5)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        out[gap + r * (h + gap):gap + r * (h + gap) + h,
            gap + c * (w + gap):gap + c * (w + gap) + w] = image
    return out


def _hparam(value):
    """A setting as TensorBoard's HParams tab takes it: a number, a string
    or a bool."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return "none" if value is None else str(value)


#### The event files
def require():
    """tensorboardX's ``SummaryWriter``; a clear error if it is not installed."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise RuntimeError("TensorBoard's event files need tensorboardX, which is not "
                           "installed: " + _INSTALL) from None
    return SummaryWriter


class EventWriter(object):
    """The event files of one run, in ``log_dir``: per epoch (step = the
    epoch), with the cost every N mini-batches in ``log_dir/batches`` (step =
    the mini-batch since training began).  Writing a step at or before one
    already written first purges those written from it on (TensorBoard then
    shows each step once): a run that goes on from a backup continues its
    curves."""

    def __init__(self, log_dir):
        self.SummaryWriter = require()
        self.log_dir = os.fspath(log_dir)
        self._writers = {}          # "epochs", "batches" -> [writer, last step]

    def _writer(self, which, step):
        """The writer of ``which`` for ``step``: opened, or opened again to
        purge the steps from ``step`` on, if some were written."""
        writer, last = self._writers.get(which, (None, None))
        if writer is None or step <= last:
            if writer is not None:
                writer.close()
            folder = self.log_dir if which == "epochs" else os.path.join(
                self.log_dir, which)
            # (the file's name is the second it was made in and the host's:
            # a suffix sets apart, in order, the files of one second)
            writer = self.SummaryWriter(folder, purge_step=step, flush_secs=5,
                                        filename_suffix=".{0:020d}".format(
                                            time.time_ns()))
        self._writers[which] = [writer, step]
        return writer

    def write(self, report):
        """Write a report (see the module's docstring)."""
        kind = report["kind"]
        if kind == "batches":
            for iteration, cost in report["costs"]:
                self._writer("batches", iteration).add_scalar(
                    "cost/mini_batches", cost, iteration)
            return
        epoch = report["epoch"]
        if kind == "end":      # (after the last epoch: not a new step)
            writer = self._writers.get("epochs", [None])[0] or self._writer(
                "epochs", epoch)
        else:
            writer = self._writer("epochs", epoch)
        for tag, value in report.get("scalars", {}).items():
            writer.add_scalar(tag, value, epoch)
        for tag, h in report.get("histograms", {}).items():
            writer.add_histogram_raw(tag, *h, global_step=epoch)
        for tag, image in report.get("images", {}).items():
            writer.add_image(tag, np.asarray(image, dtype=np.float32), epoch,
                             dataformats="HW")
        if "hparams" in report:
            from tensorboardX.summary import hparams
            for summary in hparams(report["hparams"], report["metrics"]):
                writer.file_writer.add_summary(summary)
            for tag, value in report["metrics"].items():
                writer.add_scalar(tag, value, epoch)
        writer.flush()

    def close(self):
        for writer, _ in self._writers.values():
            writer.close()
        self._writers = {}
