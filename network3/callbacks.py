"""callbacks.py
~~~~~~~~~~~~~~~~

What happens around the SGD loop, as callbacks (the habit Keras made
familiar): objects whose hooks the loop calls at the start and end of
training, of each epoch, and of each run of mini-batches.

Every hook receives the same three things: the network, the
``state.TrainingState`` (what training has done so far: the epoch, eta,
the history, the data sets, ...; and ``say``, ``accuracy``) and the
``state.Event`` it is called about (its epoch, its mini-batches, why
training ended).  Any hook may end training by returning a string, the
reason (or by ``state.stop(reason)``).

``Network.SGD(..., callbacks=[...])`` takes your own.  SGD's settings
(``network3.settings``) make the callbacks here, each by its
``from_settings``: the book's printed lines and the progress bar
(:class:`BookLines`), keeping the best epoch and the checkpoint
(:class:`KeepBest`), a learning-rate schedule (:class:`LearningRateSchedule`),
``early_stopping`` (:class:`EarlyStopping`), ``monitor_training``
(:class:`MonitorTraining`) and each layer's speed of learning
(:class:`GradientNorms`, always on); ``backup`` makes
``backup.BackupAndRestore``.  ``training.CALLBACKS`` states the order their
hooks run in, and where yours run.  :class:`TensorBoard` writes what
training measures to TensorBoard's event files, and :class:`Reports` hands
the same reports to a function of yours.

"""

#### Libraries
# Standard library
import inspect
import numbers
import os
import sys
import threading

# Third-party libraries
import numpy as np

# network3
from network3 import saving, tensorboard
from network3.schedules import Plateau

#: The hooks, in the order the loop first calls them.
HOOKS = ("on_train_begin", "on_epoch_begin", "on_batches_begin", "on_batches_end",
         "on_epoch_end", "on_train_end")


class Callback(object):
    """The base of every callback: hooks that do nothing.

    Each hook is called as ``hook(net, state, event)``: the network, the
    ``network3.state.TrainingState`` and the ``network3.state.Event``.  A
    hook that returns a string ends training with that string as
    ``history.stopped`` (the first one given wins; the other callbacks'
    hooks for the event still run): after the epoch from ``on_epoch_end``,
    at once from the others (``on_train_begin``: before anything trains;
    ``on_train_end``'s is not used).
    """

    #: Whether a backup's fingerprint names the callback (``SGD(backup=...)``
    #: refuses a backup written with other callbacks): False for one that
    #: only watches, so that a run resumes with it or without it.
    fingerprinted = True

    @classmethod
    def from_settings(cls, settings):
        """The callback ``settings`` (a ``network3.settings.TrainingSettings``)
        ask for, or None: how SGD makes the built-in callbacks
        (``training.CALLBACKS``) from its options."""
        return None

    def on_train_begin(self, net, state, event):
        """Before anything is compiled (``state.history`` is empty; a run
        resumed from a backup gets its state after every callback's
        ``on_train_begin``)."""

    def on_epoch_begin(self, net, state, event):
        """Before ``event.epoch``'s first mini-batch."""

    def on_batches_begin(self, net, state, event):
        """Before a run of mini-batches (up to the back end's ``chunk``):
        ``event.batches``, numbered since training began."""

    def on_batches_end(self, net, state, event):
        """After a run of mini-batches (``event.batches``: those trained);
        ``state.costs``: the epoch's costs so far."""

    def on_epoch_end(self, net, state, event):
        """After the epoch's evaluation: ``state.history`` holds the epoch's
        cost, validation accuracy (if there is validation data), seconds so
        far and a ``None`` test accuracy, which :class:`KeepBest` fills in at
        a new best."""

    def on_train_end(self, net, state, event):
        """However training ended: ``event.stopped`` says why it ended
        early, ``event.error`` is the exception that ended it (raised after
        the hooks), if one did."""

    def state(self):
        """What the callback needs to go on exactly where it was, if the run
        is resumed from a backup (``SGD(backup=...)``): numbers, strings,
        NumPy arrays, in lists and dicts.  Called after each epoch's hooks;
        None (the default) for a callback that keeps nothing between epochs."""
        return None

    def set_state(self, state):
        """Go on from ``state`` (what :meth:`state` returned), when a run
        resumes: called after ``on_train_begin``."""


