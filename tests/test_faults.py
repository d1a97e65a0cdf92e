"""What goes wrong in a learner's session, done for real: Ctrl-C (a real
SIGINT) at random moments of training -- while compiling, inside compiled
steps, while evaluating, while writing a checkpoint -- in process on each
back end and in the command line; Ctrl-C in the middle of a sweep; a
diverging learning rate; two nets in one session.  (Bad data files:
test_data.py; bad model files: test_saving.py; bad arguments:
test_layers.py and test_network.py.)"""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import network3
from network3 import ReLU, cli
from network3.layers import FullyConnectedLayer, SoftmaxLayer

from conftest import BACKENDS

MOMENTS = 20


def fc_net(activation=ReLU, backend=None, hidden=30):
    kwargs = {} if backend is None else {"backend": backend, "device": "cpu"}
    return network3.Network([FullyConnectedLayer(n_in=784, n_out=hidden,
                                                 activation_fn=activation),
                             SoftmaxLayer(n_in=hidden, n_out=10)], 10, **kwargs)


#### Ctrl-C in process, at random moments
class Sender(threading.Thread):
    """Sends this process SIGINT ``delays[0]`` seconds after SGD has put its
    handler in place, then again after each further delay."""

    def __init__(self, delays, test_handler):
        super().__init__(daemon=True)
        self.delays, self.test_handler, self.sent = delays, test_handler, 0

    def run(self):
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGINT) is self.test_handler:
            if time.monotonic() > deadline:
                return
            time.sleep(0.0005)
        for delay in self.delays:
            time.sleep(delay)
            os.kill(os.getpid(), signal.SIGINT)
            self.sent += 1


