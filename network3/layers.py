"""layers.py
~~~~~~~~~~~

The chapter's layer types: ``ConvPoolLayer``, ``FullyConnectedLayer`` and
``SoftmaxLayer``, each a faithful port of the 2015 ``network3.py``, plus the
``Layer`` base class that writes down what a layer must provide.

Every constructor checks its arguments and raises a ``ValueError`` or
``TypeError`` that names the layer, the argument, what was expected and what
was given, before anything is compiled.

"""

#### Libraries
# Standard library
import inspect

# Third-party libraries
import numpy as np
import pytensor.tensor as T
from pytensor.tensor.special import softmax

# network3
from network3 import activations, checks, config, ops, params, seeding
from network3.shapes import conv_output_shape, conv_pool_output_shape  # noqa: F401
from network3.activations import sigmoid


#### Argument checks of the layers' own
def _border_mode(owner, value):
    """Return a convolution's ``border_mode`` as one of ops.BORDER_MODES or
    a pair of paddings, or raise."""
    if isinstance(value, str) and value in ops.BORDER_MODES:
        return value
    if checks.is_natural(value):
        return (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(checks.is_natural(v) for v in value)):
        return tuple(int(v) for v in value)
    raise ValueError(
        "{0}: border_mode must be 'valid', 'full', 'half', a non-negative "
        "integer or a pair of them, got {1!r}".format(owner, value))


def _activation(owner, fn):
    """Return ``fn`` if it can be an activation function, or raise."""
    if not callable(fn):
        raise TypeError(
            "{0}: activation_fn must be a function such as sigmoid, tanh, "
            "ReLU or linear, got {1!r}".format(owner, fn))
    return fn


