"""runs/ladder.py
~~~~~~~~~~~~~~~~~~

The chapter's ladder of experiments, runnable as one sweep.

Chapter 6 climbs from a fully connected baseline (97.80%) through
convolutional layers, ReLUs, an expanded training set (or, a rung the
book does not have, training images transformed afresh each epoch), more
and wider fully connected layers and dropout (99.60%) to an ensemble of
dropout nets (99.67%).  Each rung is one of ``network3.chapter``'s recipes,
with the book's hyper-parameters, data and accuracy; :func:`ladder` turns
the chosen rungs into runs (a few of each, seeded), and :func:`run` carries
them out (``runs.carry``: here or on Dask), lets the dropout nets vote, and
writes the table (``runs.tables.ladder_table``).

Only finished runs are recorded.  Ctrl-C ends the whole sweep at once; a
run it cut short (or a crash, or ``kill -9``) keeps its backup from its last
epoch under ``OUTPUT/backups``, and the next sweep goes on from there; a run
whose cost diverged is recorded as diverged, with its epoch, so that
resuming does not try it again.

"""

#### Libraries
# Standard library
import dataclasses
import os
import time

# network3
from network3 import chapter, data, options
from network3.backup import epoch_of
from network3.ensemble import ensemble
from network3.network import load
from network3.runs.carry import carry_out
from network3.runs.log import append, backup_file, read_runs
from network3.runs.on_dask import check_engine_arguments
from network3.runs.run import DataSpec, Run
from network3.runs.tables import ENSEMBLE, NAMES, ladder_table

#: The rungs that train, in the book's order: the chapter's networks.
LADDER = list(chapter.RECIPES)
#: The rung whose nets the ensemble lets vote, and how many of them the
#: book's ensemble has (five dropout nets: 99.67%).
VOTERS = "dropout"
ENSEMBLE_SIZE = 5


def _settings(args, recipe):
    """What makes two runs of an experiment comparable (resuming skips a
    run only if these match)."""
    return {"epochs": recipe.epochs if args.epochs is None else args.epochs,
            "train_size": args.train_size, "eval_size": args.eval_size,
            "mini_batch_size": args.mini_batch_size}


def ladder(args, names):
    """The runs of the rungs ``names`` (those of LADDER), ``args.repeats``
    each (the dropout net at least :data:`ENSEMBLE_SIZE` times when the
    ensemble is among ``names``: those are its voters), as
    :class:`network3.runs.Run` s: run k of an experiment has seed
    ``args.seed + k``.

    The runs come round by round: first run of every rung, then every
    second run, and so on, so that a sweep cut short has covered every rung
    once before it repeats any.  The ensemble's first run is five dropout
    nets (its voters), so all five come in the first round.
    """
    plain = DataSpec(args.data, args.train_size, args.eval_size,
                          expanded_path=args.expanded, expand_seed=args.seed)
    rungs = [name for name in LADDER if name in names]
    repeats = {name: args.repeats for name in rungs}
    voting = ENSEMBLE in names and VOTERS in repeats
    if voting:
        repeats[VOTERS] = max(args.repeats, ENSEMBLE_SIZE)

    def order(run):
        name, repeat = run
        first_round = voting and name == VOTERS and repeat < ENSEMBLE_SIZE
        return (0 if first_round else repeat, rungs.index(name))

    runs = [(name, repeat) for name in rungs for repeat in range(repeats[name])]
    for name, repeat in sorted(runs, key=order):
        yield _run(args, plain, name, repeat, repeats[name])


def _run(args, plain, name, repeat, repeats):
    """Run ``repeat`` (from 0) of the rung ``name``, of ``repeats``."""
    recipe = chapter.RECIPES[name]
    settings = _settings(args, recipe)
    values = dict(options.run_defaults(), eta=recipe.eta, lmbda=recipe.lmbda,
                  epochs=settings["epochs"], mini_batch_size=args.mini_batch_size,
                  augment=recipe.augment)
    return Run(
        experiment=name, repeat=repeat, seed=args.seed + repeat,
        settings=settings, options=values, net=name,
        data=dataclasses.replace(plain, expanded=recipe.expanded),
        description="{0} ({1}), run {2} of {3}".format(
            name, recipe.description, repeat + 1, repeats),
        device=args.device, backend=args.backend, verbose=args.verbose,
        file="{0}-{1}.npz".format(name, repeat))


def run(args, say=print):
    """Run the experiments ``args`` selects (see :func:`parser`), here or on
    Dask (``args.workers``, ``args.scheduler``); return the number of runs
    that failed (only on Dask: here an error ends the sweep).

    Raises :class:`network3.runs.run.Interrupted` when Ctrl-C stops the sweep.
    """
    names = NAMES if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError("--only: unknown experiment(s) {0}; choose from {1}".format(
            ", ".join(unknown), ", ".join(NAMES)))
    check_engine_arguments(args.workers, args.scheduler)
    todo = list(ladder(args, names))
    path = os.path.join(args.output, "runs.jsonl")
    # the ensemble votes once the sweep's dropout nets are all there (with
    # --only ensemble, whichever are there), as soon as they are
    voters = max(1, sum(run.experiment == VOTERS for run in todo))

    def vote(record=None):
        if ENSEMBLE in names and (record is None or record["experiment"] == VOTERS):
            _run_ensemble(args, path, say, voters, finished=record is None)
    failed = carry_out(todo, args.output, say, args.workers, args.scheduler,
                       kept=vote, tensorboard=args.tensorboard)
    vote()
    text = ladder_table(read_runs(path), unfinished(todo, args.output), names)
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    return failed


def unfinished(todo, output):
    """For each experiment, the epochs at which its runs of ``todo`` that
    were cut short will go on (from their backups under ``output``)."""
    found = {}
    for run in todo:
        epoch = epoch_of(backup_file(output, run))
        if epoch is not None:
            found.setdefault(run.experiment, []).append(epoch)
    return found


def _run_ensemble(args, path, say, wanted, finished):
    """Let the nets of the dropout runs vote, once there are ``wanted`` of
    them and unless the latest vote (at these settings) had as many;
    record it as one more run.  ``finished``: the sweep is over (say so if
    the nets are not all there)."""
    settings = _settings(args, chapter.RECIPES[VOTERS])
    runs = read_runs(path)
    voters = [r for r in runs if r["experiment"] == VOTERS
              and r["settings"] == settings and "net" in r]
    if len(voters) < wanted:
        if finished:
            say("== ensemble: {0} of its {1} dropout nets are there; it votes when "
                "all are".format(len(voters), wanted))
        return
    votes = [r for r in runs if r["experiment"] == ENSEMBLE]
    if votes and votes[-1]["settings"] == dict(settings, nets=len(voters)):
        return                                  # (this vote is recorded)
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
    append(path, record)
    say("== ensemble of {0} dropout nets: test accuracy {1:.2%} ({2} errors)".format(
        len(nets), result.accuracy, len(result.errors)))
