"""Does memory stay flat over a long run?

Theano 0.9 leaked memory in network3's training loop (the book's repository,
issue 74).  This trains the FC baseline for many epochs in one SGD call while
a thread samples the process's resident set size (RSS), then reports the RSS
at the end of each epoch and its growth from the end of the first epoch (after
compiling and the first evaluation) to the last.

    python benchmarks/memory.py --epochs 60            # ~2 minutes
    python benchmarks/memory.py --net relu --epochs 5  # the conv net, slower

Writes benchmarks/results/memory.md.
"""

import argparse
import os
import threading
import time

import network3
from network3 import backends, chapter

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_mb():
    """Resident set size of this process, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", default="fc", choices=list(chapter.RECIPES))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--backend", choices=list(backends.BACKENDS))
    parser.add_argument("--output", default=os.path.join(HERE, "results", "memory.md"))
    args = parser.parse_args()
    training_data, validation_data, test_data = network3.load_data_shared()
    network3.seed(0)
    net = network3.Network(chapter.build_layers(args.net, 10), 10, backend=args.backend)
    recipe = chapter.RECIPES[args.net]
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append((time.perf_counter(), rss_mb()))
            time.sleep(0.05)
    thread = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    thread.start()
    history = net.SGD(training_data, args.epochs, 10, recipe.eta, validation_data,
                      test_data, lmbda=recipe.lmbda, verbose=False)
    stop.set()
    thread.join()
    ends = [start + sum(history.seconds[:k + 1]) for k in range(history.epochs)]
    per_epoch = [max(rss for t, rss in samples if t <= end) for end in ends]
    growth = per_epoch[-1] - per_epoch[0]
    lines = ["# Memory over a long run", "",
             "Written by `python benchmarks/memory.py --net {0} --epochs {1}` on {2}: "
             "peak RSS of the process up to the end of each epoch "
             "({3} back end).".format(args.net, args.epochs,
                                      time.strftime("%Y-%m-%d %H:%M"), net.backend), "",
             "- after epoch 1: {0:.1f} MB".format(per_epoch[0]),
             "- after epoch {0}: {1:.1f} MB".format(history.epochs, per_epoch[-1]),
             "- growth over {0} epochs: {1:+.1f} MB ({2:+.3f} MB per epoch)".format(
                 history.epochs - 1, growth, growth / max(1, history.epochs - 1)),
             "", "| epoch | RSS MB |", "|---|---|"]
    lines += ["| {0} | {1:.1f} |".format(k + 1, v) for k, v in enumerate(per_epoch)]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
