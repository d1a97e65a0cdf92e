"""runs.py
~~~~~~~~~~~

One training run as a task any process can carry out, and the log of
finished runs that makes a sweep resumable.

The chapter's ladder (:mod:`network3.experiments`) and hyper-parameter
sweeps (:mod:`network3.sweeps`) describe every run they want as a
:class:`Run`: which network, its hyper-parameters, its seed and its data.
:func:`train` carries one out in whatever process it is handed to (this one,
or a Dask worker: :mod:`network3.cluster`) and returns an :class:`Outcome`,
the run's record and the trained network as the bytes of a model file.  A
run depends on nothing but its description, so it gives the same result
wherever it runs.  Each process loads a data set once, however many runs
use it (:func:`datasets`).

:func:`carry_out` runs a list of them, one after another in this process
(printing SGD's lines, as the book does) or on a Dask cluster, skipping the
runs ``runs.jsonl`` already holds, and, as each run finishes, writing its
network under ``nets/`` and appending its record to ``runs.jsonl`` as one
line.  Only finished runs are recorded, so an interrupted sweep resumes with
what is missing; a run whose cost diverged is recorded as diverged, with its
epoch, so that resuming does not try it again.

"""

#### Libraries
# Standard library
import collections
import dataclasses
import io
import json
import os
import sys
import time

# network3
from network3 import chapter, data, files, saving, seeding
from network3.network import Network
from network3.schedules import halve_on_plateau
from network3.specs import parse_layers
from network3.interrupts import Interruption, is_interrupt


class Interrupted(Exception):
    """Ctrl-C stopped a sweep: it ends, keeping the finished runs."""


#### What describes a run
@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The data a run trains and is measured on.

    ``path`` is read on the process that trains (a Dask worker reads its own
    copy).  ``train_size`` and ``eval_size`` keep the first images only;
    ``expanded`` trains on the expanded set: the file ``expanded_path`` when
    training on all of the data and it exists, else made from the training
    images in use (``data.expand``, seeded with ``expand_seed``).
    """

    path: str
    train_size: int = None
    eval_size: int = None
    expanded: bool = False
    expanded_path: str = None
    expand_seed: int = 0


#: The hyper-parameters a run takes, and the book's value of each that is
#: not a recipe's.
OPTIONS = {"eta": None, "lmbda": None, "epochs": None, "mini_batch_size": 10,
           "momentum": 0.0, "halve_on_plateau": None, "early_stopping": None,
           "init": "book", "pool_mode": "max", "activation": None, "augment": None}


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run.

    ``experiment``, ``repeat``, ``settings`` and ``config`` identify it in
    ``runs.jsonl``: a run is done when a record there has all four equal.
    The network is the chapter's ``net`` (a key of ``chapter.RECIPES``) or
    the layers ``layers`` describes (``network3.specs.parse_layers``);
    ``options`` holds every key of :data:`OPTIONS`; ``seed`` seeds the
    weights and the dropout masks; ``nets`` names its model file under the
    output folder.
    """

    experiment: str
    repeat: int
    seed: int
    settings: dict
    options: dict
    data: DataSpec
    net: str = None
    layers: str = None
    config: dict = None
    description: str = ""
    device: str = None
    backend: str = None
    verbose: bool = True
    file: str = None

    def matches(self, record):
        """Whether ``record`` (a line of runs.jsonl) is this run, finished."""
        return (record.get("experiment") == self.experiment
                and record.get("repeat") == self.repeat
                and record.get("settings") == self.settings
                and record.get("config") == self.config)

    def label(self):
        """How the sweep's messages name the run."""
        config = ", ".join("{0}={1}".format(k, v) for k, v in (self.config or {}).items())
        return "{0}{1}, run {2}".format(self.experiment, " (" + config + ")"
                                        if config else "", self.repeat + 1)


@dataclasses.dataclass
class Outcome:
    """What a finished run hands back: its ``record`` for runs.jsonl and the
    trained network as a model file's bytes (None if its cost diverged)."""

    record: dict
    model: bytes = None


