"""runs/run.py
~~~~~~~~~~~~~~~

What a training run is: a :class:`Run` (which network, its options, its
seed, its data as a :class:`DataSpec`), carried out by :func:`train` in
whatever process it is handed to (this one, or a Dask worker), which returns
an :class:`Outcome`: the run's record for runs.jsonl and the trained network
as the bytes of a model file.  A run depends on nothing but its
description, so it gives the same result wherever it runs.  Each process
loads a data set once, however many runs use it (:func:`datasets`).

"""

#### Libraries
# Standard library
import collections
import dataclasses
import io
import os
import platform
import time

# network3
from network3 import backup, chapter, data, options, saving, seeding, settings
from network3.callbacks import Reports
from network3.network import Network
from network3.specs import parse_layers


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


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run.

    ``experiment``, ``repeat``, ``settings`` and ``config`` identify it in
    ``runs.jsonl``: a run is done when a record there has all four equal.
    The network is the chapter's ``net`` (a key of ``chapter.RECIPES``) or
    the layers ``layers`` describes (``network3.specs.parse_layers``);
    ``options`` holds a value for every option of
    ``network3.options.run_defaults()``; ``seed`` seeds the
    weights and the dropout masks; ``file`` names its model file under the
    output folder's ``nets``; ``backup`` is where training keeps its backup
    (a file name or a ``network3.backup.Backup``; see ``SGD(backup=...)``),
    so that a run cut short goes on from its last epoch when it is run again.
    ``trial`` numbers a search's trial (``runs.study``); ``report``, if
    given, asks the run to report each epoch (the keywords of
    ``network3.callbacks.Reports``; see ``runs.reports``).
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
    backup: object = None
    trial: int = None
    report: dict = None

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


def machine(net):
    """What ``net`` trained on, in a few words: the CPU's model, its widest
    vector instructions and its cores (as Linux names them), or the GPU's."""
    if net.engine.device == "gpu":
        import jax
        return "{0} (JAX)".format(jax.devices("gpu")[0].device_kind)
    try:
        with open("/proc/cpuinfo") as f:
            model = cpu_model(f.read())
    except OSError:
        model = None
    return "{0}, {1} cores".format(model or platform.processor() or platform.machine(),
                                   os.cpu_count())


def cpu_model(cpuinfo):
    """The first CPU's model name in ``cpuinfo`` (the text of /proc/cpuinfo)
    and its widest vector instructions, as ``"AMD EPYC (AVX2)"``; None if
    it names none.  Virtual machines often name only the family, whose
    hosts differ by the vector instructions (a training step by 2x)."""
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if not fields.get("model name"):
        return None
    flags = set(fields.get("flags", "").split())
    widest = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                           ("avx", "AVX")) if flag in flags), None)
    return fields["model name"] + (" ({0})".format(widest) if widest else "")


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


def hparams(run):
    """``run``'s settings, as TensorBoard's HParams tab shows them: its
    options, then the values its sweep gave it, and its seed."""
    shown = {"net": run.net or run.layers, "seed": run.seed}
    for name, value in dict(run.options, **(run.config or {})).items():
        shown[name] = options.OPTIONS[name].record(value) if name in options.OPTIONS \
            else value
    return shown


def train(run, say=None, send=None):
    """Carry out ``run`` in this process and return its :class:`Outcome`
    (``say``, if given, tells when the expanded set is made).  If the run
    reports (``run.report``), ``send`` takes its reports; a verdict that
    prunes it ends it after that epoch, recorded as pruned.

    Raises :class:`Interrupted` when Ctrl-C stops the training.
    """
    training, validation, test = datasets(run.data, say)
    o = run.options
    seeding.seed(run.seed)
    net = Network(build_layers(run), o["mini_batch_size"], device=run.device,
                  backend=run.backend)
    resumed_at = backup.epoch_of(run.backup)
    start = time.perf_counter()
    reports = [] if run.report is None or send is None else [
        Reports(send, hparams=hparams(run), **run.report)]
    history = net.SGD(training, validation_data=validation, test_data=test,
                      **settings.from_options(o, verbose=run.verbose, backup=run.backup,
                                              callbacks=reports))
    seconds = time.perf_counter() - start
    if history.stopped == "interrupted":
        raise Interrupted(run.label())
    record = {"experiment": run.experiment, "repeat": run.repeat, "seed": run.seed,
              "settings": run.settings}
    if run.config is not None:
        record["config"] = run.config
    if run.trial is not None:
        record["trial"] = run.trial
    if resumed_at is not None:
        record["resumed_at"] = resumed_at
    record.update(best_validation_accuracy=history.best_validation_accuracy,
                  test_accuracy=history.best_test_accuracy,
                  best_epoch=history.best_epoch, epochs=history.epochs,
                  seconds=seconds, finished=time.strftime("%Y-%m-%d %H:%M:%S"),
                  machine=machine(net))
    if history.stopped == "diverged":
        record.update(diverged=True, diverged_epoch=history.epochs, test_accuracy=None)
        return Outcome(record)
    if history.stopped == "pruned":        # (its network is not kept)
        record.update(pruned=True)
        return Outcome(record)
    record["net"] = os.path.join("nets", run.file)
    model = io.BytesIO()
    saving.write(net, model)
    return Outcome(record, model.getvalue())
