"""training.py
~~~~~~~~~~~~~~

The SGD loop behind ``Network.SGD``: epochs, mini-batches, evaluation and
the callbacks' hooks, as ``network3.py`` had them (what happens around
them, from the book's printed lines to early stopping, is in
``network3.callbacks``).

* :func:`sgd` makes SGD's settings (``network3.settings``: checked before
  anything compiles), the callbacks they ask for (``callbacks.BUILT_IN``)
  and runs a :class:`Loop`;
* :class:`Loop` compiles the training step (through the network's back end),
  trains each epoch in runs of mini-batches, evaluates, calls the hooks, and
  ends cleanly however training ends: Ctrl-C (``network3.interrupts``),
  divergence (:class:`DivergenceGuard`), a callback, or an error;
* :class:`TrainingHistory` is what it measured, epoch by epoch.

The loop knows a network only through ``net.layers``, ``net.params``,
``net.mini_batch_size``, ``net.engine`` (its back end),
``net.training_graph(with_l2, update)``, ``net.augmented_data`` and
``net.predict``.

"""

#### Libraries
# Standard library
import contextlib
import dataclasses
import os
import sys
import time
import warnings

# Third-party libraries
import numpy as np
import pytensor

# network3
from network3 import augmentation, backup as backups, callbacks as cb, config
from network3 import seeding, updates
from network3.interrupts import Interruption, is_interrupt
from network3.settings import TrainingSettings


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


#### Divergence
class DivergenceGuard(object):
    """Spots a training run that has gone wrong.

    A cost that is NaN, infinite, or beyond ``-log`` of the smallest float
    (the right answers' probabilities underflowed: the numbers are gone as
    surely as with NaN) means training diverged.  A mean cost worse than
    guessing among the classes gets one warning.
    """

    def __init__(self, n_classes):
        self.limit = -np.log(np.finfo(config.floatX).tiny)
        self.guessing = np.log(n_classes)
        #: whether the warning about a cost worse than guessing was given
        self.warned = False

    def first_bad(self, costs):
        """Index of the first cost in ``costs`` that means divergence, or None."""
        bad = np.flatnonzero(~(np.asarray(costs) < self.limit))
        return int(bad[0]) if bad.size else None

    def check_epoch(self, epoch, mean_cost, eta):
        """Warn (once) if ``epoch``'s mean cost, trained with learning rate
        ``eta``, is worse than guessing."""
        if mean_cost > self.guessing and not self.warned:
            self.warned = True
            warnings.warn(
                "SGD: epoch {0}'s mean cost {1:.3f} is worse than guessing "
                "({2:.3f}); the learning rate eta={3} may be too large".format(
                    epoch, mean_cost, self.guessing, eta),
                stacklevel=_caller_level())


def _caller_level():
    """The ``stacklevel`` that makes a warning point at the first frame
    outside network3 (the user's ``SGD`` call)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


#### The loop
class _Stop(Exception):
    """Raised inside the loop to end training early; ``args[0]`` says why."""


def sgd(net, training_data, epochs, mini_batch_size, eta, validation_data,
        test_data, lmbda=0.0, **keywords):
    """Train ``net`` by mini-batch stochastic gradient descent: the work of
    ``Network.SGD``, whose docstring describes the arguments (``keywords``:
    its keyword-only ones, and any other option of the registry).  Returns
    a :class:`TrainingHistory`."""
    settings, datasets = TrainingSettings.from_sgd(
        net, training_data, epochs, mini_batch_size, eta, validation_data, test_data,
        lmbda, **keywords)
    unused = len(datasets[0][0]) % mini_batch_size
    if unused:
        warnings.warn(
            "SGD: {0} training images do not fill a last mini-batch of {1} "
            "and are not used for training".format(unused, mini_batch_size),
            stacklevel=_caller_level())
    printer = cb.BookLines.from_settings(settings)
    loop = Loop(net, training_data, datasets, settings,
                cb.built_in(settings, printer) + list(settings.callbacks), printer)
    if settings.backup is not None:
        backups.attach(loop, settings.backup, settings.fingerprint())
    return loop.run(settings.epochs)


def compile_run(net, training_data, arrays, eta, lmbda, update=None):
    """``net``'s back end's training run (see ``Backend.training_run``) for
    ``training_data`` (``arrays``: the same, checked), with ``eta`` (a
    number), ``lmbda`` and the update rule ``update`` (default: the book's
    ``updates.sgd()``) put in the training graph's shared variables, and the
    rule's state at zero."""
    update = update or updates.sgd()
    graph = net.training_graph(bool(lmbda), update)
    graph.set_hyper_parameters(eta, lmbda, len(arrays[0]) // net.mini_batch_size,
                               update)
    graph.reset_state()
    return net.engine.training_run(graph, training_data, arrays)


