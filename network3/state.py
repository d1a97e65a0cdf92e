"""state.py
~~~~~~~~~~~

What training has done so far, in one place: :class:`TrainingState`, which
the loop (``network3.training``) keeps up to date and every callback's hook
receives, with the :class:`Event` it is called about.

* where training is: the epoch, the mini-batch, the iteration, the epoch's
  costs so far, whether something asked it to stop;
* the learning rate ``eta``: read and set here, and only here (setting it
  sets what the training step's shared variable holds);
* the :class:`TrainingHistory`: what was measured, epoch by epoch;
* the parameters the network had when the SGD call began;
* through :meth:`TrainingState.state` and :meth:`TrainingState.set_state`
  (the only way a backup reads or restores training): all of that, the
  step's variables (parameters, the update rule's state) and random
  generators, network3's and NumPy's generators, and the own state of
  every callback and every part of the loop that keeps one.

It also lends the hooks the loop's voice (:meth:`TrainingState.say`) and
its care with Ctrl-C (:meth:`TrainingState.accuracy`,
:meth:`TrainingState.shielded`, :meth:`TrainingState.deferred`).

"""

#### Libraries
# Standard library
import dataclasses

# Third-party libraries
import numpy as np
from pytensor.tensor.random.type import RandomType

# network3
from network3 import seeding


#### What training measured
@dataclasses.dataclass
class TrainingHistory:
    """What ``Network.SGD`` measured, epoch by epoch.

    Lists hold one entry per epoch trained; ``test_accuracy[k]`` is ``None``
    for epochs where the test set was not evaluated (the book evaluates it
    only when validation accuracy reaches a new best).  Accuracies are
    fractions in [0, 1].
    """

    validation_accuracy: list = dataclasses.field(default_factory=list)
    test_accuracy: list = dataclasses.field(default_factory=list)
    cost: list = dataclasses.field(default_factory=list)
    #: seconds each epoch took: its mini-batches, its evaluation and its hooks
    seconds: list = dataclasses.field(default_factory=list)
    #: the learning rate each epoch trained with
    eta: list = dataclasses.field(default_factory=list)
    #: with ``monitor_training``: accuracy and cost (with the L2 term, as
    #: ``cost``) on the monitored training images, at each epoch's end
    training_accuracy: list = dataclasses.field(default_factory=list)
    training_cost: list = dataclasses.field(default_factory=list)
    #: how fast each layer learns (chapter 5): per epoch, per layer, the
    #: norm of the epoch's mean gradient of the layer's parameters
    #: (``network3.callbacks.GradientNorms``)
    gradient_norms: list = dataclasses.field(default_factory=list)
    best_validation_accuracy: float = None
    best_epoch: int = None
    best_iteration: int = None
    best_test_accuracy: float = None
    #: ``None``, or why training ended early: ``"interrupted"``,
    #: ``"diverged"``, ``"early_stopping"``, ``"schedule"`` (a learning-rate
    #: schedule such as ``halve_on_plateau`` finished) or what a callback
    #: returned
    stopped: str = None

    @property
    def epochs(self):
        """Number of epochs trained."""
        return len(self.cost)


#### What a hook is called about
@dataclasses.dataclass(frozen=True)
class Event:
    """What a callback's hook is called about.

    Attributes
    ----------
    name : str
        The hook's name without ``on_``: ``"train_begin"``,
        ``"epoch_begin"``, ``"batches_begin"``, ``"batches_end"``,
        ``"epoch_end"`` or ``"train_end"``.
    epoch : int or None
        The epoch it happens in (None for ``train_begin`` and ``train_end``).
    batches : range or None
        For ``batches_begin`` and ``batches_end``: the run's mini-batches,
        numbered since training began (iterations).
    stopped : str or None
        For ``train_end``: why training ended early (``history.stopped``).
    error : BaseException or None
        For ``train_end``: the exception that ended training, if one did
        (it is raised after the hooks).
    """

    name: str
    epoch: int = None
    batches: range = None
    stopped: str = None
    error: BaseException = None


