"""sweeps.py
~~~~~~~~~~~~

Hyper-parameter sweeps: chapter 3's search for a good learning rate,
regularization and mini-batch size, over one of the chapter's networks or
layers described on the command line.

``network3 sweep --net relu --vary eta=0.01,0.03,0.1 --vary lmbda=0,0.1``
trains every combination (a grid); ``--random K`` trains K combinations
drawn at random instead, where an option may also be given a range,
``eta=0.001:1`` (drawn on a log scale for eta and lmbda, evenly otherwise).
The options a sweep can vary are :data:`OPTIONS`'s: SGD's (eta, lmbda,
mini_batch_size, epochs, momentum, the halve_on_plateau schedule's
patience, early_stopping) and the layers' (pool_mode, init, activation).
Every value is checked, and every network built once, before any run
starts.

Each combination is trained ``--repeats`` times (run k with seed SEED+k) by
``network3.runs``, here or on Dask (``--workers``, ``--scheduler``); the
runs accumulate in ``OUTPUT/runs.jsonl`` (an interrupted sweep resumes), and
at the end :func:`table` ranks the combinations by validation accuracy (the
book chooses hyper-parameters on the validation data, keeping the test data
for the end) into ``OUTPUT/table.md`` and ``plots.plot_sweep`` draws accuracy
against each swept option into ``OUTPUT/sweep.png``.

"""

#### Libraries
# Standard library
import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import os
import statistics
import sys

# Third-party libraries
import numpy as np

# network3
from network3 import activations, chapter, cluster, ops, runs
from network3.augmentation import Augmentation
from network3.specs import format_augmentation


#### What a sweep can vary
@dataclasses.dataclass(frozen=True)
class Option:
    """An option a sweep can vary: the type of its values (``float``,
    ``int`` or ``str``), what a value must be (``expected``, said in
    errors, and ``allowed``, a test or a tuple of choices), whether ``none``
    is a value (no schedule, no early stopping), and whether a random range
    is drawn on a log scale."""

    kind: type
    expected: str
    allowed: object
    none: bool = False
    log: bool = False

    def parse(self, name, text):
        """The value ``text`` names, or ValueError saying what was expected."""
        text = text.strip()
        if self.none and text.lower() == "none":
            return None
        try:
            value = self.kind(text) if self.kind is not int else _integer(text)
        except ValueError:
            value = None
        if value is None or not self.accepts(value):
            raise ValueError("--vary {0}: expected {1}, got {2!r}".format(
                name, self.expected, text))
        return value

    def accepts(self, value):
        if value is None:
            return self.none
        if isinstance(self.allowed, tuple):
            return value in self.allowed
        return math.isfinite(value) and self.allowed(value)


def _integer(text):
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


#: The options a sweep varies, by the name ``--vary`` takes.
OPTIONS = {
    "eta": Option(float, "a learning rate > 0", lambda v: v > 0, log=True),
    "lmbda": Option(float, "an L2 regularization parameter >= 0", lambda v: v >= 0,
                    log=True),
    "mini_batch_size": Option(int, "a whole number >= 1", lambda v: v >= 1),
    "epochs": Option(int, "a whole number of epochs >= 1", lambda v: v >= 1),
    "momentum": Option(float, "a momentum in [0, 1)", lambda v: 0 <= v < 1),
    "halve_on_plateau": Option(int, "a patience in epochs >= 1, or none",
                               lambda v: v >= 1, none=True),
    "early_stopping": Option(int, "a number of epochs >= 1, or none",
                             lambda v: v >= 1, none=True),
    "pool_mode": Option(str, "one of " + ", ".join(ops.POOL_MODES), ops.POOL_MODES),
    "init": Option(str, "one of book, he, glorot", ("book", "he", "glorot")),
    "activation": Option(str, "one of " + ", ".join(
        a.lower() for a in activations.ACTIVATIONS),
        tuple(a.lower() for a in activations.ACTIVATIONS)),
}