#: The arguments hooks had before they all took (net, state, event): a hook
#: that still takes them is refused, with where those things are now.
_OLD_ARGUMENTS = {("net", "history"), ("net", "iteration"), ("net", "epoch", "history"),
                  ("net", "epoch", "costs")}


def check_hooks(callback):
    """TypeError, naming the hook and the fix, if one of ``callback``'s
    hooks cannot be called as ``hook(net, state, event)``."""
    for name in HOOKS:
        hook = getattr(callback, name)
        if getattr(type(callback), name) is getattr(Callback, name):
            continue
        try:
            signature = inspect.signature(hook)
        except (TypeError, ValueError):     # (one Python cannot look into)
            continue
        arguments = tuple(signature.parameters)
        try:
            signature.bind(None, None, None)
            fits = arguments not in _OLD_ARGUMENTS
        except TypeError:
            fits = False
        if not fits:
            raise TypeError(
                "SGD: callbacks: {0}.{1}({2}) must take (net, state, event), as every "
                "hook does: the epoch is event.epoch, the history state.history, the "
                "epoch's costs state.costs, the iteration event.batches[0], and what "
                "self.loop showed is the state (state.eta, state.say, ...); see "
                "network3.callbacks".format(type(callback).__name__, name,
                                            ", ".join(arguments)))


#### The book's lines and the progress bar
#: Seconds the first mini-batch may take before SGD says that it is compiling.
COMPILE_NOTICE_AFTER = 2.0

COMPILE_NOTICE = ("network3: compiling the training step; the first time takes up to "
                  "half a minute, later runs reuse it from the disk cache")


