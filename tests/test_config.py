"""config.py: THEANO_FLAGS translation, and what `import network3` does with
the flags people put on the command line."""

import os
import subprocess
import sys

import pytest

from network3 import config


def test_parse_flags():
    assert config.parse_flags("mode=FAST_RUN,device=gpu,floatX=float32") == {
        "mode": "FAST_RUN", "device": "gpu", "floatX": "float32"}
    assert config.parse_flags(" a = 1 ,, b") == {"a": "1", "b": "True"}
    assert config.parse_flags("") == {}


@pytest.mark.parametrize("flags, settings, problem", [
    ("mode=FAST_RUN,device=gpu,floatX=float32",
     {"mode": None, "device": "gpu", "floatX": "float32"}, None),
    ("device=cuda0,lib.cnmem=0.8", {"device": "gpu"}, None),
    ("device=cpu,mode=FAST_COMPILE", {"device": "cpu", "mode": "FAST_COMPILE"}, None),
    ("floatX=float16", {}, "floatX='float16' is not supported"),
    ("mode=TURBO", {}, "mode='TURBO' is not a mode network3 knows"),
    ("colour=blue", {}, "unknown flag 'colour' ignored"),
    ("device=tpu", {}, "device='tpu' is not a device"),
])
def test_translate_flags(flags, settings, problem):
    got, problems = config.translate_flags(config.parse_flags(flags))
    assert got == settings
    assert problems == ([] if problem is None else [problems[0]])
    if problem:
        assert problem in problems[0]


def run_import(theano_flags, build=False):
    env = dict(os.environ, THEANO_FLAGS=theano_flags)
    env.pop("PYTENSOR_FLAGS", None)
    code = ("import network3, pytensor; "
            "print(network3.GPU, network3.floatX, pytensor.config.floatX)")
    if build:   # where a network runs is decided when it is built
        code += ("; net = network3.Network([network3.SoftmaxLayer(n_in=784, "
                 "n_out=10)], 10); print(net.backend, net.device)")
    return subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)


def test_book_command_line_flags_run_on_the_cpu_with_one_line():
    result = run_import("mode=FAST_RUN,device=gpu,floatX=float32", build=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True float32 float32"      # a GPU was asked for
    assert len(lines) == 3
    if lines[2] == "numba cpu":                     # no CUDA JAX here
        assert "device=gpu" in lines[1] and "running on the CPU" in lines[1]
        assert "JAX" in lines[1]                    # ... and why
    else:
        assert lines[2] == "jax gpu" and "GPU" in lines[1]
    assert "Traceback" not in result.stderr


def test_float64_and_unknown_flags_warn_but_work():
    result = run_import("floatX=float64,colour=blue")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False float64 float64"
    assert "unknown flag 'colour' ignored" in result.stderr


def test_default_is_float32_on_the_cpu():
    result = run_import("")
    assert result.returncode == 0 and result.stdout.strip() == "False float32 float32"


def test_each_process_that_asks_gets_a_compile_directory_of_its_own(tmp_path):
    """Two claims in this process, then a process started with
    NETWORK3_OWN_COMPILEDIR: three directories, and PyTensor (its Numba
    cache included) uses the one its process holds."""
    base = str(tmp_path / "compiled")
    first = config.claim_compiledir(base)
    second = config.claim_compiledir(base)
    assert first == os.path.join(base, "worker-0")
    assert second == os.path.join(base, "worker-1")
    env = dict(os.environ, THEANO_FLAGS="base_compiledir=" + base,
               NETWORK3_OWN_COMPILEDIR="1")
    code = ("import network3, pytensor; "
            "from pytensor.link.numba import cache; "
            "print(network3.config.own_compiledir); "
            "print(pytensor.config.base_compiledir); print(cache.NUMBA_CACHE_PATH)")
    result = subprocess.run([sys.executable, "-c", code], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    third = os.path.join(base, "worker-2")
    assert result.stdout.split() == [third, third, os.path.join(third, "numba")]
    # the subprocess has ended: its directory is free again, ours are not
    assert config.claim_compiledir(base) == third
    # a process that does not ask shares PyTensor's directory, as always
    env.pop("NETWORK3_OWN_COMPILEDIR")
    result = subprocess.run([sys.executable, "-c", code], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["None", base, os.path.join(base, "numba")]
