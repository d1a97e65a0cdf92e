"""training.py
~~~~~~~~~~~~~~

The SGD loop behind ``Network.SGD``: epochs, mini-batches, evaluation and
the callbacks' hooks, as ``network3.py`` had them (what happens around
them, from the book's printed lines to early stopping, is in
``network3.callbacks``).

* :func:`sgd` makes SGD's settings (``network3.settings``: checked before
  anything compiles), the callbacks they ask for and the user's, in the
  order :data:`CALLBACKS` states, and runs a :class:`Loop`;
* :class:`Loop` compiles the training step (through the network's back end),
  trains each epoch in runs of mini-batches, evaluates, keeps the
  ``state.TrainingState`` up to date and calls the hooks with it, and ends
  cleanly however training ends: Ctrl-C (``network3.interrupts``),
  divergence (:class:`DivergenceGuard`), a callback, or an error.

The loop knows a network only through ``net.layers``, ``net.params``,
``net.mini_batch_size``, ``net.engine`` (its back end),
``net.training_graph(with_l2, update)``, ``net.augmented_data`` and
``net.predict``.

"""

#### Libraries
# Standard library
import contextlib
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
from network3.state import Event, TrainingState


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

    def state(self):
        return self.warned

    def set_state(self, warned):
        self.warned = warned

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


#### The callbacks, in order
#: Where the callbacks given to SGD (``callbacks=``) run, in :data:`CALLBACKS`.
USERS = "callbacks="

#: The loop's callbacks, in the order their hooks run: those SGD's
#: settings ask for (each class's ``from_settings``): the measurements, the
#: best epoch, the book's lines, then what may end training; then the
#: user's, in the order given; then the backup, which restores a resumed
#: run after every other callback began and writes what they all did.  A
#: callback that does a new option's work goes in here, where its hooks
#: should run.
CALLBACKS = [cb.GradientNorms, cb.MonitorTraining, cb.KeepBest, cb.BookLines,
             cb.LearningRateSchedule, cb.EarlyStopping, USERS, backups.BackupAndRestore]


def make_callbacks(settings, printer):
    """The callbacks of a run with ``settings`` (a
    ``settings.TrainingSettings``), in :data:`CALLBACKS`' order, with
    ``printer`` (the run's ``callbacks.BookLines``, the loop's voice) for
    the book's lines."""
    made = []
    for kind in CALLBACKS:
        if kind is USERS:
            made += settings.callbacks
        else:
            made.append(printer if kind is cb.BookLines else kind.from_settings(settings))
    return [callback for callback in made if callback is not None]


#### The loop
class _Stop(Exception):
    """Raised inside the loop to end training early; ``args[0]`` says why."""


