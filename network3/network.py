"""network.py
~~~~~~~~~~~~

``Network``: a stack of layers, trained by mini-batch stochastic gradient
descent exactly as in the 2015 ``network3.py``, with its printed lines.

A Network wires its layers together (``set_inpt``), builds its graphs once
from them (``network3.graphs``) and hands them to its back end
(``network3.backends``); ``SGD`` runs the loop of ``network3.training``.

Differences from 2015, all keeping the book's numbers:

* when training ends the network holds the parameters of its best epoch by
  validation accuracy, the one whose accuracy it printed
  (``restore_best=False`` keeps the last epoch's, as the original did);
* ``SGD`` returns the per-epoch numbers as a :class:`TrainingHistory`;
* Ctrl-C stops training cleanly after the current mini-batch;
* evaluation uses every example, in large batches, whatever the data set's
  size; ``test_data=None`` and ``epochs=0`` work;
* arguments are checked before anything is compiled, and a second ``SGD``
  call on the same data reuses the compiled training step.

"""

#### Libraries
# Third-party libraries
import numpy as np
import pytensor.tensor as T

# network3
from network3 import backends, config, data, graphs, saving, training, updates
from network3.images import as_batch
from network3.layers import check_layers
from network3.settings import TrainingSettings
from network3.state import TrainingHistory

