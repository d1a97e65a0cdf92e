"""backends/base.py
~~~~~~~~~~~~~~~~~~~~

What every back end provides: the small interface through which a
``Network`` has its graphs compiled and run.

A ``Network`` builds its graphs once, from its layers (``network3.graphs``),
and hands them to its back end.  The back end decides how to compile them,
where the data and parameters live while they run, and how the results come
back.  It must do four things:

* :meth:`Backend.training_run`: compile a training graph for a training
  set, returning a function ``run(first, count, stop=None)`` that trains on
  mini-batches ``first .. first+count-1`` and returns their costs;
* :meth:`Backend.predictor` and :meth:`Backend.evaluator`: the prediction
  graph compiled for a set of images, as a function of a batch's bounds
  (:meth:`Backend.predict` and :meth:`Backend.evaluate`, here, go through a
  data set in batches of ``graph.batch_size`` with them);
* :meth:`Backend.sync`: bring the shared variables (``layer.w``, ``layer.b``)
  up to date with what the back end holds, if it keeps its own copy;
* a kernel for each of network3's Ops (``ops.OPS``), which
  :meth:`Backend.provides` says it has;

and may do one more, :meth:`Backend.make_room`: leave a core to another
thread while it computes.  ``devices`` and :meth:`Backend.available` say
where it can run; ``network3.backends`` registers it by ``name``.

A back end that keeps copies (on a GPU, say) must notice by itself when a
shared variable is given a new value (``set_value`` stores a new array) and
use that value next.  That includes training data in shared variables:
``SGD(augment=...)`` gives its variables a new page of images and labels
(new arrays, of as many rows as the page has) every few thousand
mini-batches, and the training run must train on them without compiling
again, mini-batch ``first`` being counted from the page's start.

"""

#### Libraries
# Third-party libraries
import numpy as np


class Backend(object):
    """Compiles and runs one network's graphs on one device.

    Parameters
    ----------
    device : str
        ``"cpu"`` or ``"gpu"``.

    Attributes
    ----------
    name : str
        The back end's name, as ``Network(backend=...)`` spells it.
    devices : tuple of str
        Where it can run: ``"cpu"``, ``"gpu"``.
    chunk : int
        How many mini-batches the SGD loop asks a training run for at a time
        (the progress bar and the divergence check move on after each).
    compilations : int
        Training runs compiled so far (a later SGD call on the same training
        set reuses its run).
    """

    name = None
    #: its name in messages ("Numba")
    label = None
    #: the devices it can run on ("cpu", "gpu")
    devices = ()
    chunk = 100

    @classmethod
    def available(cls, device):
        """``(usable, why_not)``: whether it can run on ``device`` here (and,
        if not, why in a few words)."""
        return True, ""

    @classmethod
    def provides(cls, op_type):
        """Whether it has a kernel for the Op class ``op_type``."""
        raise NotImplementedError

    def __init__(self, device):
        self.device = device
        self.compilations = 0

    def training_run(self, graph, training_data, arrays):
        """Compile ``graph`` (a ``graphs.TrainingGraph``) for a training set.

        Parameters
        ----------
        graph : graphs.TrainingGraph
        training_data : pair
            The training set as the user passed it (shared variables or
            arrays); a back end may keep using the user's shared variables.
        arrays : pair of ndarray
            The same, checked: floatX images of shape (n, pixels) and int32
            labels.

        Returns
        -------
        run : callable
            ``run(first, count, stop=None)`` trains on ``count`` mini-batches
            from number ``first`` on, with the learning rate and L2
            coefficient the graph's shared variables hold when it is called,
            and returns their costs as a 1-D array.  ``stop``, if given, is
            a function of no arguments; a back end that can stop between
            two mini-batches calls it after each one (the first call says
            that the first mini-batch, compiling included, is done) and
            returns early (fewer costs) once it returns True.
        """
        raise NotImplementedError

    def predictor(self, graph, images, output="y_out"):
        """A function ``(start, stop)`` giving the predicted classes of
        ``images[start:stop]`` (or another of the graph's variables, by
        ``graph.variable(output)``: ``"output"``, the last layer's outputs;
        ``"layer0"``, the first layer's) with the parameters as they are now
        (``images``: a C-contiguous floatX array of shape (n, pixels))."""
        raise NotImplementedError

    def evaluator(self, graph, images, labels):
        """A function ``(start, stop)`` giving how many of
        ``images[start:stop]`` the network classifies right and the sum of
        their log-likelihood costs (``graph.correct`` and ``graph.cost``),
        for ``images`` as for :meth:`predictor` and their int32 ``labels``."""
        raise NotImplementedError

    def predict(self, graph, images, output="y_out"):
        """Predicted classes of ``images`` (any number of them; or another
        ``output``, as for :meth:`predictor`), evaluated in batches of
        ``graph.batch_size``."""
        batch, size = self.predictor(graph, images, output), graph.batch_size
        parts = [np.asarray(batch(k, k + size)) for k in range(0, len(images), size)]
        return np.concatenate(parts or [np.asarray(batch(0, 0))])

    def evaluate(self, graph, images, labels):
        """``(correct, cost)`` for ``images`` and their ``labels``, summed
        over batches of ``graph.batch_size``."""
        batch, size, correct, cost = self.evaluator(graph, images, labels), \
            graph.batch_size, 0, 0.0
        for k in range(0, len(images), size):
            right, total = batch(k, k + size)
            correct, cost = correct + int(right), cost + float(total)
        return correct, cost

    def sync(self):
        """Copy the back end's parameters into the network's shared
        variables, if it keeps copies of its own (a no-op otherwise)."""

    def generator_state(self, var):
        """The state of the dropout generator ``var`` (a shared variable of
        PyTensor's random type) as the back end draws from it, as plain
        numbers (for a backup: ``network3.backup``).  Here: the NumPy
        generator the variable holds."""
        bit_generator = var.get_value(borrow=True).bit_generator
        return {"numpy": bit_generator.state}

    def set_generator_state(self, var, state):
        """Make the dropout generator ``var`` draw on from ``state`` (from
        :meth:`generator_state`)."""
        name = state["numpy"]["bit_generator"]
        if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
            raise ValueError("a dropout generator's state names an unknown bit "
                             "generator, {0!r}".format(name))
        bit_generator = getattr(np.random, name)()
        bit_generator.state = state["numpy"]
        var.set_value(np.random.Generator(bit_generator), borrow=True)

    def make_room(self, busy):
        """Another thread of this process is computing (``busy``: the
        augmentation thread making the next page of images) or has stopped.
        A back end whose kernels use every core leaves it one while
        ``busy``; training runs call this between runs, and with False at
        the end.  A no-op by default."""
