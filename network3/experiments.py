"""experiments.py
~~~~~~~~~~~~~~~~~

The chapter's ladder of experiments, runnable as one sweep.

Chapter 6 climbs from a fully connected baseline (97.80%) through
convolutional layers, ReLUs, an expanded training set, more and wider fully
connected layers and dropout (99.60%) to an ensemble of dropout nets
(99.67%).  :data:`LADDER` writes each rung down with the book's
hyper-parameters and accuracy; :func:`run` trains the chosen rungs a few
times each, appending one JSON line per finished run to ``runs.jsonl``, so a
sweep that is interrupted resumes where it stopped; :func:`table` turns the
lines into the markdown table the runner prints and writes.

``python scripts/experiments.py --help`` (or ``network3 experiments``).
"""

#### Libraries
# Standard library
import argparse
import dataclasses
import json
import os
import statistics
import sys
import time

# network3
from network3 import data, seeding
from network3.activations import ReLU
from network3.ensemble import ensemble
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer


#### The ladder
def _conv(mbs, relu, second=True):
    act = {"activation_fn": ReLU} if relu else {}
    layers = [ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                            poolsize=(2, 2), **act)]
    if second:
        layers.append(ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                                    filter_shape=(40, 20, 5, 5), poolsize=(2, 2), **act))
    return layers


def _relu_net(*fc_sizes, p_dropout=0.0):
    def build(mbs):
        layers, n_in = _conv(mbs, relu=True), 40*4*4
        for n in fc_sizes:
            layers.append(FullyConnectedLayer(n_in=n_in, n_out=n, activation_fn=ReLU,
                                              p_dropout=p_dropout))
            n_in = n
        return layers + [SoftmaxLayer(n_in=n_in, n_out=10, p_dropout=p_dropout)]
    return build


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One rung of the chapter's ladder."""

    name: str
    description: str
    build: object            # mini_batch_size -> list of layers
    expanded: bool           # trained on the expanded (250,000-image) set
    epochs: int
    eta: float
    lmbda: float
    book_accuracy: float     # test accuracy the book reports, or None


LADDER = [
    Experiment("fc", "FC 784-100-10, sigmoid",
               lambda mbs: [FullyConnectedLayer(n_in=784, n_out=100),
                            SoftmaxLayer(n_in=100, n_out=10)],
               False, 60, 0.1, 0.0, 0.9780),
    Experiment("conv1", "ConvPool(20) + FC 100, sigmoid",
               lambda mbs: _conv(mbs, False, second=False) + [
                   FullyConnectedLayer(n_in=20*12*12, n_out=100),
                   SoftmaxLayer(n_in=100, n_out=10)],
               False, 60, 0.1, 0.0, 0.9878),
    Experiment("conv1-nofc", "ConvPool(20) + softmax, no FC layer, sigmoid",
               lambda mbs: _conv(mbs, False, second=False) + [
                   SoftmaxLayer(n_in=20*12*12, n_out=10)],
               False, 60, 0.1, 0.0, None),
    Experiment("conv2", "2 x ConvPool + FC 100, sigmoid",
               lambda mbs: _conv(mbs, False) + [
                   FullyConnectedLayer(n_in=40*4*4, n_out=100),
                   SoftmaxLayer(n_in=100, n_out=10)],
               False, 60, 0.1, 0.0, 0.9906),
    Experiment("relu", "2 x ConvPool + FC 100, ReLU, lmbda=0.1",
               _relu_net(100), False, 60, 0.03, 0.1, 0.9923),
    Experiment("expanded", "the ReLU net on the expanded data",
               _relu_net(100), True, 60, 0.03, 0.1, 0.9937),
    Experiment("expanded-fc300", "expanded data, FC 300",
               _relu_net(300), True, 60, 0.03, 0.1, 0.9946),
    Experiment("expanded-fc1000", "expanded data, FC 1000",
               _relu_net(1000), True, 60, 0.03, 0.1, 0.9943),
    Experiment("expanded-2fc", "expanded data, two FC 100 layers",
               _relu_net(100, 100), True, 60, 0.03, 0.1, 0.9943),
    Experiment("dropout", "expanded data, two FC 1000 layers, dropout 0.5",
               _relu_net(1000, 1000, p_dropout=0.5), True, 40, 0.03, 0.0, 0.9960),
]

#: The last rung: the dropout runs' nets voting together (the book: 5 nets).
ENSEMBLE = "ensemble"
ENSEMBLE_BOOK_ACCURACY = 0.9967
NAMES = [e.name for e in LADDER] + [ENSEMBLE]


