"""runs/search.py
~~~~~~~~~~~~~~~~~~

Hyper-parameter search: chapter 3's hunt for a good learning rate,
regularization and mini-batch size, over one of the chapter's networks or
layers described in a line of text.

A search varies the options ``network3.options.swept()`` lists (SGD's, the
update rule, and the layers' pool_mode, init and activation).  Every value
of a grid is trained (:func:`combinations`), or ``count`` combinations drawn
at random, where an option may also be given a range ``LOW:HIGH`` (drawn on
a log scale for the options the registry marks, eta and lmbda).  Every value
is checked, and every network built once, before any run starts
(:func:`sweep_runs`); :func:`run` carries the runs out (``runs.carry``),
writes ``OUTPUT/table.md`` (``runs.tables.sweep_table``: the combinations
ranked by validation accuracy, as the book chooses) and draws accuracy
against each option to ``OUTPUT/sweep.png``.  ``--search tpe`` instead
lets Optuna choose each combination from those before it and stop hopeless
runs early (``runs.study``).

"""

#### Libraries
# Standard library
import argparse
import hashlib
import itertools
import json
import os

# Third-party libraries
import numpy as np

# network3
from network3 import chapter, options
from network3.runs import study, tables
from network3.runs.carry import carry_out
from network3.runs.log import read_runs
from network3.runs.on_dask import check_engine_arguments
from network3.runs.run import DataSpec, Run, build_layers


#### What a search varies
def parse_vary(text):
    """``(name, values)`` from a ``--vary`` item: ``NAME=V1,V2,...`` (a list)
    or ``NAME=LOW:HIGH`` (a range, for ``--random``; values is then the
    pair ``("range", low, high)``).  Raises ValueError naming the bad part."""
    name, equals, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not equals or not values.strip():
        raise ValueError("--vary: expected NAME=V1,V2,... or NAME=LOW:HIGH, got "
                         "{0!r}".format(text))
    swept = options.swept()
    if name not in swept:
        raise ValueError("--vary: unknown option {0!r}; a sweep varies {1}".format(
            name, ", ".join(swept)))
    option, owner = swept[name], "--vary " + name
    if ":" in values:
        low, _, high = values.partition(":")
        if option.kind is str:
            raise ValueError("--vary {0}: a range LOW:HIGH needs numbers; list the "
                             "values instead".format(name))
        low, high = option.parse(low, owner), option.parse(high, owner)
        if low is None or high is None or not low < high:
            raise ValueError("--vary {0}: a range LOW:HIGH needs LOW < HIGH, got "
                             "{1!r}".format(name, values))
        return name, ("range", low, high)
    parsed = [option.parse(v, owner) for v in values.split(",")]
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
        combination = {n: _draw(options.OPTIONS[n], varied[n], rng) for n in names}
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


#### The runs of a search
def base_options(args):
    """The options of every run before the swept ones replace theirs: the
    registry's defaults, then the arguments', with the chapter net's recipe
    (eta, lmbda, epochs, augment) where the arguments leave them out."""
    recipe = chapter.RECIPES[args.net]
    base = {name: getattr(args, name, default)
            for name, default in options.run_defaults().items()}
    for name in ("eta", "lmbda", "epochs"):
        if base[name] is None:
            base[name] = getattr(recipe, name)
    base["activation"] = args.activation if args.layers else None
    base["augment"] = None if args.layers else recipe.augment
    return base


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
    spec = DataSpec(args.data, args.train_size, args.eval_size,
                         expanded=args.layers is None and recipe.expanded,
                         expanded_path=args.expanded, expand_seed=args.seed)
    settings = {"net": None if args.layers else args.net, "layers": args.layers,
                "data": args.data, "train_size": args.train_size,
                "eval_size": args.eval_size}
    settings.update((k, options.OPTIONS[k].record(v)) for k, v in base.items()
                    if k not in swept)
    todo, built = [], set()
    for config in found:
        values = dict(base, **config)
        tag = hashlib.sha256(json.dumps([settings, config], sort_keys=True)
                             .encode()).hexdigest()[:10]
        shown = ", ".join("{0}={1}".format(k, v) for k, v in config.items())
        for repeat in range(args.repeats):
            run = Run(
                experiment=name, repeat=repeat, seed=args.seed + repeat,
                settings=settings, options=values, config=config, data=spec,
                net=None if args.layers else args.net, layers=args.layers,
                description="{0} ({1}), run {2} of {3}".format(
                    name, shown, repeat + 1, args.repeats),
                device=args.device, backend=args.backend, verbose=args.verbose,
                file="{0}-{1}-{2}.npz".format(name, tag, repeat))
            layout = tuple(values[k] for k in ("mini_batch_size", "init",
                                                 "pool_mode", "activation"))
            if layout not in built:
                try:
                    build_layers(run)
                except ValueError as error:
                    raise ValueError("{0}: {1}".format(shown or name, error)) from None
                built.add(layout)
            todo.append(run)
    return todo


