"""training.py
~~~~~~~~~~~~~~

The SGD loop behind ``Network.SGD``, in small parts that each do one job:

* :func:`check_arguments`: SGD's arguments, checked before anything compiles;
* :class:`Printer`: the book's printed lines, and a progress bar below them;
* :class:`DivergenceGuard`: stop when the cost stops being a number;
* :class:`BestKeeper`: the parameters of the best epoch so far (and the
  checkpoint file), put back when training ends;
* :class:`Interruption`: Ctrl-C, turned into a clean stop at the next
  mini-batch;
* :class:`TrainingHistory`: what training measured, epoch by epoch;
* :func:`sgd`: the loop itself, which reads like ``network3.py``'s, with the
  chapter's exercises as options: a learning-rate schedule (see
  ``network3.schedules``), momentum (the velocities are in the training
  graph), early stopping, measurements of overfitting (accuracy and cost
  on training images) and of each layer's speed of learning, and training
  images transformed afresh each epoch (``network3.augmentation``).

The loop knows a network only through ``net.layers``, ``net.params``,
``net.engine`` (its back end), ``net.training_graph(with_l2)`` and
``net.predict``.

"""

#### Libraries
# Standard library
import contextlib
import dataclasses
import math
import numbers
import os
import signal
import sys
import threading
import time
import warnings

# Third-party libraries
import numpy as np
import pytensor

# network3
from network3 import augmentation, config, data, saving, seeding


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
    #: norm of the epoch's mean gradient of the layer's parameters, from how
    #: far they moved, ``|change| / (eta * mini-batches)`` (with momentum:
    #: the mean step over eta)
    gradient_norms: list = dataclasses.field(default_factory=list)
    best_validation_accuracy: float = None
    best_epoch: int = None
    best_iteration: int = None
    best_test_accuracy: float = None
    #: ``None``, or why training ended early: ``"interrupted"``,
    #: ``"diverged"``, ``"early_stopping"`` or ``"schedule"`` (a learning-rate
    #: schedule such as ``halve_on_plateau`` finished)
    stopped: str = None

    @property
    def epochs(self):
        """Number of epochs trained."""
        return len(self.cost)


#### Checking SGD's arguments
def check_arguments(net, training_data, epochs, mini_batch_size, eta,
                    validation_data, test_data, lmbda, checkpoint, progress,
                    early_stopping=None, momentum=0.0, monitor_training=False,
                    augment=None):
    """Check SGD's arguments; return the training, validation and test sets
    as checked arrays (the last two may be None)."""
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) \
            or epochs < 0:
        raise ValueError(
            "SGD: epochs must be a non-negative integer, got {0!r}".format(epochs))
    if mini_batch_size != net.mini_batch_size:
        raise ValueError(
            "SGD: mini_batch_size={0!r} but the network was built with "
            "mini_batch_size={1}; they must be equal".format(
                mini_batch_size, net.mini_batch_size))
    if callable(eta):
        if hasattr(eta, "observe") and validation_data is None:
            raise ValueError("SGD: the learning-rate schedule eta={0!r} watches "
                             "validation accuracy; give validation_data".format(eta))
    elif not _is_number(eta) or eta <= 0:
        raise ValueError("SGD: eta must be a positive number, got {0!r} (or a "
                         "schedule: a function of the epoch number)".format(eta))
    if not _is_number(momentum) or not 0 <= momentum < 1:
        raise ValueError("SGD: momentum must be a number in [0, 1), got {0!r}".format(
            momentum))
    if early_stopping is not None:
        if isinstance(early_stopping, bool) or not isinstance(
                early_stopping, numbers.Integral) or early_stopping < 1:
            raise ValueError("SGD: early_stopping must be a positive integer (epochs "
                             "without improvement), got {0!r}".format(early_stopping))
        if validation_data is None:
            raise ValueError("SGD: early_stopping={0} watches validation accuracy; "
                             "give validation_data".format(early_stopping))
    if not isinstance(monitor_training, bool) and (
            not isinstance(monitor_training, numbers.Integral) or monitor_training < 1):
        raise ValueError("SGD: monitor_training must be True, False or a number of "
                         "training images, got {0!r}".format(monitor_training))
    if not _is_number(lmbda) or lmbda < 0:
        raise ValueError("SGD: lmbda must be a non-negative number, got {0!r}".format(
            lmbda))
    if not hasattr(net.layers[-1], "cost"):
        raise TypeError(
            "SGD: the last layer ({0}) has no cost to minimise; end the "
            "network with a SoftmaxLayer".format(type(net.layers[-1]).__name__))
    if progress is not None and not isinstance(progress, bool):
        raise TypeError("SGD: progress must be True, False or None, got "
                        "{0!r}".format(progress))
    _check_checkpoint(checkpoint)
    training = data.check_dataset(training_data, "training_data", net.layers)
    if len(training[0]) < net.mini_batch_size:
        raise ValueError(
            "training_data: {0} images, fewer than one mini-batch of "
            "{1}".format(len(training[0]), net.mini_batch_size))
    if augment is not None:
        if not isinstance(augment, augmentation.Augmentation):
            raise TypeError("SGD: augment must be a network3.Augmentation or None, "
                            "got {0!r}".format(augment))
        augmented_shape(net, training[0].shape[1])
    return (training,
            *(None if part is None else data.check_dataset(part, name, net.layers)
              for part, name in ((validation_data, "validation_data"),
                                 (test_data, "test_data"))))


