"""What goes wrong in a learner's session, driven case by case: Ctrl-C in
the middle of training, a diverging learning rate, two nets in one session,
SGD called twice.  (Bad data files: test_data.py; bad model files:
test_saving.py; bad arguments: test_layers.py and test_network.py.)"""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import network3
from network3 import ReLU
from network3.layers import FullyConnectedLayer, SoftmaxLayer


def fc_net(activation=ReLU, backend=None):
    kwargs = {} if backend is None else {"backend": backend, "device": "cpu"}
    return network3.Network([FullyConnectedLayer(n_in=784, n_out=30,
                                                 activation_fn=activation),
                             SoftmaxLayer(n_in=30, n_out=10)], 10, **kwargs)


def interrupt_after(net, calls):
    """Make the net's training raise KeyboardInterrupt on call ``calls``,
    as Ctrl-C does between two mini-batches."""
    real = net._trainer
    count = [0]

    def trainer(*args):
        train = real(*args)

        def interrupted(first, n):
            count[0] += 1
            if count[0] == calls:
                raise KeyboardInterrupt
            return train(first, n)
        return interrupted
    net._trainer = trainer


@pytest.mark.parametrize("backend", [None, "jax"])
def test_ctrl_c_keeps_the_best_network_and_the_checkpoint(subset, tmp_path, capsys,
                                                          backend):
    if backend == "jax":
        pytest.importorskip("jax")
    training_data, validation_data, test_data = subset(1000, 200, 200)
    network3.seed(1)
    net = fc_net(backend=backend)
    # 100 mini-batches an epoch, run in chunks of 100 (Numba) or 1000 (JAX):
    # the third call is in the third epoch
    interrupt_after(net, 3)
    checkpoint = tmp_path / "best.npz"
    history = net.SGD(training_data, 10, 10, 0.1, validation_data, test_data,
                      checkpoint=checkpoint)
    assert history.stopped == "interrupted" and history.epochs == 2
    err = capsys.readouterr().err
    assert "SGD interrupted at epoch 2, mini-batch 0 of 100" in err
    assert "2 epochs done; best validation accuracy" in err
    assert "whose parameters the network holds" in err
    best = network3.load_network(checkpoint)
    for a, b in zip(net.params, best.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    assert net.accuracy(validation_data) == history.best_validation_accuracy
    # training goes on where it stopped
    again = net.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False)
    assert again.stopped is None and again.epochs == 1


def test_ctrl_c_in_the_command_line_leaves_a_loadable_checkpoint(tmp_path):
    checkpoint = tmp_path / "best.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", "train", "--net", "fc", "--epochs", "100",
         "--train-size", "5000", "--checkpoint", str(checkpoint)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        # as from a terminal: a test run started in the background (a CI
        # script's `&`) passes SIGINT down ignored, and Python then never
        # raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:
        if line.startswith("Epoch 1: validation accuracy"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "SGD interrupted at epoch" in err and "Traceback" not in err
    assert network3.load_network(checkpoint).accuracy(
        network3.load_data()[1]) > 0.8


def test_divergence_stops_with_a_message_and_keeps_the_best(subset, capsys):
    training_data, validation_data, _ = subset(500, 100, 100)
    network3.seed(2)
    net = fc_net()
    history = net.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False)
    good = [p.get_value() for p in net.params]
    history = net.SGD(training_data, 3, 10, 50.0, validation_data, None,
                      verbose=False)
    assert history.stopped == "diverged"
    err = capsys.readouterr().err
    assert "the cost became" in err and "at epoch 0, mini-batch" in err
    assert "learning rate eta=50.0 is probably too large" in err
    assert "parameters from before this SGD call" in err
    for p, value in zip(net.params, good):
        np.testing.assert_array_equal(p.get_value(), value)
        assert np.all(np.isfinite(p.get_value()))


def test_a_cost_worse_than_guessing_is_pointed_out(subset):
    training_data, validation_data, _ = subset(1000, 100, 100)
    network3.seed(3)
    net = fc_net(activation=network3.sigmoid)
    with pytest.warns(UserWarning, match="worse than guessing .* eta=10.0 may be too "
                                         "large"):
        net.SGD(training_data, 1, 10, 10.0, validation_data, None, verbose=False)


def test_two_networks_and_two_sgd_calls(subset):
    training_data, validation_data, _ = subset(300, 100, 100)
    network3.seed(4)
    a, b = fc_net(), fc_net()
    assert not np.array_equal(a.layers[0].w.get_value(), b.layers[0].w.get_value())
    before_b = [p.get_value().copy() for p in b.params]
    a.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False)
    for p, value in zip(b.params, before_b):     # training a leaves b alone
        np.testing.assert_array_equal(p.get_value(), value)
    # a second SGD call continues from where the first left off
    mid = [p.get_value().copy() for p in a.params]
    a.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False,
          restore_best=False)
    assert not np.array_equal(a.params[0].get_value(), mid[0])


def test_progress_bar_keeps_the_books_lines_whole(subset, capsys):
    training_data, validation_data, _ = subset(11000, 100, 100)
    network3.seed(5)
    net = fc_net()
    net.SGD(training_data, 1, 10, 0.1, validation_data, None, progress=True)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "Training mini-batch number 0"
    assert lines[1] == "Training mini-batch number 1000"
    assert lines[2].startswith("Epoch 0: validation accuracy ")
    assert "Epoch 1/1" in captured.err and "batch" in captured.err
    # not a terminal: no bar unless asked
    net.SGD(training_data, 1, 10, 0.1, validation_data, None)
    assert "Epoch 1/1" not in capsys.readouterr().err
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        net.SGD(training_data, 1, 10, 0.1, validation_data, None, progress="yes")


def test_a_checkpoint_that_cannot_be_written_is_refused_before_training(subset,
                                                                        tmp_path):
    training_data, validation_data, _ = subset(100, 50, 50)
    net = fc_net()
    with pytest.raises(ValueError, match="checkpoint=.*does not exist"):
        net.SGD(training_data, 1, 10, 0.1, validation_data, None,
                checkpoint=tmp_path / "no" / "such" / "best.npz")
    with pytest.raises(TypeError, match="checkpoint must be a file name"):
        net.SGD(training_data, 1, 10, 0.1, validation_data, None, checkpoint=3)
