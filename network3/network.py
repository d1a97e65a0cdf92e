"""network.py
~~~~~~~~~~~~

``Network``: a stack of layers, trained by mini-batch stochastic gradient
descent exactly as in the 2015 ``network3.py``, with its printed lines.

Differences from 2015, all keeping the book's numbers:

* when training ends the network holds the parameters of its best epoch by
  validation accuracy, the one whose accuracy it printed
  (``restore_best=False`` keeps the last epoch's, as the original did);
* ``SGD`` returns the per-epoch numbers as a :class:`TrainingHistory`;
* evaluation uses every example, in large batches, whatever the data set's
  size; ``test_data=None`` and ``epochs=0`` work;
* arguments are checked before anything is compiled, and a second ``SGD``
  call on the same data reuses the compiled training step.

"""

#### Libraries
# Standard library
import dataclasses
import numbers
import os
import sys
import time
import warnings

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T

# network3
from network3 import config, data, ops, saving
from network3.layers import Layer, _positive_int

#: How many images are evaluated per call when measuring accuracy or
#: predicting.  Large batches make evaluation several times faster than
#: mini-batches of 10 (the results are the same); past a few hundred the
#: im2col matrices outgrow the CPU's caches and it slows down again.
EVAL_BATCH_SIZE = 250


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
    best_validation_accuracy: float = None
    best_epoch: int = None
    best_iteration: int = None
    best_test_accuracy: float = None
    #: ``None``, or why training ended early: ``"interrupted"`` or ``"diverged"``
    stopped: str = None

    @property
    def epochs(self):
        """Number of epochs trained."""
        return len(self.cost)