def parse_vary(text):
    """``(name, values)`` from a ``--vary`` item: ``NAME=V1,V2,...`` (a list)
    or ``NAME=LOW:HIGH`` (a range, for ``--random``; values is then the
    pair ``("range", low, high)``).  Raises ValueError naming the bad part."""
    name, equals, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not equals or not values.strip():
        raise ValueError("--vary: expected NAME=V1,V2,... or NAME=LOW:HIGH, got "
                         "{0!r}".format(text))
    if name not in OPTIONS:
        raise ValueError("--vary: unknown option {0!r}; a sweep varies {1}".format(
            name, ", ".join(OPTIONS)))
    option = OPTIONS[name]
    if ":" in values:
        low, _, high = values.partition(":")
        if option.kind is str:
            raise ValueError("--vary {0}: a range LOW:HIGH needs numbers; list the "
                             "values instead".format(name))
        low, high = option.parse(name, low), option.parse(name, high)
        if low is None or high is None or not low < high:
            raise ValueError("--vary {0}: a range LOW:HIGH needs LOW < HIGH, got "
                             "{1!r}".format(name, values))
        return name, ("range", low, high)
    parsed = [option.parse(name, v) for v in values.split(",")]
    if len(set(map(repr, parsed))) != len(parsed):
        raise ValueError("--vary {0}: a value is given twice in {1!r}".format(
            name, values))
    return name, parsed


def combinations(varied, count=None, seed=0):
    """The combinations of values to train, as dicts ``{name: value}``.

    ``varied`` maps each swept option to a list of values or a range
    (:func:`parse_vary`).  Without ``count``: every combination (a grid; no
    ranges).  With ``count``: that many combinations drawn with NumPy's
    generator seeded by ``seed``, each value uniformly from its list or
    range (a log scale for ranges of eta and lmbda above 0), a combination
    drawn twice kept once.
    """
    names = list(varied)
    if count is None:
        ranges = [n for n in names if isinstance(varied[n], tuple)]
        if ranges:
            raise ValueError("--vary {0}: a range LOW:HIGH is for --random K; list "
                             "the values of a grid".format(ranges[0]))
        return [dict(zip(names, values))
                for values in itertools.product(*(varied[n] for n in names))]
    rng = np.random.default_rng(seed)
    drawn = []
    for _ in range(count):
        combination = {n: _draw(OPTIONS[n], varied[n], rng) for n in names}
        if combination not in drawn:
            drawn.append(combination)
    return drawn


def _draw(option, values, rng):
    if not isinstance(values, tuple):
        value = values[int(rng.integers(len(values)))]
        return value.item() if isinstance(value, np.generic) else value
    _, low, high = values
    if option.kind is int:
        return int(rng.integers(low, high + 1))
    if option.log and low > 0:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return float(rng.uniform(low, high))


#### The runs of a sweep
def base_options(args):
    """The options of every run before the swept ones replace theirs: the
    chapter net's recipe (eta, lmbda, epochs) unless the arguments say
    otherwise."""
    recipe = chapter.RECIPES[args.net]
    return dict(runs.OPTIONS,
                eta=recipe.eta if args.eta is None else args.eta,
                lmbda=recipe.lmbda if args.lmbda is None else args.lmbda,
                epochs=recipe.epochs if args.epochs is None else args.epochs,
                mini_batch_size=args.mini_batch_size, momentum=args.momentum,
                halve_on_plateau=args.halve_on_plateau,
                early_stopping=args.early_stopping, init=args.init,
                pool_mode=args.pool_mode,
                activation=args.activation if args.layers else None,
                augment=None if args.layers else recipe.augment)


def sweep_runs(args, found):
    """The runs of the combinations ``found`` (:func:`combinations`),
    ``args.repeats`` of each, checked: each network is built once here, so
    an impossible combination is refused before any run starts."""
    swept = {n for c in found for n in c}
    if args.layers is None and "activation" in swept:
        raise ValueError("--vary activation: the chapter's networks have their own "
                         "activation; vary it with --layers")
    base = base_options(args)
    name = args.net if args.layers is None else "layers"
    recipe = chapter.RECIPES[args.net]
    spec = runs.DataSpec(args.data, args.train_size, args.eval_size,
                         expanded=args.layers is None and recipe.expanded,
                         expanded_path=args.expanded, expand_seed=args.seed)
    settings = {"net": None if args.layers else args.net, "layers": args.layers,
                "data": args.data, "train_size": args.train_size,
                "eval_size": args.eval_size}
    settings.update((k, _plain(v)) for k, v in base.items() if k not in swept)
    todo, built = [], set()
    for config in found:
        options = dict(base, **config)
        tag = hashlib.sha256(json.dumps([settings, config], sort_keys=True)
                             .encode()).hexdigest()[:10]
        shown = ", ".join("{0}={1}".format(k, v) for k, v in config.items())
        for repeat in range(args.repeats):
            run = runs.Run(
                experiment=name, repeat=repeat, seed=args.seed + repeat,
                settings=settings, options=options, config=config, data=spec,
                net=None if args.layers else args.net, layers=args.layers,
                description="{0} ({1}), run {2} of {3}".format(
                    name, shown, repeat + 1, args.repeats),
                device=args.device, backend=args.backend, verbose=args.verbose,
                file="{0}-{1}-{2}.npz".format(name, tag, repeat))
            layout = tuple(options[k] for k in ("mini_batch_size", "init",
                                                 "pool_mode", "activation"))
            if layout not in built:
                try:
                    runs.build_layers(run)
                except ValueError as error:
                    raise ValueError("{0}: {1}".format(shown or name, error)) from None
                built.add(layout)
            todo.append(run)
    return todo


