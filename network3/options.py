"""options.py
~~~~~~~~~~~~~~

Every training option, once: its name, what a value must be (checked the
same way wherever it comes from), its default, its help, its command-line
flag, how a sweep reads a list or a range of it, and how runs.jsonl stores
it.  ``Network.SGD``'s argument checks, ``network3 train``, ``network3
experiments``, ``network3 sweep``, ``network3.runs.Run`` and its records all
derive from :data:`OPTIONS`: an option added here (plus the callback or
update rule that does its work) appears in all of them.

"""

#### Libraries
# Standard library
import argparse
import dataclasses
import math
import numbers
import os

# network3
from network3 import activations, augmentation, data, ops, updates
from network3.augmentation import Augmentation
from network3.callbacks import Callback
from network3.params import INITS
from network3.specs import format_augmentation, parse_augmentation


#### What an option is
@dataclasses.dataclass(frozen=True)
class Option:
    """One training option.

    Attributes
    ----------
    name : str
        As SGD's keyword, a run's option and ``--vary`` spell it.
    expected : str
        What a value must be, as error messages say it ("a positive number").
    accepts : callable
        Whether a value (a Python number, string, ...) is allowed.
    default : object
        The book's value (``None`` for the recipe's own, for eta, lmbda,
        epochs).
    help : str
        The command line's help for it.
    kind : type
        What a value is read as from text: ``float``, ``int`` or ``str``.
    none : bool
        Whether ``none`` (None) is a value: no schedule, no early stopping.
    log : bool
        Whether a sweep draws a random range of it on a log scale.
    sweep : bool
        Whether ``network3 sweep --vary`` can vary it.
    flag : bool
        Whether ``network3 train`` and ``sweep`` take it as ``--NAME``.
    metavar : str or None
        How ``--help`` names its value.
    choices : tuple or None
        The values allowed, for an option that is one of a few words.
    to_text, from_text : callable or None
        How a value that is not plain JSON is written to runs.jsonl and to
        the command line, and read back (an :class:`Augmentation`).
    """

    name: str
    expected: str
    accepts: object
    default: object
    help: str
    kind: type = float
    none: bool = False
    log: bool = False
    sweep: bool = True
    flag: bool = True
    metavar: str = None
    choices: tuple = None
    to_text: object = None
    from_text: object = None

    def check(self, value, owner="SGD"):
        """``value`` if it is allowed, else ValueError naming ``owner``, the
        option, what was expected and what was given."""
        if value is None and self.none:
            return None
        if not _is_kind(value, self.kind) or not self.accepts(value) or (
                self.choices is not None and value not in self.choices):
            raise ValueError("{0}: {1} must be {2}, got {3!r}".format(
                owner, self.name, self.expected, value))
        return value

    def parse(self, text, owner=None):
        """The value ``text`` names (``none`` where allowed), checked."""
        owner = owner or "--" + self.name.replace("_", "-")
        text = text.strip()
        if self.none and text.lower() == "none":
            return None
        if self.from_text is not None:
            try:
                return self.from_text(text)
            except ValueError as error:
                raise ValueError("{0}: {1}".format(owner, error)) from None
        try:
            value = _from_text(text, self.kind)
        except ValueError:
            raise ValueError("{0}: expected {1}, got {2!r}".format(
                owner, self.expected, text)) from None
        try:
            return self.check(value, owner)
        except ValueError:
            raise ValueError("{0}: expected {1}, got {2!r}".format(
                owner, self.expected, text)) from None

    def record(self, value):
        """``value`` as runs.jsonl keeps it (plain JSON)."""
        if value is not None and self.to_text is not None:
            return self.to_text(value)
        return value

    def argument(self, text):
        """``--NAME TEXT`` for argparse, which reports a bad one with usage."""
        try:
            return self.parse(text)
        except ValueError as error:     # (argparse names the flag itself)
            raise argparse.ArgumentTypeError(str(error).partition(": ")[2])


def _is_kind(value, kind):
    if kind is object:
        return True
    if isinstance(value, bool):
        return kind is bool
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real) and math.isfinite(value)
    return kind is object or isinstance(value, kind)


def _from_text(text, kind):
    if kind is int:
        number = float(text)
        if not number.is_integer():
            raise ValueError(text)
        return int(number)
    return kind(text)


