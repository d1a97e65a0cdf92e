"""specs.py
~~~~~~~~~~~~

Networks and augmentation described in a line of text, as the command line
(``network3 train --layers``, ``--augment``) and sweeps (``network3 sweep``)
take them: :func:`parse_layers` builds layers from
``"conv20,conv40,fc100,softmax"``; :func:`parse_augmentation` builds an
:class:`~network3.augmentation.Augmentation` from
``"shift=2,rotate=10,elastic=34x4"`` and :func:`format_augmentation` writes
one back.

"""

#### Libraries
# Standard library
import inspect
import re

# network3
from network3 import activations, ops
from network3.augmentation import Augmentation
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer


#### Layers
#: The layer language, as ``network3 train --help`` explains it.
HELP = """\
--layers SPEC describes a network instead of --net: comma-separated layers,
input first, e.g. "conv20,conv40,fc100,softmax" with --activation relu is the
chapter's ReLU net.
  conv<N>[x<K>][p<P>]  N filters of KxK pixels (default 5), max-pooled PxP (default 2)
  conv...:<mode>       pooling max, l2, sum, average_inc_pad or average_exc_pad
  conv...:<option>=<V> pool_stride, pool_pad, border_mode (valid, full, half) or
                       subsample, V pixels N or NxM, e.g. conv20:l2:pool_stride=1
  fc<N>                a fully connected layer of N neurons
  softmax[<N>]         the output layer, last (N classes, default 10)
  ...:d<P>             dropout with probability P (fc and softmax), e.g. fc1000:d0.5
"""


def parse_layers(text, mini_batch_size, activation="sigmoid", image_side=28,
                 init="book", pool_mode="max"):
    """Build layers from a description such as ``"conv20,conv40,fc100,softmax"``,
    their weights drawn as ``init`` says, conv layers that name no pooling
    mode pooling with ``pool_mode``.

    See ``network3 train --help``; raises ValueError naming the bad item.
    """
    act = activations.by_name(activation)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items or not items[-1].split(":")[0].startswith("softmax"):
        raise ValueError("--layers: the last layer must be softmax, got {0!r}".format(
            text))
    layers, shape = [], (1, image_side, image_side)     # (maps, height, width)
    for k, item in enumerate(items):
        body, *options = item.split(":")
        where = "--layers: item {0} ({1!r})".format(k, item)
        conv = re.fullmatch(r"conv(\d+)(?:x(\d+))?(?:p(\d+))?", body)
        fc = re.fullmatch(r"fc(\d+)", body)
        soft = re.fullmatch(r"softmax(\d+)?", body)
        n_in = shape[0] * shape[1] * shape[2]
        try:
            if conv:
                if layers and not isinstance(layers[-1], ConvPoolLayer):
                    raise ValueError("conv layers must come first")
                n, kernel, pool = int(conv.group(1)), int(conv.group(2) or 5), \
                    int(conv.group(3) or 2)
                layer = ConvPoolLayer(image_shape=(mini_batch_size,) + shape,
                                      filter_shape=(n, shape[0], kernel, kernel),
                                      poolsize=(pool, pool), activation_fn=act,
                                      init=init, **_conv_options(options, pool_mode))
                shape = layer.output_shape[1:]
            elif fc:
                layer = FullyConnectedLayer(n_in=n_in, n_out=int(fc.group(1)),
                                            activation_fn=act, init=init,
                                            p_dropout=_dropout_option(options))
                shape = (layer.n_out, 1, 1)
            elif soft and k == len(items) - 1:
                layer = SoftmaxLayer(n_in=n_in, n_out=int(soft.group(1) or 10),
                                     p_dropout=_dropout_option(options))
            else:
                raise ValueError("not conv<N>, fc<N> or a final softmax")
        except (TypeError, ValueError) as error:
            raise ValueError("{0}: {1}".format(where, error)) from None
        layers.append(layer)
    return layers


