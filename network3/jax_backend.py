"""jax_backend.py
~~~~~~~~~~~~~~~~

Training and evaluation on a GPU, through JAX.

Theano ran network3 on a GPU by keeping the data set and the parameters in
GPU memory as shared variables.  PyTensor has no GPU of its own; it reaches
one by translating graphs to JAX, and its JAX functions hand every shared
variable over from host memory on every call.  So this module does what
Theano's GPU back end did, by hand:

* the training step's graph is rewritten with the parameters, the mini-batch,
  the hyper-parameters and the dropout generators as explicit inputs and
  outputs, and PyTensor translates it to a JAX function Op by Op;
* a whole run of mini-batches is one compiled call (``lax.scan``), so Python
  is not in the loop 5,000 times an epoch;
* data sets are copied to the device once, parameters live there between
  calls (their buffers donated to each update), and the network's shared
  variables are brought up to date at the end of every epoch;
* dropout masks come from JAX's own generator, seeded from the layer's.

The same code runs on JAX's CPU back end, which is how the test suite checks
it against the default (Numba) back end.
"""

#### Libraries
# Standard library
import contextlib
import functools
import warnings

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T
from pytensor.graph.replace import clone_replace

# network3
from network3 import config, ops


#### Quiet translation
# PyTensor's graphs index with int64 and average in float64 before casting
# back to floatX; JAX (without x64) does those in 32 bits and warns each
# time a function is traced, as it drops PyTensor's shape assertions.  None
# of it changes a float32 result.
_HARMLESS = ("Explicitly requested dtype", "Skipping Assert")


@contextlib.contextmanager
def _quiet_tracing():
    """JAX's tracing warnings about 64-bit types silenced, and matrix
    products in full float32 precision.

    On recent NVIDIA GPUs JAX's default multiplies float32 matrices in
    TF32 (10-bit mantissas); the book's numbers were computed in float32.
    """
    import jax
    with warnings.catch_warnings(), jax.default_matmul_precision("highest"):
        for text in _HARMLESS:
            warnings.filterwarnings("ignore", message=text)
        yield


def _quietly(fn):
    """``fn`` run inside :func:`_quiet_tracing`."""
    @functools.wraps(fn)
    def quiet(*args, **kwargs):
        with _quiet_tracing():
            return fn(*args, **kwargs)
    return quiet


#### Is there a JAX to run on?
def find_jax(device):
    """Return ``(usable, reason)``: whether JAX can run on ``device``
    (``"cpu"`` or ``"gpu"``) and, if not, why in a few words."""
    try:
        import jax
    except ImportError:
        return False, "JAX is not installed (pip install 'network3[gpu]')"
    if device == "cpu":
        return True, ""
    try:
        devices = jax.devices("gpu")
    except RuntimeError:
        devices = []
    if not devices:
        return False, ("JAX {0} finds no CUDA GPU (install a CUDA-enabled JAX: "
                       "pip install 'network3[gpu]')".format(jax.__version__))
    return True, ""


@functools.lru_cache(maxsize=None)
def _jax_mode():
    from pytensor.compile.mode import get_mode
    ops.register_jax()
    return get_mode("JAX")


def _to_jax(inputs, outputs):
    """A JAX function of ``inputs`` computing ``outputs`` (PyTensor's translation)."""
    with _quiet_tracing():
        fn = pytensor.function(inputs, outputs, mode=_jax_mode(),
                               on_unused_input="ignore")
    return fn.vm.jit_fn