class Loop(object):
    """One SGD call: its ``settings`` (a ``settings.TrainingSettings``), and
    the state the callbacks may read while it runs (see
    ``network3.callbacks``)."""

    def __init__(self, net, training_data, datasets, settings, callbacks, printer):
        self.net, self.engine, self.settings = net, net.engine, settings
        self.training, self.validation, self.test = datasets
        # a schedule's callback sets each epoch's eta (set_eta)
        self.eta = None if callable(settings.eta) else settings.eta
        self.lmbda, self.update = settings.lmbda, settings.update
        self.callbacks, self.printer = callbacks, printer
        self.num_training_batches = len(self.training[0]) // net.mini_batch_size
        self.history = TrainingHistory()
        self.guard = DivergenceGuard(net.layers[-1].output_size)
        self.interruption = Interruption()
        self.pages = _Pages(self, training_data, settings.augment)
        self.graph = self.train = self.error = None
        self.epochs = self.epoch = self.minibatch_index = 0
        self.costs = []
        # SGD(backup=...): the file (a backup.Backup) and the run's fingerprint
        self.backup = self.fingerprint = None

    #### What callbacks use
    def say(self, line):
        """Print ``line`` with the book's lines (unless ``verbose=False``)."""
        self.printer.say(line)

    def set_eta(self, eta):
        """Train with learning rate ``eta`` from the next mini-batch on."""
        self.eta = eta
        if self.graph is not None:
            self.graph.set_eta(eta)

    def accuracy(self, dataset):
        """Fraction of ``dataset``'s (checked) images the net labels right."""
        images, labels = dataset
        with self.interruption.deferred():
            return float(np.mean(self.net.predict(images) == labels))

    def _hooks(self, name, *args):
        """Call every callback's hook ``name``; return the first string one
        returned (why to stop), or None."""
        reasons = [getattr(callback, name)(self.net, *args)
                   for callback in self.callbacks]
        return next((r for r in reasons if isinstance(r, str)), None)

    #### Training
    def run(self, epochs):
        history, self.epochs = self.history, epochs
        for callback in self.callbacks:
            callback.loop = self
        resumed = backups.resumed_state(self)      # (refused before anything happens)
        self.initial_params = [p.get_value() for p in self.net.params]
        self._hooks("on_train_begin", history)
        first = 0 if resumed is None else backups.restore_before_compiling(self, resumed)
        # PyTensor compiles the step when it is first called: if the first
        # mini-batch takes long, say why (it is cancelled when one is done).
        self.printer.notice_later(cb.COMPILE_NOTICE, cb.COMPILE_NOTICE_AFTER)
        with self.interruption, self.pages.feeding(epochs, first):
            if not self._compile():
                return history
            if resumed is not None:
                backups.restore_after_compiling(self, resumed)
            ending = None
            try:
                # Do the actual training
                for epoch in range(first, epochs):
                    self._hooks("on_epoch_begin", epoch, history)
                    self._train_epoch(epoch)
                    history.stopped = self._end_epoch(epoch)
                    if history.stopped is not None:
                        break
                    backups.after_epoch(self, epoch)
                if self.interruption.requested:    # during the last evaluation
                    raise _Stop("interrupted")
            except BaseException as error:
                ending = error
            with self.interruption.shielded():     # (a second Ctrl-C waits)
                if ending is not None:
                    self._stop(ending)
                self._hooks("on_train_end", history)
                backups.at_end(self)
        if self.error is not None:
            raise self.error
        return history

    def _compile(self):
        """Compile the step (Ctrl-C stops at once); False if interrupted."""
        try:
            with self.interruption.immediately():
                if self.interruption.requested:
                    raise KeyboardInterrupt
                self.train = compile_run(self.net, *self.pages.training_set(), self.eta,
                                         self.lmbda, self.update)
                self.graph = self.net.training_graph(bool(self.lmbda), self.update)
            return True
        except BaseException as error:
            self.printer.cancel_notice()
            if not is_interrupt(error):
                raise
            self.history.stopped = "interrupted"
            self.printer.problem("SGD interrupted before training started "
                                 "(while compiling); nothing was trained.")
            return False

    def _train_epoch(self, epoch):
        """Train on every mini-batch of the epoch, in runs no longer than the
        back end's chunk and never past the book's next printed line (nor,
        with ``augment``, past the page of images the step reads)."""
        n, pages = self.num_training_batches, self.pages
        self.epoch, self.minibatch_index, self.costs = epoch, 0, []
        self.start = time.perf_counter()
        pages.start_epoch()
        while self.minibatch_index < n:
            if self.interruption.requested:
                raise _Stop("interrupted")
            pages.turn(self.minibatch_index)    # (a wait counts in the epoch)
            iteration = n*epoch+self.minibatch_index
            self._hooks("on_batches_begin", iteration)
            count = min(1000 - iteration % 1000, self.engine.chunk,
                        pages.end - self.minibatch_index)
            pages.make_room()
            with self.interruption.deferred():
                new_costs = self.train(self.minibatch_index - pages.first, count,
                                       self._after_step)
            self.printer.cancel_notice()
            bad = self.guard.first_bad(new_costs)
            if bad is not None:
                self.minibatch_index += bad
                raise _Stop("diverged", float(new_costs[bad]))
            self.costs.extend(new_costs.tolist())
            self.minibatch_index += len(new_costs)
            self._hooks("on_batches_end", epoch, self.costs)

    def _after_step(self):
        """Called by the back end after each mini-batch: whether to stop."""
        self.printer.cancel_notice()        # the first one (compiled) is done
        return self.interruption.requested

    def _end_epoch(self, epoch):
        """The book's end of an epoch: evaluate, record the epoch (only once
        it is evaluated, so that every list of the history has it), then the
        hooks; return why to stop (a hook's string) or None."""
        history = self.history
        self.engine.sync()
        cost = float(np.mean(self.costs)) if self.costs else float("nan")
        validation = None if self.validation is None else self.accuracy(self.validation)
        history.eta.append(self.eta)
        history.cost.append(cost)
        self.guard.check_epoch(epoch, cost, self.eta)
        if validation is not None:
            history.validation_accuracy.append(validation)
        history.test_accuracy.append(None)     # (KeepBest measures it at a best)
        reason = self._hooks("on_epoch_end", epoch, history)
        history.seconds.append(time.perf_counter() - self.start)
        return reason

    #### Ending early
    def _stop(self, error):
        """End training early (shielded from Ctrl-C); an error that is not a
        reason to (Ctrl-C, divergence) is kept in ``self.error``, raised after
        the hooks."""
        if isinstance(error, _Stop):
            reason = error.args[0]
        elif is_interrupt(error):
            reason = "interrupted"
        else:
            self.error = error
            self._sync()
            return
        self.history.stopped = reason
        self._sync()
        where = "epoch {0}, mini-batch {1}".format(self.epoch, self.minibatch_index)
        if reason == "interrupted":
            message = "SGD interrupted at {0} of {1}".format(
                where, self.num_training_batches)
        else:
            message = ("SGD stopped: the cost became {0:.4g} at {1}; training "
                       "diverged. The learning rate eta={2} is probably too "
                       "large: try a smaller one (e.g. eta={3:g})").format(
                           error.args[1], where, self.eta, self.eta / 10)
        self.printer.problem(_summary(self.history, message, self.settings.restore_best
                                      or reason == "diverged"))
        if reason == "diverged" and self.history.best_epoch is None:
            # nothing good to go back to but the start
            for param, value in zip(self.net.params, self.initial_params):
                param.set_value(value)
            self.printer.problem("The network holds its parameters from before "
                                 "this SGD call.")

    def _sync(self):
        """Bring the back end's parameters home, if it still has them."""
        try:
            self.engine.sync()
        except Exception:    # the device's copy is gone; the last epoch's stays
            pass


