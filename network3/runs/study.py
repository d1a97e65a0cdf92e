"""runs/study.py
~~~~~~~~~~~~~~~~~

A search that learns as it goes: ``network3 sweep --search tpe --trials K
[--prune median|hyperband]``.  Optuna's TPE sampler chooses each trial's
values from the trials before it, over the same axes as a grid or random
search (``--vary``: a list is a categorical choice, ``LOW:HIGH`` a range of
floats or integers, on a log scale where ``network3.options`` marks the
option, as for eta and lmbda); a pruner stops a trial whose validation
accuracy, reported every epoch, falls behind the others' at the same epoch
(the median of theirs, after a warm-up; or Hyperband's brackets).

The study lives in the output folder, in Optuna's journal file
(``study.journal``), under a name made from the sweep's settings and axes: a
rerun with a larger ``--trials`` goes on with the same study, keeping every
finished trial (TPE's generator is seeded with ``--seed`` plus the trials
the study has, so that it goes on with values it has not drawn).  Each
trial is a run (``runs.Run``, with its ``trial`` number) carried out here or
on Dask like any sweep's (``runs.carry``): it keeps a backup after each
epoch, and its record goes to ``runs.jsonl`` (a pruned one marked
``"pruned"``, with its epochs).  A trial whose values a finished run already
had is told that run's result instead of training it again.  A trial that
Ctrl-C or a crash left unfinished is asked again first, its values the same,
so its run goes on from its backup (one process runs a study at a time).

The study is owned here: on Dask the trials' reports come back to this
process (``runs.reports``), which tells the pruner and sends its verdict to
the worker, so the journal is on this machine's disk whoever trains.

Optuna is an extra: ``pip install -e '.[optuna]'``.

"""

#### Libraries
# Standard library
import dataclasses
import hashlib
import json
import os
import threading
import warnings

# network3
from network3 import options
from network3.runs import tables
from network3.runs.carry import carry_out
from network3.runs.log import read_runs

_INSTALL = "pip install -e '.[optuna]' (or pip install optuna)"

#: ``--prune``'s pruners.  The median pruner judges a trial from its second
#: epoch on (``n_warmup_steps=1``), once 4 trials have finished; Hyperband's
#: brackets run from 1 epoch to as many as the first finished trial trained.
PRUNERS = ("median", "hyperband")
MEDIAN_STARTUP_TRIALS, MEDIAN_WARMUP_EPOCHS = 4, 1
#: Trials TPE draws at random before it models the others.
TPE_STARTUP_TRIALS = 5
#: Trials in flight at once on a ``--scheduler``'s cluster.
CLUSTER_TRIALS = 8
#: Trials asked for in a row that are all duplicates of trials in flight
#: before the search stops asking (every value of a small grid is taken).
PATIENCE = 50


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ValueError("--search tpe runs an Optuna study, and Optuna is not "
                         "installed: " + _INSTALL) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(varied):
    """Optuna's distributions of the axes ``varied`` (from ``--vary``, as
    ``runs.search.parse_vary`` reads them), by option."""
    optuna = _optuna()
    space = {}
    for name, values in varied.items():
        option = options.OPTIONS[name]
        if not isinstance(values, tuple):
            space[name] = optuna.distributions.CategoricalDistribution(values)
        elif option.kind is int:
            space[name] = optuna.distributions.IntDistribution(values[1], values[2])
        else:
            space[name] = optuna.distributions.FloatDistribution(
                values[1], values[2], log=option.log and values[1] > 0)
    return space


