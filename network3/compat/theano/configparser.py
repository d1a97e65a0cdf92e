"""compat/theano/configparser.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.config``: Theano's settings, read and written under Theano's
names.

What PyTensor still has (``floatX``, ``optimizer``, ``compute_test_value``,
``exception_verbosity``, ...) is PyTensor's own setting: writing
``theano.config.floatX = 'float32'`` changes what ``T.matrix()`` makes.
``mode`` is Theano's name for the mode ``theano.function`` compiles with.
``device`` says what ``THEANO_FLAGS`` asked for, and, as in Theano, cannot
be changed once the program runs: client code like ``network3.py``'s ::

    try: theano.config.device = 'gpu'
    except: pass # it's already set

relies on that error.  The flags of Theano's own CUDA back end and C
compiler (``dnn.enabled``, ``lib.cnmem``, ``blas.ldflags``, ...) read as
``THEANO_FLAGS`` set them, else as Theano's defaults, and can be written;
they change nothing.

"""

#### Libraries
# Standard library
import os

# Third-party libraries
import pytensor

# network3
from network3 import config as network3_config

#: Theano's defaults for the settings only Theano's CUDA back end and C
#: compiler read (dotted names are sections: ``theano.config.dnn.enabled``).
THEANO_ONLY = {
    "device": "cpu", "init_gpu_device": "", "force_device": False, "contexts": "",
    "print_active_device": True, "openmp": False, "cxx": "", "allow_gc": True,
    "assert_no_cpu_op": "ignore", "device_memory": "",
    "lib.cnmem": 0.0, "gpuarray.preallocate": 0.0, "gpuarray.single_stream": True,
    "nvcc.fastmath": False, "nvcc.flags": "", "cuda.root": "",
    "dnn.enabled": "auto", "dnn.include_path": "", "dnn.library_path": "",
    "dnn.conv.algo_fwd": "small", "dnn.conv.algo_bwd_data": "none",
    "dnn.conv.algo_bwd_filter": "none", "blas.ldflags": "",
    "gcc.cxxflags": "", "cmodule.warn_no_version": False,
    "cmodule.compilation_warning": False,
}

#: Settings Theano fixed when the program started.
FIXED = ("device", "init_gpu_device", "force_device", "contexts")

#: What Theano said when a program tried to change one.
FIXED_MESSAGE = "Can't change the value of this config parameter after initialization!"


def _flags():
    return network3_config.parse_flags(os.environ.get("THEANO_FLAGS", ""))


class _Section(object):
    """A dotted section of Theano-only settings (``theano.config.dnn``)."""

    def __init__(self, owner, prefix):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return self._owner._read(self._prefix + name)

    def __setattr__(self, name, value):
        self._owner._write(self._prefix + name, value)


class TheanoConfig(object):
    """``theano.config`` (see the module's docstring)."""

    def __init__(self):
        flags = _flags()
        values = {name: flags.get(name, default) for name, default in THEANO_ONLY.items()}
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_mode", flags.get("mode", "Mode"))

    #### Reading
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._read(name)

    def _read(self, name):
        if name == "mode":
            return self._mode
        if name in self._values:
            return self._values[name]
        if any(key.startswith(name + ".") for key in self._values):
            return _Section(self, name + ".")
        try:
            return getattr(pytensor.config, name)
        except AttributeError:
            raise AttributeError(
                "theano.config has no setting {0!r} (Theano's settings that PyTensor "
                "still has are PyTensor's own; see pytensor.config)".format(name)) from None

    #### Writing
    def __setattr__(self, name, value):
        self._write(name, value)

    def _write(self, name, value):
        if name in FIXED:
            raise Exception(FIXED_MESSAGE)
        if name == "mode":
            if isinstance(value, str) and value not in network3_config.MODES:
                raise ValueError("theano.config.mode must be one of {0}, got {1!r}".format(
                    ", ".join(sorted(network3_config.MODES)), value))
            object.__setattr__(self, "_mode", value)
        elif name in self._values:
            self._values[name] = value
        elif hasattr(pytensor.config, name):
            setattr(pytensor.config, name, value)
        else:
            raise AttributeError("theano.config has no setting {0!r}".format(name))

    def __dir__(self):
        return sorted(set(self._values) | {"mode"} | set(dir(pytensor.config)))


#: ``theano.config``
config = TheanoConfig()
