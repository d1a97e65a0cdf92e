"""backup.py: SGD(backup=...) resumes a run exactly where it stopped.

A run cut short -- by an exception at the end of an epoch, by a real SIGINT
or SIGKILL at a random moment of another process (compiling, inside a
compiled step, evaluating, writing the backup) -- and started again with the
same file ends with the parameters and history of a run never stopped, bit
for bit, on both back ends, with dropout, augmentation, momentum or Adam
and a schedule.  A backup of another run is refused and left as it is."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import network3
from network3 import (Augmentation, ConvPoolLayer, FullyConnectedLayer, ReLU,
                      SoftmaxLayer, backup, schedules, updates)
from network3.callbacks import Callback

from conftest import BACKENDS

HERE = os.path.dirname(os.path.abspath(__file__))


def small_data(seed=0, n_train=80):
    """Random images and labels: training (``n_train``), validation (30),
    test (30)."""
    rng = np.random.default_rng(seed)
    n = n_train + 60
    x = rng.random((n, 784)).astype(network3.config.floatX)
    y = rng.integers(0, 10, n).astype("int32")
    return ((x[:n_train], y[:n_train]), (x[n_train:n_train + 30], y[n_train:n_train + 30]),
            (x[n_train + 30:], y[n_train + 30:]))


def small_net(backend):
    """A conv layer, then dropout in two layers: every random stream there is."""
    network3.seed(7)
    return network3.Network(
        [ConvPoolLayer((3, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU),
         FullyConnectedLayer(3 * 12 * 12, 16, activation_fn=ReLU, p_dropout=0.5),
         SoftmaxLayer(16, 10, p_dropout=0.5)], 10, backend=backend, device="cpu")


class StopAfter(Callback):
    """Raises KeyboardInterrupt at the end of epoch ``epoch`` (None: never),
    as a Ctrl-C there would."""

    def __init__(self, epoch=None):
        self.epoch = epoch

    def on_epoch_end(self, net, state, event):
        if event.epoch == self.epoch:
            raise KeyboardInterrupt


def train(backend, epochs, stop=None, update=None, **options):
    net = small_net(backend)
    training, validation, test = small_data()
    history = net.SGD(training, epochs, 10, schedules.halve_on_plateau(0.05, patience=1),
                      validation, test, 0.1, verbose=False, callbacks=[StopAfter(stop)],
                      update=update or updates.momentum(0.9),
                      augment=Augmentation(shift=2, rotate=10), **options)
    return net, history


def outcome(net, history):
    """The parameters and the history but for the seconds."""
    record = dataclasses.asdict(history)
    record.pop("seconds")
    return [p.get_value() for p in net.params], json.loads(json.dumps(record))


def assert_same(a, b):
    for x, y in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, y)
    assert a[1] == b[1]


#### Resumed in process
@pytest.mark.parametrize("backend, rule", [("numba", "momentum"), ("jax", "adam")])
def test_a_resumed_run_ends_as_a_run_never_stopped(backend, rule, tmp_path, capsys):
    update = {"momentum": updates.momentum(0.9), "adam": updates.adam()}[rule]
    whole = outcome(*train(backend, 4, update=update))
    state = tmp_path / "run.state"
    for stop in (1, 2):         # two stops: the second resumes a resumed run
        net, history = train(backend, 4, stop=stop, update=update, backup=state)
        assert history.stopped == "interrupted" and state.exists()
    capsys.readouterr()
    net, history = train(backend, 4, update=update, backup=state)
    assert "Resuming from the backup {0} at epoch 2 of 4".format(state) in \
        capsys.readouterr().err
    assert history.stopped is None and not state.exists()      # done: removed
    assert_same(outcome(net, history), whole)


def test_the_backup_holds_the_state_at_the_end_of_the_last_epoch(tmp_path):
    state = tmp_path / "run.state"
    net, history = train("numba", 5, stop=2, backup=state, early_stopping=3)
    with np.load(state) as archive:
        meta = json.loads(archive["meta"].tobytes())
    assert meta["state"]["epoch"] == 2                 # epochs 0 and 1 done
    assert meta["state"]["history"]["eta"] == history.eta[:2]
    settings = meta["fingerprint"]["settings"]
    assert settings["epochs"] == 5 and settings["early_stopping"] == 3
    assert settings["eta"] == "halve_on_plateau(0.05, patience=1, stop_below=0.000390625)"
    assert settings["update"] == {"rule": "momentum", "hyper": {"mu": 0.9}}
    assert settings["augment"] == "shift=2,rotate=10"


def test_a_run_that_ends_by_itself_removes_its_backup_and_an_error_keeps_it(tmp_path):
    state = tmp_path / "run.state"
    train("numba", 3, stop=1, backup=state)
    assert state.exists()

    class Fails(Callback):
        def on_epoch_end(self, net, state, event):
            if event.epoch == 1:
                raise RuntimeError("a callback's bug")
    net, (training, validation, test) = small_net("numba"), small_data()
    with pytest.raises(RuntimeError, match="bug"):
        net.SGD(training, 3, 10, 0.05, validation, test, verbose=False,
                callbacks=[Fails()], backup=tmp_path / "other.state")
    assert (tmp_path / "other.state").exists()
    early = tmp_path / "early.state"
    net.SGD(training, 30, 10, 0.05, validation, test, verbose=False,
            early_stopping=1, backup=early)
    assert not early.exists()


#### Refused
@pytest.mark.parametrize("change, named", [
    ({"epochs": 5}, "epochs"),
    ({"eta": 0.1}, "eta"),
    ({"lmbda": 0.0}, "lmbda"),
    ({"data": 1}, "the data"),
    ({"backend": "jax"}, "backend"),
    ({"hidden": 17}, "architecture"),
])
def test_a_backup_of_another_run_is_refused_and_left_intact(tmp_path, change, named):
    state = tmp_path / "run.state"
    train("numba", 4, stop=1, backup=state)
    before = state.read_bytes()
    network3.seed(7)
    net = network3.Network(
        [ConvPoolLayer((3, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU),
         FullyConnectedLayer(3 * 12 * 12, change.get("hidden", 16), activation_fn=ReLU,
                             p_dropout=0.5),
         SoftmaxLayer(change.get("hidden", 16), 10, p_dropout=0.5)], 10,
        backend=change.get("backend", "numba"), device="cpu")
    training, validation, test = small_data(change.get("data", 0))
    eta = change.get("eta", schedules.halve_on_plateau(0.05, patience=1))
    with pytest.raises(backup.BackupError, match=named) as caught:
        net.SGD(training, change.get("epochs", 4), 10, eta, validation, test,
                change.get("lmbda", 0.1), verbose=False, callbacks=[StopAfter()],
                update=updates.momentum(0.9), augment=Augmentation(shift=2, rotate=10),
                backup=state)
    assert "another run" in str(caught.value) and str(state) in str(caught.value)
    assert state.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_a_damaged_backup_is_refused_with_a_clear_error(tmp_path, content):
    state = tmp_path / "run.state"
    if content is None:                     # a model file, not a backup
        small_net("numba").save(state)
    else:
        state.write_bytes(content)
    before = state.read_bytes()
    with pytest.raises(backup.BackupError, match="backup") as caught:
        train("numba", 2, backup=state)
    assert str(state) in str(caught.value)
    # a Dask worker's copy is named by the client's file
    with pytest.raises(backup.BackupError, match="backup='client/run.state'"):
        train("numba", 2, backup=backup.Backup(state, name="client/run.state"))
    assert state.read_bytes() == before


def test_backup_is_checked_before_anything_compiles(tmp_path):
    net, (training, validation, test) = small_net("numba"), small_data()
    with pytest.raises(ValueError, match="backup=.*the folder .* does not exist"):
        net.SGD(training, 1, 10, 0.1, validation, test, backup=tmp_path / "no" / "x")
    with pytest.raises(TypeError, match="backup must be a file name, got 3"):
        net.SGD(training, 1, 10, 0.1, validation, test, backup=3)
    with pytest.raises(ValueError, match="same file"):
        net.SGD(training, 1, 10, 0.1, validation, test, checkpoint=tmp_path / "a",
                backup=tmp_path / "a")


def test_packing_keeps_arrays_numbers_and_nesting():
    arrays = []
    value = {"a": [np.arange(3.0), {"b": np.float32(1.5)}], "c": None, "d": -np.inf,
             "e": (1, "x", True)}
    packed = backup._pack(value, arrays)
    back = backup._unpack(json.loads(json.dumps(packed)), arrays)
    np.testing.assert_array_equal(back["a"][0], np.arange(3.0))
    assert back["a"][1] == {"b": 1.5} and back["c"] is None and back["d"] == -np.inf
    assert back["e"] == [1, "x", True]
    with pytest.raises(TypeError, match="a backup holds"):
        backup._pack({"f": object()}, [])


#### Real signals at random moments, in another process
CHILD = r"""
import dataclasses, json, sys
import numpy as np
sys.path.insert(0, {here!r})
import network3
from network3 import Augmentation, schedules, updates
from network3.callbacks import Callback
from test_backup import small_data, small_net