class Study(object):
    """The Optuna study of a sweep's ``args`` over the axes ``varied`` (as
    for :func:`distributions`), whose trials are the runs ``plan(config)``
    makes of their values (``runs.search.trial_plan``)."""

    def __init__(self, args, varied, plan):
        optuna = self.optuna = _optuna()
        self.args, self.plan = args, plan
        self.space = distributions(varied)
        self.settings = self.plan({n: _first(v) for n, v in varied.items()}).settings
        identity = json.dumps([self.settings, {n: repr(d) for n, d in self.space.items()},
                               args.prune, args.seed], sort_keys=True)
        self.name = "network3-" + hashlib.sha256(identity.encode()).hexdigest()[:10]
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
            os.path.join(args.output, "study.journal")))
        pruner = {None: optuna.pruners.NopPruner(),
                  "median": optuna.pruners.MedianPruner(
                      n_startup_trials=MEDIAN_STARTUP_TRIALS,
                      n_warmup_steps=MEDIAN_WARMUP_EPOCHS),
                  # (Hyperband's most epochs: the first finished trial's)
                  "hyperband": optuna.pruners.HyperbandPruner(min_resource=1)}[
                      args.prune]
        # the sampler's seed: --seed, moved on by the trials the study has,
        # so that a study that goes on draws values it has not drawn before
        made = optuna.create_study(study_name=self.name, storage=storage,
                                   direction="maximize", load_if_exists=True)
        self.study = optuna.load_study(
            study_name=self.name, storage=storage, pruner=pruner,
            sampler=optuna.samplers.TPESampler(seed=args.seed + len(made.trials),
                                               n_startup_trials=TPE_STARTUP_TRIALS))
        self._alive = {}                # trial number -> (optuna Trial, run)
        self._lock = threading.Lock()

    def finished(self):
        """The study's trials that count: complete or pruned."""
        states = (self.optuna.trial.TrialState.COMPLETE,
                  self.optuna.trial.TrialState.PRUNED)
        return self.study.get_trials(deepcopy=False, states=states)

    #### The trials
    def start(self, parallel):
        """The first runs to carry out: at most ``parallel`` trials, the
        unfinished trials of an earlier session first."""
        state = self.optuna.trial.TrialState
        for trial in self.study.get_trials(deepcopy=False, states=(state.RUNNING,)):
            self.study.tell(trial.number, state=state.FAIL)
            self.study.enqueue_trial(trial.params)
        with self._lock:
            return [run for run in (self._next() for _ in range(parallel)) if run]

    def _left(self):
        return self.args.trials - len(self.finished()) - len(self._alive)

    def _next(self):
        """The run of the next trial, or None when the study has enough."""
        refused = 0
        records = read_runs(os.path.join(self.args.output, "runs.jsonl"))
        while self._left() > 0 and refused < PATIENCE:
            trial = self.study.ask(self.space)
            config = {name: trial.params[name] for name in self.space}
            run = self.plan(config)
            done = next((r for r in reversed(records) if run.matches(r)), None)
            if done is not None:            # (a finished run's values: its result)
                self._tell(trial, done)
                continue
            if any(other.config == config for _, other in self._alive.values()):
                refused += 1                # (being trained: asked again)
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                continue
            run = dataclasses.replace(
                run, trial=trial.number,
                description="{0}, trial {1} ({2})".format(
                    run.experiment, trial.number, ", ".join(
                        "{0}={1}".format(k, tables.shown(v)) for k, v in config.items())))
            self._alive[trial.number] = (trial, run)
            return run
        return None

    def _tell(self, trial, record):
        """Tell the study how ``trial`` ended: its run's ``record`` (None: it
        failed).  A diverged run's value is the best validation accuracy it
        reached (0 if none), so that TPE learns where runs diverge."""
        state = self.optuna.trial.TrialState
        if record is None:
            self.study.tell(trial, state=state.FAIL)
        elif record.get("pruned"):
            self.study.tell(trial, state=state.PRUNED)
        else:
            self.study.tell(trial, record.get("best_validation_accuracy") or 0.0)

    def judge(self, run, report):
        """The pruner's verdict on ``run`` after an epoch's ``report``:
        ``"pruned"`` to stop it, else None."""
        with self._lock:
            trial, _ = self._alive[run.trial]
            accuracy = report["scalars"].get("accuracy/validation")
            if accuracy is None:
                return None
            trial.report(accuracy, report["epoch"])
            if report["epoch"] + 1 >= run.options["epochs"]:
                return None             # (trained to the end: nothing to spare)
            return "pruned" if trial.should_prune() else None

    def more(self, run, record):
        """``run``'s trial has ended with ``record`` (None: it failed): tell
        the study, and return the next trial's run, if the study wants one."""
        with self._lock:
            trial, _ = self._alive.pop(run.trial)
            self._tell(trial, record)
            following = self._next()
            return [following] if following else []

    #### What it found
    def records(self):
        """The records of runs.jsonl that are this study's trials."""
        return [r for r in read_runs(os.path.join(self.args.output, "runs.jsonl"))
                if r.get("settings") == self.settings and r.get("trial") is not None
                and r.get("config") is not None]

    def draw(self):
        """Optuna's own plots, beside sweep.png: the optimization history
        and (with two or more complete trials) the parameters' importances;
        the files written."""
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import pyplot
        from optuna.visualization import matplotlib as drawing
        complete = [t for t in self.finished()
                    if t.state == self.optuna.trial.TrialState.COMPLETE]
        plots = [("optuna_history.png", drawing.plot_optimization_history)]
        if len(complete) >= 2 and len(self.space) >= 1:
            plots.append(("optuna_importances.png", drawing.plot_param_importances))
        written = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # (Optuna's ExperimentalWarning)
            for name, plot in plots:
                axes = plot(self.study)
                path = os.path.join(self.args.output, name)
                axes.figure.savefig(path, dpi=100, bbox_inches="tight")
                pyplot.close(axes.figure)
                written.append(path)
        return written