#### Main class used to construct and train networks
class Network(object):
    """A feedforward network: layers applied in turn to mini-batches of images.

    Parameters
    ----------
    layers : list of Layer
        The network architecture, input layer first.  Each layer's input size
        must match what the layer before it outputs.
    mini_batch_size : int
        Images per mini-batch while training.  A ``ConvPoolLayer``'s
        ``image_shape[0]`` must equal it.
    device : {None, "cpu", "gpu", "cuda"}, optional
        Where to train and predict.  ``None`` (default) follows
        ``THEANO_FLAGS=device=...`` and then ``network3.GPU``.  A GPU is
        reached through JAX; without a CUDA-enabled JAX one line says so and
        the network runs on the CPU.
    backend : {None, "numba", "jax"}, optional
        ``None`` picks Numba on the CPU and JAX on a GPU; ``"jax"`` with
        ``device="cpu"`` runs the GPU code path on JAX's CPU back end.
    """

    def __init__(self, layers, mini_batch_size, *, device=None, backend=None):
        """Takes a list of `layers`, describing the network architecture, and
        a value for the `mini_batch_size` to be used during training
        by stochastic gradient descent.

        """
        self.mini_batch_size = _positive_int("Network", "mini_batch_size",
                                             mini_batch_size)
        check_layers(layers, self.mini_batch_size)
        import network3
        self.backend, self.device = config.select_backend(
            device, backend, gpu_flag=getattr(network3, "GPU", None))
        self.layers = list(layers)
        self.params = [param for layer in self.layers for param in layer.params]
        for j, layer in enumerate(self.layers):
            for param in layer.params:
                param.name = "{0}{1}.{2}".format(type(layer).__name__, j,
                                                 param.name.rpartition(".")[2])
        self.x = T.matrix("x")
        self.y = T.ivector("y")
        init_layer = self.layers[0]
        init_layer.set_inpt(self.x, self.x, self.mini_batch_size)
        for j in range(1, len(self.layers)):
            prev_layer, layer = self.layers[j-1], self.layers[j]
            layer.set_inpt(
                prev_layer.output, prev_layer.output_dropout, self.mini_batch_size)
        self.output = self.layers[-1].output
        self.output_dropout = self.layers[-1].output_dropout
        # SGD's hyper-parameters, kept out of the compiled graph (see _train_step)
        self._eta = pytensor.shared(np.asarray(0.0, dtype=config.floatX), name="eta")
        self._l2 = pytensor.shared(np.asarray(0.0, dtype=config.floatX),
                                   name="lmbda/num_training_batches")
        self._train_steps = {}
        self._predict = None
        self._jax = None
        if self.backend == "jax":
            from network3.jax_backend import JaxBackend
            self._jax = JaxBackend(self, self.device)

    def __repr__(self):
        inner = ",\n         ".join(repr(layer) for layer in self.layers)
        return "Network([{0}],\n        mini_batch_size={1})".format(
            inner, self.mini_batch_size)

    #### Training
    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0, *, restore_best=True,
            verbose=True, checkpoint=None, progress=None):
        """Train the network using mini-batch stochastic gradient descent.

        Parameters
        ----------
        training_data, validation_data, test_data : pair
            ``(images, labels)`` as returned by ``load_data_shared`` (shared
            variables) or as NumPy arrays.  ``validation_data`` and
            ``test_data`` may be ``None``.
        epochs : int
            Passes over the training data (0 is allowed).
        mini_batch_size : int
            Must equal the network's mini-batch size.  Training images that
            do not fill a last whole mini-batch are not used (a warning says
            how many); evaluation always uses every image.
        eta : float
            Learning rate.
        lmbda : float, optional
            L2 regularization parameter: the cost gains
            ``0.5*lmbda*sum(w**2)/num_training_batches``.
        restore_best : bool, optional
            Leave the network holding the parameters of the epoch with the
            best validation accuracy (default).  ``False`` keeps the last
            epoch's parameters, as the 2015 network3 did.
        verbose : bool, optional
            Print the book's progress lines (default).
        checkpoint : str or path, optional
            Save the network to this file (see :meth:`save`) whenever
            validation accuracy reaches a new best, so the best net so far
            survives a crash.
        progress : bool, optional
            Show a progress bar for each epoch (mini-batches done, images/s,
            running cost, time left).  Default: when ``verbose`` and the
            output is a terminal or a notebook; never in logs.

        Returns
        -------
        TrainingHistory
            Validation accuracy, test accuracy, mean cost and seconds per
            epoch, and the best epoch's numbers.  ``stopped`` says whether
            training ended early: ``"interrupted"`` (Ctrl-C: training stops
            after the current mini-batch) or ``"diverged"`` (the cost became
            NaN, infinite, or so large that the right answers' probabilities
            underflowed).  Either way the network is left holding the
            best parameters so far, as at a normal end.
        """
        training_arrays = self._check_sgd_arguments(
            training_data, epochs, mini_batch_size, eta, lmbda)
        validation = (None if validation_data is None else
                      self._check_data(validation_data, "validation_data"))
        test = None if test_data is None else self._check_data(test_data, "test_data")
        if progress is not None and not isinstance(progress, bool):
            raise TypeError("SGD: progress must be True, False or None, got "
                            "{0!r}".format(progress))
        if progress is None:
            progress = verbose and _interactive()
        if checkpoint is not None:
            if not isinstance(checkpoint, (str, os.PathLike)):
                raise TypeError("SGD: checkpoint must be a file name, got {0!r}".format(
                    checkpoint))
            folder = os.path.dirname(os.path.abspath(checkpoint))
            if not os.path.isdir(folder):
                raise ValueError(
                    "SGD: checkpoint={0!r}: the folder {1} does not exist; create it "
                    "or choose another".format(os.fspath(checkpoint), folder))
        if test is not None:
            test_x = test[0]
            self.test_mb_predictions = lambda i: self.predict(
                test_x[i*self.mini_batch_size:(i+1)*self.mini_batch_size])

        # compute number of minibatches for training
        num_training_batches = data.size(training_data) // mini_batch_size
        unused = data.size(training_data) - num_training_batches * mini_batch_size
        if unused:
            warnings.warn(
                "SGD: {0} training images do not fill a last mini-batch of {1} "
                "and are not used for training".format(unused, mini_batch_size),
                stacklevel=2)
        train = self._trainer(training_data, training_arrays, eta, lmbda,
                              num_training_batches)
        # Progress bars and cost checks want chunks smaller than the book's
        # 1000 mini-batches between printed lines; the JAX back end runs a
        # whole chunk in one call, so there they stay large.
        chunk = 1000 if self._jax is not None else 100
        bar = None
        out = [print if verbose else (lambda *args: None)]

        def say(line):
            out[0](line)

        # Do the actual training
        history = TrainingHistory()
        best_validation_accuracy = 0.0
        best_params = None
        test_accuracy = None
        initial_params = [p.get_value() for p in self.params]
        epoch = minibatch_index = 0
        warned_cost = False
        # A log-likelihood cost beyond -log(smallest float) means the right
        # answers' probabilities underflowed: the numbers are gone, as with
        # NaN or infinity.
        diverged_above = -np.log(np.finfo(config.floatX).tiny)
        try:
            for epoch in range(epochs):
                start, costs = time.perf_counter(), []
                if progress:
                    bar = _progress_bar(epoch, epochs, num_training_batches)
                    if verbose:
                        out[0] = bar.write     # the book's lines above the bar
                minibatch_index = 0
                while minibatch_index < num_training_batches:
                    iteration = num_training_batches*epoch+minibatch_index
                    if iteration % 1000 == 0:
                        say("Training mini-batch number {0}".format(iteration))
                    # run up to the next line to print (or the epoch's end)
                    count = min(1000 - iteration % 1000, chunk,
                                num_training_batches - minibatch_index)
                    new_costs = np.asarray(train(minibatch_index, count), dtype=float)
                    bad = np.flatnonzero(~(new_costs < diverged_above))
                    if bad.size:
                        minibatch_index += int(bad[0])
                        raise _Diverged(float(new_costs[bad[0]]))
                    costs.extend(new_costs.tolist())
                    minibatch_index += count
                    if bar is not None:
                        bar.update(count)
                        bar.set_postfix_str("cost {0:.4f}, {1:.0f} images/s".format(
                            np.mean(costs[-1000:]),
                            bar.format_dict["rate"] * mini_batch_size
                            if bar.format_dict.get("rate") else 0.0), refresh=False)
                if bar is not None:
                    bar.close()
                    bar, out[0] = None, (print if verbose else out[0])
                iteration = num_training_batches*(epoch+1) - 1
                self._sync()
                history.cost.append(float(np.mean(costs)) if costs else float("nan"))
                guessing = np.log(self.layers[-1].output_size)
                if history.cost[-1] > guessing and not warned_cost:
                    warned_cost = True
                    warnings.warn(
                        "SGD: epoch {0}'s mean cost {1:.3f} is worse than guessing "
                        "({2:.3f}); the learning rate eta={3} may be too large".format(
                            epoch, history.cost[-1], guessing, eta), stacklevel=2)
                epoch_test_accuracy = None
                if validation is not None:
                    validation_accuracy = _fraction_correct(self._predict_now,
                                                            *validation)
                    history.validation_accuracy.append(validation_accuracy)
                    say("Epoch {0}: validation accuracy {1:.2%}".format(
                        epoch, validation_accuracy))
                    if validation_accuracy >= best_validation_accuracy:
                        say("This is the best validation accuracy to date.")
                        best_validation_accuracy = validation_accuracy
                        history.best_validation_accuracy = validation_accuracy
                        history.best_epoch = epoch
                        history.best_iteration = iteration
                        best_params = [p.get_value() for p in self.params]
                        if checkpoint is not None:
                            saving.save(self, checkpoint)
                        if test is not None:
                            test_accuracy = epoch_test_accuracy = _fraction_correct(
                                self._predict_now, *test)
                            history.best_test_accuracy = test_accuracy
                            say('The corresponding test accuracy is {0:.2%}'.format(
                                test_accuracy))
                history.test_accuracy.append(epoch_test_accuracy)
                history.seconds.append(time.perf_counter() - start)
        except KeyboardInterrupt:
            history.stopped = "interrupted"
            self._stop_early(bar, "SGD interrupted at epoch {0}, mini-batch {1} "
                             "of {2}".format(epoch, minibatch_index,
                                             num_training_batches), history,
                             restore_best)
        except _Diverged as diverged:
            history.stopped = "diverged"
            self._stop_early(bar, (
                "SGD stopped: the cost became {0:.4g} at epoch {1}, mini-batch {2}; "
                "training diverged. The learning rate eta={3} is probably too "
                "large: try a smaller one (e.g. eta={4:g})").format(
                    diverged.args[0], epoch, minibatch_index, eta, eta / 10), history,
                True)
            if best_params is None:    # nothing good to go back to but the start
                for param, value in zip(self.params, initial_params):
                    param.set_value(value)
                print("The network holds its parameters from before this SGD "
                      "call.", file=sys.stderr)
        finally:
            if bar is not None:
                bar.close()
        say("Finished training network.")
        if history.best_epoch is not None:
            if restore_best or history.stopped == "diverged":
                for param, value in zip(self.params, best_params):
                    param.set_value(value)
            say("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
                best_validation_accuracy, history.best_iteration))
            if test_accuracy is not None:
                say("Corresponding test accuracy of {0:.2%}".format(test_accuracy))
        return history

    def _stop_early(self, bar, message, history, holds_best):
        """Say why training stopped and what it has; keep the device's values."""
        if bar is not None:
            bar.close()
        try:
            self._sync()
        except Exception:        # the device's copy is gone; the last epoch's stays
            self._jax.release()
        done = "{0} epoch{1} done".format(history.epochs,
                                          "" if history.epochs == 1 else "s")
        if history.best_epoch is not None:
            done += "; best validation accuracy {0:.2%} at epoch {1}".format(
                history.best_validation_accuracy, history.best_epoch)
            if holds_best:
                done += ", whose parameters the network holds"
        print("{0}. {1}.".format(message, done), file=sys.stderr)

    def _trainer(self, training_data, training_arrays, eta, lmbda,
                 num_training_batches):
        """A function ``train(first, count)`` that trains on ``count``
        mini-batches from number ``first`` on and returns their costs."""
        if self._jax is not None:
            run = self._jax.trainer(training_arrays, lmbda)
            l2 = lmbda / num_training_batches
            return lambda first, count: run(first, count, eta, l2)
        train_mb = self._train_step(training_data, training_arrays, eta, lmbda,
                                    num_training_batches)
        return lambda first, count: [train_mb(i) for i in range(first, first + count)]

    def _sync(self):
        """Bring the shared variables up to date with the device's parameters."""
        if self._jax is not None:
            self._jax.sync()

    def _train_step(self, training_data, training_arrays, eta, lmbda,
                    num_training_batches):
        """The compiled function that trains on mini-batch ``i``.

        ``eta`` and the L2 coefficient live in shared variables rather than
        in the graph, so the step is compiled once per training set (and
        once more if L2 is switched on) and reused by later SGD calls with
        other hyper-parameters.
        """
        floatX = config.floatX
        self._eta.set_value(np.asarray(eta, dtype=floatX))
        self._l2.set_value(np.asarray(lmbda / num_training_batches, dtype=floatX))
        key = (id(training_data[0]), id(training_data[1]), bool(lmbda))
        if key in self._train_steps:
            return self._train_steps[key][0]
        training_x, training_y = _shared_training_data(training_data, training_arrays)
        # define the (regularized) cost function, symbolic gradients, and updates
        cost = self.layers[-1].cost(self)
        if lmbda:
            l2_norm_squared = sum([(layer.w**2).sum() for layer in self.layers])
            cost = cost + 0.5*self._l2*l2_norm_squared
        grads = T.grad(cost, self.params)
        updates = [(param, param-self._eta*grad)
                   for param, grad in zip(self.params, grads)]
        updates += ops.rng_updates([cost])

        # define functions to train a mini-batch
        i = T.lscalar()  # mini-batch index
        mbs = self.mini_batch_size
        train_mb = pytensor.function(
            [i], cost, updates=updates, mode=config.mode,
            givens={
                self.x: training_x[i*mbs: (i+1)*mbs],
                self.y: training_y[i*mbs: (i+1)*mbs]
            })
        # The index is always ours and always an int, so PyTensor's checks of
        # the inputs can be skipped: that is a fifth of the FC net's step.
        train_mb.trust_input = True

        def step(i):
            return train_mb(np.asarray(i, dtype=np.int64))
        # Keep the data alive with the function, so that its id stays unique.
        self._train_steps[key] = (step, training_data)
        return step

    #### Saving and loading
    def save(self, filename):
        """Write the network's architecture and parameters to ``filename``.

        The file (an ``.npz`` archive) holds only data, never code, and is
        written atomically; :meth:`load` rebuilds the network from it.
        """
        self._sync()
        saving.save(self, filename)

    @classmethod
    def load(cls, filename, mini_batch_size=None, **kwargs):
        """The network saved in ``filename`` (see :func:`network3.load_network`)."""
        return saving.load(filename, mini_batch_size, **kwargs)

    #### Evaluation and prediction
    def predict(self, images):
        """Return the predicted class of each image.

        Parameters
        ----------
        images : array_like, shape (n, pixels)
            Any number of images, one per row.

        Returns
        -------
        ndarray of int, shape (n,)
        """
        images = np.ascontiguousarray(images, dtype=config.floatX)
        expected = self.layers[0].input_size
        if images.ndim != 2 or images.shape[1] != expected:
            raise ValueError(
                "predict: images must have shape (n, {0}), one image per row, "
                "got shape {1}".format(expected, images.shape))
        return self._predict_now(images)

    def _predict_now(self, images):
        """``predict`` for a checked floatX array, with the parameters where
        they are now (on the device while training)."""
        if self._jax is not None:
            return self._jax.predict(images, EVAL_BATCH_SIZE)
        if self._predict is None:
            x = T.matrix("x")
            output = x
            for layer in self.layers:
                output = layer.forward(layer.reshape_input(output, -1))
            self._predict = pytensor.function(
                [x], T.argmax(output, axis=1), mode=config.mode)
            self._predict.trust_input = True    # images is a floatX array
        return np.concatenate(
            [self._predict(images[k:k + EVAL_BATCH_SIZE])
             for k in range(0, len(images), EVAL_BATCH_SIZE)]
            or [np.zeros(0, dtype=np.int64)])

    def accuracy(self, dataset):
        """Fraction of ``dataset``'s images the network classifies correctly.

        ``dataset`` is a pair ``(images, labels)`` of shared variables or
        arrays.  Every image counts.
        """
        return _fraction_correct(self._predict_now,
                                 *self._check_data(dataset, "dataset"))

    #### Argument checks
    def _check_data(self, dataset, name):
        """Return ``dataset``'s (images, labels) arrays, or raise naming ``name``."""
        if not isinstance(dataset, (tuple, list)) or len(dataset) != 2:
            raise TypeError(
                "{0} must be a pair (images, labels), as returned by "
                "network3.load_data_shared(), got {1!r}".format(
                    name, type(dataset).__name__))
        images, labels = data.check_arrays(
            (data.values(dataset[0]), data.values(dataset[1])), name)
        expected = self.layers[0].input_size
        if images.shape[1] != expected:
            raise ValueError(
                "{0}: images have {1} values each but layer 0 ({2}) expects "
                "{3}".format(name, images.shape[1], type(self.layers[0]).__name__,
                             expected))
        n_classes = self.layers[-1].output_size
        if labels.size and labels.max() >= n_classes:
            raise ValueError(
                "{0}: labels go up to {1} but the last layer ({2}) has only {3} "
                "outputs".format(name, labels.max(),
                                 type(self.layers[-1]).__name__, n_classes))
        return images, labels

    def _check_sgd_arguments(self, training_data, epochs, mini_batch_size, eta,
                             lmbda):
        """Check the arguments of SGD that are not evaluation data; return
        the training images and labels as arrays."""
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) \
                or epochs < 0:
            raise ValueError(
                "SGD: epochs must be a non-negative integer, got {0!r}".format(epochs))
        if mini_batch_size != self.mini_batch_size:
            raise ValueError(
                "SGD: mini_batch_size={0!r} but the network was built with "
                "mini_batch_size={1}; they must be equal".format(
                    mini_batch_size, self.mini_batch_size))
        for name, value, low in (("eta", eta, "positive"),
                                 ("lmbda", lmbda, "non-negative")):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not np.isfinite(value) \
                    or (value <= 0 if low == "positive" else value < 0):
                raise ValueError("SGD: {0} must be a {1} number, got {2!r}".format(
                    name, low, value))
        if not hasattr(self.layers[-1], "cost"):
            raise TypeError(
                "SGD: the last layer ({0}) has no cost to minimise; end the "
                "network with a SoftmaxLayer".format(type(self.layers[-1]).__name__))
        images, labels = self._check_data(training_data, "training_data")
        if len(images) < self.mini_batch_size:
            raise ValueError(
                "training_data: {0} images, fewer than one mini-batch of "
                "{1}".format(len(images), self.mini_batch_size))
        return images, labels


