"""exercises.py
~~~~~~~~~~~~~~~

The measurements behind the docs' "The chapter's exercises" (docs/beyond.md): the chapter's
ReLU net (two ConvPool layers, FC 100, η=0.03, λ=0.1, mini-batch 10) on
MNIST, the same seed for every run.

    python scripts/exercises.py init --epochs 5          # init="book" vs "he"
    python scripts/exercises.py schedule --epochs 40     # constant η vs halve_on_plateau
    python scripts/exercises.py updates --epochs 3       # each rule of network3.updates

``schedule`` reports, for each run, the first epoch whose test accuracy
(measured, as the book does, at each new best validation accuracy) reaches
99.0%, and the wall time to the end of that epoch.
"""

import argparse
import sys

import network3
from network3 import chapter, updates

#: ``updates``' runs: each rule with the learning rate its authors suggest
#: (momentum's and Nesterov's step is about 1/(1-mu) = 10 times eta's).
RULES = [(updates.sgd(), 0.03), (updates.momentum(0.9), 0.003),
         (updates.nesterov(0.9), 0.003), (updates.adagrad(), 0.01),
         (updates.rmsprop(), 0.001), (updates.adam(), 0.001)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("init", "schedule", "updates"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patience", type=int, default=5)
    args = parser.parse_args(argv)
    training_data, validation_data, test_data = network3.load_data_shared()
    rows = []
    runs = {"init": [("book", 0.03, None), ("he", 0.03, None)],
            "schedule": [("book", 0.03, None), ("book", network3.halve_on_plateau(
                0.03, patience=args.patience), None)],
            "updates": [("book", eta, rule) for rule, eta in RULES]}[args.what]
    for init, eta, rule in runs:
        network3.seed(args.seed)
        net = network3.Network(chapter.build_layers("relu", 10, init), 10)
        print("== init={0}, eta={1!r}, update={2!r}".format(init, eta, rule), flush=True)
        history = net.SGD(training_data, args.epochs, 10, eta, validation_data,
                          test_data, lmbda=0.1, update=rule)
        reached = next((k for k, a in enumerate(history.test_accuracy)
                        if a is not None and a >= 0.99), None)
        to_99 = ("epoch {0}, {1:.0f} s".format(reached, sum(history.seconds[:reached + 1]))
                 if reached is not None else "not in {0} epochs".format(history.epochs))
        rows.append("| {0} | {1!r} | {2} | {3:.2%} (epoch {4}) | {5:.2%} | {6} | {7} | "
                    "{8:.1f} |".format(init, eta, rule or "sgd()",
                                       history.best_validation_accuracy,
                                       history.best_epoch, history.best_test_accuracy,
                                       to_99, history.epochs, sum(history.seconds) / 60))
    print("\nThe chapter's ReLU net, seed {0}:\n".format(args.seed))
    print("| init | eta | update | best validation accuracy | test accuracy there | "
          "99.0% test accuracy | epochs | minutes |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