#### The layer contract
class Layer(object):
    """What every network3 layer provides.

    A layer owns its parameters and builds symbolic expressions for its
    output.  ``Network`` calls ``set_inpt(inpt, inpt_dropout,
    mini_batch_size)`` on each layer in turn, handing it the previous layer's
    ``output`` and ``output_dropout``; ``set_inpt`` must set

    * ``inpt`` and ``output``: the input, reshaped as the layer needs it, and
      the output used to evaluate the network (dropout replaced by scaling);
    * ``inpt_dropout`` and ``output_dropout``: the same while training, with
      dropout masks applied;
    * ``y_out``, for a layer that can end a network: the predicted class of
      each image.

    ``params`` lists the shared variables SGD trains, and
    :meth:`regularized_params` those the L2 term penalises.  ``input_size``
    and ``output_size`` are the number of values per image the layer takes
    and gives; ``forward`` builds the output for a batch of any size, which
    is how Network evaluates and predicts in large batches.  A layer that
    can end a network also has ``cost(net)``.

    A layer describes itself: :meth:`config` gives its constructor's
    arguments, read from the attributes of the same names (so a subclass
    that keeps each argument as an attribute needs nothing more), from
    which model files, ``repr`` and the benchmarks rebuild or show it.
    Every subclass is registered by its class name when it is defined
    (:data:`LAYER_TYPES`), so a model file can name it; a class of your own
    loads once it is defined, and loading never imports anything a file
    names.
    """

    p_dropout = 0.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        known = LAYER_TYPES.get(cls.__name__)
        if known is not None and (known.__module__, known.__qualname__) != (
                cls.__module__, cls.__qualname__):
            raise TypeError(
                "{0}.{1}: a layer type called {2} is already registered (from "
                "{3}); model files name layers by their class name, so give it "
                "another".format(cls.__module__, cls.__qualname__, cls.__name__,
                                 known.__module__))
        LAYER_TYPES[cls.__name__] = cls

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        """Build ``output`` from ``inpt`` and ``output_dropout`` from
        ``inpt_dropout`` (each input dropped with probability ``p_dropout``),
        for mini-batches of ``mini_batch_size`` images."""
        self.inpt = self.reshape_input(inpt, mini_batch_size)
        self.output = self.forward(self.inpt)
        self.y_out = T.argmax(self.output, axis=1)
        self.inpt_dropout = dropout_layer(
            self.reshape_input(inpt_dropout, mini_batch_size), self.p_dropout)
        self.output_dropout = self.forward(self.inpt_dropout, training=True)

    def forward(self, inpt, training=False):
        """Symbolic output for ``inpt`` (already reshaped by ``reshape_input``)."""
        raise NotImplementedError

    def reshape_input(self, inpt, batch):
        """``inpt`` reshaped to this layer's input shape for ``batch`` images
        (``-1``: any number)."""
        return inpt.reshape((batch, self.input_size))

    def describe_output_size(self):
        """The output size as a readable product, e.g. ``'40*4*4=640'``."""
        return str(self.output_size)

    def regularized_params(self):
        """The parameters the L2 term penalises: by default the weights,
        every parameter with more than one axis (not the biases)."""
        return [param for param in self.params if param.ndim > 1]

    def accuracy(self, y):
        "Return the accuracy for the mini-batch."
        return T.mean(T.eq(y, self.y_out))

    #### Describing itself
    def config(self):
        """The constructor's arguments (all but ``rng``), by name, as JSON
        values: tuples as lists, an activation function by its name.

        Raises ValueError for a value JSON cannot hold (an activation
        function that is not one of ``network3.activations.ACTIVATIONS``).
        """
        return {name: _to_json(name, getattr(self, name))
                for name in _arguments(type(self))}

    @classmethod
    def from_config(cls, config, mini_batch_size=None):
        """The layer :meth:`config` describes (lists as tuples, activation
        functions by name), for mini-batches of ``mini_batch_size`` if given
        (an ``image_shape``'s first entry); arguments the config lacks take
        their defaults.  Random initial weights come from a fixed seed (the
        global generator is left alone): loading overwrites them."""
        kwargs = {}
        for name, value in config.items():
            if name == "activation_fn":
                value = activations.by_name(value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        if mini_batch_size is not None and "image_shape" in kwargs:
            kwargs["image_shape"] = (mini_batch_size,) + tuple(kwargs["image_shape"][1:])
        if "rng" in inspect.signature(cls).parameters:
            kwargs["rng"] = 0
        return cls(**kwargs)

    def __repr__(self):
        # every argument that may be given by position, then the keyword-only
        # ones that differ from their defaults
        config, shown = self.config(), []
        defaults = self._shown_defaults()
        for name, parameter in inspect.signature(type(self)).parameters.items():
            if name not in config:
                continue
            value = getattr(self, name)
            if parameter.kind is parameter.KEYWORD_ONLY and value == defaults.get(
                    name, parameter.default):
                continue
            shown.append("{0}={1}".format(name, _name(value) if name == "activation_fn"
                                          else repr(value)))
        return "{0}({1})".format(type(self).__name__, ", ".join(shown))

    def _shown_defaults(self):
        """Defaults :meth:`__repr__` leaves out where a signature's default
        stands for another value (ConvPoolLayer's ``pool_stride``)."""
        return {}


#: Every layer type, by class name: the chapter's and any subclass of
#: :class:`Layer` defined since (see :class:`Layer`).
LAYER_TYPES = {}


def _arguments(cls):
    """The names of ``cls``'s constructor arguments a config holds."""
    return [name for name, parameter in inspect.signature(cls).parameters.items()
            if name != "rng" and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD,
                                                    parameter.KEYWORD_ONLY)]