__all__ = ["Network", "TrainingHistory", "load"]


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
    device, backend : str, optional
        Where to train and predict, and with what (see
        ``network3.backends.select``): by default ``THEANO_FLAGS``'s device
        (then ``network3.GPU``), Numba on the CPU and JAX on a GPU.

    Attributes
    ----------
    layers, params, x, y, mini_batch_size, output, output_dropout
        As in ``network3.py``.
    backend, device, engine
        Where the network runs (``"numba"``, ``"cpu"``), and the back end
        (``network3.backends.base.Backend``) compiling and running its graphs.
    augmented_data : pair of shared variables, or None
        Where ``SGD(augment=...)`` puts each page of transformed images and
        their labels (made by the first such call).
    """

    def __init__(self, layers, mini_batch_size, *, device=None, backend=None):
        """Takes a list of `layers`, describing the network architecture, and
        a value for the `mini_batch_size` to be used during training
        by stochastic gradient descent.

        """
        self.mini_batch_size = check_layers(layers, mini_batch_size)
        self.backend, self.device = backends.select(device, backend)
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
        self.prediction_graph = graphs.prediction_graph(self.layers)
        self._training_graphs = {}
        # made once per network (network3.training), so that later SGD
        # calls with augment reuse its compiled step
        self.augmented_data = None
        self.engine = backends.create(self.backend, self.device)

    def __repr__(self):
        inner = ",\n         ".join(repr(layer) for layer in self.layers)
        return "Network([{0}],\n        mini_batch_size={1})".format(
            inner, self.mini_batch_size)

    def training_graph(self, with_l2, update=None):
        """The training step's graph (``graphs.TrainingGraph``), with the L2
        term or without, for ``update`` (default ``updates.sgd()``), built
        once per shape (rules differing only in their values share one)."""
        update = update or updates.sgd()
        key = (bool(with_l2), update.key)
        if key not in self._training_graphs:
            self._training_graphs[key] = graphs.training_graph(self, bool(with_l2),
                                                               update)
        return self._training_graphs[key]

    #### Training
    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0, *, restore_best=True,
            verbose=True, checkpoint=None, progress=None, early_stopping=None,
            momentum=0.0, update=None, monitor_training=False, augment=None,
            callbacks=(), backup=None, **options):
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
        eta : float or callable
            Learning rate; or a schedule, a function of the epoch number
            returning its learning rate (see ``network3.schedules``).
        lmbda : float, optional
            L2 regularization parameter: the cost gains
            ``0.5*lmbda*sum(w**2)/num_training_batches``.
        restore_best : bool, optional
            End holding the parameters of the epoch with the best validation
            accuracy (default); ``False`` keeps the last epoch's, as in 2015.
        verbose : bool, optional
            Print the book's lines (default).
        checkpoint : str or path, optional
            Save the network here (:meth:`save`) at each new best epoch.
        progress : bool, optional
            A progress bar per epoch; default: when ``verbose`` and the
            output is a terminal or a notebook.
        early_stopping : int, optional
            End after this many epochs without a strictly higher validation
            accuracy than the best so far.
        momentum : float in [0, 1), optional
            Chapter 3's momentum: short for ``update=updates.momentum(mu)``.
        update : network3.updates.UpdateRule or str, optional
            How the parameters move: ``updates.sgd()`` (the book's, the
            default), ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``,
            ``adam`` or your own (see ``network3.updates``).
        monitor_training : bool or int, optional
            Also measure accuracy and cost on the first 10,000 (or this many)
            training images each epoch, to see overfitting.
        augment : network3.Augmentation, optional
            Train each epoch on freshly transformed training images, made in
            the background a page at a time (see ``network3.augmentation``).
        callbacks : list of network3.callbacks.Callback, optional
            Your own hooks into the loop, each called as ``hook(net, state,
            event)``, run after those the keywords above add and before the
            backup's (see ``network3.callbacks``).
        backup : str or path or network3.backup.Backup, optional
            Written after every epoch with the whole state of training; SGD
            run again with it goes on exactly from there (``network3.backup``).
        **options
            Any other training option of the registry (``network3.options``),
            by name, for the callback that does its work.

        Each keyword's default keeps the book's behaviour and numbers.

        Returns
        -------
        TrainingHistory
            Per epoch: validation and test accuracy, mean cost, seconds, eta;
            the best epoch's numbers; and ``stopped``: why training ended
            early, if it did (``"interrupted"`` by Ctrl-C, ``"diverged"``,
            ``"early_stopping"``, ``"schedule"`` or a callback's string).
        """
        history = training.sgd(
            self, training_data, epochs, mini_batch_size, eta, validation_data,
            test_data, lmbda, restore_best=restore_best, verbose=verbose,
            checkpoint=checkpoint, progress=progress, early_stopping=early_stopping,
            momentum=momentum, update=update, monitor_training=monitor_training,
            augment=augment, callbacks=callbacks, backup=backup, **options)
        if test_data is not None:
            test_x = data.values(test_data[0])
            self.test_mb_predictions = lambda i: self.predict(
                test_x[i*self.mini_batch_size:(i+1)*self.mini_batch_size])
        return history

    def compile_training(self, training_data, eta, lmbda=0.0):
        """SGD's step compiled for ``training_data``, to run by hand: ``train(
        first, count)`` trains on ``count`` mini-batches from number ``first``
        and returns their costs (``net.engine.sync()`` shows JAX's params)."""
        arrays = TrainingSettings.from_sgd(
            self, training_data, 0, self.mini_batch_size, eta, None, None, lmbda)[1][0]
        return training.compile_run(self, training_data, arrays, eta, lmbda)

    #### Saving and loading
    def save(self, filename):
        """Write the network's architecture and parameters to ``filename``.

        The file (an ``.npz`` archive) holds data, never code, and is
        written atomically; :meth:`load` rebuilds the network from it."""
        self.engine.sync()
        saving.save(self, filename)

    def export_onnx(self, filename):
        """Write the network to ``filename`` as an ONNX model: input
        ``images`` (N, 784) float32, output ``probabilities`` (N, 10), what
        :meth:`predict_proba` gives (see :mod:`network3.onnx`; needs
        ``pip install -e '.[onnx]'``)."""
        from network3 import onnx
        return onnx.export(self, filename)

    @classmethod
    def load(cls, filename, mini_batch_size=None, **kwargs):
        """The network saved in ``filename`` (see :func:`network3.load_network`)."""
        return load(filename, mini_batch_size, **kwargs)

    #### Evaluation and prediction
    def predict(self, images):
        """The class of one image (784 values or 28x28; ``network3.load_image``
        makes one of your picture), an int; or of many ((n, 784) or (n, 28,
        28)), an int array of shape (n,)."""
        batch, one = as_batch(images, self.layers[0].input_size, config.floatX)
        classes = self.engine.predict(self.prediction_graph, batch)
        return int(classes[0]) if one else classes

    def predict_proba(self, images):
        """How likely each class is (the output layer's activations: the
        softmax's probabilities), for ``images`` as for :meth:`predict`:
        shape (classes,) for one image, (n, classes) for many."""
        batch, one = as_batch(images, self.layers[0].input_size, config.floatX)
        p = self.engine.predict(self.prediction_graph, batch, output="output")
        return p[0] if one else p

    def layer_output(self, images, layer=0):
        """What layer number ``layer`` outputs for ``images`` (as for
        :meth:`predict`), dropout replaced by scaling as in prediction: a
        ConvPoolLayer's feature maps, shape (n, maps, height, width) (the
        chapter's first layer: (n, 20, 12, 12)); another layer's
        activations, shape (n, size).  For one image the first axis is
        left out."""
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) \
                or not 0 <= layer < len(self.layers):
            raise ValueError("layer: expected a layer's index, 0..{0}, got {1!r}".format(
                len(self.layers) - 1, layer))
        batch, one = as_batch(images, self.layers[0].input_size, config.floatX)
        out = self.engine.predict(self.prediction_graph, batch,
                                  output="layer{0}".format(int(layer)))
        return out[0] if one else out

    def accuracy(self, dataset):
        """Fraction of ``dataset``'s images (a pair ``(images, labels)`` of
        shared variables or arrays; every image counts) classified right."""
        images, labels = data.check_dataset(dataset, "dataset", self.layers)
        return float(np.mean(self.predict(images) == labels))


def load(filename, mini_batch_size=None, **network_kwargs):
    """Rebuild the network saved in ``filename`` (by :meth:`Network.save`).

    Parameters
    ----------
    filename, mini_batch_size
        As for :func:`network3.saving.read_layers` (``mini_batch_size``:
        build for another mini-batch size than the saved one).
    **network_kwargs
        Passed to :class:`Network` (``device``, ``backend``).

    Returns
    -------
    Network
        With the saved parameters: it predicts exactly as the saved one did.

    Raises
    ------
    network3.ModelFileError
        If the file is missing, not a model file, truncated or altered.
    """
    layers, mbs = saving.read_layers(filename, mini_batch_size)
    try:
        check_layers(layers, mbs)
    except (TypeError, ValueError) as error:
        raise saving.ModelFileError("{0}: the architecture it describes cannot be "
                                    "built: {1}".format(filename, error)) from None
    return Network(layers, mbs, **network_kwargs)