def _plain(value):
    """``value`` as it comes back from runs.jsonl (an Augmentation as its
    ``--augment`` description), so that resuming finds its runs."""
    if isinstance(value, Augmentation):
        value = format_augmentation(value)
    return json.loads(json.dumps(value))


#### Reporting
def _spread(values, digits=2):
    if not values:
        return "-"
    if len(values) == 1:
        return "{0:.{1}f}%".format(values[0], digits)
    return "{0:.{2}f}% ± {1:.{2}f}".format(statistics.mean(values),
                                            statistics.stdev(values), digits)


def table(records, swept):
    """Markdown: one row per combination of the ``swept`` options' values
    in ``records`` (runs.jsonl's lines of one sweep), best mean validation
    accuracy first: its validation and test accuracy (mean ± standard
    deviation over the repeats; diverged runs counted, not averaged), runs,
    mean epochs trained and seconds per run."""
    groups = {}
    for r in records:
        key = json.dumps([r["config"].get(n) for n in swept])
        groups.setdefault(key, []).append(r)
    rows = []
    for key, group in groups.items():
        ok = [r for r in group if not r.get("diverged")]
        validation = [100 * r["best_validation_accuracy"] for r in ok
                      if r["best_validation_accuracy"] is not None]
        test = [100 * r["test_accuracy"] for r in ok if r["test_accuracy"] is not None]
        count = str(len(group)) + (" ({0} diverged)".format(len(group) - len(ok))
                                   if len(ok) < len(group) else "")
        epochs = statistics.mean(r.get("epochs", r["best_epoch"] or 0) for r in group)
        cells = [_value(v) for v in json.loads(key)] + [
            _spread(validation), _spread(test), count, "{0:g}".format(epochs),
            "{0:.0f}".format(statistics.mean(r["seconds"] for r in group))]
        rows.append((-(statistics.mean(validation) if validation else -1), cells))
    lines = ["| " + " | ".join(list(swept) + [
                 "validation accuracy", "test accuracy", "runs", "epochs",
                 "s per run"]) + " |",
             "|" + "---|" * (len(swept) + 5)]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(
        rows, key=lambda row: row[0])]
    return "\n".join(lines) + "\n"


def _value(value):
    return "none" if value is None else "{0:g}".format(value) if isinstance(
        value, float) else str(value)


def records_of(path, todo):
    """The records of runs.jsonl that belong to the sweep of ``todo``'s
    settings (earlier sweeps of other values with the same settings too)."""
    if not todo:
        return []
    first = todo[0]
    return [r for r in runs.read_runs(path) if r.get("experiment") == first.experiment
            and r.get("settings") == first.settings and r.get("config") is not None]