def add_arguments(p):
    """Add what every run of a sweep shares (a :class:`DataSpec`'s fields,
    the device, the back end, ``--quiet``) to ``p``, the parser of a command
    that runs sweeps."""
    p.add_argument("--data", default="../data/mnist.pkl.gz", metavar="FILE",
                   help="the data (default: the bundled MNIST); on Dask, each "
                        "worker reads it from its own disk")
    p.add_argument("--expanded", default="../data/mnist_expanded.pkl.gz",
                   metavar="FILE", help="the expanded training set, for the nets the "
                   "book trains on it (made from the training data when missing)")
    p.add_argument("--train-size", type=int, metavar="N",
                   help="use the first N training images only")
    p.add_argument("--eval-size", type=int, metavar="N",
                   help="use the first N validation and test images only")
    p.add_argument("--device", choices=["cpu", "gpu", "cuda"])
    p.add_argument("--backend", choices=["numba", "jax"])
    p.add_argument("--quiet", dest="verbose", action="store_false",
                   help="do not print SGD's lines")


#### Carrying out one run
#: The data sets this process has loaded, the latest last (see :func:`datasets`).
_loaded = collections.OrderedDict()


def datasets(spec, say=None):
    """The training, validation and test data ``spec`` describes, as shared
    variables, loaded once per process: the two latest are kept (the ladder
    alternates between the plain and the expanded set)."""
    if spec in _loaded:
        _loaded.move_to_end(spec)
        return _loaded[spec]
    training, validation, test = data.load_data(spec.path)
    if spec.train_size:
        training = tuple(part[:spec.train_size] for part in training)
    if spec.eval_size:
        validation = tuple(part[:spec.eval_size] for part in validation)
        test = tuple(part[:spec.eval_size] for part in test)
    if spec.expanded:
        training = expanded(spec, training, say)
    _loaded[spec] = data.shared(training), data.shared(validation), data.shared(test)
    while len(_loaded) > 2:
        _loaded.popitem(last=False)
    return _loaded[spec]


def expanded(spec, training, say=None):
    """The expanded training set: the file, when training on all of the
    data and it exists, else made now from ``training``."""
    if (not spec.train_size and spec.expanded_path
            and os.path.exists(data.resolve(spec.expanded_path))):
        return data.load_data(spec.expanded_path)[0]
    if say:
        say("Expanding {0} training images (4 one-pixel shifts each)".format(
            len(training[0])))
    return data.expand(training, rng=spec.expand_seed)


def build_layers(run):
    """The layers of ``run``'s network, drawn from the generator as seeded."""
    o = run.options
    if run.layers is not None:
        return parse_layers(run.layers, o["mini_batch_size"], o["activation"] or "sigmoid",
                            init=o["init"], pool_mode=o["pool_mode"])
    return chapter.build_layers(run.net, o["mini_batch_size"], o["init"], o["pool_mode"])


