"""backends/numba
~~~~~~~~~~~~~~~~~~

The default back end: the CPU, through PyTensor's Numba linker.

PyTensor compiles a whole training step (forward pass, gradients, updates)
into one Numba function.  This package teaches that linker network3's Ops
with kernels of its own (``kernels.py``); calls BLAS directly for matrix
products and gives PyTensor's BLAS Ops kernels, so that small mini-batches
update dense weights in place inside one ``gemm`` (``blas.py``); replaces
PyTensor's kernels for the sums, shape checks and reshapes of training
graphs, which take seconds to compile (``overrides.py``); computes the
sigmoid with an exponential that vectorizes (``sigmoid.py``); spares a graph's
function LLVM's second full pass over the code it calls (``linking.py``); and
runs training and evaluation (``runtime.py``: :class:`NumbaBackend`).

Importing it registers the kernels; ``network3.backends`` does so when
network3 is imported, so every PyTensor function compiled in the default
mode uses them.

"""

from network3.backends.numba import blas, kernels, linking, overrides, sigmoid  # noqa: F401 (registers)
from network3.backends.numba.blas import FUSED_UPDATES_MAX_BATCH, mode
from network3.backends.numba.runtime import NumbaBackend

linking.install()

__all__ = ["FUSED_UPDATES_MAX_BATCH", "NumbaBackend", "mode"]
