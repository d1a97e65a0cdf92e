"""backends/numba/runtime.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

:class:`NumbaBackend`: runs training as Theano did, the training set in
shared variables, each step reading its mini-batch by index (``givens``)
without a copy, parameters and dropout generators updated in place by the
step itself; evaluation in large batches; BLAS leaving a core to the
augmentation thread while it works.

"""

#### Libraries
# Standard library
import functools

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable

# network3
from network3 import config
from network3.backends.base import Backend
from network3.backends.numba.blas import FUSED_UPDATES_MAX_BATCH, mode


#### Running a network's graphs
class NumbaBackend(Backend):
    """Compiles a network's graphs with PyTensor's default (Numba) mode (with
    BLAS rewrites for mini-batches of up to ``FUSED_UPDATES_MAX_BATCH``) and
    runs them on the CPU; the shared variables always hold the current
    parameters, so :meth:`sync` has nothing to do."""

    name, label = "numba", "Numba"
    devices = ("cpu",)
    chunk = 100

    @classmethod
    def provides(cls, op_type):
        from pytensor.link.numba.dispatch.basic import numba_funcify_default_op_cache_key
        dispatch = numba_funcify_default_op_cache_key.dispatch
        return dispatch(op_type) is not dispatch(object)

    def __init__(self, device="cpu"):
        super().__init__(device)
        self._steps = {}
        self._predict = {}
        self._evaluate = {}
        self._blas_limit = None      # while make_room(True): threadpoolctl's limit

    def training_run(self, graph, training_data, arrays):
        key = (graph, id(training_data[0]), id(training_data[1]))
        if key not in self._steps:
            # The data is kept alive with the step, so that its id stays unique.
            self._steps[key] = (self._compile_step(graph, training_data, arrays),
                                training_data)
            self.compilations += 1
        step = self._steps[key][0]

        def run(first, count, stop=None):
            costs = []
            for i in range(first, first + count):
                costs.append(step(np.asarray(i, dtype=np.int64)))
                if stop is not None and stop():
                    break
            return np.asarray(costs, dtype=float)
        return run

    def _compile_step(self, graph, training_data, arrays):
        """The compiled function that trains on mini-batch ``i`` and returns its cost."""
        training_x, training_y = _shared_training_data(training_data, arrays)
        i = T.lscalar()  # mini-batch index
        mbs = graph.mini_batch_size
        fused = mbs <= FUSED_UPDATES_MAX_BATCH
        train_mb = pytensor.function(
            [i], graph.cost, updates=graph.updates, mode=mode(fused),
            givens={
                graph.x: training_x[i*mbs: (i+1)*mbs],
                graph.y: training_y[i*mbs: (i+1)*mbs]
            })
        # The index is always ours and always an int64 array, so PyTensor's
        # checks of the inputs can be skipped: that is a fifth of the FC
        # net's step.
        train_mb.trust_input = True
        return train_mb

    def predictor(self, graph, images, output="y_out"):
        fn = self._predict.get((graph, output))
        if fn is None:
            fn = pytensor.function([graph.x], graph.variable(output), mode=config.mode)
            fn.trust_input = True    # images is a checked floatX array
            self._predict[graph, output] = fn
        return lambda start, stop: fn(images[start:stop])

    def evaluator(self, graph, images, labels):
        fn = self._evaluate.get(graph)
        if fn is None:
            fn = pytensor.function([graph.x, graph.y], [graph.correct, graph.cost],
                                   mode=config.mode)
            fn.trust_input = True    # checked floatX images and int32 labels
            self._evaluate[graph] = fn
        return lambda start, stop: fn(images[start:stop], labels[start:stop])

    def make_room(self, busy):
        # OpenBLAS's threads wait for work by spinning on every core: a
        # thread computing beside them takes turns with a spinning one,
        # and a matrix product stalls until the OS gives its thread back.
        # So while another thread is busy, BLAS keeps to one core fewer.
        if busy and self._blas_limit is None:
            controller = _blas_threads()
            cores = max((info["num_threads"] for info in controller.info()), default=1)
            if cores > 1:
                self._blas_limit = controller.limit(limits=cores - 1)
        elif not busy and self._blas_limit is not None:
            self._blas_limit.restore_original_limits()
            self._blas_limit = None


@functools.cache
def _blas_threads():
    """threadpoolctl's controller of the BLAS libraries loaded (made once:
    finding them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas")


def _shared_training_data(training_data, arrays):
    """Training data as shared variables, so that each step reads its
    mini-batch without a copy: ``arrays`` (the checked images and labels)
    are wrapped where the user handed over something else."""
    (x, y), (images, labels) = training_data, arrays
    if not isinstance(x, SharedVariable) or x.dtype != config.floatX:
        x = pytensor.shared(images, borrow=True)
    if not isinstance(y, Variable) or y.dtype != "int32":
        y = pytensor.shared(labels, borrow=True)
    return x, y
