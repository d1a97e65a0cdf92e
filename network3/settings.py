"""settings.py
~~~~~~~~~~~~~~

What training is told, in one place: :class:`TrainingSettings`, made and
checked once before anything compiles, then only read -- by the loop
(``network3.training``), by the callbacks made from it (each built-in one's
``from_settings``, in ``network3.training.CALLBACKS``' order; they find it
as the training state's ``settings``), by the backup's fingerprint and by
runs.jsonl.

Two ways in:

* :meth:`TrainingSettings.from_sgd`: ``Network.SGD``'s arguments as the book
  has them (eta a number or a schedule, an update rule as an object, and
  any other option of the registry by name), checked against the option
  registry (``network3.options``) and the data against the network's
  layers;
* :func:`from_options`: a run's options as the command line and the
  runner hold them (``update`` by name, ``halve_on_plateau`` as a
  patience), made into ``Network.SGD``'s arguments: every special case of
  that translation is here, and nowhere else.

"""

#### Libraries
# Standard library
import dataclasses
import os

# network3
from network3 import augmentation, data, options, updates
from network3.callbacks import Callback, check_hooks
from network3.schedules import halve_on_plateau

@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What one SGD call is told, checked.

    Attributes
    ----------
    values : dict
        Every SGD option of the registry (``options.sgd_options()``) by
        name, checked: ``eta`` (a number or a schedule), ``lmbda``,
        ``epochs``, ``mini_batch_size``, ``update`` (the rule, momentum
        folded in), ``momentum``, ``early_stopping``, ``monitor_training``,
        ``augment`` and any option added to the registry; each is also an
        attribute (``settings.eta``).
    restore_best, verbose, progress, checkpoint, backup, callbacks
        SGD's keywords of those names, which are not training options
        (:data:`PLUMBING`): what to keep at the end, what to say, what to
        write, what else runs.
    """

    values: dict
    restore_best: bool = True
    verbose: bool = True
    progress: object = None
    checkpoint: object = None
    backup: object = None
    callbacks: tuple = ()

    def __getattr__(self, name):
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError("TrainingSettings has no setting {0!r}".format(name))

    def fingerprint(self):
        """The settings that make a run the run it is (a backup written with
        others is refused): the options the registry marks ``fingerprinted``
        and the callbacks that change training, by their class's name."""
        shaped = {name: self.values[name] for name, option in options.sgd_options().items()
                  if option.fingerprinted}
        shaped["callbacks"] = [type(c).__name__ for c in self.callbacks if c.fingerprinted]
        return shaped

    @classmethod
    def from_sgd(cls, net, training_data, epochs, mini_batch_size, eta, validation_data,
                 test_data, lmbda=0.0, **keywords):
        """``Network.SGD``'s arguments (``keywords``: the rest of them, and
        any other option of the registry by name), checked before anything
        compiles.  Returns the settings and the training, validation and
        test sets as checked arrays (the last two may be None)."""
        plumbing = {name: keywords.pop(name, default) for name, default in PLUMBING.items()}
        known = options.sgd_options()
        unknown = sorted(set(keywords) - set(known))
        if unknown:
            raise TypeError("SGD() got an unexpected keyword argument {0!r}; its options "
                            "are {1}".format(unknown[0], ", ".join(known)))
        values = {name: option.default for name, option in known.items()}
        # SGD's own default rule: the book's, or momentum's when momentum is given
        values["update"] = None
        values.update(keywords, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta,
                      lmbda=lmbda)
        _check_options(net, values, validation_data)
        _check_plumbing(net, **plumbing)
        datasets = _check_data(net, training_data, validation_data, test_data,
                               values["augment"])
        plumbing["callbacks"] = tuple(plumbing["callbacks"] or ())
        return cls(values, **plumbing), datasets


#: SGD's keywords that are not training options, with their defaults: the
#: settings' fields but ``values``.
PLUMBING = {field.name: field.default for field in dataclasses.fields(TrainingSettings)
            if field.name != "values"}


