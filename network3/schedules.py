"""schedules.py
~~~~~~~~~~~~~~~~

Learning rates that change as training goes on: the chapter's exercise
"modify SGD so that the learning rate eta is a function of the epoch
number", and chapter 3's rule for it.

``Network.SGD``'s ``eta`` may be a number (the book's constant learning
rate) or a schedule: any callable of the epoch number (0, 1, ...) that
returns that epoch's learning rate, e.g. ``lambda epoch: 0.1 * 0.9**epoch``.
A schedule that watches training has an ``observe(history)`` method, which
SGD calls after each epoch's validation with the ``TrainingHistory`` so far,
and a ``finished`` attribute: when it is true, training ends.
:func:`halve_on_plateau` is such a schedule.

The learning rate lives in a shared variable of the compiled training step,
so changing it every epoch recompiles nothing.

"""

#### Libraries
# Standard library
import math

# network3
from network3 import checks


class Plateau(object):
    """Counts epochs without a strictly higher validation accuracy than the
    best so far: :meth:`observe` says when ``patience`` of them have come in
    a row (and starts counting again).  Early stopping and
    :class:`halve_on_plateau` both watch for one."""

    def __init__(self, patience):
        self.patience = checks.positive_int("Plateau", "patience", patience)
        self.reset()

    def reset(self):
        """Forget everything observed."""
        self.best = -math.inf
        self.epochs_without_improvement = 0

    def state(self):
        """What it has observed, to resume from (see ``SGD(backup=...)``)."""
        return {"best": self.best,
                "epochs_without_improvement": self.epochs_without_improvement}

    def set_state(self, state):
        self.best = state["best"]
        self.epochs_without_improvement = state["epochs_without_improvement"]

    def observe(self, accuracy):
        """Take an epoch's validation accuracy into account; return whether
        it ends ``patience`` epochs without improvement."""
        if accuracy > self.best:
            self.best, self.epochs_without_improvement = accuracy, 0
            return False
        self.epochs_without_improvement += 1
        if self.epochs_without_improvement < self.patience:
            return False
        self.epochs_without_improvement = 0
        return True


class halve_on_plateau(object):
    """Chapter 3's learning-rate schedule: start at ``eta``; halve it each
    time validation accuracy has not improved for ``patience`` epochs in a
    row; end training once it has fallen to ``stop_below`` or below
    (default ``eta/128``: the chapter's "terminate when the learning rate has
    dropped to 1/128 of its original value").

    Parameters
    ----------
    eta : float
        The initial learning rate.
    patience : int, optional
        Epochs without a strictly higher validation accuracy than the best
        so far before the learning rate is halved (the chapter's
        "no-improvement-in-ten").
    stop_below : float, optional

    Examples
    --------
    >>> net.SGD(training_data, 200, 10, halve_on_plateau(0.03), validation_data,
    ...         test_data, lmbda=0.1)
    """

    def __init__(self, eta, patience=10, stop_below=None):
        me = "halve_on_plateau"
        self.initial_eta = checks.positive_number(me, "eta", eta)
        self.patience = checks.positive_int(me, "patience", patience)
        self.plateau = Plateau(self.patience)
        self.stop_below = (self.initial_eta / 128 if stop_below is None
                           else checks.positive_number(me, "stop_below", stop_below))
        self.reset()

    def reset(self):
        """Start again from the initial learning rate (SGD calls it when it
        starts, so each SGD call begins at ``eta``)."""
        self.eta = self.initial_eta
        self.plateau.reset()
        self.finished = False

    def __call__(self, epoch):
        return self.eta

    def state(self):
        """Where it is, to resume from (see ``SGD(backup=...)``)."""
        return {"eta": self.eta, "finished": self.finished,
                "plateau": self.plateau.state()}

    def set_state(self, state):
        self.eta, self.finished = state["eta"], state["finished"]
        self.plateau.set_state(state["plateau"])

    def observe(self, history):
        """Take the epoch's validation accuracy into account."""
        if self.plateau.observe(history.validation_accuracy[-1]):
            self.eta /= 2
            self.finished = self.eta <= self.stop_below

    def __repr__(self):
        return "halve_on_plateau({0}, patience={1}, stop_below={2})".format(
            self.initial_eta, self.patience, self.stop_below)