def _summary(history, message, holds_best):
    """``message``, then how many epochs were done and the best one."""
    done = "{0} epoch{1} done".format(history.epochs, "" if history.epochs == 1 else "s")
    if history.best_epoch is not None:
        done += "; best validation accuracy {0:.2%} at epoch {1}".format(
            history.best_validation_accuracy, history.best_epoch)
        if holds_best:
            done += ", whose parameters the network holds"
    return "{0}. {1}.".format(message, done)


#### Augmented images, a page at a time
class _Pages(object):
    """What the step trains on: the training data as given, or, with
    ``augment``, a page of transformed images at a time in the network's
    ``augmented_data`` variables, made by an ``augmentation.EpochFeed`` in
    a background thread while the page before trains.  Pages are whole
    mini-batches; ``first`` and ``end`` are the mini-batches of the epoch
    the current page holds."""

    def __init__(self, loop, training_data, augment):
        self.loop, self.net = loop, loop.net
        self.training_data, self.training = training_data, loop.training
        self.augment, self.feed = augment, None
        self.first = self.end = self.first_epoch = 0
        self.seed = None
        if augment is not None:
            self.seed = seeding.new_seed()
            if self.net.augmented_data is None:
                # made once per network, so later SGD calls reuse its step
                self.net.augmented_data = (
                    pytensor.shared(self.training[0], borrow=True,
                                    name="augmented_images"),
                    pytensor.shared(self.training[1], borrow=True,
                                    name="augmented_labels"))

    def feeding(self, epochs, first=0):
        """A context in which the feed (if any) runs, from epoch ``first``
        on: it starts now (making the first page while the step compiles)
        and is stopped at the end (Ctrl-C cannot cut that short), when the
        network's variables let the last page go."""
        self.first_epoch = first
        return self if self.augment is not None else contextlib.nullcontext()

    def __enter__(self):
        mbs, n = self.net.mini_batch_size, self.loop.num_training_batches
        shape = augmentation.network_image_shape(self.net.layers,
                                                self.training[0].shape[1])
        self.feed = augmentation.EpochFeed(
            self.augment, self.training[0][:n * mbs], shape, self.loop.epochs,
            self.seed, page=mbs * max(1, augmentation.PAGE // mbs),
            first_epoch=self.first_epoch)
        return self

    def __exit__(self, *exc_info):
        with self.loop.interruption.shielded():
            self.feed.close()
            self.feed = None
            self.loop.engine.make_room(False)
            for var, part in zip(self.net.augmented_data, self.training):
                var.set_value(part[:0].copy())
        return False

    def training_set(self):
        """``(training_data, arrays)`` to compile the step for: the data as
        given, or the network's variables for pages (holding the data as
        given until the first page is made)."""
        if self.augment is None:
            return self.training_data, self.training
        for var, part in zip(self.net.augmented_data, self.training):
            var.set_value(part, borrow=True)
        return self.net.augmented_data, self.training

    def start_epoch(self):
        self.first = 0
        self.end = 0 if self.feed is not None else self.loop.num_training_batches

    def turn(self, index):
        """At mini-batch ``index`` of the epoch: the next page, if the
        current one is done."""
        if self.feed is None or index != self.end:
            return
        images, (images_var, labels_var) = self.feed.next(), self.net.augmented_data
        mbs = self.net.mini_batch_size
        self.first, self.end = index, index + len(images) // mbs
        images_var.set_value(images, borrow=True)
        labels_var.set_value(self.training[1][self.first * mbs:self.end * mbs],
                             borrow=True)

    def make_room(self):
        """While the feed works, the back end leaves it a core."""
        if self.feed is not None:
            self.loop.engine.make_room(self.feed.busy)
