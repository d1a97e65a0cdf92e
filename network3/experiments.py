"""experiments.py
~~~~~~~~~~~~~~~~~

The chapter's ladder of experiments, runnable as one sweep.

Chapter 6 climbs from a fully connected baseline (97.80%) through
convolutional layers, ReLUs, an expanded training set (or, a rung the
book does not have, training images transformed afresh each epoch), more
and wider fully connected layers and dropout (99.60%) to an ensemble of
dropout nets (99.67%).  Each rung is one of ``network3.chapter``'s recipes,
with the book's hyper-parameters and accuracy; :func:`ladder` turns the
chosen rungs into runs (a few of each, seeded), and :func:`run` carries them
out with ``network3.runs``: one after another in this process, or on Dask
(``--workers N``, ``--scheduler ADDRESS``: ``network3.cluster``), appending
one JSON line per finished run to ``runs.jsonl``, so a sweep that is
interrupted resumes where it stopped; :func:`table` turns the lines into the
markdown table the runner prints and writes.

Only finished runs are recorded.  Ctrl-C ends the whole sweep at once
(exit status 130) and records nothing of the runs it cut short, which the
next sweep trains again; a run whose cost diverged is recorded as diverged,
with its epoch, so that resuming does not try it again.

``python scripts/experiments.py --help`` (or ``network3 experiments``).
"""

#### Libraries
# Standard library
import argparse
import dataclasses
import os
import statistics
import sys
import time

# network3
from network3 import chapter, cluster, data, runs
from network3.ensemble import ensemble
from network3.network import load


#### The ladder
#: The rungs, in the book's order: the chapter's networks (``network3.chapter``).
LADDER = list(chapter.RECIPES)

#: The last rung: the dropout runs' nets voting together (the book: 5 nets).
ENSEMBLE = "ensemble"
ENSEMBLE_BOOK_ACCURACY = 0.9967
NAMES = LADDER + [ENSEMBLE]


#### Running the ladder
def _settings(args, recipe):
    """What makes two runs of an experiment comparable (resuming skips a
    run only if these match)."""
    return {"epochs": recipe.epochs if args.epochs is None else args.epochs,
            "train_size": args.train_size, "eval_size": args.eval_size,
            "mini_batch_size": args.mini_batch_size}


def ladder(args, names):
    """The runs of the rungs ``names`` (those of LADDER), ``args.repeats``
    each, as :class:`network3.runs.Run` s: run k of an experiment has seed
    ``args.seed + k``."""
    plain = runs.DataSpec(args.data, args.train_size, args.eval_size,
                          expanded_path=args.expanded, expand_seed=args.seed)
    for name in LADDER:
        if name not in names:
            continue
        recipe = chapter.RECIPES[name]
        settings = _settings(args, recipe)
        options = dict(runs.OPTIONS, eta=recipe.eta, lmbda=recipe.lmbda,
                       epochs=settings["epochs"], mini_batch_size=args.mini_batch_size,
                       augment=recipe.augment)
        for repeat in range(args.repeats):
            yield runs.Run(
                experiment=name, repeat=repeat, seed=args.seed + repeat,
                settings=settings, options=options, net=name,
                data=dataclasses.replace(plain, expanded=recipe.expanded),
                description="{0} ({1}), run {2} of {3}".format(
                    name, recipe.description, repeat + 1, args.repeats),
                device=args.device, backend=args.backend, verbose=args.verbose,
                file="{0}-{1}.npz".format(name, repeat))


def run(args, say=print):
    """Run the experiments ``args`` selects (see :func:`parser`), here or on
    Dask (``args.workers``, ``args.scheduler``); return the number of runs
    that failed (only on Dask: here an error ends the sweep).

    Raises :class:`network3.runs.Interrupted` when Ctrl-C stops the sweep.
    """
    names = NAMES if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError("--only: unknown experiment(s) {0}; choose from {1}".format(
            ", ".join(unknown), ", ".join(NAMES)))
    cluster.check_engine_arguments(args.workers, args.scheduler)
    todo = list(ladder(args, names))
    failed = cluster.carry_out(todo, args.output, say, args.workers, args.scheduler)
    path = os.path.join(args.output, "runs.jsonl")
    if ENSEMBLE in names:
        _run_ensemble(args, path, say)
    text = table(runs.read_runs(path))
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    return failed


def _run_ensemble(args, path, say):
    """Let the nets of the dropout runs vote; record it as one more run."""
    settings = _settings(args, chapter.RECIPES["dropout"])
    voters = [r for r in runs.read_runs(path) if r["experiment"] == "dropout"
              and r["settings"] == settings and "net" in r]
    if not voters:
        say("== ensemble: no dropout runs to vote with; run 'dropout' first")
        return
    test = data.load_data(args.data)[2]
    if args.eval_size:
        test = tuple(part[:args.eval_size] for part in test)
    nets = [load(os.path.join(args.output, r["net"]), device=args.device,
                 backend=args.backend) for r in sorted(voters, key=lambda r: r["repeat"])]
    start = time.perf_counter()
    result = ensemble(nets, test)
    record = {"experiment": ENSEMBLE, "repeat": 0, "seed": None,
              "settings": dict(settings, nets=len(nets)),
              "test_accuracy": result.accuracy, "errors": len(result.errors),
              "seconds": time.perf_counter() - start,
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    runs.append(path, record)
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
    runs.add_arguments(p)
    p.add_argument("--mini-batch-size", type=int, default=10, metavar="N")
    p.add_argument("--seed", type=int, default=0,
                   help="run k of an experiment uses seed SEED+k (default 0)")
    cluster.add_arguments(p)
    return p


def main(argv=None, prog="experiments.py"):
    """Run the command line; return the exit status."""
    p = parser(prog)
    args = p.parse_args(argv)
    for name in ("repeats", "epochs", "train_size", "eval_size", "mini_batch_size",
                 "workers"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "epochs" else 1):
            p.print_usage(sys.stderr)
            print("{0}: error: --{1} must be {2}, got {3}".format(
                prog, name.replace("_", "-"), "non-negative" if name == "epochs"
                else "positive", value), file=sys.stderr)
            return 2
    return runs.exit_status(lambda: run(args), prog, args.output)
