"""graphs.py
~~~~~~~~~~~~

The symbolic graphs a network is trained and evaluated with, built once
from its layers and handed to whichever back end runs them.

* :func:`training_graph`: one SGD step on a mini-batch, as ``network3.py``
  wrote it: the log-likelihood cost (plus the L2 term on each layer's
  ``regularized_params`` when ``lmbda`` is not zero), its gradients, and the
  updates an update rule (``network3.updates``; the book's is
  ``param - eta*grad``) makes of them, together with the updates that
  advance the dropout generators, so that every mini-batch draws fresh
  masks.  The learning rate, the L2 coefficient and the rule's
  hyper-parameters are shared variables of the graph: a later SGD call (or
  a learning-rate schedule) with other values reuses the compiled step.
* :func:`prediction_graph`: the predicted class of each image, for a batch of
  any size, with dropout replaced by scaling; and, given labels, how many
  are right and the cost (for monitoring training).

Neither knows about back ends, and neither compiles anything.

"""

#### Libraries
# Standard library
import dataclasses

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T

# network3
from network3 import config, ops

#: How many images are evaluated per call when measuring accuracy or
#: predicting.  Large batches make evaluation several times faster than
#: mini-batches of 10 (the results are the same); past a few hundred the
#: im2col matrices outgrow the CPU's caches and it slows down again.
EVAL_BATCH_SIZE = 250


@dataclasses.dataclass(eq=False)
class TrainingGraph:
    """One SGD step on a mini-batch, symbolically.

    Attributes
    ----------
    x, y : symbolic matrix and int32 vector
        The mini-batch's images and labels (the network's ``x`` and ``y``).
    cost : symbolic scalar
        The mini-batch's cost, with the L2 term if ``l2`` is not None.
    updates : list of (shared variable, symbolic value)
        The update rule's (each parameter's new value, and its state's),
        then each dropout generator's next state.
    eta : shared scalar
        The learning rate.
    l2 : shared scalar or None
        ``lmbda / num_training_batches``, the L2 term's coefficient.
    mini_batch_size : int
    hyper : dict of shared scalars
        The update rule's hyper-parameters by name (``mu``, ...).
    state : list of shared variables
        What the update rule keeps between steps (velocities, ...).
    """

    x: object
    y: object
    cost: object
    updates: list
    eta: object
    l2: object
    mini_batch_size: int
    hyper: dict = dataclasses.field(default_factory=dict)
    state: list = dataclasses.field(default_factory=list)

    def set_hyper_parameters(self, eta, lmbda, num_training_batches, update):
        """Put ``eta``, the L2 coefficient for ``lmbda`` and the update
        rule ``update``'s hyper-parameters in the graph's shared variables;
        the next run of a compiled step uses them."""
        self.set_eta(eta)
        if self.l2 is not None:
            self.l2.set_value(np.asarray(lmbda / num_training_batches,
                                         dtype=config.floatX))
        for name, var in self.hyper.items():
            var.set_value(np.asarray(update.hyper[name], dtype=config.floatX))

    def set_eta(self, eta):
        """Put the learning rate ``eta`` in the graph's shared variable."""
        self.eta.set_value(np.asarray(eta, dtype=config.floatX))

    def reset_state(self):
        """Start the update rule afresh: all its state zero."""
        for var in self.state:
            var.set_value(np.zeros_like(var.get_value(borrow=True)))


def training_graph(net, with_l2, update):
    """The training step of ``net`` (its ``layers``, ``params``, ``x``, ``y``
    and ``mini_batch_size``), with the L2 term or without it, moving the
    parameters as the update rule ``update`` says (its hyper-parameters'
    values are set later, by ``set_hyper_parameters``)."""
    eta = _scalar("eta")
    l2 = _scalar("lmbda/num_training_batches") if with_l2 else None
    # define the (regularized) cost function, symbolic gradients, and updates
    cost = net.layers[-1].cost(net)
    if with_l2:
        l2_norm_squared = sum([(w**2).sum() for layer in net.layers
                               for w in layer.regularized_params()])
        cost = cost + 0.5*l2*l2_norm_squared
    grads = T.grad(cost, net.params)
    hyper = {name: _scalar(name) for name in update.hyper}
    updates, state = update.step(net.params, grads, eta, hyper)
    updates = list(updates) + ops.rng_updates([cost])
    return TrainingGraph(x=net.x, y=net.y, cost=cost, updates=updates, eta=eta,
                         l2=l2, mini_batch_size=net.mini_batch_size, hyper=hyper,
                         state=list(state))


@dataclasses.dataclass(eq=False)
class PredictionGraph:
    """The predicted class of each image of a batch of any size, and, given
    the right labels, how many are right and the cost.

    Attributes
    ----------
    x : symbolic matrix
        The images, one per row.
    y_out : symbolic int64 vector
        The predicted classes.
    y : symbolic int32 vector
        The right classes (for ``correct`` and ``cost``).
    correct : symbolic scalar
        How many images are classified right.
    cost : symbolic scalar or None
        The log-likelihood cost summed over the images (None if the last
        layer has no ``logits``), dropout replaced by scaling.
    output : symbolic matrix
        The last layer's output per image: for a softmax layer, the
        probability of each class.
    layer_outputs : tuple of symbolic tensors
        Each layer's output, in order, as its ``forward`` gives it: a
        ConvPoolLayer's feature maps (images, maps, height, width).
    batch_size : int
        How many images a back end evaluates per call.
    """

    x: object
    y_out: object
    y: object = None
    correct: object = None
    cost: object = None
    output: object = None
    layer_outputs: tuple = ()
    batch_size: int = EVAL_BATCH_SIZE

    def variable(self, name):
        """The graph's variable called ``name``: an attribute's name
        (``"y_out"``, ``"output"``) or ``"layer"`` and a layer's index
        (``"layer0"``: ``layer_outputs[0]``), as back ends are asked for
        them."""
        if name.startswith("layer"):
            return self.layer_outputs[int(name[len("layer"):])]
        return getattr(self, name)


def prediction_graph(layers):
    """The prediction graph of a network made of ``layers``."""
    x, y = T.matrix("x"), T.ivector("y")
    output, outputs = x, []
    for layer in layers[:-1]:
        output = layer.forward(layer.reshape_input(output, -1))
        outputs.append(output)
    last = layers[-1]
    inpt = last.reshape_input(output, -1)
    output = last.forward(inpt)
    outputs.append(output)
    y_out = T.argmax(output, axis=1)
    cost = None
    if hasattr(last, "logits"):
        cost = ops.log_likelihood(last.logits(inpt), y) * T.cast(y.shape[0],
                                                                 config.floatX)
    return PredictionGraph(x=x, y_out=y_out, y=y, correct=T.sum(T.eq(y_out, y)),
                           cost=cost, output=output, layer_outputs=tuple(outputs))


def _scalar(name):
    return pytensor.shared(np.asarray(0.0, dtype=config.floatX), name=name)
