"""options.py
~~~~~~~~~~~~~~

Every training option, once: its name, what a value must be (checked the
same way wherever it comes from), its default, its help, its command-line
flag, how a sweep reads a list or a range of it, how runs.jsonl stores it,
and whether ``Network.SGD`` takes it and a backup's fingerprint names it.
``Network.SGD``'s settings (``network3.settings``), ``network3 train``,
``network3 experiments``, ``network3 sweep``, ``network3.runs.Run`` and its
records all derive from :data:`OPTIONS`: an option added here (plus the
callback or update rule that does its work) appears in all of them.

This is the registry only: how SGD's arguments go together (a schedule
for eta, the data against the layers) is checked in ``network3.settings``.

"""

#### Libraries
# Standard library
import argparse
import dataclasses
import math
import numbers

# network3
from network3 import activations, ops, updates
from network3.augmentation import Augmentation
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
    sgd : bool
        Whether ``Network.SGD`` takes it (by name); not the layers' options,
        nor ``halve_on_plateau``, which the command line and the runner make
        into a schedule for eta (``network3.settings.from_options``).
    fingerprinted : bool
        Whether it shapes what training computes, so that a backup written
        with another value is refused (not the mini-batch size, which the
        network holds, nor momentum, which the update rule holds).
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
    sgd: bool = True
    fingerprinted: bool = True

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
           "default: 10", kind=int, metavar="N", fingerprinted=False),
    Option("update", "one of " + ", ".join(updates.RULES), _any, "sgd",
           "how the parameters move: " + ", ".join(updates.RULES) +
           " (with their default hyper-parameters; --momentum MU is momentum with "
           "mu=MU); default sgd, the book's", kind=str, choices=tuple(updates.RULES)),
    Option("momentum", "a number in [0, 1)", lambda v: 0 <= v < 1, 0.0,
           "momentum-based gradient descent (chapter 3), MU in [0, 1); default 0: "
           "plain SGD", metavar="MU", fingerprinted=False),
    Option("halve_on_plateau", "a positive integer (a patience in epochs)",
           lambda v: v >= 1, None, "start at --eta and halve it after PATIENCE epochs "
           "without better validation accuracy; stop at eta/128 (chapter 3)",
           kind=int, none=True, metavar="PATIENCE", sgd=False),
    Option("early_stopping", "a positive integer (epochs without improvement)",
           lambda v: v >= 1, None, "stop after N epochs without better validation "
           "accuracy", kind=int, none=True, metavar="N"),
    Option("monitor_training", "True, False or a number of training images",
           _monitored, False, "also measure accuracy and cost on (N, default "
           "10,000) training images each epoch, to see overfitting", kind=object,
           sweep=False, flag=False),
    Option("init", "one of " + ", ".join(INITS), _any, "book",
           "initial weights: the chapter's (default), He's (for ReLUs) or Glorot's",
           kind=str, choices=INITS, sgd=False),
    Option("pool_mode", "one of " + ", ".join(ops.POOL_MODES), _any, "max",
           "pooling of the conv layers (default max, the book's)", kind=str,
           choices=ops.POOL_MODES, sgd=False),
    Option("activation", "one of " + ", ".join(_ACTIVATIONS), _any, None,
           "activation of --layers (default sigmoid)", kind=str, choices=_ACTIVATIONS,
           sgd=False),
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


def sgd_options():
    """The options ``Network.SGD`` takes, by name."""
    return {name: option for name, option in OPTIONS.items() if option.sgd}


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