#### Command line
def parser(prog="network3 sweep"):
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one of the chapter's networks (or --layers) for every "
                    "combination of the values --vary lists (or --random K of "
                    "them), --repeats times each, and rank the combinations by "
                    "validation accuracy.  Finished runs are appended to "
                    "OUTPUT/runs.jsonl; running again skips them.",
        epilog="options to --vary: " + "; ".join(
            "{0} ({1})".format(n, o.expected) for n, o in OPTIONS.items()) +
        "\n\nexamples:\n"
        "  network3 sweep --net relu --vary eta=0.01,0.03,0.1 --vary lmbda=0,0.1,1 "
        "--epochs 10\n"
        "  network3 sweep --net relu --vary eta=0.003:0.3 --vary momentum=0:0.9 "
        "--random 20 --workers\n"
        "  network3 sweep --layers conv20,fc100,softmax --activation relu "
        "--vary pool_mode=max,l2,average_exc_pad --repeats 3")
    p.add_argument("--vary", action="append", required=True, metavar="NAME=VALUES",
                   help="an option and its values: NAME=V1,V2,... (or NAME=LOW:HIGH "
                        "with --random); repeat --vary for more options")
    p.add_argument("--random", type=int, metavar="K",
                   help="train K combinations drawn at random (seeded by --seed) "
                        "instead of every one")
    p.add_argument("--net", choices=list(chapter.RECIPES), default="relu",
                   metavar="NAME", help="the chapter's network (default relu): " +
                   ", ".join(chapter.RECIPES))
    p.add_argument("--layers", metavar="SPEC",
                   help="describe the layers instead (see 'network3 train --help')")
    p.add_argument("--activation", default="sigmoid",
                   choices=OPTIONS["activation"].allowed,
                   help="activation of --layers (default sigmoid)")
    p.add_argument("--repeats", type=int, default=1,
                   help="runs of each combination, run k with seed SEED+k (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="default: the net's recipe's")
    p.add_argument("--eta", type=float, help="default: the net's recipe's")
    p.add_argument("--lmbda", type=float, help="default: the net's recipe's")
    p.add_argument("--mini-batch-size", type=int, default=10, metavar="N")
    p.add_argument("--momentum", type=float, default=0.0, metavar="MU")
    p.add_argument("--halve-on-plateau", type=int, metavar="PATIENCE")
    p.add_argument("--early-stopping", type=int, metavar="N")
    p.add_argument("--init", choices=OPTIONS["init"].allowed, default="book")
    p.add_argument("--pool-mode", choices=ops.POOL_MODES, default="max")
    runs.add_arguments(p)
    p.add_argument("--output", default="sweep", metavar="DIR",
                   help="where runs.jsonl, table.md, sweep.png and the nets go "
                        "(default: ./sweep)")
    cluster.add_arguments(p)
    return p


def check(args):
    """The combinations ``args`` asks for, checked; raise ValueError naming
    the first bad argument."""
    for name in ("random", "repeats", "epochs", "train_size", "eval_size",
                 "mini_batch_size", "halve_on_plateau", "early_stopping", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError("--{0}: expected a whole number >= 1, got {1}".format(
                name.replace("_", "-"), value))
    for name, option in (("eta", OPTIONS["eta"]), ("lmbda", OPTIONS["lmbda"]),
                         ("momentum", OPTIONS["momentum"])):
        value = getattr(args, name)
        if value is not None and not option.accepts(value):
            raise ValueError("--{0}: expected {1}, got {2}".format(
                name, option.expected, value))
    varied = {}
    for item in args.vary:
        name, values = parse_vary(item)
        if name in varied:
            raise ValueError("--vary {0}: given twice".format(name))
        varied[name] = values
    cluster.check_engine_arguments(args.workers, args.scheduler)
    return combinations(varied, args.random, args.seed)


def plan(args):
    """The runs of the sweep ``args`` describes, every value and network
    checked; raise ValueError naming the first bad one."""
    return sweep_runs(args, check(args))


def run(args, say=print, todo=None):
    """Run the sweep ``args`` describes (see :func:`parser`), whose runs are
    ``todo`` if :func:`plan` has made them, here or on Dask (``args.workers``,
    ``args.scheduler``); return the number of runs that failed.

    Raises :class:`network3.runs.Interrupted` when Ctrl-C stops the sweep.
    """
    todo = plan(args) if todo is None else todo
    swept = list(dict.fromkeys(n for run in todo for n in run.config))
    say("network3 sweep: {0} combination{1} of {2}, {3} run{4} each".format(
        len(todo) // args.repeats, "" if len(todo) == args.repeats else "s",
        ", ".join(swept), args.repeats, "" if args.repeats == 1 else "s"))
    failed = cluster.carry_out(todo, args.output, say, args.workers, args.scheduler)
    records = records_of(os.path.join(args.output, "runs.jsonl"), todo)
    text = table(records, swept)
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    if records:
        from network3 import plots
        say("network3 sweep: drew accuracy against each option to " +
            plots.plot_sweep(records, swept, os.path.join(args.output, "sweep.png")))
    return failed


def main(argv=None, prog="network3 sweep"):
    """Run the command line; return the exit status."""
    p = parser(prog)
    args = p.parse_args(argv)
    try:
        todo = plan(args)
    except ValueError as error:
        p.print_usage(sys.stderr)
        print("{0}: error: {1}".format(prog, error), file=sys.stderr)
        return 2
    return runs.exit_status(lambda: run(args, todo=todo), prog, args.output)