class BookLines(Callback):
    """The book's printed lines (when ``verbose``) and, when ``progress``, a
    progress bar per epoch on standard error below them; also the loop's
    voice: :meth:`say` prints other callbacks' lines in the same way,
    :meth:`problem` says on standard error why training stopped early,
    :meth:`notice` what else the user should know, and :meth:`notice_later`
    that something is slow."""

    def __init__(self, verbose=True, progress=False):
        self.verbose = verbose
        self.progress = progress
        self._bar = None
        self._notice = None

    @classmethod
    def from_settings(cls, settings):
        # the bar by default when the lines are printed where a person reads them
        return cls(settings.verbose, settings.verbose and interactive()
                   if settings.progress is None else settings.progress)

    def say(self, line):
        """One line (above the bar, if there is one), when verbose."""
        if self.verbose:
            (self._bar.write if self._bar is not None else print)(line)

    def problem(self, text):
        """Why training stopped early, on standard error (always shown)."""
        self._close_bar()
        print(text, file=sys.stderr)

    def notice_later(self, text, after):
        """Print ``text`` on standard error ``after`` seconds from now, unless
        :meth:`cancel_notice` comes first (nothing when not verbose)."""
        if self.verbose:
            self._notice = threading.Timer(after, self.notice, args=(text,))
            self._notice.daemon = True
            self._notice.start()

    def cancel_notice(self):
        if self._notice is not None:
            self._notice.cancel()
            self._notice = None

    def notice(self, text):
        """``text`` on standard error (always shown): what the user should
        know about the run, such as that it resumes from a backup."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def on_epoch_begin(self, net, state, event):
        if self.progress:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=state.num_training_batches,
                             desc="Epoch {0}/{1}".format(event.epoch + 1, state.epochs),
                             unit="batch", leave=False, dynamic_ncols=True,
                             mininterval=0.5)

    def on_batches_begin(self, net, state, event):
        iteration = event.batches[0]
        if iteration % 1000 == 0:
            self.say("Training mini-batch number {0}".format(iteration))

    def on_batches_end(self, net, state, event):
        if self._bar is None:
            return
        costs = state.costs
        rate = self._bar.format_dict.get("rate")
        self._bar.update(len(costs) - self._bar.n)
        self._bar.set_postfix_str("cost {0:.4f}, {1:.0f} images/s".format(
            np.mean(costs[-1000:]), rate * net.mini_batch_size if rate else 0.0),
            refresh=False)
        if len(costs) == state.num_training_batches:
            self._close_bar()

    def _close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, net, state, event):
        if state.validation is None:
            return
        epoch, history = event.epoch, state.history
        self.say("Epoch {0}: validation accuracy {1:.2%}".format(
            epoch, history.validation_accuracy[-1]))
        if history.best_epoch == epoch:
            self.say("This is the best validation accuracy to date.")
            if history.test_accuracy[-1] is not None:
                self.say('The corresponding test accuracy is {0:.2%}'.format(
                    history.test_accuracy[-1]))

    def on_train_end(self, net, state, event):
        self.cancel_notice()
        self._close_bar()
        if event.error is not None:
            return
        history = state.history
        self.say("Finished training network.")
        if history.best_epoch is not None:
            self.say("Best validation accuracy of {0:.2%} obtained at iteration "
                     "{1}".format(history.best_validation_accuracy,
                                  history.best_iteration))
            if history.best_test_accuracy is not None:
                self.say("Corresponding test accuracy of {0:.2%}".format(
                    history.best_test_accuracy))


def interactive():
    """Whether standard output is a terminal or a Jupyter notebook's (the
    code runs in an IPython kernel, not merely where ipykernel is imported)."""
    try:
        if sys.stdout.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


#### The best epoch
class KeepBest(Callback):
    """The parameters of the epoch with the best validation accuracy so far.

    As in ``network3.py`` an epoch that *ties* the best so far becomes the
    best (``>=``), and the test accuracy is measured at each new best.  Each
    new best is copied, written to ``checkpoint`` (if given; atomically, so
    the file is always whole) and recorded in the history.  When training
    ends the network gets the best parameters back if ``restore`` (and after
    a divergence in any case).

    Parameters
    ----------
    restore : bool, optional
    checkpoint : str or path, optional
    """

    def __init__(self, restore=True, checkpoint=None):
        self.restore_at_end = restore
        self.checkpoint = checkpoint
        self.net = None
        self.accuracy, self.params, self.pending = 0.0, None, False

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.restore_best, settings.checkpoint)

    def on_train_begin(self, net, state, event):
        self.net = net
        self.accuracy, self.params, self.pending = 0.0, None, False

    def on_epoch_end(self, net, state, event):
        epoch, history = event.epoch, state.history
        if state.validation is None or history.validation_accuracy[-1] < self.accuracy:
            return
        with state.shielded():
            self.keep(epoch, state.num_training_batches*(epoch+1) - 1,
                      history.validation_accuracy[-1], history)
        self.write_checkpoint()
        if state.test is not None:
            history.best_test_accuracy = state.accuracy(state.test)
            history.test_accuracy[-1] = history.best_test_accuracy

    def keep(self, epoch, iteration, accuracy, history):
        """Record the network's parameters now as the best, at ``epoch``."""
        self.params = [p.get_value() for p in self.net.params]
        self.accuracy = accuracy
        history.best_validation_accuracy = accuracy
        history.best_epoch = epoch
        history.best_iteration = iteration
        self.pending = self.checkpoint is not None

    def write_checkpoint(self):
        """Save the best parameters to the checkpoint, if not done yet."""
        if self.pending:
            saving.save(self.net, self.checkpoint, values=self.params)
            self.pending = False

    def restore(self):
        """Put the best parameters back in the network (if there are any)."""
        if self.params is not None:
            for param, value in zip(self.net.params, self.params):
                param.set_value(value)

    def state(self):
        return {"accuracy": self.accuracy, "params": self.params, "pending": self.pending}

    def set_state(self, state):
        self.accuracy, self.params, self.pending = (
            state["accuracy"], state["params"], state["pending"])

    def on_train_end(self, net, state, event):
        # after an error, the checkpoint is left as it was (the error may be
        # the checkpoint's own); after a second Ctrl-C cut a write short, it
        # is written again
        if event.error is None:
            self.write_checkpoint()
        if self.restore_at_end or event.stopped == "diverged":
            self.restore()