def from_options(values, **keywords):
    """``Network.SGD``'s keyword arguments for a run's options ``values``
    (option name -> value as the registry holds them: ``Run.options``, the
    command line's; an option missing takes the registry's default) and
    SGD's other ``keywords`` (``verbose``, ``backup``, ``callbacks``...).

    ``halve_on_plateau`` (a patience) makes eta the schedule
    :class:`network3.schedules.halve_on_plateau`; ``update`` names a rule
    ("sgd" is the book's: ``momentum`` may then give its momentum); the
    options that are not SGD's (the layers' ``init``, ``pool_mode``,
    ``activation``) are left out.
    """
    arguments = {name: values.get(name, option.default)
                 for name, option in options.sgd_options().items()}
    patience = values.get("halve_on_plateau")
    if patience is not None:
        arguments["eta"] = halve_on_plateau(arguments["eta"], patience=patience)
    update = arguments.pop("update")
    arguments["update"] = None if update in (None, "sgd") else updates.by_name(update)
    arguments.update(keywords)
    return arguments


#### The checks
def _check_options(net, values, validation_data):
    """Each option as the registry says (eta may be a schedule, update a
    rule), and how they go together; ``values["update"]`` becomes the
    rule training follows."""
    for name in options.sgd_options():
        if name not in _OWN_CHECKS:
            options.check(name, values[name])
    if values["mini_batch_size"] != net.mini_batch_size:
        raise ValueError(
            "SGD: mini_batch_size={0!r} but the network was built with "
            "mini_batch_size={1}; they must be equal".format(
                values["mini_batch_size"], net.mini_batch_size))
    eta = values["eta"]
    if callable(eta):
        if hasattr(eta, "observe") and validation_data is None:
            raise ValueError("SGD: the learning-rate schedule eta={0!r} watches "
                             "validation accuracy; give validation_data".format(eta))
    else:
        try:
            options.check("eta", eta)
        except ValueError as error:
            raise ValueError("{0} (or a schedule: a function of the epoch "
                             "number)".format(error)) from None
    momentum, update = values["momentum"], values["update"]
    if update is not None:
        update = updates.check(update)
        if momentum:
            raise ValueError("SGD: give momentum={0} or update={1!r}, not both "
                             "(momentum=mu is update=momentum(mu))".format(
                                 momentum, values["update"]))
    values["update"] = update or (updates.momentum(momentum) if momentum
                                  else updates.sgd())
    if values["early_stopping"] is not None and validation_data is None:
        raise ValueError("SGD: early_stopping={0} watches validation accuracy; "
                         "give validation_data".format(values["early_stopping"]))
    augment = values["augment"]
    if augment is not None and not isinstance(augment, augmentation.Augmentation):
        raise TypeError("SGD: augment must be a network3.Augmentation or None, "
                        "got {0!r}".format(augment))


#: The options SGD takes in other forms than the registry checks: a
#: schedule for eta, a rule object for update, an Augmentation, and the
#: network's own mini-batch size.
_OWN_CHECKS = {"mini_batch_size", "eta", "update", "augment"}


def _check_plumbing(net, restore_best, verbose, progress, checkpoint, backup, callbacks):
    if not hasattr(net.layers[-1], "cost"):
        raise TypeError(
            "SGD: the last layer ({0}) has no cost to minimise; end the "
            "network with a SoftmaxLayer".format(type(net.layers[-1]).__name__))
    if progress is not None and not isinstance(progress, bool):
        raise TypeError("SGD: progress must be True, False or None, got "
                        "{0!r}".format(progress))
    for callback in callbacks or ():
        if not isinstance(callback, Callback):
            raise TypeError("SGD: callbacks must be a list of network3.callbacks."
                            "Callback objects, got {0!r} in it".format(callback))
        check_hooks(callback)
    _check_files(checkpoint, getattr(backup, "filename", backup))


def _check_data(net, training_data, validation_data, test_data, augment):
    """The data sets as checked arrays, against the network's layers."""
    training = data.check_dataset(training_data, "training_data", net.layers)
    if len(training[0]) < net.mini_batch_size:
        raise ValueError(
            "training_data: {0} images, fewer than one mini-batch of "
            "{1}".format(len(training[0]), net.mini_batch_size))
    if augment is not None:
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