def _to_json(name, value):
    if name == "activation_fn":
        known = activations.name_of(value)
        if known is None:
            raise ValueError(
                "activation_fn={0!r} is not one of network3's activation functions "
                "by name, so a model file cannot record it; use one of {1}".format(
                    value, ", ".join(activations.ACTIVATIONS)))
        return known
    if isinstance(value, tuple):
        return [_to_json(name, v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


#### Main layer types
class ConvPoolLayer(Layer):
    """Used to create a combination of a convolutional and a pooling layer
    (max-pooling, as in the chapter, unless ``pool_mode`` says otherwise).  A
    more sophisticated implementation would separate the two, but for our
    purposes we'll always use them together, and it simplifies the code, so
    it makes sense to combine them.

    Parameters
    ----------
    filter_shape : tuple of 4 ints
        ``(number of filters, number of input feature maps, filter height,
        filter width)``.
    image_shape : tuple of 4 ints
        ``(mini-batch size, number of input feature maps, image height, image
        width)``.
    poolsize : tuple of 2 ints, optional
        The y and x sizes of the pooling window.
    activation_fn : callable, optional
        Applied after pooling and adding the bias.
    pool_mode : str, optional
        ``"max"`` (the chapter's), ``"l2"`` (the square root of the sum of
        the squares), ``"sum"``, ``"average_inc_pad"`` or
        ``"average_exc_pad"``: see :func:`network3.ops.pool_2d`.
    pool_stride : tuple of 2 ints, optional
        How far apart the pooling windows are (default: ``poolsize``, so
        they do not overlap).
    pool_pad : tuple of 2 ints, optional
        Zero padding on each side of the convolution's output before
        pooling, each smaller than the pool size.
    border_mode : {"valid", "full", "half"}, int or tuple of 2 ints, optional
        The convolution's zero padding, as Theano's ``conv2d`` took it (see
        :func:`network3.ops.conv_padding`); ``"valid"`` (none) is the
        chapter's.
    subsample : tuple of 2 ints, optional
        The convolution's stride.
    init : {"book", "he", "glorot"}, optional
        How the initial weights are drawn (see :func:`network3.params.initial`);
        ``"book"`` is the chapter's, ``"he"`` suits ReLUs.
    rng : numpy.random.Generator or int, optional
        Where the initial weights come from (default: see ``network3.seed``).

    Output shape, with the defaults: ``(mini-batch size, filters,
    (height-fh+1)//ph, (width-fw+1)//pw)``; in general see
    :func:`conv_pool_output_shape`.  The kernel is flipped (a true
    convolution, as Theano's ``conv2d``) and pooling drops windows that do
    not fit whole (Theano's ``ignore_border=True``).
    """

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2),
                 activation_fn=sigmoid, *, pool_mode="max", pool_stride=None,
                 pool_pad=(0, 0), border_mode="valid", subsample=(1, 1), init="book",
                 rng=None):
        me = type(self).__name__
        self.filter_shape = checks.int_tuple(me, "filter_shape", filter_shape, 4)
        self.image_shape = checks.int_tuple(me, "image_shape", image_shape, 4)
        self.poolsize = checks.int_tuple(me, "poolsize", poolsize, 2)
        self.activation_fn = _activation(me, activation_fn)
        self.pool_mode = checks.choice(me, "pool_mode", pool_mode, ops.POOL_MODES)
        self.pool_stride = (self.poolsize if pool_stride is None
                            else checks.int_tuple(me, "pool_stride", pool_stride, 2))
        self.pool_pad = checks.int_tuple(me, "pool_pad", pool_pad, 2, minimum=0)
        self.border_mode = _border_mode(me, border_mode)
        self.subsample = checks.int_tuple(me, "subsample", subsample, 2)
        self.init = checks.choice(me, "init", init, params.INITS)
        if self.filter_shape[1] != self.image_shape[1]:
            raise ValueError(
                "{0}: filter_shape[1]={1} (input feature maps per filter) must "
                "equal image_shape[1]={2} (feature maps in the input)".format(
                    me, self.filter_shape[1], self.image_shape[1]))
        if any(p >= w for p, w in zip(self.pool_pad, self.poolsize)):
            raise ValueError(
                "{0}: pool_pad={1} must be smaller than poolsize={2} on each "
                "axis (as Theano required)".format(me, self.pool_pad, self.poolsize))
        pad = ops.conv_padding(self.border_mode, self.filter_shape[2:])
        conv = conv_output_shape(self.image_shape, self.filter_shape,
                                 self.border_mode, self.subsample)
        for axis, side in ((2, "height"), (3, "width")):
            if conv[axis - 2] == 0:
                padding = ("" if pad[axis - 2] == 0 else
                           " with {0} pixels of padding on each side (border_mode={1!r})"
                           .format(pad[axis - 2], self.border_mode))
                raise ValueError(
                    "{0}: the filter {1} filter_shape[{2}]={3} is larger than "
                    "the image {1} image_shape[{2}]={4}{5}".format(
                        me, side, axis, self.filter_shape[axis],
                        self.image_shape[axis], padding))
        out = conv_pool_output_shape(
            self.image_shape, self.filter_shape, self.poolsize,
            pool_stride=self.pool_stride, pool_pad=self.pool_pad,
            border_mode=self.border_mode, subsample=self.subsample)
        if out[2] == 0 or out[3] == 0:
            padding = ("" if self.pool_pad == (0, 0) else
                       " padded by pool_pad={0}".format(self.pool_pad))
            raise ValueError(
                "{0}: poolsize={1} is larger than the convolution's output "
                "({2}x{3}){4}, so nothing would be left after pooling".format(
                    me, self.poolsize, conv[0], conv[1], padding))
        self.output_shape = out
        self.input_size = int(np.prod(self.image_shape[1:]))
        self.output_size = int(np.prod(out[1:]))
        # initialize weights and biases
        n_filters, channels, fh, fw = self.filter_shape
        n_out = n_filters * fh * fw / np.prod(self.poolsize)    # the book's
        w, b = params.initial(self.init, seeding.get_rng(rng), self.filter_shape,
                                  channels * fh * fw, n_filters * fh * fw, n_out)
        self.w, self.b = params.parameter(w, "w"), params.parameter(b, "b")
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = self.reshape_input(inpt, mini_batch_size)
        self.output = self.forward(self.inpt)
        self.output_dropout = self.output  # no dropout in the convolutional layers

    def reshape_input(self, inpt, batch):
        return inpt.reshape((batch,) + self.image_shape[1:])

    def forward(self, inpt, training=False):
        conv_out = ops.conv2d(
            inpt, self.w, self.filter_shape, self.image_shape,
            border_mode=self.border_mode,
            subsample=self.subsample)          # chapter's layer 1: (batch, 20, 24, 24)
        pooled_out = ops.pool_2d(
            conv_out, self.poolsize, self.pool_stride, self.pool_pad,
            self.pool_mode)                    # chapter's layer 1: (batch, 20, 12, 12)
        return self.activation_fn(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))

    def describe_output_size(self):
        return "{0}*{1}*{2}={3}".format(*(self.output_shape[1:] + (self.output_size,)))

    def _shown_defaults(self):
        return {"pool_stride": self.poolsize}