#### Learning rates and stopping early
class LearningRateSchedule(Callback):
    """Each epoch's learning rate from ``schedule``, a function of the epoch
    number (see ``network3.schedules``); a schedule that watches training
    (``observe(history)``, ``finished``) may end it."""

    def __init__(self, schedule):
        self.schedule = schedule

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.eta) if callable(settings.eta) else None

    def on_train_begin(self, net, state, event):
        if hasattr(self.schedule, "reset"):
            self.schedule.reset()
        state.eta = self._eta(0)

    def on_epoch_begin(self, net, state, event):
        if event.epoch > 0:
            state.eta = self._eta(event.epoch)

    def _eta(self, epoch):
        """The schedule's learning rate for ``epoch``, checked."""
        eta = self.schedule(epoch)
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) \
                or not np.isfinite(eta) or eta <= 0:
            raise ValueError(
                "SGD: the learning-rate schedule eta={0!r} returned {1!r} at epoch "
                "{2}; it must return a positive finite number".format(
                    self.schedule, eta, epoch))
        return float(eta)

    def state(self):
        # a schedule that watches training keeps state of its own
        return self.schedule.state() if hasattr(self.schedule, "state") else None

    def set_state(self, state):
        if state is not None:
            self.schedule.set_state(state)

    def on_epoch_end(self, net, state, event):
        if not hasattr(self.schedule, "observe"):
            return None
        history = state.history
        self.schedule.observe(history)
        if getattr(self.schedule, "finished", False):
            state.say("The learning-rate schedule has finished (eta fell to {0:g}); "
                          "training ends.".format(self.schedule(len(history.eta))))
            return "schedule"
        return None


class EarlyStopping(Callback):
    """End training after ``patience`` epochs in a row without a strictly
    higher validation accuracy than the best so far."""

    def __init__(self, patience):
        self.patience = patience
        self.plateau = Plateau(patience)

    @classmethod
    def from_settings(cls, settings):
        patience = settings.early_stopping
        return None if patience is None else cls(patience)

    def on_train_begin(self, net, state, event):
        self.plateau.reset()

    def state(self):
        return self.plateau.state()

    def set_state(self, state):
        self.plateau.set_state(state)

    def on_epoch_end(self, net, state, event):
        if not self.plateau.observe(state.history.validation_accuracy[-1]):
            return None
        state.say("Early stopping: no better validation accuracy in the last {0} "
                      "epoch{1}.".format(self.patience,
                                         "" if self.patience == 1 else "s"))
        return "early_stopping"


#### Measurements
#: How many training images ``monitor_training=True`` measures on.
MONITORED_IMAGES = 10000


class MonitorTraining(Callback):
    """After each epoch, the accuracy and cost (with the L2 term) on the
    first ``images`` training images, evaluated as validation is (dropout
    replaced by scaling): next to validation accuracy, how much the network
    overfits.  They go in the history's ``training_accuracy`` and
    ``training_cost``, and one line is printed."""

    def __init__(self, images=MONITORED_IMAGES):
        self.images = images

    @classmethod
    def from_settings(cls, settings):
        monitored = settings.monitor_training
        if not monitored:
            return None
        return cls(MONITORED_IMAGES if monitored is True else int(monitored))

    def on_epoch_end(self, net, state, event):
        images, labels = (part[:self.images] for part in state.training)
        with state.deferred():
            correct, cost = net.engine.evaluate(net.prediction_graph, images, labels)
        cost /= len(labels)
        lmbda = state.settings.lmbda
        if lmbda:
            squares = sum(float(np.square(w.get_value(borrow=True), dtype=float).sum())
                          for layer in net.layers for w in layer.regularized_params())
            cost += 0.5 * lmbda / state.num_training_batches * squares
        state.history.training_accuracy.append(correct / len(labels))
        state.history.training_cost.append(cost)
        state.say("Epoch {0}: training accuracy {1:.2%}, training cost {2:.4f}".format(
            event.epoch, correct / len(labels), cost))


class GradientNorms(Callback):
    """How fast each layer learns (chapter 5): per epoch, per layer, the
    norm of the epoch's mean gradient of the layer's parameters, from how
    far they moved, ``|change| / (eta * mini-batches)`` (with another update
    rule than plain SGD: the mean step over eta).  Two copies of the
    parameters and a subtraction per epoch, nothing compiled."""

    @classmethod
    def from_settings(cls, settings):
        return cls()        # always

    def on_train_begin(self, net, state, event):
        self.before = [p.get_value() for p in net.params]

    def state(self):
        return {"before": self.before}

    def set_state(self, state):
        self.before = state["before"]

    def on_epoch_end(self, net, state, event):
        now = [p.get_value() for p in net.params]
        steps = state.eta * max(len(state.costs), 1)
        before, after = dict(zip(net.params, self.before)), dict(zip(net.params, now))
        state.history.gradient_norms.append(
            [np.sqrt(sum(np.square(after[p] - before[p], dtype=float).sum()
                         for p in layer.params)) / steps
             for layer in net.layers])
        self.before = now