def interrupted_sgd(net, training_data, validation_data, checkpoint, delays,
                    **options):
    """Run a long SGD (with ``options``) and Ctrl-C it after ``delays``;
    return its history and the SIGINTs that reached the test's own handler
    (after SGD returned)."""
    stray = []

    def test_handler(signum, frame):
        stray.append(signum)
    previous = signal.signal(signal.SIGINT, test_handler)
    try:
        sender = Sender(delays, test_handler)
        sender.start()
        history = net.SGD(training_data, 500, 10, 0.1, validation_data, None,
                          verbose=False, checkpoint=checkpoint, **options)
        sender.join(timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    return history, stray


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_at_random_moments_always_stops_cleanly(subset, tmp_path, capsys,
                                                       backend):
    training_data, validation_data, _ = subset(1000, 300, 10)
    rng = np.random.default_rng(7)
    net = None
    for moment in range(MOMENTS):
        # every fourth run builds a new net, so that Ctrl-C may land while
        # its training step compiles; the others reuse the compiled step
        if moment % 4 == 0:
            network3.seed(moment)
            net = fc_net(backend=backend, hidden=200)
        before = [p.get_value().copy() for p in net.params]
        checkpoint = tmp_path / "best{0}.npz".format(moment)
        # one Ctrl-C, or a second one soon after (which stops at once)
        delays = [rng.uniform(0, 1.2)] + ([rng.uniform(0, 0.05)] if moment % 2 else [])
        history, stray = interrupted_sgd(net, training_data, validation_data,
                                         checkpoint, delays)
        what = "moment {0}, delays {1}".format(moment, delays)
        assert history.stopped == "interrupted", what
        assert len(stray) <= len(delays) - 1, what     # SGD caught the first
        err = capsys.readouterr().err
        assert err.startswith("SGD interrupted "), what
        assert "Traceback" not in err and "SystemError" not in err, what
        if history.best_epoch is None:
            # stopped before an epoch ended: nothing trained is lost, as nothing
            # was kept; the net holds where its steps got to (or its start)
            assert not checkpoint.exists(), what
            assert all(np.all(np.isfinite(p.get_value())) for p in net.params)
            continue
        # the net holds the best epoch's parameters, which the (whole)
        # checkpoint holds too
        best = network3.load_network(checkpoint)
        for ours, saved in zip(net.params, best.params):
            np.testing.assert_array_equal(ours.get_value(), saved.get_value(), what)
        assert net.accuracy(validation_data) == history.best_validation_accuracy, what
        assert "{0} epoch".format(history.epochs) in err, what
        assert "whose parameters the network holds" in err, what
        assert any(not np.array_equal(a, p.get_value())
                   for a, p in zip(before, net.params)), what
        if moment % 5 == 4:             # and training goes on where it stopped
            again = net.SGD(training_data, 1, 10, 0.1, validation_data, None,
                            verbose=False)
            assert again.stopped is None and again.epochs == 1, what


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_with_augmentation_stops_its_threads_too(subset, tmp_path, capsys,
                                                        backend):
    """Ctrl-C at random moments -- making the first epoch's images, training
    while the next epoch's are made, evaluating -- stops training as usual,
    ends the augmentation threads and lets their images go."""
    training_data, validation_data, _ = subset(3000, 300, 10)
    given = training_data[0].get_value().copy()
    rng = np.random.default_rng(8)
    network3.seed(8)
    net = fc_net(backend=backend, hidden=100)
    augment = network3.Augmentation(rotate=10, elastic=(34, 4))
    for moment in range(6):
        delays = [rng.uniform(0, 1.5)] + ([rng.uniform(0, 0.05)] if moment % 2 else [])
        history, _ = interrupted_sgd(net, training_data, validation_data,
                                     tmp_path / "best.npz", delays, augment=augment)
        what = "moment {0}, delays {1}".format(moment, delays)
        assert history.stopped == "interrupted", what
        err = capsys.readouterr().err
        assert err.startswith("SGD interrupted ") and "Traceback" not in err, what
        assert not [t for t in threading.enumerate()
                    if t.name.startswith("network3-augment")], what
        assert [v.get_value().size for v in net.augmented_data] == [0, 0], what
        np.testing.assert_array_equal(training_data[0].get_value(), given)
        assert all(np.all(np.isfinite(p.get_value())) for p in net.params), what


class EpochsEnded(network3.callbacks.Callback):
    """Counts the epochs that end; :meth:`wait_for` waits for a count (or
    for ``thread`` to end)."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def on_epoch_end(self, net, state, event):
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, count, thread):
        with self.changed:
            while self.count < count and thread.is_alive():
                self.changed.wait(0.1)          # (also sees the thread end)


def test_an_interrupt_in_a_thread_other_than_the_main_one(subset, tmp_path):
    """Outside the main thread no handler can be installed: SGD catches the
    KeyboardInterrupt itself (here raised asynchronously in its thread, as
    notebook front-ends do), also when it arrives inside compiled code."""
    import ctypes
    training_data, validation_data, _ = subset(1000, 300, 10)
    network3.seed(9)
    net = fc_net(hidden=200)
    net.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False)
    rng = np.random.default_rng(3)
    kept = 0
    for trial in range(5):
        checkpoint = tmp_path / "best{0}.npz".format(trial)
        result, ended = {}, EpochsEnded()
        thread = threading.Thread(target=lambda: result.update(history=net.SGD(
            training_data, 500, 10, 0.1, validation_data, None, verbose=False,
            checkpoint=checkpoint, callbacks=[ended])))
        thread.start()
        time.sleep(rng.uniform(0.2, 1.0))
        while thread.is_alive():
            sent = ended.count
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(thread.ident), ctypes.py_object(KeyboardInterrupt))
            # an interrupt that lands in a finalizer (Numba's, while Python
            # collects) is lost, as Python loses any exception there: if two
            # more epochs end, press again, as the user would
            ended.wait_for(sent + 2, thread)
        history = result["history"]
        assert history.stopped == "interrupted"
        if history.best_epoch is None:
            # stopped before an epoch ended (on a busy machine, the step's
            # compiling can outlast the delay): nothing was kept
            assert not checkpoint.exists()
            continue
        best = network3.load_network(checkpoint)
        for ours, saved in zip(net.params, best.params):
            np.testing.assert_array_equal(ours.get_value(), saved.get_value())
        kept += 1
    assert kept > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_ctrl_c_while_a_checkpoint_is_written(subset, tmp_path, monkeypatch,
                                                  backend, python_sigint):
    """The second Ctrl-C aborts the write; the checkpoint is written again,
    whole, with the best epoch the network holds."""
    training_data, validation_data, _ = subset(500, 300, 10)
    network3.seed(5)
    net = fc_net(backend=backend)
    real_savez, writes = np.savez, []

    def savez(f, **members):
        writes.append(len(writes))
        if len(writes) == 3:        # the third best epoch's checkpoint
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)   # raises here, mid-write
        return real_savez(f, **members)
    monkeypatch.setattr(np, "savez", savez)
    checkpoint = tmp_path / "best.npz"
    history = net.SGD(training_data, 100, 10, 0.1, validation_data, None,
                      verbose=False, checkpoint=checkpoint)
    assert history.stopped == "interrupted" and len(writes) >= 4
    best = network3.load_network(checkpoint)
    for ours, saved in zip(net.params, best.params):
        np.testing.assert_array_equal(ours.get_value(), saved.get_value())
    assert net.accuracy(validation_data) == history.best_validation_accuracy


def test_ctrl_c_in_the_command_line_at_random_moments(tmp_path):
    """The CLI as a user runs it: Ctrl-C any time after it has started
    training ends it with exit status 130, one message and no traceback,
    leaving a loadable checkpoint and a saved net that holds the best epoch
    (or, stopped before an epoch ended, neither: an earlier file of that
    name is not overwritten with an untrained net)."""
    rng = np.random.default_rng(11)
    for moment in range(MOMENTS):
        checkpoint, last = tmp_path / "best{0}.npz".format(moment), \
            tmp_path / "last{0}.npz".format(moment)
        proc = subprocess.Popen(
            [sys.executable, "-m", "network3", "train", "--net", "fc", "--epochs", "200",
             "--train-size", "2000", "--seed", str(moment), "--no-progress",
             "--checkpoint", str(checkpoint), "--save", str(last)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            # as from a terminal: a test run started in the background (a CI
            # script's `&`) passes SIGINT down ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        proc.stdout.readline()          # "network3: ...": training starts now
        time.sleep(rng.uniform(0, 2.5))
        proc.send_signal(signal.SIGINT)
        if moment % 3 == 2:             # and a second Ctrl-C, impatiently
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        what = "moment {0}: {1}".format(moment, err[-2000:])
        assert proc.returncode == 130, what
        assert "Traceback" not in err and "SystemError" not in err, what
        assert "interrupted" in err, what
        if not last.exists():           # stopped before the first epoch ended
            assert "no epoch was trained" in err and not checkpoint.exists(), what
            continue
        saved = network3.load_network(last)
        best = network3.load_network(checkpoint)
        for a, b in zip(saved.params, best.params):
            np.testing.assert_array_equal(a.get_value(), b.get_value(), what)


def test_ctrl_c_in_a_sweep_keeps_exactly_the_finished_runs(tmp_path):
    out = tmp_path / "sweep"
    args = ["--only", "fc", "--repeats", "2", "--epochs", "40", "--train-size", "5000",
            "--eval-size", "500", "--output", str(out), "--quiet"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", "experiments"] + args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:
        if line.startswith("== fc (") and "run 2 of 2" in line:
            break
    time.sleep(0.3)                     # the second run is training
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 10                 # at once, not after the run
    assert "interrupted; finished runs are in" in err and "Traceback" not in err
    runs = [json.loads(line) for line in open(out / "runs.jsonl")]
    assert [r["repeat"] for r in runs] == [0]
    assert sorted(os.listdir(out / "nets")) == ["fc-0.npz"]
    # running again trains the interrupted run, and only that one
    assert cli.main(["experiments"] + args) == 0
    runs = [json.loads(line) for line in open(out / "runs.jsonl")]
    assert [r["repeat"] for r in runs] == [0, 1]


#### Divergence
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


def test_divergence_in_the_command_line_exits_1():
    result = subprocess.run(
        [sys.executable, "-m", "network3", "--net", "fc", "--epochs", "3",
         "--train-size", "500", "--eta", "1000", "--seed", "1"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "training diverged" in result.stderr and "Traceback" not in result.stderr


def test_a_diverged_run_is_recorded_as_diverged_and_not_retried(tmp_path,
                                                                 monkeypatch):
    recipe = network3.chapter.RECIPES["fc"]
    monkeypatch.setitem(network3.chapter.RECIPES, "fc",
                        type(recipe)(**dict(vars(recipe), eta=1000.0)))
    out = tmp_path / "sweep"
    args = ["--only", "fc", "--repeats", "1", "--epochs", "2", "--train-size", "300",
            "--eval-size", "100", "--output", str(out), "--quiet"]
    assert cli.main(["experiments"] + args) == 0
    runs = [json.loads(line) for line in open(out / "runs.jsonl")]
    assert len(runs) == 1 and runs[0]["diverged"] and runs[0]["diverged_epoch"] == 0
    assert runs[0]["test_accuracy"] is None and "net" not in runs[0]
    assert "| fc | 97.80% | - | 1 (1 diverged) | 2 |" in (out / "table.md").read_text()
    assert cli.main(["experiments"] + args) == 0              # not tried again
    assert len(open(out / "runs.jsonl").readlines()) == 1


def test_a_cost_worse_than_guessing_is_pointed_out(subset):
    training_data, validation_data, _ = subset(1000, 100, 100)
    network3.seed(3)
    net = fc_net(activation=network3.sigmoid)
    with pytest.warns(UserWarning, match="worse than guessing .* eta=10.0 may be too "
                                         "large") as caught:
        net.SGD(training_data, 1, 10, 10.0, validation_data, None, verbose=False)
    assert caught[0].filename == __file__       # it points at the SGD call


#### Two nets, two calls
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


def test_a_ladder_killed_mid_run_goes_on_from_the_runs_last_epoch(tmp_path):
    """kill -9 (a crash, a reboot) in the middle of a run of the ladder:
    running it again goes on from the run's backup, here or on a Dask
    worker, and ends as a run never killed does."""
    args = [sys.executable, "-m", "network3", "experiments", "--only", "fc",
            "--repeats", "1", "--epochs", "4", "--train-size", "10000",
            "--eval-size", "500", "--quiet"]
    # BLAS on one thread everywhere, as on a Dask worker (with more threads
    # its sums may round differently); Dask warns about tasks larger than
    # 100 kB here: the backup must go another way
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               DASK_DISTRIBUTED__ADMIN__LARGE_GRAPH_WARNING_THRESHOLD="100kB")
    whole = tmp_path / "whole"
    subprocess.run(args + ["--output", str(whole)], check=True, capture_output=True,
                   timeout=600, env=env)
    out = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--output", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    backup = out / "backups" / "fc-0.state"
    deadline = time.monotonic() + 300
    while not backup.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    assert backup.exists(), "the run ended before its first backup"
    engines = [(out, [])]
    if importlib.util.find_spec("distributed"):
        shutil.copytree(out, tmp_path / "on-dask")
        engines.append((tmp_path / "on-dask", ["--workers", "1"]))
    for where, engine in engines:
        again = subprocess.run(args + ["--output", str(where)] + engine, env=env,
                               capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr
        # named by the file under OUTPUT, not by a Dask worker's copy
        assert "Resuming from the backup {0} at epoch".format(
            where / "backups" / "fc-0.state") in again.stderr
        assert "Sending large graph" not in again.stderr
        (record,) = [json.loads(line) for line in open(where / "runs.jsonl")]
        (reference,) = [json.loads(line) for line in open(whole / "runs.jsonl")]
        assert record["resumed_at"] >= 1 and "resumed_at" not in reference
        assert "(resumed at epoch {0})".format(record["resumed_at"]) in again.stdout
        for key in ("best_validation_accuracy", "test_accuracy", "best_epoch", "epochs"):
            assert record[key] == reference[key], (engine, key)
        with np.load(where / record["net"]) as mine, \
                np.load(whole / reference["net"]) as ref:
            for name in mine.files:
                np.testing.assert_array_equal(mine[name], ref[name])
        assert not (where / "backups" / "fc-0.state").exists()