class FullyConnectedLayer(Layer):
    """A layer in which every input is connected to every neuron.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs per image and number of neurons.
    activation_fn : callable, optional
    p_dropout : float in [0, 1), optional
        Probability of dropping each *input* while training; at evaluation
        the weighted input is scaled by ``1 - p_dropout`` instead.
    init : {"book", "he", "glorot"}, optional
        How the initial weights are drawn (see :func:`network3.params.initial`).
    rng : numpy.random.Generator or int, optional
        Where the initial weights come from (default: see ``network3.seed``).
    """

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0, *,
                 init="book", rng=None):
        me = type(self).__name__
        self.n_in = checks.positive_int(me, "n_in", n_in)
        self.n_out = checks.positive_int(me, "n_out", n_out)
        self.activation_fn = _activation(me, activation_fn)
        self.p_dropout = checks.probability(me, "p_dropout", p_dropout)
        self.init = checks.choice(me, "init", init, params.INITS)
        self.input_size, self.output_size = self.n_in, self.n_out
        # Initialize weights and biases
        w, b = params.initial(self.init, seeding.get_rng(rng),
                                  (self.n_in, self.n_out), self.n_in, self.n_out,
                                  self.n_out)
        self.w, self.b = params.parameter(w, "w"), params.parameter(b, "b")
        self.params = [self.w, self.b]

    def forward(self, inpt, training=False):
        return self.activation_fn(_scaled_dot(inpt, self.w, self.p_dropout, training)
                                  + self.b)