def trial_plan(args):
    """The run of one trial of a study (``runs.study``) from its values,
    a dict: as a combination of a sweep's, run once."""
    once = argparse.Namespace(**dict(vars(args), repeats=1))
    return lambda config: sweep_runs(once, [config])[0]


def records_of(path, todo):
    """The records of runs.jsonl that belong to the sweep of ``todo``'s
    settings (earlier sweeps of other values with the same settings too)."""
    if not todo:
        return []
    first = todo[0]
    return [r for r in read_runs(path) if r.get("experiment") == first.experiment
            and r.get("settings") == first.settings and r.get("config") is not None]


def axes(args):
    """The options ``args.vary`` varies, each with its values or range
    (:func:`parse_vary`); raise ValueError naming the first bad one."""
    varied = {}
    for item in args.vary:
        name, values = parse_vary(item)
        if name in varied:
            raise ValueError("--vary {0}: given twice".format(name))
        varied[name] = values
    check_engine_arguments(args.workers, args.scheduler)
    return varied


def check(args):
    """The combinations ``args`` asks for (``args.vary``, ``args.search``,
    ``args.random`` or ``args.trials``), checked; raise ValueError naming the
    first bad argument.  ``args.search`` is set to the search's kind; a
    ``tpe`` search has no combinations until it runs (None)."""
    varied = axes(args)
    search = args.search = args.search or ("random" if args.random else "grid")
    if args.prune is not None and search != "tpe":
        raise ValueError("--prune {0}: pruning is for --search tpe".format(args.prune))
    if search == "tpe":
        if args.random is not None:
            raise ValueError("--random K is a random search; give --search tpe "
                             "--trials K")
        if args.trials is None:
            raise ValueError("--search tpe: give the study's size, --trials K")
        if args.repeats != 1:
            raise ValueError("--repeats {0}: a trial of --search tpe is one run; "
                             "leave --repeats out".format(args.repeats))
        study.distributions(varied)         # (Optuna is there)
        return None
    if search == "grid" and (args.random or args.trials):
        raise ValueError("--search grid trains every combination; --random K and "
                         "--trials K are for --search random or tpe")
    count = args.random if search == "random" and args.random else args.trials
    if search == "random" and count is None:
        raise ValueError("--search random: give how many combinations, --trials K")
    return combinations(varied, count, args.seed)


def plan(args):
    """The runs of the sweep ``args`` describes, every value and network
    checked; raise ValueError naming the first bad one.  For a ``tpe``
    study, None: its runs are chosen as it goes (``runs.study``), but every
    network it may build is built here."""
    found = check(args)
    if found is not None:
        return sweep_runs(args, found)
    varied = axes(args)
    ends = [values if not isinstance(values, tuple) else list(values[1:])
            for values in varied.values()]
    sweep_runs(args, [dict(zip(varied, corner)) for corner in itertools.product(*ends)])
    return None


def run(args, say=print, todo=None):
    """Run the sweep ``args`` describes (see :func:`parser`), whose runs are
    ``todo`` if :func:`plan` has made them, here or on Dask (``args.workers``,
    ``args.scheduler``), an Optuna study for ``--search tpe``
    (``runs.study``), TensorBoard's event files in ``args.tensorboard`` if
    given; return the number of runs that failed.

    Raises :class:`network3.runs.run.Interrupted` when Ctrl-C stops the sweep.
    """
    todo = plan(args) if todo is None else todo
    if args.search == "tpe":
        return study.run(args, axes(args), trial_plan(args), say)
    swept = list(dict.fromkeys(n for run in todo for n in run.config))
    say("network3 sweep: {0} combination{1} of {2}, {3} run{4} each".format(
        len(todo) // args.repeats, "" if len(todo) == args.repeats else "s",
        ", ".join(swept), args.repeats, "" if args.repeats == 1 else "s"))
    failed = carry_out(todo, args.output, say, args.workers, args.scheduler,
                       tensorboard=args.tensorboard)
    records = records_of(os.path.join(args.output, "runs.jsonl"), todo)
    text = tables.sweep_table(records, swept)
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    if records:
        from network3 import plots
        say("network3 sweep: drew accuracy against each option to " +
            plots.plot_sweep(records, swept, os.path.join(args.output, "sweep.png")))
    return failed