#### The back end a Network holds
class JaxBackend(object):
    """Keeps a network's parameters, data and compiled functions on a JAX device.

    Parameters
    ----------
    net : Network
    device : str
        ``"gpu"`` or ``"cpu"``.
    """

    def __init__(self, net, device):
        import jax
        self.jax = jax
        self.net = net
        self.device = jax.devices("gpu" if device == "gpu" else "cpu")[0]
        # the device's copy of the parameters, made from the shared variables
        # when training or prediction starts; None when the shared variables
        # are the newer copy
        self._params = None
        self._host = None        # the host arrays self._params came from
        self._rng_keys = None
        self._data = {}          # id(array) -> (array, device array)
        self._runs = {}
        self._predict_fn = None

    #### Moving things between host and device
    def to_device(self, array):
        """``array`` on the device, copied there once per array."""
        entry = self._data.get(id(array))
        if entry is None or entry[0] is not array:
            entry = (array, self.jax.device_put(array, self.device))
            self._data[id(array)] = entry
            while len(self._data) > 8:    # training, validation, test, ...
                del self._data[next(iter(self._data))]
        return entry[1]

    def params(self):
        """The parameters on the device, copied there if the host's are newer.

        ``set_value`` puts a new array in a shared variable, so a host array
        other than the one the device copy came from (or was synced to)
        means the user (or SGD restoring its best epoch) changed it.
        """
        host = [p.get_value(borrow=True) for p in self.net.params]
        if self._params is None or any(a is not b for a, b in zip(host, self._host)):
            self._params = [self.jax.device_put(a, self.device) for a in host]
            self._host = host
        return self._params

    def sync(self):
        """Copy the device's parameters into the network's shared variables."""
        if self._params is not None:
            for param, value in zip(self.net.params, self._params):
                param.set_value(np.asarray(value))
            self._host = [p.get_value(borrow=True) for p in self.net.params]

    def release(self):
        """Forget the device's parameters: the shared variables are newer."""
        self._params = None

    #### Training
    def trainer(self, training_arrays, lmbda):
        """A function ``run(first, count, eta, l2)`` that trains on mini-batches
        ``first .. first+count-1`` and returns their costs."""
        jax, jnp = self.jax, self.jax.numpy
        key = bool(lmbda)
        if key not in self._runs:
            self._runs[key] = self._compile_run(key)
        run_scan = self._runs[key]
        x = self.to_device(training_arrays[0])
        y = self.to_device(training_arrays[1])
        if self._rng_keys is None:
            self._rng_keys = [jax.random.PRNGKey(int(rng.get_value().integers(2**31)))
                              for rng in self._rngs]

        def run(first, count, eta, l2):
            params = self.params()
            try:
                params, keys, costs = run_scan(
                    params, self._rng_keys, x, y, jnp.int32(first),
                    jnp.asarray(eta, dtype=config.floatX),
                    jnp.asarray(l2, dtype=config.floatX), count)
            except BaseException:
                # The call may have consumed the parameters' (donated)
                # buffers: fall back on the shared variables' values, which
                # are at most an epoch old.
                self._params = None
                raise
            self._params, self._rng_keys = list(params), list(keys)
            return np.asarray(costs)
        return run

    def _compile_run(self, with_l2):
        """``lax.scan`` over mini-batches of the network's training step."""
        net = self.net
        jax, jnp = self.jax, self.jax.numpy
        mbs = net.mini_batch_size
        cost = net.layers[-1].cost(net)
        eta, l2 = T.scalar("eta"), T.scalar("l2")
        if with_l2:
            cost = cost + 0.5*l2*sum([(layer.w**2).sum() for layer in net.layers])
        grads = T.grad(cost, net.params)
        new_params = [param - eta*grad for param, grad in zip(net.params, grads)]
        rng_updates = ops.rng_updates([cost])
        self._rngs = [rng for rng, _ in rng_updates]
        # the same graph with everything the step reads or changes as inputs
        x, y = T.matrix("x"), T.ivector("y")
        params = [param.type(param.name) for param in net.params]
        rngs = [rng.type() for rng in self._rngs]
        replace = {net.x: x, net.y: y}
        replace.update(zip(net.params, params))
        replace.update(zip(self._rngs, rngs))
        outputs = clone_replace([cost] + new_params + [new for _, new in rng_updates],
                                replace=replace)
        step = _to_jax([x, y, eta, l2] + params + rngs, outputs)
        n_params = len(params)

        def run_scan(params, keys, data_x, data_y, first, eta, l2, count):
            def body(carry, index):
                params, keys = carry
                start = index * mbs
                xb = jax.lax.dynamic_slice_in_dim(data_x, start, mbs)
                yb = jax.lax.dynamic_slice_in_dim(data_y, start, mbs)
                out = step(xb, yb, eta, l2, *params,
                           *[{"jax_state": k} for k in keys])
                new_keys = [r["jax_state"] for r in out[1 + n_params:]]
                return (list(out[1:1 + n_params]), new_keys), out[0]
            (params, keys), costs = jax.lax.scan(
                body, (params, keys), first + jnp.arange(count, dtype=jnp.int32))
            return params, keys, costs

        return _quietly(jax.jit(run_scan, static_argnums=(7,), donate_argnums=(0,)))

    #### Prediction
    def predict(self, images, batch_size):
        """Predicted classes of ``images`` (a floatX array), on the device."""
        jnp = self.jax.numpy
        if self._predict_fn is None:
            net = self.net
            x = T.matrix("x")
            output = x
            for layer in net.layers:
                output = layer.forward(layer.reshape_input(output, -1))
            params = [param.type(param.name) for param in net.params]
            output = clone_replace(T.argmax(output, axis=1),
                                   replace=dict(zip(net.params, params)))
            self._predict_fn = _quietly(_to_jax([x] + params, [output]))
        device_images = self.to_device(images)
        params = self.params()
        predictions = [self._predict_fn(device_images[k:k + batch_size], *params)[0]
                       for k in range(0, len(images), batch_size)]
        if not predictions:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(jnp.concatenate(predictions))
