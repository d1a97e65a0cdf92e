"""experiments.py
~~~~~~~~~~~~~~~~~

The chapter's ladder of experiments, runnable as one sweep.

Chapter 6 climbs from a fully connected baseline (97.80%) through
convolutional layers, ReLUs, an expanded training set (or, a rung the
book does not have, training images transformed afresh each epoch), more
and wider fully connected layers and dropout (99.60%) to an ensemble of
dropout nets (99.67%).  Each rung is one of ``network3.chapter``'s recipes, with the
book's hyper-parameters and accuracy; :func:`run` trains the chosen rungs a
few times each, appending one JSON line per finished run to ``runs.jsonl``,
so a sweep that is interrupted resumes where it stopped; :func:`table` turns
the lines into the markdown table the runner prints and writes.

Only finished runs are recorded.  Ctrl-C ends the whole sweep at once
(exit status 130) and records nothing of the run it cut short, which the
next sweep trains again; a run whose cost diverged is recorded as diverged,
with its epoch, so that resuming does not try it again.

``python scripts/experiments.py --help`` (or ``network3 experiments``).
"""

#### Libraries
# Standard library
import argparse
import json
import os
import statistics
import sys
import time

# network3
from network3 import chapter, data, files, seeding
from network3.ensemble import ensemble
from network3.network import Network, load
from network3.training import Interruption, is_interrupt


#### The ladder
#: The rungs, in the book's order: the chapter's networks (``network3.chapter``).
LADDER = list(chapter.RECIPES)

#: The last rung: the dropout runs' nets voting together (the book: 5 nets).
ENSEMBLE = "ensemble"
ENSEMBLE_BOOK_ACCURACY = 0.9967
NAMES = LADDER + [ENSEMBLE]


class Interrupted(Exception):
    """Ctrl-C stopped a run: the sweep ends, keeping the finished runs."""


#### Running the ladder
def _settings(args, recipe):
    """What makes two runs of an experiment comparable (resuming skips a
    run only if these match)."""
    return {"epochs": recipe.epochs if args.epochs is None else args.epochs,
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
    """Add ``record`` to ``runs.jsonl`` as a line of its own."""
    files.append_line(path, json.dumps(record).encode())


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
    the runs recorded in the output folder, old and new.

    Raises :class:`Interrupted` when Ctrl-C stops a run.
    """
    os.makedirs(os.path.join(args.output, "nets"), exist_ok=True)
    path = os.path.join(args.output, "runs.jsonl")
    names = NAMES if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError("--only: unknown experiment(s) {0}; choose from {1}".format(
            ", ".join(unknown), ", ".join(NAMES)))
    training, validation, test = _load(args)
    evaluation = data.shared(validation), data.shared(test)
    sets = {False: training}       # expanded or not -> training set
    shared = {}
    runs = _read_runs(path)
    for name in LADDER:
        if name not in names:
            continue
        recipe = chapter.RECIPES[name]
        settings = _settings(args, recipe)
        for repeat in range(args.repeats):
            if any(r["experiment"] == name and r["repeat"] == repeat
                   and r["settings"] == settings for r in runs):
                continue
            if recipe.expanded not in sets:
                sets[True] = _expanded(args, training, say)
            if recipe.expanded not in shared:
                shared[recipe.expanded] = data.shared(sets[recipe.expanded])
            with Interruption() as interruption:
                record, net = _train(args, name, recipe, repeat, settings,
                                     shared[recipe.expanded], evaluation, say)
                # a finished run is recorded whole, even if Ctrl-C comes now
                with interruption.shielded():
                    if net is not None:
                        net.save(os.path.join(args.output, record["net"]))
                    _append(path, record)
                    runs.append(record)
            if interruption.requested:
                raise Interrupted(name, repeat)
    if ENSEMBLE in names:
        _run_ensemble(args, path, test, say)
    text = table(_read_runs(path))
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    return runs


def _train(args, name, recipe, repeat, settings, training, evaluation, say):
    """Train one run; return its record (finished or diverged) and the
    trained net to save (None if it diverged), or raise Interrupted."""
    seed = args.seed + repeat
    say("== {0} ({1}), run {2} of {3}, seed {4}".format(
        name, recipe.description, repeat + 1, args.repeats, seed))
    seeding.seed(seed)
    mbs = args.mini_batch_size
    net = Network(chapter.build_layers(name, mbs), mbs, device=args.device,
                  backend=args.backend)
    start = time.perf_counter()
    history = net.SGD(training, settings["epochs"], mbs, recipe.eta, *evaluation,
                      lmbda=recipe.lmbda, verbose=args.verbose, augment=recipe.augment)
    seconds = time.perf_counter() - start
    if history.stopped == "interrupted":
        raise Interrupted(name, repeat)
    record = {"experiment": name, "repeat": repeat, "seed": seed,
              "settings": settings,
              "best_validation_accuracy": history.best_validation_accuracy,
              "test_accuracy": history.best_test_accuracy,
              "best_epoch": history.best_epoch, "seconds": seconds,
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    if history.stopped == "diverged":
        record.update(diverged=True, diverged_epoch=history.epochs,
                      test_accuracy=None)
        say("== {0}: diverged in epoch {1}; recorded as diverged".format(
            name, history.epochs))
        return record, None
    record["net"] = os.path.join("nets", "{0}-{1}.npz".format(name, repeat))
    say("== {0}: test accuracy {1:.2%} in {2:.0f} s".format(
        name, record["test_accuracy"] or 0.0, seconds))
    return record, net


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
    settings = _settings(args, chapter.RECIPES["dropout"])
    runs = [r for r in _read_runs(path) if r["experiment"] == "dropout"
            and r["settings"] == settings and "net" in r]
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
    deviation of the test accuracy; diverged runs are counted, not
    averaged), seconds per run.  For each experiment only the latest
    settings count; an ensemble's latest vote counts."""
    lines = ["| experiment | book | ours: test accuracy | runs | epochs | s per run |",
             "|---|---|---|---|---|---|"]
    books = {name: recipe.book_accuracy for name, recipe in chapter.RECIPES.items()}
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
        count = str(len(mine))
        diverged = sum(1 for r in mine if r.get("diverged"))
        if diverged:
            count += " ({0} diverged)".format(diverged)
        lines.append("| {0} | {1} | {2} | {3} | {4} | {5:.0f} |".format(
            name, "-" if book is None else "{0:.2f}%".format(100 * book), ours,
            count if name != ENSEMBLE else "{0} nets".format(latest.get("nets")),
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
        if not is_interrupt(error):
            print("{0}: error: {1}".format(prog, error), file=sys.stderr)
            return 1
        _say_interrupted(prog, args)
        return 130
    except (KeyboardInterrupt, Interrupted):
        _say_interrupted(prog, args)
        return 130
    return 0


def _say_interrupted(prog, args):
    print("{0}: interrupted; finished runs are in {1}; run again to "
              "resume".format(prog, os.path.join(args.output, "runs.jsonl")),
              file=sys.stderr)