#### Reports: TensorBoard
class Reports(Callback):
    """Hands ``send`` a report (a dict: see ``network3.tensorboard``) after
    each epoch, the mean cost of every ``batch_cost_every`` mini-batches as
    they train, and a last report when training ends.  If ``send`` returns
    a string for an epoch's report, training ends after that epoch with it
    as ``history.stopped`` (a search pruning a hopeless run says
    ``"pruned"``).

    Parameters
    ----------
    send : callable
        Called with each report.
    histograms : bool, optional
        Histograms of every layer's weights and biases, each epoch.
    images : bool, optional
        The first layer's filters each epoch (a ConvPoolLayer's), and the
        misclassified validation digits at the end.
    batch_cost_every : int, optional
        Also report the mean cost of every this many mini-batches.
    hparams : dict, optional
        The run's settings, reported at the end with its final numbers
        (default: eta, lmbda, the mini-batch size, the epochs and the
        update rule of the SGD call).
    """

    # it watches: a run resumes from its backup with it or without it (a
    # run it prunes ends, and leaves no backup)
    fingerprinted = False

    def __init__(self, send, histograms=True, images=True, batch_cost_every=None,
                 hparams=None):
        if batch_cost_every is not None and (isinstance(batch_cost_every, bool) or not
                                             isinstance(batch_cost_every, int)
                                             or batch_cost_every < 1):
            raise ValueError("{0}: batch_cost_every must be a positive integer or "
                             "None, got {1!r}".format(type(self).__name__,
                                                      batch_cost_every))
        self.send = send
        self.histograms, self.images = bool(histograms), bool(images)
        self.batch_cost_every = batch_cost_every
        self.hparams = hparams
        self._reported = 0          # the epoch's mini-batches reported so far

    def on_epoch_begin(self, net, state, event):
        self._reported = 0

    def on_batches_end(self, net, state, event):
        every, costs = self.batch_cost_every, state.costs
        if every is None or len(costs) - self._reported < every:
            return
        first = state.num_training_batches * event.epoch
        groups = range(self._reported, len(costs) - every + 1, every)
        self._reported = groups[-1] + every
        self.send({"kind": "batches", "costs": [
            (first + k + every - 1, float(np.mean(costs[k:k + every])))
            for k in groups]})

    def on_epoch_end(self, net, state, event):
        verdict = self.send(tensorboard.epoch_report(
            net, state.history, event.epoch, histograms=self.histograms,
            images=self.images))
        return verdict if isinstance(verdict, str) else None

    def on_train_end(self, net, state, event):
        # (an interrupted run goes on later, and ends then)
        if event.error is not None or event.stopped == "interrupted":
            return
        history, settings, hparams = state.history, state.settings, self.hparams
        if hparams is None:
            hparams = {"eta": history.eta[0] if history.eta else state.eta,
                       "lmbda": settings.lmbda, "mini_batch_size": net.mini_batch_size,
                       "epochs": state.epochs, "update": settings.update.name}
        self.send(tensorboard.end_report(net, history, state.validation, hparams,
                                         images=self.images))


class TensorBoard(Reports):
    """Writes what training measures to TensorBoard's event files in
    ``log_dir``, as it trains (see ``network3.tensorboard``; needs ``pip
    install -e '.[tensorboard]'``), then ``tensorboard --logdir LOG_DIR``.

    Per epoch: the training cost, validation, test (at each new best) and,
    with ``monitor_training``, training accuracy, eta, each layer's speed of
    learning; with ``histograms``, each layer's weights and biases; with
    ``images``, the first layer's filters, and at the end the misclassified
    validation digits.  At the end, the run's settings and final numbers
    for the HParams tab.  A run resumed from a backup goes on with the same
    event files: the epochs from the one it resumes at replace any written
    before.  The other arguments are those of :class:`Reports`.
    """

    def __init__(self, log_dir, histograms=True, images=True, batch_cost_every=None,
                 hparams=None):
        super().__init__(self._write, histograms, images, batch_cost_every, hparams)
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError("TensorBoard: log_dir must be a folder's name, got "
                            "{0!r}".format(log_dir))
        tensorboard.require()       # (before anything trains)
        self.log_dir = log_dir
        self.writer = None

    def on_train_begin(self, net, state, event):
        self.writer = tensorboard.EventWriter(self.log_dir)

    def _write(self, report):
        self.writer.write(report)

    def on_train_end(self, net, state, event):
        try:
            super().on_train_end(net, state, event)
        finally:
            self.writer.close()