def _first(values):
    return values[1] if isinstance(values, tuple) else values[0]


def run(args, varied, plan, say=print):
    """Run the study ``args`` describes over the axes ``varied``, whose
    trials ``plan`` makes into runs (see :class:`Study`), here or on Dask;
    write its table, sweep.png and Optuna's plots; return the number of
    trials that failed.

    Raises :class:`network3.runs.run.Interrupted` when Ctrl-C stops it
    (finished trials are kept; the one being trained goes on next time).
    """
    os.makedirs(args.output, exist_ok=True)
    study = Study(args, varied, plan)
    done = len(study.finished())
    say("network3 sweep: an Optuna study (TPE{0}) of {1} trials of {2}: {3} done, "
        "{4} to go; in {5}".format(
            "" if args.prune is None else ", pruning: " + args.prune, args.trials,
            ", ".join(varied), done, max(0, args.trials - done),
            os.path.join(args.output, "study.journal")))
    parallel = args.workers or (CLUSTER_TRIALS if args.scheduler else 1)
    failed = carry_out(study.start(parallel), args.output, say, args.workers,
                       args.scheduler, tensorboard=args.tensorboard,
                       judge=study.judge if args.prune else None, more=study.more)
    records = study.records()
    text = tables.sweep_table(records, list(varied))
    with open(os.path.join(args.output, "table.md"), "w") as f:
        f.write(text)
    say(text)
    if records:
        from network3 import plots
        say("network3 sweep: drew accuracy against each option to " + plots.plot_sweep(
            records, list(varied), os.path.join(args.output, "sweep.png")))
        say("network3 sweep: Optuna's plots: " + ", ".join(study.draw()))
    complete = [t for t in study.finished() if t.value is not None and
                t.state == study.optuna.trial.TrialState.COMPLETE]
    if complete:
        best = study.study.best_trial
        say("network3 sweep: best trial {0}: validation accuracy {1:.2%} with {2} "
            "(seed {3})".format(best.number, best.value, ", ".join(
                "{0}={1}".format(k, tables.shown(v)) for k, v in best.params.items()),
                args.seed))
    return failed