def _is_number(value):
    """Whether ``value`` is a finite real number (not a bool)."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and bool(np.isfinite(value)))


def augmented_shape(net, size):
    """The (channels, height, width) of ``net``'s input images of ``size``
    values, for ``augment``: the first layer's ``image_shape``, or a square
    of one channel."""
    shape = getattr(net.layers[0], "image_shape", None)
    if shape is not None:
        return augmentation.image_shape(shape[1:], size, "SGD: augment")
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(
            "SGD: augment transforms square images (or those a first ConvPoolLayer's "
            "image_shape describes), but these have {0} values each".format(size))
    return augmentation.image_shape((side, side), size, "SGD: augment")


def _check_checkpoint(checkpoint):
    if checkpoint is None:
        return
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError("SGD: checkpoint must be a file name, got {0!r}".format(
            checkpoint))
    folder = os.path.dirname(os.path.abspath(checkpoint))
    if not os.path.isdir(folder):
        raise ValueError(
            "SGD: checkpoint={0!r}: the folder {1} does not exist; create it "
            "or choose another".format(os.fspath(checkpoint), folder))


#### The book's lines and the progress bar
#: Seconds the first mini-batch may take before SGD says that it is compiling.
COMPILE_NOTICE_AFTER = 2.0

COMPILE_NOTICE = ("network3: compiling the training step; the first time takes up to "
                  "half a minute, later runs reuse it from the disk cache")


class Printer(object):
    """Prints the book's lines (when ``verbose``) and, when ``progress``, a
    progress bar per epoch on standard error, below them; and (when
    ``verbose``) a notice on standard error when something is slow."""

    def __init__(self, verbose, progress, mini_batch_size):
        self.verbose = verbose
        self.progress = progress
        self.mini_batch_size = mini_batch_size
        self._bar = None
        self._notice = None

    def notice_later(self, text, after):
        """Print ``text`` on standard error ``after`` seconds from now, unless
        :meth:`cancel_notice` comes first (nothing when not verbose)."""
        if self.verbose:
            self._notice = threading.Timer(after, self._notify, args=(text,))
            self._notice.daemon = True
            self._notice.start()

    def cancel_notice(self):
        if self._notice is not None:
            self._notice.cancel()
            self._notice = None

    def _notify(self, text):
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def say(self, line):
        """One of the book's lines (above the bar, if there is one)."""
        if self.verbose:
            (self._bar.write if self._bar is not None else print)(line)

    def start_epoch(self, epoch, epochs, num_training_batches):
        if self.progress:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=num_training_batches,
                             desc="Epoch {0}/{1}".format(epoch + 1, epochs),
                             unit="batch", leave=False, dynamic_ncols=True,
                             mininterval=0.5)

    def advance(self, count, costs):
        """``count`` more mini-batches done; ``costs``: the epoch's so far."""
        if self._bar is not None:
            rate = self._bar.format_dict.get("rate")
            self._bar.update(count)
            self._bar.set_postfix_str("cost {0:.4f}, {1:.0f} images/s".format(
                np.mean(costs[-1000:]), rate * self.mini_batch_size if rate else 0.0),
                refresh=False)

    def end_epoch(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def problem(self, text):
        """Why training stopped early, on standard error (always shown)."""
        self.end_epoch()
        print(text, file=sys.stderr)


def interactive():
    """Whether standard output is a terminal or a Jupyter notebook."""
    try:
        if sys.stdout.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules


#### Divergence
class DivergenceGuard(object):
    """Spots a training run that has gone wrong.

    A cost that is NaN, infinite, or beyond ``-log`` of the smallest float
    (the right answers' probabilities underflowed: the numbers are gone as
    surely as with NaN) means training diverged.  A mean cost worse than
    guessing among the classes gets one warning.
    """

    def __init__(self, n_classes, eta):
        self.limit = -np.log(np.finfo(config.floatX).tiny)
        self.guessing = np.log(n_classes)
        self.eta = eta
        self._warned = False

    def first_bad(self, costs):
        """Index of the first cost in ``costs`` that means divergence, or None."""
        bad = np.flatnonzero(~(np.asarray(costs) < self.limit))
        return int(bad[0]) if bad.size else None

    def check_epoch(self, epoch, mean_cost):
        if mean_cost > self.guessing and not self._warned:
            self._warned = True
            warnings.warn(
                "SGD: epoch {0}'s mean cost {1:.3f} is worse than guessing "
                "({2:.3f}); the learning rate eta={3} may be too large".format(
                    epoch, mean_cost, self.guessing, self.eta),
                stacklevel=_caller_level())


def _caller_level():
    """The ``stacklevel`` that makes a warning point at the first frame
    outside network3 (the user's ``SGD`` call)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


#### The best epoch
class BestKeeper(object):
    """The parameters of the epoch with the best validation accuracy so far.

    As in ``network3.py`` an epoch that *ties* the best so far becomes the
    best (``>=``).  Each new best is copied, written to ``checkpoint`` (if
    given; atomically, so the file is always whole) and recorded in
    ``history``; :meth:`restore` puts it back in the network.
    """

    def __init__(self, net, history, checkpoint=None):
        self.net = net
        self.history = history
        self.checkpoint = checkpoint
        self.accuracy = 0.0
        self.params = None
        self.pending = False      # a best not yet written to the checkpoint

    def is_best(self, accuracy):
        return accuracy >= self.accuracy

    def keep(self, epoch, iteration, accuracy):
        """Record the network's parameters now as the best, at ``epoch``."""
        params = [p.get_value() for p in self.net.params]
        self.params, self.accuracy = params, accuracy
        self.history.best_validation_accuracy = accuracy
        self.history.best_epoch = epoch
        self.history.best_iteration = iteration
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


#### Ctrl-C
class Interruption(object):
    """Ctrl-C during training, turned into a request to stop.

    Used as a context manager around training.  In the main thread it
    replaces the SIGINT handler with one that only records the request
    (:attr:`requested`); the loop checks it between mini-batches and stops
    cleanly.  A KeyboardInterrupt raised in the middle of compiled code
    would come out of Numba as a ``SystemError``, and could leave the
    network half-updated; a recorded request never does.

    A second Ctrl-C raises KeyboardInterrupt at once (users expect that), as
    does the first one inside :meth:`immediately` (compiling, where there is
    no step to finish).  Inside :meth:`shielded` Ctrl-C is only recorded.
    Inside :meth:`deferred` (running compiled code) a second Ctrl-C raises
    KeyboardInterrupt as the block ends: raised in the middle of a compiled
    call, it can land while Numba hands back the call's results, and crash
    the process.
    The previous handler is put back at the end.  Interruptions nest: an
    inner one (SGD's) starts with the request an outer one (the command
    line's) has recorded, and hands its own request back to it.  Where
    SIGINT is ignored, or outside the main thread, nothing is installed:
    KeyboardInterrupt arrives as usual, and :func:`is_interrupt` recognises
    it.
    """

    def __init__(self):
        self.requested = False
        self._abort = False
        self._mode = "record"
        self._previous = None
        self._outer = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous not in (signal.SIG_IGN, None):
                self._previous = previous
                # inside another Interruption (the command line's, say): a
                # request it recorded is ours, and ours will be its
                self._outer = getattr(previous, "__self__", None)
                if isinstance(self._outer, Interruption):
                    self.requested = self._outer.requested
                signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
            if isinstance(self._outer, Interruption) and self.requested:
                self._outer.requested = True
        return False

    def _handle(self, signum, frame):
        if self._mode in ("shield", "defer"):
            self._abort = self._abort or (self.requested and self._mode == "defer")
            self.requested = True
            return
        abort = self.requested or self._mode == "raise"
        self.requested = True
        if abort:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def _in_mode(self, mode):
        before, self._mode = self._mode, mode
        try:
            yield
        finally:
            self._mode = before

    def immediately(self):
        """A block in which Ctrl-C raises KeyboardInterrupt at once."""
        return self._in_mode("raise")

    def shielded(self):
        """A block that Ctrl-C does not interrupt (it is only recorded)."""
        return self._in_mode("shield")

    @contextlib.contextmanager
    def deferred(self):
        """A block of compiled calls (training steps, predictions): Ctrl-C is
        recorded, and a second one raises KeyboardInterrupt when the block
        ends (back ends check the request between steps, so the first one
        ends the block soon)."""
        self._abort = False
        with self._in_mode("defer"):
            yield
        if self._abort:
            self._abort = False
            raise KeyboardInterrupt


def is_interrupt(error):
    """Whether ``error`` is a KeyboardInterrupt, or an exception it caused:
    Numba reports one raised while its compiled code ran as a SystemError
    ("returned a result with an exception set") caused by it."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False


#: How many training images ``monitor_training=True`` measures on.
MONITORED_IMAGES = 10000


class _Stop(Exception):
    """Raised inside the loop to end training early; ``args[0]`` says why."""


#### The loop
def sgd(net, training_data, epochs, mini_batch_size, eta, validation_data,
        test_data, lmbda=0.0, *, restore_best=True, verbose=True, checkpoint=None,
        progress=None, early_stopping=None, momentum=0.0, monitor_training=False,
        augment=None):
    """Train ``net`` by mini-batch stochastic gradient descent: the work of
    ``Network.SGD``, whose docstring describes the arguments.  Returns a
    :class:`TrainingHistory`."""
    training, validation, test = check_arguments(
        net, training_data, epochs, mini_batch_size, eta, validation_data,
        test_data, lmbda, checkpoint, progress, early_stopping, momentum,
        monitor_training, augment)
    unused = len(training[0]) % mini_batch_size
    if unused:
        warnings.warn(
            "SGD: {0} training images do not fill a last mini-batch of {1} "
            "and are not used for training".format(unused, mini_batch_size),
            stacklevel=_caller_level())
    printer = Printer(verbose, verbose and interactive() if progress is None
                      else progress, mini_batch_size)
    loop = _Loop(net, training_data, training, validation, test, eta, lmbda,
                 restore_best, checkpoint, printer, early_stopping, momentum,
                 monitor_training, augment)
    return loop.run(epochs)


def compile_run(net, training_data, arrays, eta, lmbda, momentum=0.0):
    """``net``'s back end's training run (see ``Backend.training_run``) for
    ``training_data`` (``arrays``: the same, checked), with ``eta`` (a
    number), ``lmbda`` and ``momentum`` put in the training graph's shared
    variables and the velocities (if any) at zero."""
    graph = net.training_graph(bool(lmbda), bool(momentum))
    graph.set_hyper_parameters(eta, lmbda, len(arrays[0]) // net.mini_batch_size,
                               momentum)
    graph.reset_velocities()
    return net.engine.training_run(graph, training_data, arrays)


class _Loop(object):
    """One SGD call: its settings, and the parts of the loop with the state
    they share while it runs."""

    def __init__(self, net, training_data, training, validation, test, eta, lmbda,
                 restore_best, checkpoint, printer, early_stopping=None, momentum=0.0,
                 monitor_training=False, augment=None):
        self.net, self.engine = net, net.engine
        self.training_data, self.training = training_data, training
        self.validation, self.test = validation, test
        # eta: a number, or a schedule; self.eta is the epoch's number
        self.schedule = eta if callable(eta) else None
        if hasattr(self.schedule, "reset"):
            self.schedule.reset()
        self.eta = self._scheduled_eta(0) if self.schedule else eta
        self.lmbda, self.momentum, self.restore_best = lmbda, momentum, restore_best
        self.early_stopping = early_stopping
        self.best_strictly, self.epochs_without_improvement = -1.0, 0
        # the training images to measure accuracy and cost on (True: 10,000)
        n = MONITORED_IMAGES if monitor_training is True else int(monitor_training)
        self.monitored = (training[0][:n], training[1][:n]) if monitor_training else None
        self.num_training_batches = len(training[0]) // net.mini_batch_size
        self.printer = printer
        self.history = TrainingHistory()
        self.keeper = BestKeeper(net, self.history, checkpoint)
        self.guard = DivergenceGuard(net.layers[-1].output_size, self.eta)
        self.interruption = Interruption()
        self.epoch = self.minibatch_index = 0
        self.initial_params = [p.get_value() for p in net.params]
        self.epoch_start_params = self.initial_params
        # with augment: each epoch's images come from a feed, a page at a
        # time, into shared variables of the network's that the step reads
        self.augment, self.feed = augment, None
        if augment is not None:
            self.augment_seed = seeding.new_seed()
            if net.augmented_data is None:
                net.augmented_data = (
                    pytensor.shared(training[0], borrow=True, name="augmented_images"),
                    pytensor.shared(training[1], borrow=True, name="augmented_labels"))

    def run(self, epochs):
        history, say = self.history, self.printer.say
        # PyTensor compiles the step when it is first called: if the first
        # mini-batch takes long, say why (it is cancelled when one is done).
        self.printer.notice_later(COMPILE_NOTICE, COMPILE_NOTICE_AFTER)
        with self.interruption, self._feeding(epochs):
            try:
                with self.interruption.immediately():
                    if self.interruption.requested:
                        raise KeyboardInterrupt
                    train = compile_run(self.net, *self._training_set(), self.eta,
                                        self.lmbda, self.momentum)
                    graph = self.net.training_graph(bool(self.lmbda), bool(self.momentum))
            except BaseException as error:
                self.printer.cancel_notice()
                if not is_interrupt(error):
                    raise
                history.stopped = "interrupted"
                self.printer.problem("SGD interrupted before training started "
                                     "(while compiling); nothing was trained.")
                return history
            try:
                # Do the actual training
                for epoch in range(epochs):
                    if self.schedule is not None and epoch > 0:
                        self.eta = self._scheduled_eta(epoch)
                        graph.set_eta(self.eta)
                        self.guard.eta = self.eta
                    history.eta.append(self.eta)
                    self._train_epoch(epoch, epochs, train)
                    self._end_epoch(epoch)
                    reason = self._planned_end()
                    if reason is not None:
                        history.stopped = reason
                        break
                if self.interruption.requested:    # during the last evaluation
                    raise _Stop("interrupted")
            except BaseException as error:
                self._stop(error)
            finally:
                self.printer.cancel_notice()
            with self.interruption.shielded():
                say("Finished training network.")
                if history.best_epoch is not None:
                    if self.restore_best or history.stopped == "diverged":
                        self.keeper.restore()
                    say("Best validation accuracy of {0:.2%} obtained at iteration "
                        "{1}".format(history.best_validation_accuracy,
                                     history.best_iteration))
                    if history.best_test_accuracy is not None:
                        say("Corresponding test accuracy of {0:.2%}".format(
                            history.best_test_accuracy))
        return history

    @contextlib.contextmanager
    def _feeding(self, epochs):
        """With ``augment``: the feed of transformed images, started now (it
        makes the first page while the step compiles) and stopped at the end
        (Ctrl-C cannot cut that short), when the network's variable lets the
        last page go.  Pages are whole mini-batches."""
        if self.augment is None:
            yield
            return
        mbs = self.net.mini_batch_size
        shape = augmented_shape(self.net, self.training[0].shape[1])
        self.feed = augmentation.EpochFeed(
            self.augment, self.training[0][:self.num_training_batches * mbs], shape,
            epochs, self.augment_seed, page=mbs * max(1, augmentation.PAGE // mbs))
        try:
            yield
        finally:
            with self.interruption.shielded():
                self.feed.close()
                self.feed = None
                self.engine.make_room(False)
                for var, part in zip(self.net.augmented_data, self.training):
                    var.set_value(part[:0].copy())

    def _training_set(self):
        """What the step trains on: the training data as given and checked,
        or, with ``augment``, the network's variables for a page of
        transformed images and their labels (holding the data as given until
        the first page is made)."""
        if self.augment is None:
            return self.training_data, self.training
        for var, part in zip(self.net.augmented_data, self.training):
            var.set_value(part, borrow=True)
        return self.net.augmented_data, self.training

    def _train_epoch(self, epoch, epochs, train):
        """Train on every mini-batch of the epoch, in runs no longer than the
        back end's chunk and never past the book's next printed line (nor,
        with ``augment``, past the page of images the step reads)."""
        n = self.num_training_batches
        self.epoch, self.minibatch_index, self.costs = epoch, 0, []
        self.start = time.perf_counter()
        # the mini-batches the step's images hold: all, or a page's
        page_start, page_end = 0, (0 if self.feed is not None else n)
        self.printer.start_epoch(epoch, epochs, n)
        while self.minibatch_index < n:
            if self.interruption.requested:
                raise _Stop("interrupted")
            if self.minibatch_index == page_end:    # (a wait counts in the epoch)
                images, (images_var, labels_var) = self.feed.next(), self.net.augmented_data
                mbs = self.net.mini_batch_size
                page_start = self.minibatch_index
                page_end = page_start + len(images) // mbs
                images_var.set_value(images, borrow=True)
                labels_var.set_value(self.training[1][page_start * mbs:page_end * mbs],
                                     borrow=True)
            iteration = n*epoch+self.minibatch_index
            if iteration % 1000 == 0:
                self.printer.say("Training mini-batch number {0}".format(iteration))
            count = min(1000 - iteration % 1000, self.engine.chunk,
                        page_end - self.minibatch_index)
            if self.feed is not None:
                self.engine.make_room(self.feed.busy)
            with self.interruption.deferred():
                new_costs = train(self.minibatch_index - page_start, count,
                                  self._after_step)
            self.printer.cancel_notice()
            bad = self.guard.first_bad(new_costs)
            if bad is not None:
                self.minibatch_index += bad
                raise _Stop("diverged", float(new_costs[bad]))
            self.costs.extend(new_costs.tolist())
            self.minibatch_index += len(new_costs)
            self.printer.advance(len(new_costs), self.costs)
        self.printer.end_epoch()

    def _after_step(self):
        """Called by the back end after each mini-batch: whether to stop."""
        self.printer.cancel_notice()        # the first one (compiled) is done
        return self.interruption.requested

    def _accuracy(self, data):
        """Fraction of ``data``'s (already checked) images the net labels right."""
        images, labels = data
        with self.interruption.deferred():
            return float(np.mean(self.net.predict(images) == labels))

    def _measure_gradients(self):
        """Record each layer's gradient norm for the epoch (see
        ``TrainingHistory.gradient_norms``): two copies of the parameters
        and a subtraction per epoch, nothing compiled."""
        now = [p.get_value() for p in self.net.params]
        steps = self.eta * max(len(self.costs), 1)
        before = dict(zip(self.net.params, self.epoch_start_params))
        after = dict(zip(self.net.params, now))
        self.history.gradient_norms.append(
            [np.sqrt(sum(np.square(after[p] - before[p], dtype=float).sum()
                         for p in layer.params)) / steps
             for layer in self.net.layers])
        self.epoch_start_params = now

    def _monitor_training(self, epoch):
        """Measure and print the accuracy and cost on the monitored training
        images: next to validation accuracy, how much the net overfits."""
        images, labels = self.monitored
        with self.interruption.deferred():
            correct, cost = self.engine.evaluate(self.net.prediction_graph, images,
                                                 labels)
        cost /= len(labels)
        if self.lmbda:
            weights = (layer.w.get_value(borrow=True) for layer in self.net.layers)
            squares = sum(float(np.square(w, dtype=float).sum()) for w in weights)
            cost += 0.5 * self.lmbda / self.num_training_batches * squares
        self.history.training_accuracy.append(correct / len(labels))
        self.history.training_cost.append(cost)
        self.printer.say("Epoch {0}: training accuracy {1:.2%}, training cost {2:.4f}"
                         .format(epoch, correct / len(labels), cost))

    def _end_epoch(self, epoch):
        """The book's end of an epoch: evaluate, keep the best, print."""
        validation, test = self.validation, self.test
        history, say = self.history, self.printer.say
        self.engine.sync()
        history.cost.append(float(np.mean(self.costs)) if self.costs else float("nan"))
        self._measure_gradients()
        self.guard.check_epoch(epoch, history.cost[-1])
        iteration = self.num_training_batches*(epoch+1) - 1
        test_accuracy = None
        if self.monitored is not None:
            self._monitor_training(epoch)
        if validation is not None:
            validation_accuracy = self._accuracy(validation)
            history.validation_accuracy.append(validation_accuracy)
            say("Epoch {0}: validation accuracy {1:.2%}".format(
                epoch, validation_accuracy))
            if self.keeper.is_best(validation_accuracy):
                say("This is the best validation accuracy to date.")
                with self.interruption.shielded():
                    self.keeper.keep(epoch, iteration, validation_accuracy)
                self.keeper.write_checkpoint()
                if test is not None:
                    test_accuracy = self._accuracy(test)
                    history.best_test_accuracy = test_accuracy
                    say('The corresponding test accuracy is {0:.2%}'.format(
                        test_accuracy))
        history.test_accuracy.append(test_accuracy)
        history.seconds.append(time.perf_counter() - self.start)

    def _scheduled_eta(self, epoch):
        """The schedule's learning rate for ``epoch``, checked."""
        eta = self.schedule(epoch)
        if not _is_number(eta) or eta <= 0:
            raise ValueError(
                "SGD: the learning-rate schedule eta={0!r} returned {1!r} at epoch "
                "{2}; it must return a positive finite number".format(
                    self.schedule, eta, epoch))
        return float(eta)

    def _planned_end(self):
        """After an epoch: ``"early_stopping"`` or ``"schedule"`` (saying so
        in one line) if training should end now, else None."""
        history, say = self.history, self.printer.say
        if self.schedule is not None and hasattr(self.schedule, "observe"):
            self.schedule.observe(history)
            if getattr(self.schedule, "finished", False):
                say("The learning-rate schedule has finished (eta fell to {0:g}); "
                    "training ends.".format(self.schedule(len(history.eta))))
                return "schedule"
        if self.early_stopping is None:
            return None
        accuracy = history.validation_accuracy[-1]
        if accuracy > self.best_strictly:
            self.best_strictly, self.epochs_without_improvement = accuracy, 0
            return None
        self.epochs_without_improvement += 1
        if self.epochs_without_improvement < self.early_stopping:
            return None
        say("Early stopping: no better validation accuracy in the last {0} "
            "epoch{1}.".format(self.early_stopping, "" if self.early_stopping == 1
                               else "s"))
        return "early_stopping"

    def _stop(self, error):
        """End training early, or re-raise ``error`` if it is not a reason to."""
        eta, restore_best = self.eta, self.restore_best
        if isinstance(error, _Stop):
            reason = error.args[0]
        elif is_interrupt(error):
            reason = "interrupted"
        else:
            with self.interruption.shielded():
                self._keep_what_was_trained(restore_best, write_checkpoint=False)
            raise error
        self.history.stopped = reason
        with self.interruption.shielded():
            self._keep_what_was_trained(restore_best)
            where = "epoch {0}, mini-batch {1}".format(self.epoch, self.minibatch_index)
            if reason == "interrupted":
                message = "SGD interrupted at {0} of {1}".format(
                    where, self.num_training_batches)
            else:
                message = ("SGD stopped: the cost became {0:.4g} at {1}; training "
                           "diverged. The learning rate eta={2} is probably too "
                           "large: try a smaller one (e.g. eta={3:g})").format(
                               error.args[1], where, eta, eta / 10)
            self.printer.problem(self._summary(message, restore_best
                                               or reason == "diverged"))
            if reason == "diverged" and self.keeper.params is None:
                # nothing good to go back to but the start
                for param, value in zip(self.net.params, self.initial_params):
                    param.set_value(value)
                self.printer.problem("The network holds its parameters from before "
                                     "this SGD call.")

    def _keep_what_was_trained(self, restore_best, write_checkpoint=True):
        """Bring the back end's parameters home (if it still has them), and
        write the checkpoint a second Ctrl-C may have cut short."""
        try:
            self.engine.sync()
        except Exception:    # the device's copy is gone; the last epoch's stays
            pass
        if write_checkpoint:
            self.keeper.write_checkpoint()
        if restore_best:
            self.keeper.restore()

    def _summary(self, message, holds_best):
        history = self.history
        done = "{0} epoch{1} done".format(history.epochs,
                                          "" if history.epochs == 1 else "s")
        if history.best_epoch is not None:
            done += "; best validation accuracy {0:.2%} at epoch {1}".format(
                history.best_validation_accuracy, history.best_epoch)
            if holds_best:
                done += ", whose parameters the network holds"
        return "{0}. {1}.".format(message, done)
