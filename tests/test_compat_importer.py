"""network3 run and network3.compat.theano.install(), as a user runs them:
in subprocesses.  Theano-era code written for these tests (tests/theano_code:
two forks of network3.py with their drivers, tutorial-style logistic
regression, MLP and LeNet) runs unchanged and learns; a float64 script gives
the numbers of the same maths written against PyTensor directly; scripts see
what python would show them; misuse gets clear errors."""

import os
import re
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = os.path.join(HERE, "theano_code")
DATA = os.path.join(HERE, "..", "data", "mnist.pkl.gz")


def run(*args, flags=None, cwd=None):
    """``python -m network3 run ARGS...`` with THEANO_FLAGS ``flags`` (none
    by default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("THEANO_FLAGS",
                                                            "PYTENSOR_FLAGS")}
    if flags:
        env["THEANO_FLAGS"] = flags
    return subprocess.run([sys.executable, "-m", "network3", "run", *args],
                          capture_output=True, text=True, timeout=900, env=env,
                          cwd=cwd or os.path.join(HERE, ".."))


def accuracies(stdout, pattern):
    return [float(a) for a in re.findall(pattern, stdout)]


#### Forks of network3.py, beside their drivers
def test_a_theano_08_fork_trains_the_chapters_nets():
    result = run(os.path.join(CODE, "fork2015", "test.py"), DATA, "5000", "2",
                 flags="mode=FAST_RUN,device=gpu,floatX=float32")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the fork's own module ran (its GPU lines), on the GPU or saying why not
    assert out.startswith("Trying to run under a GPU.")
    assert ("Theano functions run on the CPU." in out
            or "Theano functions run on the GPU through JAX." in out)
    best = accuracies(out, r"Best validation accuracy of ([\d.]+)%")
    assert len(best) == 2 and min(best) > 60, out       # the FC and the conv net
    assert len(re.findall(r"Epoch 1: validation accuracy", out)) == 2


def test_a_theano_10_fork_trains_with_mrg_dropout():
    result = run(os.path.join(CODE, "fork2017", "test.py"), DATA, "5000", "2",
                 flags="floatX=float32")
    assert result.returncode == 0, result.stderr
    best = accuracies(result.stdout, r"Best validation accuracy of ([\d.]+)%")
    assert len(best) == 2 and min(best) > 60, result.stdout
    assert "ignore_border" not in result.stderr          # given, as Theano 1.0 code did


#### The Theano tutorials' style
@pytest.mark.parametrize("script, worst", [("logistic_sgd.py", 20), ("mlp.py", 40),
                                           ("lenet.py", 20)])
def test_tutorial_style_scripts_run_unchanged_in_float64(script, worst):
    result = run(os.path.join(CODE, "tutorials", script), DATA, "5000", "2")
    assert result.returncode == 0, result.stderr
    errors = accuracies(result.stdout, r"validation error ([\d.]+) %")
    test_error = accuracies(result.stdout, r"with test performance ([\d.]+) %")
    assert len(errors) == 2 and errors[1] < errors[0], result.stdout
    assert test_error and test_error[0] < worst, result.stdout


def test_a_float64_script_gives_the_numbers_of_pytensor_written_directly(tmp_path):
    out = tmp_path / "theano.npz"
    result = run(os.path.join(CODE, "tutorials", "deterministic.py"), str(out))
    assert result.returncode == 0, result.stderr
    got = np.load(out)
    expected = pytensor_direct()
    for name in ("costs", "w", "b", "v"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-10, atol=1e-13)


def pytensor_direct():
    """deterministic.py's five SGD steps, written against PyTensor with no
    Op of network3's: the true convolution as a sum of shifted slices, the
    pooling's partial windows as padding with -inf, softmax and its
    cross-entropy by hand."""
    with pytensor.config.change_flags(floatX="float64"):
        rng = np.random.RandomState(42)
        X = rng.normal(size=(8, 2, 7, 7))
        Y = rng.randint(0, 3, size=8).astype("int32")
        params = [pytensor.shared(rng.normal(scale=0.5, size=(4, 2, 3, 3))),
                  pytensor.shared(rng.normal(scale=0.1, size=4)),
                  pytensor.shared(rng.normal(scale=0.5, size=(4 * 3 * 3, 3)))]
        w, b, v = params
        x, y = pt.tensor4(), pt.ivector()
        flipped = w[:, :, ::-1, ::-1]
        conv = sum(pt.tensordot(x[:, :, a:a + 5, c:c + 5], flipped[:, :, a, c],
                                axes=[[1], [1]]).dimshuffle(0, 3, 1, 2)
                   for a in range(3) for c in range(3))                   # (8, 4, 5, 5)
        padded = pt.set_subtensor(pt.full((8, 4, 6, 6), -np.inf, dtype="float64")[:, :, :5, :5],
                                  conv)
        pooled = padded.reshape((8, 4, 3, 2, 3, 2)).max(axis=(3, 5))
        h = pt.maximum(pooled + b.dimshuffle("x", 0, "x", "x"), 0)
        z = pt.dot(h.reshape((8, 36)), v)
        e = pt.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        cost = -pt.mean(pt.log(p[pt.arange(8), y]))
        step = pytensor.function([x, y], cost, updates=[
            (q, q - 0.1 * g) for q, g in zip(params, pt.grad(cost, params))])
        costs = [step(X, Y) for _ in range(5)]
    return dict(costs=costs, w=w.get_value(), b=b.get_value(), v=v.get_value())


#### What a script sees
SEES = ("import sys, pickle, theano\n"
        "class Point(object): pass\n"
        "for seen in (sys.argv, repr(sys.path[0]), __name__, theano.config.floatX,\n"
        "             theano.__version__, len(pickle.dumps(Point())) > 0):\n"
        "    print(seen)\n")


def test_a_script_sees_what_python_shows_it(tmp_path):
    script = tmp_path / "sees.py"
    script.write_text(SEES + "print(__file__ == {0!r})\nsys.exit(3)\n".format(str(script)))
    result = run(str(script), "a", "--b")
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [str([str(script), "a", "--b"]), repr(str(tmp_path)),
                                          "__main__", "float64", "1.0.5", "True", "True"]
    result = run("-c", SEES, "x", flags="floatX=float32")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['-c', 'x']", "''", "__main__", "float32",
                                          "1.0.5", "True"]


def test_a_scripts_failures_are_its_own(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text("raise ValueError('from the script')\n")
    result = run(str(script))
    assert result.returncode == 1
    assert "ValueError: from the script" in result.stderr.splitlines()[-1]
    result = run(str(tmp_path / "missing.py"))
    assert result.returncode == 2 and "can't open file" in result.stderr
    result = run()
    assert result.returncode == 2 and "usage: network3 run SCRIPT" in result.stderr
    result = run("-c", "import theano.sandbox.cuda")
    assert result.returncode == 1
    assert re.search(r"ImportError: theano.sandbox.cuda is not covered .* "
                     r"THEANO_FLAGS=device=gpu compiles theano.function through JAX",
                     result.stderr)
    result = run("-c", "import theano.tensor.nosuch")
    assert "theano.tensor.nosuch is not covered" in result.stderr


#### install(), in ipython or Jupyter
def test_install_serves_theano_and_hands_network3_to_a_local_file(tmp_path):
    (tmp_path / "network3.py").write_text("WHO = 'the fork'\n")
    # (a folder holding a network3.py first on sys.path once network3 is imported)
    code = ("import sys, network3.compat.theano as t; sys.path.insert(0, {0!r})\n"
            "t.install(); t.install()\n"
            "import theano, theano.tensor as T, network3, network3.ops\n"
            "from theano.tensor.signal import pool\n"
            "x = T.tensor4(); f = theano.function([x], pool.pool_2d(x, (2, 2), "
            "ignore_border=True))\n"
            "print(network3.WHO, theano.config.floatX, f([[[[1., 2.], [3., 4.]]]]))\n"
            ).format(str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["the", "fork", "float64", "[[[[4.]]]]"]


def test_a_real_theano_already_imported_is_refused(tmp_path):
    (tmp_path / "theano").mkdir()
    (tmp_path / "theano" / "__init__.py").write_text("REAL = True\n")
    code = ("import sys; sys.path.insert(0, {0!r}); import theano\n"
            "import network3.compat.theano as t; t.install()\n").format(str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 1
    assert re.search(r"RuntimeError: a real Theano \(.*theano.__init__.py\) is already "
                     r"imported in this process", result.stderr)