#### What training has done
class TrainingState(object):
    """What one SGD call has done so far; every hook receives it.

    Parameters
    ----------
    net : network3.Network
    settings : network3.settings.TrainingSettings
        What training was told (read-only; also :attr:`settings`).
    datasets : tuple
        The checked training, validation and test sets (the last two may be
        None): :attr:`training`, :attr:`validation`, :attr:`test`.
    callbacks : list of network3.callbacks.Callback
        The run's callbacks, whose own state (``Callback.state``) the state
        holds.
    parts : dict
        The parts of the loop that keep state of their own, by the name the
        state holds it under: each has ``state()`` and ``set_state(state)``.
    printer : network3.callbacks.BookLines
        The loop's voice.
    interruption : network3.interrupts.Interruption
        The run's Ctrl-C.

    Attributes
    ----------
    epoch : int
        The epoch being trained (before training: the first one to train,
        which a resume moves on).
    minibatch_index : int
        The epoch's next mini-batch.
    num_training_batches, epochs : int
        Mini-batches per epoch; epochs this call trains to.
    costs : list of float
        The epoch's mini-batches' costs so far.
    history : TrainingHistory
    initial_params : list of numpy.ndarray
        The parameters the network had when the call began.
    stopping : str or None
        Why training is to end, once a hook has said so (the first reason
        wins).
    """

    def __init__(self, net, settings, datasets, callbacks, parts, printer, interruption):
        self.settings = settings
        self.training, self.validation, self.test = datasets
        self.epochs = settings.epochs
        self.num_training_batches = len(self.training[0]) // net.mini_batch_size
        self.epoch = self.minibatch_index = 0
        self.costs = []
        self.history = TrainingHistory()
        self.initial_params = [p.get_value() for p in net.params]
        self.stopping = None
        self._net, self._callbacks, self._parts = net, callbacks, parts
        self._printer, self._interruption = printer, interruption
        # a schedule's callback sets each epoch's eta
        self._eta = None if callable(settings.eta) else settings.eta
        self._graph = None          # the training step's graph, once compiled
        self._step_state = None     # what set_state holds for it until then

    #### Where training is
    @property
    def iteration(self):
        """The next mini-batch, numbered since training began."""
        return self.num_training_batches * self.epoch + self.minibatch_index

    @property
    def eta(self):
        """The learning rate training uses from the next mini-batch on;
        setting it sets the training step's."""
        return self._eta

    @eta.setter
    def eta(self, eta):
        self._eta = eta
        if self._graph is not None:
            self._graph.set_eta(eta)

    def stop(self, reason):
        """End training, because of ``reason`` (a string, which becomes
        ``history.stopped``), at the end of the event in progress; a hook
        may also return the reason.  The first reason given wins."""
        if self.stopping is None:
            self.stopping = reason

    #### What the loop records (the loop keeps the state up to date)
    def begin_epoch(self, epoch):
        """Epoch ``epoch`` begins: no mini-batch of it trained yet."""
        self.epoch, self.minibatch_index, self.costs = epoch, 0, []

    def trained(self, costs):
        """The epoch's next mini-batches are trained, with ``costs``."""
        self.costs.extend(costs)
        self.minibatch_index += len(costs)

    def record_epoch(self, cost, validation, seconds):
        """The epoch is trained and evaluated: its mean ``cost``, its
        ``validation`` accuracy (None without validation data), the eta it
        trained with and its ``seconds`` so far go in the history, with a
        test accuracy of None (``KeepBest`` measures it at a new best)."""
        history = self.history
        history.eta.append(self.eta)
        history.cost.append(cost)
        if validation is not None:
            history.validation_accuracy.append(validation)
        history.test_accuracy.append(None)
        history.seconds.append(seconds)

    def record_seconds(self, seconds):
        """The epoch's ``seconds``, its hooks' included."""
        self.history.seconds[-1] = seconds

    def end(self, reason):
        """Training ended early, because of ``reason`` (``history.stopped``)."""
        self.history.stopped = reason

    #### What hooks use
    def say(self, line):
        """Print ``line`` with the book's lines (unless ``verbose=False``)."""
        self._printer.say(line)

    def notice(self, text):
        """``text`` on standard error, always: what the user should know."""
        self._printer.notice(text)

    def accuracy(self, dataset):
        """Fraction of ``dataset``'s (checked) images the network labels
        right; a Ctrl-C meanwhile waits for it."""
        images, labels = dataset
        with self._interruption.deferred():
            return float(np.mean(self._net.predict(images) == labels))

    def shielded(self):
        """A context in which Ctrl-C is only recorded: for work that must
        not be cut short (copying parameters, writing a file)."""
        return self._interruption.shielded()

    def deferred(self):
        """A context for running compiled code: a Ctrl-C waits for it."""
        return self._interruption.deferred()

    #### The training step
    def bind_step(self, graph):
        """The training step (its ``graphs.TrainingGraph``) is compiled:
        eta is its shared variable from now on, and what :meth:`set_state`
        holds for the step is put in it."""
        self._graph = graph
        saved, self._step_state = self._step_state, None
        if saved is not None:
            variables, generators = saved
            targets = _step_variables(graph)
            if [np.shape(value) for value in variables] != \
                    [var.get_value(borrow=True).shape for var in targets]:
                raise ValueError("the saved parameters and update-rule state do not "
                                 "fit this network's training step")
            for var, value in zip(targets, variables):
                var.set_value(np.asarray(value, dtype=var.type.dtype))
            for var, saved_generator in zip(_generators(graph), generators):
                self._net.engine.set_generator_state(var, saved_generator)

    #### All of it
    def state(self):
        """Everything training needs to go on exactly from here, at the end
        of an epoch (numbers, strings, lists, dicts and NumPy arrays): the
        next epoch to train is the number of epochs the history holds."""
        engine, graph = self._net.engine, self._graph
        engine.sync()
        saved = {
            "epoch": self.history.epochs,
            "eta": self.eta,
            "history": dataclasses.asdict(self.history),
            "variables": [var.get_value() for var in _step_variables(graph)],
            "generators": [engine.generator_state(var) for var in _generators(graph)],
            "callbacks": [callback.state() for callback in self._callbacks],
            "initial_params": self.initial_params,
            "network3_rng": seeding.get_state(),
            "numpy_rng": np.random.get_state(legacy=False),
        }
        saved.update((name, part.state()) for name, part in self._parts.items())
        return saved

    def set_state(self, saved):
        """Go on from ``saved`` (what :meth:`state` returned): at once for
        what training reads before the step is compiled, and for the step's
        own variables and generators when it is (:meth:`bind_step`).  Call
        it after the callbacks' ``on_train_begin``."""
        history = self.history
        for field in dataclasses.fields(history):
            setattr(history, field.name, saved["history"][field.name])
        for callback, own in zip(self._callbacks, saved["callbacks"]):
            callback.set_state(own)
        for name, part in self._parts.items():
            part.set_state(saved[name])
        if saved["eta"] is not None:
            self.eta = saved["eta"]
        self.initial_params = saved["initial_params"]
        seeding.set_state(saved["network3_rng"])
        np.random.set_state(saved["numpy_rng"])
        self.epoch = saved["epoch"]
        self._step_state = (saved["variables"], saved["generators"])


def _generators(graph):
    """The training step's random streams (dropout)."""
    return [var for var, _ in graph.updates if isinstance(var.type, RandomType)]


def _step_variables(graph):
    """Every variable the training step updates but the random streams:
    the parameters and the update rule's state."""
    return [var for var, _ in graph.updates if not isinstance(var.type, RandomType)]