#### The options
def _any(value):
    return True


def _monitored(value):
    return isinstance(value, bool) or (isinstance(value, numbers.Integral)
                                       and value >= 1)


_ACTIVATIONS = tuple(name.lower() for name in activations.ACTIVATIONS)

#: Every training option, by name, in the order the command line lists them.
OPTIONS = {option.name: option for option in (
    Option("eta", "a positive number", lambda v: v > 0, None,
           "learning rate; default: the book's", log=True),
    Option("lmbda", "a non-negative number", lambda v: v >= 0, None,
           "L2 regularization; default: the book's", log=True),
    Option("epochs", "a non-negative integer", lambda v: v >= 0, None,
           "default: the book's (60; 40 for dropout)", kind=int),
    Option("mini_batch_size", "a positive integer", lambda v: v >= 1, 10,
           "default: 10", kind=int, metavar="N"),
    Option("update", "one of " + ", ".join(updates.RULES), _any, "sgd",
           "how the parameters move: " + ", ".join(updates.RULES) +
           " (with their default hyper-parameters; --momentum MU is momentum with "
           "mu=MU); default sgd, the book's", kind=str, choices=tuple(updates.RULES)),
    Option("momentum", "a number in [0, 1)", lambda v: 0 <= v < 1, 0.0,
           "momentum-based gradient descent (chapter 3), MU in [0, 1); default 0: "
           "plain SGD", metavar="MU"),
    Option("halve_on_plateau", "a positive integer (a patience in epochs)",
           lambda v: v >= 1, None, "start at --eta and halve it after PATIENCE epochs "
           "without better validation accuracy; stop at eta/128 (chapter 3)",
           kind=int, none=True, metavar="PATIENCE"),
    Option("early_stopping", "a positive integer (epochs without improvement)",
           lambda v: v >= 1, None, "stop after N epochs without better validation "
           "accuracy", kind=int, none=True, metavar="N"),
    Option("monitor_training", "True, False or a number of training images",
           _monitored, False, "also measure accuracy and cost on (N, default "
           "10,000) training images each epoch, to see overfitting", kind=object,
           sweep=False, flag=False),
    Option("init", "one of " + ", ".join(INITS), _any, "book",
           "initial weights: the chapter's (default), He's (for ReLUs) or Glorot's",
           kind=str, choices=INITS),
    Option("pool_mode", "one of " + ", ".join(ops.POOL_MODES), _any, "max",
           "pooling of the conv layers (default max, the book's)", kind=str,
           choices=ops.POOL_MODES),
    Option("activation", "one of " + ", ".join(_ACTIVATIONS), _any, None,
           "activation of --layers (default sigmoid)", kind=str, choices=_ACTIVATIONS),
    Option("augment", "a network3.Augmentation", _any, None,
           "train every epoch on freshly transformed images: SPEC is "
           "comma-separated shift=PIXELS, rotate=DEGREES, shear=DEGREES, "
           "scale=FRACTION, elastic=ALPHAxSIGMA (Simard et al.), "
           "method=numba|scipy", kind=Augmentation, none=True, sweep=False,
           flag=False, metavar="SPEC", to_text=format_augmentation,
           from_text=parse_augmentation),
)}


def swept():
    """The options a sweep can vary, by name."""
    return {name: option for name, option in OPTIONS.items() if option.sweep}


def flags():
    """The names of the options ``network3 train`` and ``sweep`` take as flags."""
    return [name for name, option in OPTIONS.items() if option.flag]


def run_defaults():
    """The options a training run takes (``network3.runs.Run.options``),
    with their defaults."""
    return {name: option.default for name, option in OPTIONS.items()
            if name != "monitor_training"}


def check(name, value, owner="SGD"):
    """``OPTIONS[name].check(value, owner)``."""
    return OPTIONS[name].check(value, owner)


def add_arguments(parser, names, defaults=None):
    """Add ``--NAME`` for each option of ``names`` (in :data:`OPTIONS`'s
    order) to an argparse ``parser``, parsed and checked as the registry
    says; ``defaults`` overrides the registry's."""
    defaults = defaults or {}
    for name, option in OPTIONS.items():
        if name in names:
            parser.add_argument(
                "--" + name.replace("_", "-"), type=option.argument,
                default=defaults.get(name, option.default), help=option.help,
                metavar=option.metavar or ("{" + ",".join(option.choices) + "}"
                                           if option.choices else name.upper()))