def sgd(net, training_data, epochs, mini_batch_size, eta, validation_data,
        test_data, lmbda=0.0, **keywords):
    """Train ``net`` by mini-batch stochastic gradient descent: the work of
    ``Network.SGD``, whose docstring describes the arguments (``keywords``:
    its keyword-only ones, and any other option of the registry).  Returns
    a ``state.TrainingHistory``."""
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
    return Loop(net, training_data, datasets, settings,
                make_callbacks(settings, printer), printer).run()


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
    """One SGD call: trains ``net`` as its ``settings`` (a
    ``settings.TrainingSettings``) say, keeps :attr:`state` (a
    ``state.TrainingState``) up to date and calls the ``callbacks``' hooks
    with it."""

    def __init__(self, net, training_data, datasets, settings, callbacks, printer):
        self.net, self.engine, self.settings = net, net.engine, settings
        self.callbacks, self.printer = callbacks, printer
        self.interruption = Interruption()
        self.guard = DivergenceGuard(net.layers[-1].output_size)
        self.pages = _Pages(net, training_data, datasets[0], settings.augment,
                            self.interruption)
        self.state = TrainingState(
            net, settings, datasets, callbacks,
            {"warned": self.guard, "augment_seed": self.pages}, printer, self.interruption)
        self.train = self.error = None

    def _hook(self, callback, event):
        """Call ``callback``'s hook for ``event`` (a ``state.Event``); a
        string it returns ends training (the first one given wins)."""
        reason = getattr(callback, "on_" + event.name)(self.net, self.state, event)
        if isinstance(reason, str):
            self.state.stop(reason)

    def _hooks(self, event):
        """Call every callback's hook for ``event``, in order."""
        for callback in self.callbacks:
            self._hook(callback, event)

    def _hooks_may_stop(self, event):
        """:meth:`_hooks`, then end training at once if one said so."""
        self._hooks(event)
        if self.state.stopping is not None:
            raise _Stop(self.state.stopping)

    #### Training
    def run(self):
        state, history = self.state, self.state.history
        # (a resume's backup is read and checked here, before anything compiles)
        begun = []
        try:
            for callback in self.callbacks:
                self._hook(callback, Event("train_begin"))
                begun.append(callback)
        except BaseException as error:
            # those that began end (a TensorBoard writer closes), then the error
            self._end(error, begun)
            raise
        if state.stopping is not None:          # a hook ended it before it began
            state.end(state.stopping)
            self._end()
            return history
        # PyTensor compiles the step when it is first called: if the first
        # mini-batch takes long, say why (it is cancelled when one is done).
        self.printer.notice_later(cb.COMPILE_NOTICE, cb.COMPILE_NOTICE_AFTER)
        with self.interruption, self.pages.feeding(state.epochs, state.epoch):
            if not self._compile():
                return history
            ending = None
            try:
                # Do the actual training
                for epoch in range(state.epoch, state.epochs):
                    self._train_epoch(epoch)
                    self._end_epoch(epoch)
                    if state.stopping is not None:
                        state.end(state.stopping)
                        break
                if self.interruption.requested:    # during the last evaluation
                    raise _Stop("interrupted")
            except BaseException as error:
                ending = error
            with self.interruption.shielded():     # (a second Ctrl-C waits)
                if ending is not None:
                    self._stop(ending)
                self._end()
        if self.error is not None:
            raise self.error
        return history

    def _end(self, error=None, callbacks=None):
        """The ``callbacks``' (default: all) ``on_train_end``; ``error``: the
        exception ending training, if not kept in :attr:`error`."""
        event = Event("train_end", stopped=self.state.history.stopped,
                      error=error or self.error)
        for callback in self.callbacks if callbacks is None else callbacks:
            self._hook(callback, event)

    def _compile(self):
        """Compile the step (Ctrl-C stops at once); False if interrupted."""
        settings = self.settings
        try:
            with self.interruption.immediately():
                if self.interruption.requested:
                    raise KeyboardInterrupt
                self.train = compile_run(self.net, *self.pages.training_set(),
                                         self.state.eta, settings.lmbda, settings.update)
                self.state.bind_step(self.net.training_graph(bool(settings.lmbda),
                                                             settings.update))
            return True
        except BaseException as error:
            self.printer.cancel_notice()
            if not is_interrupt(error):
                raise
            self.state.end("interrupted")
            self.printer.problem("SGD interrupted before training started "
                                 "(while compiling); nothing was trained.")
            return False

    def _train_epoch(self, epoch):
        """Train on every mini-batch of the epoch, in runs no longer than the
        back end's chunk and never past the book's next printed line (nor,
        with ``augment``, past the page of images the step reads)."""
        state, pages = self.state, self.pages
        n = state.num_training_batches
        state.begin_epoch(epoch)
        self._hooks_may_stop(Event("epoch_begin", epoch))
        self.start = time.perf_counter()
        pages.start_epoch()
        while state.minibatch_index < n:
            if self.interruption.requested:
                raise _Stop("interrupted")
            pages.turn(state.minibatch_index)    # (a wait counts in the epoch)
            iteration = state.iteration
            count = min(1000 - iteration % 1000, self.engine.chunk,
                        pages.end - state.minibatch_index)
            self._hooks_may_stop(Event("batches_begin", epoch,
                                       range(iteration, iteration + count)))
            pages.make_room()
            with self.interruption.deferred():
                new_costs = self.train(state.minibatch_index - pages.first, count,
                                       self._after_step)
            self.printer.cancel_notice()
            bad = self.guard.first_bad(new_costs)
            if bad is not None:
                state.trained(new_costs[:bad].tolist())
                raise _Stop("diverged", float(new_costs[bad]))
            state.trained(new_costs.tolist())
            self._hooks_may_stop(Event("batches_end", epoch,
                                       range(iteration, iteration + len(new_costs))))

    def _after_step(self):
        """Called by the back end after each mini-batch: whether to stop."""
        self.printer.cancel_notice()        # the first one (compiled) is done
        return self.interruption.requested

    def _end_epoch(self, epoch):
        """The book's end of an epoch: evaluate, record the epoch (only once
        it is evaluated, so that every list of the history has it), then the
        hooks (a string one returns ends training after the epoch)."""
        state = self.state
        self.engine.sync()
        cost = float(np.mean(state.costs)) if state.costs else float("nan")
        validation = None if state.validation is None else state.accuracy(state.validation)
        self.guard.check_epoch(epoch, cost, state.eta)
        state.record_epoch(cost, validation, time.perf_counter() - self.start)
        self._hooks(Event("epoch_end", epoch))
        state.record_seconds(time.perf_counter() - self.start)

    #### Ending early
    def _stop(self, error):
        """End training early (shielded from Ctrl-C); an error that is not a
        reason to (Ctrl-C, divergence, a hook's reason) is kept in
        ``self.error``, raised after the hooks."""
        state = self.state
        if isinstance(error, _Stop):
            reason = error.args[0]
        elif is_interrupt(error):
            reason = "interrupted"
        else:
            self.error = error
            self._sync()
            return
        state.end(reason)
        self._sync()
        where = "epoch {0}, mini-batch {1}".format(state.epoch, state.minibatch_index)
        if reason == "interrupted":
            message = "SGD interrupted at {0} of {1}".format(
                where, state.num_training_batches)
        elif reason == "diverged":
            message = ("SGD stopped: the cost became {0:.4g} at {1}; training "
                       "diverged. The learning rate eta={2} is probably too "
                       "large: try a smaller one (e.g. eta={3:g})").format(
                           error.args[1], where, state.eta, state.eta / 10)
        else:
            message = "SGD stopped at {0} of {1}: {2}".format(
                where, state.num_training_batches, reason)
        self.printer.problem(_summary(state.history, message, self.settings.restore_best
                                      or reason == "diverged"))
        if reason == "diverged" and state.history.best_epoch is None:
            # nothing good to go back to but the start
            for param, value in zip(self.net.params, state.initial_params):
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
    the current page holds.  Its own state (for a backup) is the
    augmentation's seed."""

    def __init__(self, net, training_data, training, augment, interruption):
        self.net, self.engine, self.interruption = net, net.engine, interruption
        self.training_data, self.training = training_data, training
        self.num_training_batches = len(training[0]) // net.mini_batch_size
        self.augment, self.feed = augment, None
        self.first = self.end = self.first_epoch = self.epochs = 0
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

    def state(self):
        return self.seed

    def set_state(self, seed):
        self.seed = seed

    def feeding(self, epochs, first=0):
        """A context in which the feed (if any) runs, from epoch ``first``
        to ``epochs``: it starts now (making the first page while the step
        compiles) and is stopped at the end (Ctrl-C cannot cut that short),
        when the network's variables let the last page go."""
        self.first_epoch, self.epochs = first, epochs
        return self if self.augment is not None else contextlib.nullcontext()

    def __enter__(self):
        mbs, n = self.net.mini_batch_size, self.num_training_batches
        shape = augmentation.network_image_shape(self.net.layers,
                                                self.training[0].shape[1])
        self.feed = augmentation.EpochFeed(
            self.augment, self.training[0][:n * mbs], shape, self.epochs,
            self.seed, page=mbs * max(1, augmentation.PAGE // mbs),
            first_epoch=self.first_epoch)
        return self

    def __exit__(self, *exc_info):
        with self.interruption.shielded():
            self.feed.close()
            self.feed = None
            self.engine.make_room(False)
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
        self.end = 0 if self.feed is not None else self.num_training_batches

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
            self.engine.make_room(self.feed.busy)