#### Running the ladder
def _settings(args, experiment):
    """What makes two runs of an experiment comparable (resuming skips a
    run only if these match)."""
    return {"epochs": experiment.epochs if args.epochs is None else args.epochs,
            "train_size": args.train_size, "eval_size": args.eval_size,
            "mini_batch_size": args.mini_batch_size}


def _read_runs(path):
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        runs.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass    # a line cut short by a crash: that run is redone
    return runs


def _append(path, record):
    """Add ``record`` as a line of its own, even after a line a crash cut short."""
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(json.dumps(record).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())


def _load(args):
    """The training, validation and test data, and the expanded training
    data, honouring --train-size and --eval-size."""
    training, validation, test = data.load_data(args.data)
    if args.train_size:
        training = tuple(part[:args.train_size] for part in training)
    if args.eval_size:
        validation = tuple(part[:args.eval_size] for part in validation)
        test = tuple(part[:args.eval_size] for part in test)
    return training, validation, test


def run(args, say=print):
    """Run the experiments ``args`` selects (see :func:`parser`); return all
    the runs recorded in the output folder, old and new."""
    from network3.network import Network
    os.makedirs(os.path.join(args.output, "nets"), exist_ok=True)
    path = os.path.join(args.output, "runs.jsonl")
    names = NAMES if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError("--only: unknown experiment(s) {0}; choose from {1}".format(
            ", ".join(unknown), ", ".join(NAMES)))
    training, validation, test = _load(args)
    validation_shared, test_shared = data.shared(validation), data.shared(test)
    expanded = None
    shared = {}
    runs = _read_runs(path)
    for experiment in LADDER:
        if experiment.name not in names:
            continue
        settings = _settings(args, experiment)
        for repeat in range(args.repeats):
            if any(r["experiment"] == experiment.name and r["repeat"] == repeat
                   and r["settings"] == settings for r in runs):
                continue
            if experiment.expanded and expanded is None:
                expanded = _expanded(args, training, say)
            key = "expanded" if experiment.expanded else "training"
            if key not in shared:
                shared[key] = data.shared(expanded if experiment.expanded else training)
            seed = args.seed + repeat
            say("== {0} ({1}), run {2} of {3}, seed {4}".format(
                experiment.name, experiment.description, repeat + 1, args.repeats,
                seed))
            seeding.seed(seed)
            mbs = args.mini_batch_size
            net = Network(experiment.build(mbs), mbs, device=args.device,
                          backend=args.backend)
            start = time.perf_counter()
            history = net.SGD(shared[key], settings["epochs"], mbs, experiment.eta,
                              validation_shared, test_shared,
                              lmbda=experiment.lmbda, verbose=args.verbose)
            seconds = time.perf_counter() - start
            net_file = os.path.join(args.output, "nets",
                                    "{0}-{1}.npz".format(experiment.name, repeat))
            net.save(net_file)
            record = {"experiment": experiment.name, "repeat": repeat, "seed": seed,
                      "settings": settings,
                      "best_validation_accuracy": history.best_validation_accuracy,
                      "test_accuracy": history.best_test_accuracy,
                      "best_epoch": history.best_epoch, "seconds": seconds,
                      "net": os.path.relpath(net_file, args.output),
                      "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            _append(path, record)
            runs.append(record)
            say("== {0}: test accuracy {1:.2%} in {2:.0f} s".format(
                experiment.name, record["test_accuracy"] or 0.0, seconds))
    if ENSEMBLE in names:
        _run_ensemble(args, path, test, say)
    text = table(_read_runs(path))
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    return runs


def _expanded(args, training, say):
    """The expanded training set: the file, when training on all of MNIST
    and it exists, else made now from the training images in use."""
    if not args.train_size and os.path.exists(data.resolve(args.expanded)):
        return data.load_data(args.expanded)[0]
    say("Expanding {0} training images (4 one-pixel shifts each)".format(
        len(training[0])))
    return data.expand(training, rng=args.seed)


def _run_ensemble(args, path, test, say):
    """Let the nets of the dropout runs vote; record it as one more run."""
    from network3.saving import load
    settings = _settings(args, LADDER[-1])
    runs = [r for r in _read_runs(path) if r["experiment"] == "dropout"
            and r["settings"] == settings]
    if not runs:
        say("== ensemble: no dropout runs to vote with; run 'dropout' first")
        return
    nets = [load(os.path.join(args.output, r["net"]), device=args.device,
                 backend=args.backend) for r in sorted(runs, key=lambda r: r["repeat"])]
    start = time.perf_counter()
    result = ensemble(nets, test)
    record = {"experiment": ENSEMBLE, "repeat": 0, "seed": None,
              "settings": dict(settings, nets=len(nets)),
              "test_accuracy": result.accuracy, "errors": len(result.errors),
              "seconds": time.perf_counter() - start,
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    _append(path, record)
    say("== ensemble of {0} dropout nets: test accuracy {1:.2%} ({2} errors)".format(
        len(nets), result.accuracy, len(result.errors)))


#### Reporting
def table(runs):
    """Markdown: experiment, book accuracy, our runs (mean ± standard
    deviation of the test accuracy), seconds per run.  For each experiment
    only the latest settings count; an ensemble's latest vote counts."""
    lines = ["| experiment | book | ours: test accuracy | runs | epochs | s per run |",
             "|---|---|---|---|---|---|"]
    books = {e.name: e.book_accuracy for e in LADDER}
    books[ENSEMBLE] = ENSEMBLE_BOOK_ACCURACY
    for name in NAMES:
        mine = [r for r in runs if r["experiment"] == name]
        if not mine:
            continue
        latest = mine[-1]["settings"]
        mine = [r for r in mine if r["settings"] == latest]
        if name == ENSEMBLE:
            mine = mine[-1:]
        accuracies = [100 * r["test_accuracy"] for r in mine
                      if r["test_accuracy"] is not None]
        ours = "-" if not accuracies else (
            "{0:.2f}%".format(accuracies[0]) if len(accuracies) == 1 else
            "{0:.2f}% ± {1:.2f}".format(statistics.mean(accuracies),
                                        statistics.stdev(accuracies)))
        book = books[name]
        lines.append("| {0} | {1} | {2} | {3} | {4} | {5:.0f} |".format(
            name, "-" if book is None else "{0:.2f}%".format(100 * book), ours,
            len(mine) if name != ENSEMBLE else "{0} nets".format(latest.get("nets")),
            latest["epochs"], statistics.mean(r["seconds"] for r in mine)))
    return "\n".join(lines) + "\n"


#### Command line
def parser(prog="experiments.py"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run the ladder of experiments of chapter 6, with the book's "
                    "hyper-parameters unless told otherwise.  Each finished run is "
                    "appended to OUTPUT/runs.jsonl; running again skips the runs "
                    "already there, so an interrupted sweep resumes.",
        epilog="experiments: " + ", ".join(NAMES))
    p.add_argument("--only", metavar="NAMES",
                   help="comma-separated experiments to run (default: all)")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of each experiment (default: 3, as the book)")
    p.add_argument("--epochs", type=int,
                   help="epochs of every run (default: the book's, 60 or 40)")
    p.add_argument("--output", default="experiments", metavar="DIR",
                   help="where runs.jsonl, table.md and the trained nets go "
                        "(default: ./experiments)")
    p.add_argument("--data", default="../data/mnist.pkl.gz", metavar="FILE")
    p.add_argument("--expanded", default="../data/mnist_expanded.pkl.gz",
                   metavar="FILE", help="the expanded training set (made from the "
                   "training data when missing)")
    p.add_argument("--train-size", type=int, metavar="N",
                   help="use the first N training images only")
    p.add_argument("--eval-size", type=int, metavar="N",
                   help="use the first N validation and test images only")
    p.add_argument("--mini-batch-size", type=int, default=10, metavar="N")
    p.add_argument("--seed", type=int, default=0,
                   help="run k of an experiment uses seed SEED+k (default 0)")
    p.add_argument("--device", choices=["cpu", "gpu", "cuda"])
    p.add_argument("--backend", choices=["numba", "jax"])
    p.add_argument("--quiet", dest="verbose", action="store_false",
                   help="do not print SGD's lines")
    return p


def main(argv=None, prog="experiments.py"):
    """Run the command line; return the exit status."""
    args = parser(prog).parse_args(argv)
    for name in ("repeats", "epochs", "train_size", "eval_size", "mini_batch_size"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "epochs" else 1):
            print("{0}: error: --{1} must be positive, got {2}".format(
                prog, name.replace("_", "-"), value), file=sys.stderr)
            return 2
    try:
        run(args)
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        print("{0}: error: {1}".format(prog, error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("{0}: interrupted; finished runs are in {1}; run again to "
              "resume".format(prog, os.path.join(args.output, "runs.jsonl")),
              file=sys.stderr)
        return 130
    return 0
