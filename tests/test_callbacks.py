"""callbacks.py: users' own callbacks see every hook in order, can end
training and read the loop; the shorthands' callbacks do their work (the
pinned behaviours of best-keeping, early stopping and schedules are in
test_training.py, which drives them through SGD's keywords)."""

import warnings

import numpy as np
import pytest

import network3
from network3 import FullyConnectedLayer, Network, SoftmaxLayer, callbacks, linear

from conftest import BACKENDS


@pytest.fixture
def small(mnist):
    (x, y), (vx, vy), _ = mnist
    return network3.shared((x[:200], y[:200])), (vx[:100], vy[:100])


def net_on(backend, seed=3):
    network3.seed(seed)
    return Network([FullyConnectedLayer(784, 20, activation_fn=linear),
                    SoftmaxLayer(20, 10)], 10, backend=backend, device="cpu")


class Recorder(callbacks.Callback):
    """Writes down every hook called, with what the loop shows it."""

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def on_train_begin(self, net, state, event):
        self.calls.append(("train_begin", state.history.epochs))

    def on_epoch_begin(self, net, state, event):
        self.calls.append(("epoch_begin", event.epoch, state.eta))

    def on_batches_begin(self, net, state, event):
        self.calls.append(("batches_begin", event.batches[0]))

    def on_batches_end(self, net, state, event):
        self.calls.append(("batches_end", event.epoch, len(state.costs)))

    def on_epoch_end(self, net, state, event):
        self.calls.append(("epoch_end", event.epoch,
                           state.history.validation_accuracy[-1],
                           state.history.best_epoch))
        if event.epoch == self.stop_after:
            return "had enough"

    def on_train_end(self, net, state, event):
        self.calls.append(("train_end", event.stopped))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_users_callback_sees_every_hook_and_can_end_training(small, backend):
    training_data, validation_data = small
    recorder = Recorder(stop_after=1)
    net = net_on(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = net.SGD(training_data, 4, 10, 0.1, validation_data, None,
                          verbose=False, callbacks=[recorder])
    assert history.stopped == "had enough" and history.epochs == 2
    calls = recorder.calls
    assert calls[0] == ("train_begin", 0) and calls[-1] == ("train_end", "had enough")
    # 20 mini-batches an epoch, in runs the back end chooses, each begun and ended
    for epoch in (0, 1):
        runs = [c for c in calls if c[0] == "batches_end" and c[1] == epoch]
        assert runs[-1][2] == 20 and [r[2] for r in runs] == sorted(r[2] for r in runs)
        begun = [c[1] for c in calls if c[0] == "batches_begin"
                 and 20 * epoch <= c[1] < 20 * (epoch + 1)]
        assert begun == [20 * epoch] + [20 * epoch + r[2] for r in runs[:-1]]
    ends = [c for c in calls if c[0] == "epoch_end"]
    # the hook sees the epoch's validation accuracy, and the best epoch kept already
    assert [e[2] for e in ends] == history.validation_accuracy
    assert all(e[3] is not None and e[3] <= e[1] for e in ends)
    assert [c[2] for c in calls if c[0] == "epoch_begin"] == [0.1, 0.1]


def test_callbacks_must_be_callbacks(small):
    training_data, validation_data = small
    net = net_on("numba")
    with pytest.raises(TypeError, match="callbacks must be a list of network3.callbacks"
                                        ".Callback objects, got 'print' in it"):
        net.SGD(training_data, 1, 10, 0.1, validation_data, None, callbacks=["print"])
    assert net.engine.compilations == 0


def test_a_callback_that_changes_eta_changes_the_step(small):
    """A user's schedule as a callback: the second epoch trains with eta=0,
    so the parameters do not move in it."""
    training_data, validation_data = small

    class Freeze(callbacks.Callback):
        def on_epoch_begin(self, net, state, event):
            if event.epoch == 1:
                state.eta = 1e-30

        def on_epoch_end(self, net, state, event):
            self.params = [p.get_value() for p in net.params]

    freeze = Freeze()
    net = net_on("numba")
    history = net.SGD(training_data, 2, 10, 0.1, validation_data, None, verbose=False,
                      restore_best=False, callbacks=[freeze])
    assert history.eta == [0.1, 1e-30]
    np.testing.assert_allclose(history.gradient_norms[1], 0.0, atol=1e-3 * 1e30)
    before = [p.copy() for p in freeze.params]
    net.SGD(training_data, 1, 10, 1e-30, validation_data, None, verbose=False)
    for a, b in zip(before, (p.get_value() for p in net.params)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_the_book_lines_come_from_their_callback(small, capsys):
    training_data, validation_data = small
    net = net_on("numba")
    history = net.SGD(training_data, 2, 10, 0.1, validation_data, validation_data)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training mini-batch number 0"
    assert out[1] == "Epoch 0: validation accuracy {0:.2%}".format(
        history.validation_accuracy[0])
    assert out[-3] == "Finished training network."
    assert out[-2] == "Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
        history.best_validation_accuracy, 20 * history.best_epoch + 19)
    quiet = net_on("numba")
    quiet.SGD(training_data, 1, 10, 0.1, validation_data, None, verbose=False)
    assert capsys.readouterr().out == ""


#### The one contract
def says(hook, reason, when=lambda state, event: True):
    """A callback whose hook ``hook`` returns ``reason`` when ``when(state,
    event)``; its ``ended`` is what its ``on_train_end`` was told."""
    class Says(callbacks.Callback):
        ended = None

        def on_train_end(self, net, state, event):
            self.ended = (event.stopped, event.error)

    setattr(Says, hook, lambda self, net, state, event:
            reason if when(state, event) else None)
    return Says()


def test_any_hook_ends_training_with_its_reason_and_the_first_reason_wins(small, capsys):
    training_data, validation_data = small
    # after the epoch, from on_epoch_end: two callbacks say why; the first wins
    first = says("on_epoch_end", "first", lambda state, event: event.epoch == 1)
    second = says("on_epoch_end", "second", lambda state, event: event.epoch == 1)
    history = net_on("numba").SGD(training_data, 4, 10, 0.1, validation_data, None,
                                  verbose=False, callbacks=[first, second])
    assert history.stopped == "first" and history.epochs == 2
    assert second.ended == ("first", None)
    # at once, from a run of mini-batches: the epoch is cut short, not recorded
    seen = []

    def after_25(state, event):
        seen.append((event.batches, state.iteration, state.epoch, len(state.costs)))
        return event.batches.stop >= 25
    net = net_on("numba")
    history = net.SGD(training_data, 4, 10, 0.1, validation_data, None, verbose=False,
                      callbacks=[says("on_batches_end", "enough batches", after_25)])
    assert history.stopped == "enough batches" and history.epochs == 1
    # the event's mini-batches are those trained; the state has moved past them
    for batches, iteration, epoch, costs in seen:
        assert iteration == batches.stop and batches.stop - 20 * epoch == costs
    assert "SGD stopped at epoch 1, mini-batch" in capsys.readouterr().err
    # before anything trains, from on_train_begin: nothing compiles
    net = net_on("numba")
    history = net.SGD(training_data, 4, 10, 0.1, validation_data, None, verbose=False,
                      callbacks=[says("on_train_begin", "not today")])
    assert history.stopped == "not today" and history.epochs == 0
    assert net.engine.compilations == 0


def test_when_a_hook_fails_at_the_start_those_begun_end(small):
    training_data, validation_data = small

    class Fails(callbacks.Callback):
        def on_train_begin(self, net, state, event):
            raise RuntimeError("a callback's bug")

    begun, later = says("on_epoch_end", None), says("on_epoch_end", None)
    with pytest.raises(RuntimeError, match="bug"):
        net_on("numba").SGD(training_data, 2, 10, 0.1, validation_data, None,
                            verbose=False, callbacks=[begun, Fails(), later])
    assert begun.ended[1] is not None and str(begun.ended[1]) == "a callback's bug"
    assert later.ended is None


@pytest.mark.parametrize("hook, arguments", [
    ("on_epoch_end", "net, epoch, history"), ("on_train_begin", "net, history"),
    ("on_batches_begin", "net, iteration"), ("on_batches_end", "net, epoch, costs"),
    ("on_epoch_begin", "net, state")])
def test_a_hook_with_other_arguments_is_refused_before_anything_compiles(
        small, hook, arguments):
    training_data, validation_data = small
    namespace = {}
    exec("def {0}(self, {1}):\n    pass".format(hook, arguments), namespace)
    Old = type("Old", (callbacks.Callback,), {hook: namespace[hook]})
    net = net_on("numba")
    with pytest.raises(TypeError, match=r"Old\.{0}\({1}\) must take \(net, state, "
                       r"event\)".format(hook, arguments)):
        net.SGD(training_data, 1, 10, 0.1, validation_data, None, callbacks=[Old()])
    assert net.engine.compilations == 0