#### SGD's arguments
def check_sgd_arguments(net, training_data, epochs, mini_batch_size, eta,
                        validation_data, test_data, lmbda=0.0, *, checkpoint=None,
                        progress=None, early_stopping=None, momentum=0.0, update=None,
                        monitor_training=False, augment=None, callbacks=(), backup=None):
    """Check ``Network.SGD``'s arguments (the options as :data:`OPTIONS`
    says, the data against the network's layers) before anything compiles;
    return the training, validation and test sets as checked arrays (the
    last two may be None)."""
    check("epochs", epochs)
    if mini_batch_size != net.mini_batch_size:
        raise ValueError(
            "SGD: mini_batch_size={0!r} but the network was built with "
            "mini_batch_size={1}; they must be equal".format(
                mini_batch_size, net.mini_batch_size))
    if callable(eta):
        if hasattr(eta, "observe") and validation_data is None:
            raise ValueError("SGD: the learning-rate schedule eta={0!r} watches "
                             "validation accuracy; give validation_data".format(eta))
    else:
        try:
            check("eta", eta)
        except ValueError as error:
            raise ValueError("{0} (or a schedule: a function of the epoch "
                             "number)".format(error)) from None
    check("momentum", momentum)
    if update is not None:
        updates.check(update)
        if momentum:
            raise ValueError("SGD: give momentum={0} or update={1!r}, not both "
                             "(momentum=mu is update=momentum(mu))".format(
                                 momentum, update))
    check("early_stopping", early_stopping)
    if early_stopping is not None and validation_data is None:
        raise ValueError("SGD: early_stopping={0} watches validation accuracy; "
                         "give validation_data".format(early_stopping))
    check("monitor_training", monitor_training)
    check("lmbda", lmbda)
    if not hasattr(net.layers[-1], "cost"):
        raise TypeError(
            "SGD: the last layer ({0}) has no cost to minimise; end the "
            "network with a SoftmaxLayer".format(type(net.layers[-1]).__name__))
    if progress is not None and not isinstance(progress, bool):
        raise TypeError("SGD: progress must be True, False or None, got "
                        "{0!r}".format(progress))
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError("SGD: callbacks must be a list of network3.callbacks."
                            "Callback objects, got {0!r} in it".format(callback))
    _check_files(checkpoint, getattr(backup, "filename", backup))
    training = data.check_dataset(training_data, "training_data", net.layers)
    if len(training[0]) < net.mini_batch_size:
        raise ValueError(
            "training_data: {0} images, fewer than one mini-batch of "
            "{1}".format(len(training[0]), net.mini_batch_size))
    if augment is not None:
        if not isinstance(augment, augmentation.Augmentation):
            raise TypeError("SGD: augment must be a network3.Augmentation or None, "
                            "got {0!r}".format(augment))
        augmentation.network_image_shape(net.layers, training[0].shape[1])
    return (training,
            *(None if part is None else data.check_dataset(part, name, net.layers)
              for part, name in ((validation_data, "validation_data"),
                                 (test_data, "test_data"))))


def _check_files(checkpoint, backup):
    """The files SGD writes: each a name in a folder that exists, and not
    the same file."""
    _check_file("checkpoint", checkpoint)
    _check_file("backup", backup)
    if (checkpoint is not None and backup is not None
            and os.path.abspath(checkpoint) == os.path.abspath(backup)):
        raise ValueError("SGD: checkpoint and backup are the same file, {0!r}; the "
                         "checkpoint is a model file, the backup a run's whole state: "
                         "give them different names".format(os.fspath(backup)))


def _check_file(name, filename):
    """A file SGD writes (``checkpoint``, ``backup``): a name in a folder
    that exists."""
    if filename is None:
        return
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError("SGD: {0} must be a file name, got {1!r}".format(
            name, filename))
    folder = os.path.dirname(os.path.abspath(filename))
    if not os.path.isdir(folder):
        raise ValueError(
            "SGD: {0}={1!r}: the folder {2} does not exist; create it "
            "or choose another".format(name, os.fspath(filename), folder))
