"""What watching training in TensorBoard costs an epoch, on the ReLU net.

The chapter's ReLU net (two ConvPool layers, FC 100, mini-batch 10, eta
0.03, lmbda 0.1) trains ``--epochs`` epochs on the 50,000 training images,
with validation after each, in one process: without a callback and with
``network3.callbacks.TensorBoard`` (histograms and images on), alternating,
``--rounds`` times.  Reported: the time the callback's own hooks take per
epoch (measured around them, so the epoch's noise does not hide it) as a
share of the epoch; the end's extra (the misclassified validation digits,
the hparams) once per run; and the mean epoch with and without, as a
cross-check (the difference is within the noise).  Also the event-file
writers themselves: tensorboardX (which network3 uses) and the
``tensorboard`` package's own ``tensorboard.summary.Writer``, writing the
same scalars (all that the latter writes).

    pip install -e '.[tensorboard]' && python benchmarks/tensorboard_overhead.py

Writes benchmarks/results/tensorboard.md.
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import network3
from network3 import chapter
from network3.callbacks import TensorBoard
from network3.runs.run import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))


class Timed(TensorBoard):
    """TensorBoard, timing its own hooks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.epoch_seconds, self.end_seconds = [], 0.0

    def on_epoch_end(self, net, state, event):
        start = time.perf_counter()
        super().on_epoch_end(net, state, event)
        self.epoch_seconds.append(time.perf_counter() - start)

    def on_train_end(self, net, state, event):
        start = time.perf_counter()
        super().on_train_end(net, state, event)
        self.end_seconds = time.perf_counter() - start


def writers(folder, epochs=60, tags=12):
    """Seconds to write ``epochs`` x ``tags`` scalars with each writer."""
    from tensorboard.summary import Writer
    from tensorboardX import SummaryWriter
    seconds = {}
    for name in ("tensorboardX", "tensorboard"):
        start = time.perf_counter()
        path = os.path.join(folder, name)
        writer = SummaryWriter(path) if name == "tensorboardX" else Writer(path)
        for epoch in range(epochs):
            for k in range(tags):
                writer.add_scalar("tag{0}".format(k), 0.5 + 0.001 * epoch, epoch)
            writer.flush()
        writer.close()
        seconds[name] = time.perf_counter() - start
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", default=os.path.join(HERE, "results",
                                                         "tensorboard.md"))
    args = parser.parse_args()
    training, validation, test = network3.load_data_shared()
    plain, watched, hooks, ends = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for r in range(args.rounds):
            for with_tensorboard in (False, True):
                network3.seed(r)
                net = network3.Network(chapter.build_layers("relu", 10), 10)
                callbacks = [Timed(os.path.join(folder, "run{0}".format(r)))] \
                    if with_tensorboard else []
                history = net.SGD(training, args.epochs, 10, 0.03, validation, test,
                                  lmbda=0.1, verbose=False, callbacks=callbacks)
                # the first epoch of a process also compiles: the later ones count
                seconds = history.seconds[1:] if r == 0 else history.seconds
                (watched if with_tensorboard else plain).extend(seconds)
                if with_tensorboard:
                    hooks.extend(callbacks[0].epoch_seconds)
                    ends.append(callbacks[0].end_seconds)
                print(with_tensorboard, history.seconds, flush=True)
        written = writers(folder)
    epoch = statistics.mean(plain)
    with open("/proc/cpuinfo") as f:
        machine = cpu_model(f.read())
    lines = [
        "# What TensorBoard costs an epoch", "",
        "`python benchmarks/tensorboard_overhead.py` on {0}, {1} cores: the ReLU net, "
        "50,000 images, {2} rounds of {3} epochs each way.".format(
            machine, os.cpu_count(), args.rounds, args.epochs), "",
        "| what | seconds | share of an epoch |", "|---|---|---|",
        "| an epoch without TensorBoard (mean of {0}) | {1:.2f} | |".format(
            len(plain), epoch),
        "| an epoch with it (mean of {0}) | {1:.2f} | |".format(
            len(watched), statistics.mean(watched)),
        "| the callback's hooks per epoch (mean of {0}; max {1:.4f}) | {2:.4f} | "
        "{3:.3%} |".format(len(hooks), max(hooks), statistics.mean(hooks),
                           statistics.mean(hooks) / epoch),
        "| its end, once per run (mistakes image, hparams) | {0:.3f} | |".format(
            statistics.mean(ends)),
        "", "Writing 60 epochs x 12 scalars, flushing each epoch: tensorboardX "
        "{0:.3f} s, `tensorboard.summary.Writer` {1:.3f} s (which writes scalars only: "
        "no histograms, images or hparams; and is marked experimental).".format(
            written["tensorboardX"], written["tensorboard"])]
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    np.testing.assert_array_less(statistics.mean(hooks) / epoch, 0.02)


if __name__ == "__main__":
    main()
