"""pooling_modes.py
~~~~~~~~~~~~~~~~~~~

The experiment the seed article recommends: the chapter's ReLU net
(``conv20,conv40,fc100,softmax``, eta=0.03, lmbda=0.1, mini-batches of 10)
with max, L2 and average pooling, the same seed and epochs for each, and a
markdown table of validation and test accuracy side by side.

    python scripts/pooling_modes.py --epochs 10
    python scripts/pooling_modes.py --epochs 5 --modes max,l2,l2@0.01 --train-size 10000

A mode may name its own learning rate after ``@`` (``l2@0.01``); the
others use the chapter's 0.03.
"""

import argparse
import statistics
import sys

import network3
from network3 import ops
from network3.specs import parse_layers


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--modes", default="max,l2,average_exc_pad",
                        help="comma-separated, of: " + ", ".join(ops.POOL_MODES) +
                        "; mode@eta for another learning rate than 0.03")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=50000)
    args = parser.parse_args(argv)
    (x, y), validation, test = network3.load_data()
    training = network3.shared((x[:args.train_size], y[:args.train_size]))
    rows = []
    for item in args.modes.split(","):
        mode, _, eta = item.partition("@")
        eta = float(eta or 0.03)
        network3.seed(args.seed)
        layers = parse_layers("conv20:{0},conv40:{0},fc100,softmax".format(mode), 10,
                              "relu")
        net = network3.Network(layers, 10)
        print("pooling: {0}, eta={1}".format(mode, eta), flush=True)
        history = net.SGD(training, args.epochs, 10, eta, validation, test,
                          lmbda=0.1)
        seconds = statistics.median(history.seconds)
        rows.append("| {0} | {1} | {2:.2%} (epoch {3}) | {4:.2%} | {5:.2%} | "
                    "{6:.1f} |".format(
            mode, eta, history.best_validation_accuracy, history.best_epoch,
            history.best_test_accuracy, history.validation_accuracy[-1], seconds))
    print("\nThe chapter's ReLU net, {0} epochs, seed {1}, {2:,} training images:\n".format(
        args.epochs, args.seed, args.train_size))
    print("| pooling | eta | best validation accuracy | test accuracy there | "
          "last epoch's validation | s/epoch |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