def train(run, say=None):
    """Carry out ``run`` in this process and return its :class:`Outcome`
    (``say``, if given, tells when the expanded set is made).

    Raises :class:`Interrupted` when Ctrl-C stops the training.
    """
    training, validation, test = datasets(run.data, say)
    o = run.options
    seeding.seed(run.seed)
    mbs = o["mini_batch_size"]
    net = Network(build_layers(run), mbs, device=run.device, backend=run.backend)
    eta = o["eta"] if o["halve_on_plateau"] is None else halve_on_plateau(
        o["eta"], patience=o["halve_on_plateau"])
    start = time.perf_counter()
    history = net.SGD(training, o["epochs"], mbs, eta, validation, test,
                      lmbda=o["lmbda"], verbose=run.verbose, augment=o["augment"],
                      momentum=o["momentum"], early_stopping=o["early_stopping"])
    seconds = time.perf_counter() - start
    if history.stopped == "interrupted":
        raise Interrupted(run.label())
    record = {"experiment": run.experiment, "repeat": run.repeat, "seed": run.seed,
              "settings": run.settings}
    if run.config is not None:
        record["config"] = run.config
    record.update(best_validation_accuracy=history.best_validation_accuracy,
                  test_accuracy=history.best_test_accuracy,
                  best_epoch=history.best_epoch, epochs=history.epochs,
                  seconds=seconds, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    if history.stopped == "diverged":
        record.update(diverged=True, diverged_epoch=history.epochs, test_accuracy=None)
        return Outcome(record)
    record["net"] = os.path.join("nets", run.file)
    model = io.BytesIO()
    saving.write(net, model)
    return Outcome(record, model.getvalue())


#### The log of finished runs
def read_runs(path):
    """The records of ``runs.jsonl``, oldest first (a line a crash cut short
    is skipped: that run is done again)."""
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        runs.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return runs


def append(path, record):
    """Add ``record`` to ``runs.jsonl`` as a line of its own."""
    files.append_line(path, json.dumps(record).encode())


def keep(output, outcome):
    """Write a finished run's network under ``output`` and then its record
    to ``output/runs.jsonl``: a record never names a model file that is not
    there whole."""
    if outcome.model is not None:
        with files.atomic_write(os.path.join(output, outcome.record["net"])) as f:
            f.write(outcome.model)
    append(os.path.join(output, "runs.jsonl"), outcome.record)


def finished_line(name, record):
    """The line a sweep prints when the run ``name`` ends."""
    if record.get("diverged"):
        return "== {0}: diverged in epoch {1}; recorded as diverged".format(
            name, record["diverged_epoch"])
    return "== {0}: test accuracy {1:.2%} in {2:.0f} s".format(
        name, record["test_accuracy"] or 0.0, record["seconds"])


#### Carrying out a sweep
def carry_out(runs, output, say=print, engine=None):
    """Carry out the ``runs`` that ``output/runs.jsonl`` does not hold yet;
    return the number of runs that failed.

    Without ``engine``, one after another in this process, printing each
    run's lines; an exception a run raises ends the sweep.  With an engine
    (a :class:`network3.cluster.Engine`), on its workers, a progress bar of
    finished runs on the terminal; a run that raises is reported with its
    error and the others go on.  Either way each finished run is kept
    (:func:`keep`) as soon as it is back, even if Ctrl-C comes then, and
    Ctrl-C raises :class:`Interrupted` (pending runs are cancelled).
    """
    os.makedirs(os.path.join(output, "nets"), exist_ok=True)
    todo = pending(runs, output)
    if engine is None:
        for run in todo:
            _train_here(run, output, say)
        return 0
    return _train_there(todo, output, say, engine)


def pending(runs, output):
    """The ``runs`` that ``output/runs.jsonl`` does not hold yet."""
    done = read_runs(os.path.join(output, "runs.jsonl"))
    return [run for run in runs if not any(run.matches(r) for r in done)]


def _train_here(run, output, say):
    say("== {0}, seed {1}".format(run.description, run.seed))
    with Interruption() as interruption:
        outcome = train(run, say)
        with interruption.shielded():      # a finished run is kept whole
            keep(output, outcome)
    say(finished_line(run.experiment if run.config is None else run.label(),
                      outcome.record))
    if interruption.requested:
        raise Interrupted(run.label())


def _train_there(todo, output, say, engine):
    from tqdm.auto import tqdm
    failed = finished = 0
    started = time.perf_counter()
    # a bar on a terminal; in a log, each run's line says how far the sweep is
    with tqdm(total=len(todo), unit="run", desc="runs", dynamic_ncols=True,
              disable=None) as bar, Interruption() as interruption:
        results = engine.results(todo)
        while True:
            with interruption.immediately():
                item = next(results, None)
            if item is None:
                break
            run, outcome, error = item
            if error is None:
                with interruption.shielded():
                    keep(output, outcome)
                line = finished_line(run.label(), outcome.record)
            else:
                failed += 1
                line = "== {0}: failed: {1}".format(run.label(), error)
            finished += 1
            bar.update()
            if bar.disable:         # (and then bar.n stays 0)
                say(line + _progress(finished, len(todo), time.perf_counter() - started))
            else:
                bar.write(line)
            if interruption.requested:
                raise Interrupted(run.label())
    return failed


def _progress(done, total, seconds):
    """`` (3 of 8 runs done, about 2 min left)``."""
    left = seconds / done * (total - done)
    return " ({0} of {1} runs done{2})".format(done, total, "" if done == total else
                                              ", about {0:.0f} min left".format(
                                                  left / 60) if left >= 90 else
                                              ", about {0:.0f} s left".format(left))


#### Exit status
def exit_status(sweep, prog, output):
    """Call ``sweep()`` (which returns the number of runs that failed) and
    return the exit status: 0, 1 on an error or failed runs, 130 when Ctrl-C
    stopped it."""
    try:
        failed = sweep()
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        if not is_interrupt(error):
            print("{0}: error: {1}".format(prog, error), file=sys.stderr)
            return 1
        _say_interrupted(prog, output)
        return 130
    except (KeyboardInterrupt, Interrupted):
        _say_interrupted(prog, output)
        return 130
    if failed:
        print("{0}: {1} run{2} failed (see above); run again to retry {3}".format(
            prog, failed, "" if failed == 1 else "s", "it" if failed == 1 else "them"),
            file=sys.stderr)
        return 1
    return 0


def _say_interrupted(prog, output):
    print("{0}: interrupted; finished runs are in {1}; run again to "
          "resume".format(prog, os.path.join(output, "runs.jsonl")), file=sys.stderr)