class Started(Callback):
    def on_train_begin(self, net, state, event):
        print("started", flush=True)

net = small_net({backend!r})
training, validation, test = small_data(n_train=1500)
history = net.SGD(training, 4, 10, schedules.halve_on_plateau(0.05, patience=1),
                  validation, test, 0.1, verbose=False, callbacks=[Started()],
                  update=updates.adam(), augment=Augmentation(shift=2, rotate=10),
                  backup={backup!r})
if history.stopped == "interrupted":
    sys.exit(3)
record = dataclasses.asdict(history)
record.pop("seconds")
np.savez({out!r}, *[p.get_value() for p in net.params],
         history=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8))
"""


def child(backend, state, out, **popen):
    code = CHILD.format(here=HERE, backend=backend, backup=str(state), out=str(out))
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        # as from a terminal: a test run started in the background passes
        # SIGINT down ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def finished(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


def result(path):
    with np.load(path) as archive:
        params = [archive["arr_{0}".format(k)] for k in range(len(archive.files) - 1)]
        return params, json.loads(archive["history"].tobytes())


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_and_sigkill_at_random_moments_then_resume(backend, tmp_path):
    reference = tmp_path / "reference.npz"
    proc = child(backend, tmp_path / "reference.state", reference)
    assert proc.stdout.readline().strip() == "started"
    start = time.monotonic()
    finished(proc)
    duration = time.monotonic() - start          # compiling and training
    whole = result(reference)
    rng = np.random.default_rng({"numba": 3, "jax": 4}[backend])
    # spread over compiling, the epochs and the end; JAX compiles in every
    # process: fewer moments
    moments = {"numba": [0.1, 0.45, 0.7, 0.95], "jax": [0.5, 0.8]}[backend]
    for moment, (fraction, signum) in enumerate(zip(moments, [signal.SIGINT,
                                                              signal.SIGKILL] * 2)):
        state, out = tmp_path / "run{0}.state".format(moment), \
            tmp_path / "out{0}.npz".format(moment)
        proc = child(backend, state, out)
        assert proc.stdout.readline().strip() == "started"
        time.sleep(duration * (fraction + rng.uniform(-0.05, 0.05)))
        proc.send_signal(signum)
        proc.communicate(timeout=300)
        what = "moment {0}, {1}, exit {2}".format(moment, signum.name, proc.returncode)
        if out.exists():            # it had finished (and was exiting): nothing to resume
            assert not state.exists(), what
        else:
            # 3: SGD stopped at the Ctrl-C; 1: it came before SGD's handler
            # was in place (a KeyboardInterrupt); or killed
            assert proc.returncode in (1, 3, -signal.SIGKILL), what
            finished(child(backend, state, out))
        assert_same(result(out), whole)
        assert not state.exists(), what


def test_settings_are_described_the_same_in_every_process():
    def schedule(epoch):
        return 0.1

    described = [backup.describe(v) for v in (
        schedule, lambda epoch: 0.1, schedules.halve_on_plateau(0.1, patience=2),
        updates.adam(), Augmentation(shift=2), 0.1, None)]
    assert described == [
        "test_backup.test_settings_are_described_the_same_in_every_process.<locals>."
        "schedule",
        "test_backup.test_settings_are_described_the_same_in_every_process.<locals>."
        "<lambda>",
        "halve_on_plateau(0.1, patience=2, stop_below=0.00078125)",
        {"rule": "adam", "hyper": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}},
        "shift=2", 0.1, None]
    assert "0x" not in str(described)       # no address, which differs per process


#### What a resume restores beside the step
class HalveAtEnd(Callback):
    """Halves eta at each epoch's end (for the next epoch): a learning rate
    no schedule re-derives, that only the backup can give back."""

    def on_epoch_end(self, net, state, event):
        state.eta = state.eta / 2


def test_a_resume_restores_eta_and_every_generator_whatever_the_process_drew(tmp_path):
    """The resumed process draws from network3's and NumPy's generators
    before SGD (as other work would): the run still ends as one never
    stopped, with its augmentation and its eta, and leaves both generators
    as that run left them."""
    def run(stop=None, backup=None, disturb=False):
        net = small_net("numba")
        if disturb:
            network3.seed(99)
            np.random.seed(99)
        training, validation, test = small_data()
        history = net.SGD(training, 3, 10, 0.05, validation, test, 0.1, verbose=False,
                          callbacks=[HalveAtEnd(), StopAfter(stop)], backup=backup,
                          augment=Augmentation(shift=2, rotate=10))
        return outcome(net, history), network3.seeding.get_state(), \
            np.random.get_state(legacy=False)

    whole, network3_rng, numpy_rng = run()
    state = tmp_path / "run.state"
    run(stop=1, backup=state)
    resumed, network3_after, numpy_after = run(backup=state, disturb=True)
    assert_same(resumed, whole)
    assert resumed[1]["eta"] == [0.05, 0.025, 0.0125]
    assert json.dumps(network3_after) == json.dumps(network3_rng)
    assert json.dumps(numpy_after, default=str) == json.dumps(numpy_rng, default=str)


def test_a_callback_given_to_two_sgd_calls_starts_afresh_in_each():
    """EarlyStopping's count, like every callback's state, begins again at
    each SGD call (on_train_begin)."""
    from network3.callbacks import EarlyStopping
    stopping = EarlyStopping(1)
    net = small_net("numba")
    training, validation, test = small_data()
    first = net.SGD(training, 6, 10, 1e-9, validation, None, verbose=False,
                    callbacks=[stopping])
    second = net.SGD(training, 6, 10, 1e-9, validation, None, verbose=False,
                     callbacks=[stopping])
    # eta=1e-9: the accuracy never changes, so each call stops after its second epoch
    assert first.stopped == second.stopped == "early_stopping"
    assert first.epochs == second.epochs == 2


def test_the_best_epochs_parameters_come_back_with_keepbests_state():
    from network3.callbacks import KeepBest
    net = small_net("numba")
    kept = [p.get_value() + 1 for p in net.params]
    keeper = KeepBest()
    keeper.on_train_begin(net, None, None)
    keeper.set_state({"accuracy": 0.5, "params": kept, "pending": False})
    keeper.restore()
    for param, value in zip(net.params, kept):
        np.testing.assert_array_equal(param.get_value(), value)
    assert keeper.state()["accuracy"] == 0.5


def test_a_resumed_run_does_not_warn_again_of_a_cost_worse_than_guessing(tmp_path):
    """The warning is given once per run, however often it is resumed."""
    import warnings

    def run(stop=None):
        net = small_net("numba")
        rng = np.random.default_rng(3)       # confidently wrong: cost far above log 10
        net.layers[-1].w.set_value(rng.normal(0, 4, (16, 10)).astype("float32"))
        training, validation, test = small_data()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.SGD(training, 3, 10, 1e-9, validation, test, verbose=False,
                    callbacks=[StopAfter(stop)], backup=tmp_path / "run.state")
        return [w for w in caught if "worse than guessing" in str(w.message)]

    assert len(run(stop=1)) == 1
    assert run() == []


def test_a_backup_written_before_settings_and_state_moved_resumes(tmp_path, capsys):
    """tests/reference/backup_reference.state was written by commit d1af79b
    (tests/reference/make_backup_reference.py): this run, stopped by Ctrl-C
    at the end of epoch 1 (before that epoch's backup: it goes on from
    epoch 1).  It resumes, and the run ends as one never stopped."""
    import shutil
    state = tmp_path / "run.state"
    shutil.copy(os.path.join(HERE, "reference", "backup_reference.state"), state)
    whole = outcome(*train("numba", 4))
    net, history = train("numba", 4, backup=state)
    assert "Resuming from the backup {0} at epoch 1 of 4".format(state) in \
        capsys.readouterr().err
    assert_same(outcome(net, history), whole)