#: What ``name=value`` options a conv item takes: ConvPoolLayer's keyword-only
#: arguments in pixels (its pooling mode is a word of its own; init is --init's).
_CONV_OPTIONS = tuple(
    name for name, parameter in inspect.signature(ConvPoolLayer).parameters.items()
    if parameter.kind is parameter.KEYWORD_ONLY
    and name not in ("pool_mode", "init", "rng"))

#: An fc or softmax item's dropout option, ``d<P>``.
_DROPOUT = re.compile(r"d(0?\.\d+)")


def _conv_options(options, pool_mode="max"):
    """ConvPoolLayer keyword arguments from a conv item's options, e.g.
    ``["l2", "pool_stride=1", "border_mode=half", "pool_pad=1x0"]``
    (``pool_mode`` unless they name one)."""
    kwargs = {"pool_mode": pool_mode}
    for option in options:
        name, equals, value = option.partition("=")
        if not equals and name in ops.POOL_MODES:
            kwargs["pool_mode"] = name
        elif equals and name in _CONV_OPTIONS:
            pair = re.fullmatch(r"(\d+)(?:x(\d+))?", value)
            words = name == "border_mode" and ops.BORDER_MODES
            if pair:
                kwargs[name] = (int(pair.group(1)), int(pair.group(2) or pair.group(1)))
            elif words and value in words:
                kwargs[name] = value
            else:
                raise ValueError("{0} must be a number of pixels N or NxM{1}, got "
                                 "{2!r}".format(name, " or one of " + ", ".join(words)
                                                if words else "", value))
        elif _DROPOUT.fullmatch(option):
            raise ValueError("convolutional layers take no dropout")
        else:
            raise ValueError(
                "unknown option {0!r}: conv layers take a pool mode ({1}) or "
                "{2}=N or NxM (border_mode also valid, full or half)".format(
                    option, ", ".join(ops.POOL_MODES), "=, ".join(_CONV_OPTIONS)))
    return kwargs


def _dropout_option(options):
    """The dropout probability of an fc or softmax item's options (``d<P>``)."""
    match = _DROPOUT.fullmatch(options[0]) if len(options) == 1 else None
    if options and not match:
        raise ValueError("the option after ':' must be d<P>, e.g. d0.5")
    return float(match.group(1)) if match else 0.0


#### Augmentation
#: ``--augment``'s options: Augmentation's keyword arguments.
_AUGMENT_OPTIONS = ("shift", "rotate", "shear", "scale", "elastic", "method")


def parse_augmentation(text):
    """An :class:`~network3.augmentation.Augmentation` from a description
    such as ``"shift=2,rotate=10,elastic=34x4"`` (``elastic=ALPHAxSIGMA``).
    Raises ValueError naming the bad item."""
    kwargs = {}
    for item in (item.strip() for item in text.split(",")):
        name, equals, value = item.partition("=")
        if not equals or name not in _AUGMENT_OPTIONS:
            raise ValueError("--augment: {0!r} is not <option>=<value> with an option "
                             "of {1}".format(item, ", ".join(_AUGMENT_OPTIONS)))
        try:
            if name == "method":
                kwargs[name] = value
            elif name == "elastic":
                alpha, x, sigma = value.partition("x")
                kwargs[name] = (float(alpha), float(sigma))
            else:
                kwargs[name] = float(value)
        except ValueError:
            raise ValueError("--augment: {0!r}: {1} takes {2}, got {3!r}".format(
                item, name, "ALPHAxSIGMA, e.g. 34x4" if name == "elastic"
                else "a number", value)) from None
    return Augmentation(**kwargs)


def format_augmentation(augment):
    """The description :func:`parse_augmentation` reads as ``augment``."""
    items = []
    for name in _AUGMENT_OPTIONS:
        value = getattr(augment, name)
        if name == "elastic" and value:
            items.append("elastic={0:g}x{1:g}".format(*value))
        elif name == "method" and value != "numba":
            items.append("method=" + value)
        elif name not in ("elastic", "method") and value:
            items.append("{0}={1:g}".format(name, value))
    return ",".join(items)