class SoftmaxLayer(Layer):
    """The output layer: a softmax over ``n_out`` classes, trained with the
    log-likelihood cost.  Weights and biases start at zero, as in the book.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs per image and number of classes.
    p_dropout : float in [0, 1), optional
        As for ``FullyConnectedLayer``.
    """

    def __init__(self, n_in, n_out, p_dropout=0.0):
        me = type(self).__name__
        self.n_in = checks.positive_int(me, "n_in", n_in)
        self.n_out = checks.positive_int(me, "n_out", n_out)
        self.p_dropout = checks.probability(me, "p_dropout", p_dropout)
        self.input_size, self.output_size = self.n_in, self.n_out
        # Initialize weights and biases
        self.w = params.parameter(np.zeros((self.n_in, self.n_out)), "w")
        self.b = params.parameter(np.zeros((self.n_out,)), "b")
        self.params = [self.w, self.b]

    def forward(self, inpt, training=False):
        return softmax(self.logits(inpt, training), axis=-1)

    def logits(self, inpt, training=False):
        """The softmax's input for ``inpt``: ``inpt . w + b`` (scaled as in
        ``forward``)."""
        return _scaled_dot(inpt, self.w, self.p_dropout, training) + self.b

    def cost(self, net):
        "Return the log-likelihood cost."
        # -mean(log(output_dropout)[arange(n), net.y]), as one Op that works
        # on the softmax's input (the same dot product as output_dropout's,
        # which PyTensor computes once).
        return ops.log_likelihood(self.logits(self.inpt_dropout, training=True),
                                  net.y)


#### Miscellanea
def _scaled_dot(inpt, w, p_dropout, training):
    """``inpt . w``, scaled by ``1 - p_dropout`` at evaluation time."""
    if training or p_dropout == 0.0:
        return T.dot(inpt, w)
    return T.cast(1.0 - p_dropout, config.floatX) * T.dot(inpt, w)


def _name(fn):
    return activations.name_of(fn) or getattr(fn, "__name__", repr(fn))


def dropout_layer(layer, p_dropout, *, rng=None):
    """Return ``layer`` with each entry zeroed with probability ``p_dropout``.

    Every call makes its own random generator, seeded from ``rng`` (default:
    see ``network3.seed``), so every layer draws independent masks, and a new
    mask is drawn for every mini-batch.
    """
    if p_dropout == 0.0:
        return layer
    return ops.dropout(layer, p_dropout, ops.shared_rng(seeding.new_seed(rng)))


#### Checking that layers fit together
def check_layers(layers, mini_batch_size):
    """Raise unless ``layers`` form a network for mini-batches of
    ``mini_batch_size``; return ``mini_batch_size`` as an int.

    Each layer's input size must equal the previous layer's output size, and
    a ``ConvPoolLayer``'s ``image_shape[0]`` must equal ``mini_batch_size``.
    """
    mini_batch_size = checks.positive_int("Network", "mini_batch_size", mini_batch_size)
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(
            "Network: layers must be a non-empty list of layers, got {0!r}".format(
                layers))
    for j, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(
                "Network: layer {0} must be a layer such as ConvPoolLayer, "
                "FullyConnectedLayer or SoftmaxLayer, got {1!r}".format(j, layer))
        image_shape = getattr(layer, "image_shape", None)
        if image_shape is not None and image_shape[0] != mini_batch_size:
            raise ValueError(
                "layer {0} ({1}): image_shape[0]={2} but mini_batch_size={3}; "
                "they must be equal".format(j, type(layer).__name__,
                                            image_shape[0], mini_batch_size))
        if j > 0 and layer.input_size != layers[j-1].output_size:
            prev = layers[j-1]
            what = ("image_shape={0} takes {1} values per image".format(
                image_shape, layer.input_size) if image_shape is not None
                else "n_in={0}".format(layer.input_size))
            raise ValueError(
                "layer {0} ({1}): {2} but layer {3} ({4}) outputs {5} values "
                "per image".format(j, type(layer).__name__, what, j-1,
                                   type(prev).__name__, prev.describe_output_size()))
    return mini_batch_size
