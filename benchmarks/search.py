"""An Optuna study (TPE, median pruning) against a random search of the same
budget, on the same axes.

Both search the chapter's FC net's learning rate and regularization
(``--vary eta=0.001:100 --vary lmbda=0.0001:10``, both drawn on a log scale)
with ``--trials`` runs of ``--epochs`` epochs each on the first
``--train-size`` training images, one after another on this machine:
``network3 sweep --search random`` and ``network3 sweep --search tpe
--prune median``.  For each: the trials, the epochs they trained (a pruned
or diverged run stops early), the best validation accuracy and its test
accuracy, and the seconds.

    pip install -e '.[optuna]' && python benchmarks/search.py   # ~10 minutes

Writes benchmarks/results/search.md.
"""

import argparse
import json
import os
import tempfile
import time

from network3 import cli
from network3.runs.run import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))


def summary(folder, seconds):
    records = [json.loads(line) for line in open(os.path.join(folder, "runs.jsonl"))]
    best = max((r for r in records if r.get("best_validation_accuracy") is not None
                and not r.get("pruned")), key=lambda r: r["best_validation_accuracy"])
    return {"trials": len(records),
            "epochs": sum(r["diverged_epoch"] if r.get("diverged") else r["epochs"]
                          for r in records),
            "pruned": sum(1 for r in records if r.get("pruned")),
            "diverged": sum(1 for r in records if r.get("diverged")),
            "best": best["best_validation_accuracy"], "test": best["test_accuracy"],
            "values": ", ".join("{0}={1:.3g}".format(k, v)
                                for k, v in best["config"].items()),
            "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(HERE, "results", "search.md"))
    args = parser.parse_args()
    common = ["sweep", "--net", "fc", "--vary", "eta=0.001:100", "--vary",
              "lmbda=0.0001:10", "--trials", str(args.trials), "--epochs",
              str(args.epochs), "--train-size", str(args.train_size), "--seed",
              str(args.seed), "--quiet"]
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, search in (("random", ["--search", "random"]),
                             ("tpe + median pruning", ["--search", "tpe", "--prune",
                                                       "median"])):
            out = os.path.join(folder, name.split()[0])
            start = time.perf_counter()
            assert cli.main(common + search + ["--output", out]) == 0
            rows[name] = summary(out, time.perf_counter() - start)
            print(name, rows[name], flush=True)
    with open("/proc/cpuinfo") as f:
        machine = cpu_model(f.read())
    lines = ["# An Optuna study against a random search", "",
             "`python benchmarks/search.py` on {0}, {1} cores: the FC net, "
             "`--vary eta=0.001:100 --vary lmbda=0.0001:10`, {2} trials of {3} epochs "
             "on {4} training images, seed {5}.".format(
                 machine, os.cpu_count(), args.trials, args.epochs, args.train_size,
                 args.seed), "",
             "| search | trials | epochs trained | pruned | diverged | best validation "
             "accuracy | its test accuracy | its values | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append("| {0} | {trials} | {epochs} | {pruned} | {diverged} | {best:.2%} | "
                     "{test:.2%} | {values} | {seconds:.0f} |".format(name, **r))
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