class _Diverged(Exception):
    """Raised inside SGD's loop when a mini-batch's cost is not finite."""


def _interactive():
    """Whether standard output is a terminal or a Jupyter notebook."""
    try:
        if sys.stdout.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules


def _progress_bar(epoch, epochs, num_training_batches):
    """A tqdm bar counting one epoch's mini-batches (on standard error)."""
    from tqdm.auto import tqdm
    return tqdm(total=num_training_batches, desc="Epoch {0}/{1}".format(epoch + 1, epochs),
                unit="batch", leave=False, dynamic_ncols=True, mininterval=0.5)


def _shared_training_data(training_data, arrays):
    """Training data as shared variables, so that each step reads its
    mini-batch without a copy: ``arrays`` (the checked images and labels)
    are wrapped where the user handed over something else."""
    (x, y), (images, labels) = training_data, arrays
    if not isinstance(x, pytensor.compile.sharedvalue.SharedVariable) \
            or x.dtype != config.floatX:
        x = pytensor.shared(images, borrow=True)
    if not isinstance(y, pytensor.graph.basic.Variable) or y.dtype != "int32":
        y = pytensor.shared(labels, borrow=True)
    return x, y


def _fraction_correct(predict, images, labels):
    """Fraction of already-checked ``images`` that ``predict`` labels right."""
    return float(np.mean(predict(images) == labels))


#### Checking that the layers fit together
def check_layers(layers, mini_batch_size):
    """Raise unless ``layers`` form a network for mini-batches of ``mini_batch_size``.

    Each layer's input size must equal the previous layer's output size, and
    a ``ConvPoolLayer``'s ``image_shape[0]`` must equal ``mini_batch_size``.
    """
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
