"""training.py: the SGD loop's parts, each made to show what it does --
keeping (and restoring) the best epoch, fresh dropout masks every
mini-batch, the reused compiled step with new hyper-parameters, divergence
after a best epoch, and the Ctrl-C handler -- on both back ends where they
differ.  (Real signals at random moments: test_faults.py.)"""

import os
import warnings

import numpy as np
import pytest

import network3
from network3 import (Augmentation, FullyConnectedLayer, Network, SoftmaxLayer,
                      augmentation, callbacks, linear, seeding, training)
from network3.augmentation import EpochFeed
from network3.state import TrainingState

from conftest import BACKENDS, numpy_forward

from test_network import numpy_sgd_step, tiny_data


def on(backend):
    return {"backend": backend, "device": "cpu"}


@pytest.fixture
def small(mnist):
    (x, y), (vx, vy), _ = mnist
    return network3.shared((x[:1000], y[:1000])), (vx[:200], vy[:200])


def params_of(net):
    return [p.get_value().copy() for p in net.params]


#### The best epoch
def linear_net(seed, backend="numba"):
    network3.seed(seed)
    return Network([FullyConnectedLayer(784, 30, activation_fn=linear),
                    SoftmaxLayer(30, 10)], 10, **on(backend))


def quietly(net, *args, **kwargs):
    """SGD without warnings (and, unless asked, without the book's lines)."""
    kwargs.setdefault("verbose", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return net.SGD(*args, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_earlier_best_epoch_is_restored(small, backend):
    training_data, validation_data = small
    # A linear net at eta=0.3 learns noisily: its best validation accuracy
    # comes before its last epoch (the seed that shows it is found here).
    for seed in range(1, 10):
        net = linear_net(seed, backend)
        history = quietly(net, training_data, 6, 10, 0.3, validation_data, None)
        if history.stopped is None and history.best_epoch < history.epochs - 1:
            break
    else:
        pytest.fail("no seed gave an earlier best epoch")
    # the same run, stopped after its best epoch: the parameters to expect
    again = linear_net(seed, backend)
    quietly(again, training_data, history.best_epoch + 1, 10, 0.3, validation_data,
            None, restore_best=False)
    for ours, best in zip(params_of(net), params_of(again)):
        np.testing.assert_array_equal(ours, best)
    assert net.accuracy(validation_data) == history.best_validation_accuracy
    assert history.best_validation_accuracy > history.validation_accuracy[-1]


def test_a_tie_makes_the_later_epoch_the_best(small):
    """network3.py's rule is ``>=``: with a validation set the net never gets
    right (a class it never sees), every epoch ties at 0%, and the best is
    the last one."""
    training_data, _ = small
    x, y = (v.get_value() for v in training_data)
    seen = y != 9
    training = network3.shared((x[seen][:500], y[seen][:500]))
    validation = (x[~seen][:50], y[~seen][:50])
    network3.seed(3)
    net = Network([FullyConnectedLayer(784, 20), SoftmaxLayer(20, 10)], 10)
    history = quietly(net, training, 3, 10, 0.5, validation, None)
    assert history.validation_accuracy == [0.0, 0.0, 0.0]
    assert history.best_epoch == 2 and history.best_iteration == 3 * 50 - 1
    last = params_of(net)
    network3.seed(3)
    net = Network([FullyConnectedLayer(784, 20), SoftmaxLayer(20, 10)], 10)
    quietly(net, training, 3, 10, 0.5, validation, None, restore_best=False)
    for a, b in zip(last, params_of(net)):
        np.testing.assert_array_equal(a, b)


def test_best_keeper_keeps_copies():
    net = Network([SoftmaxLayer(4, 2)], 1)
    history = network3.TrainingHistory()
    keeper = callbacks.KeepBest()
    keeper.on_train_begin(net, None, None)
    net.params[0].set_value(np.ones((4, 2), "float32"))
    keeper.keep(0, 9, 0.5, history)
    net.params[0].set_value(np.full((4, 2), 7, "float32"))   # training goes on
    keeper.restore()
    np.testing.assert_array_equal(net.params[0].get_value(), np.ones((4, 2)))
    assert (history.best_epoch, history.best_iteration,
            history.best_validation_accuracy) == (0, 9, 0.5)


#### Dropout masks
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_mini_batch_draws_a_fresh_mask(backend):
    """A softmax layer that drops its inputs: for an all-ones image, a weight
    row changes in a step exactly when its input was kept, so the rows that
    change show each step's mask."""
    network3.seed(8)
    p = 0.3
    net = Network([SoftmaxLayer(n_in=400, n_out=3, p_dropout=p)], 1, **on(backend))
    images = np.ones((6, 400), "float32")
    labels = np.array([0, 1, 2, 0, 1, 2], "int32")
    train = net.compile_training((images, labels), 0.1)
    def mask(train, i):
        before = net.layers[0].w.get_value().copy()
        train(i, 1)
        net.engine.sync()
        return np.any(net.layers[0].w.get_value() != before, axis=1)
    masks = np.array([mask(train, i) for i in range(6)])
    # about 1 - p of the inputs kept: Binomial(400, 0.7) has sd 9.2
    assert np.all(np.abs(masks.sum(axis=1) - 400 * (1 - p)) < 50)
    # and a different set every mini-batch (identical sets: chance 2**-400)
    for a in range(6):
        for b in range(a):
            assert not np.array_equal(masks[a], masks[b])
    # compiled again (as by a second SGD call), the generators go on: the
    # first mini-batch does not get its first mask again
    again = mask(net.compile_training((images, labels), 0.1), 0)
    assert not np.array_equal(again, masks[0])


#### The compiled step, reused
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reused_step_uses_the_new_eta_and_lmbda(backend):
    x, y = tiny_data(12, 16, 3, seed=0)
    net = Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4,
                  **on(backend))
    params = [p.get_value().astype(float) for p in net.params]
    calls = [(0.5, 0.3), (0.2, 0.9), (0.05, 0.3)]    # all with L2: one step
    for eta, lmbda in calls:
        history = net.SGD((x, y), 1, 4, eta, None, None, lmbda=lmbda,
                          verbose=False)
        costs = []
        for k in range(3):
            params, cost = numpy_sgd_step(params, x[4*k:4*k+4], y[4*k:4*k+4],
                                          eta, lmbda, 3)
            costs.append(cost)
        for ours, theirs in zip(net.params, params):
            np.testing.assert_allclose(ours.get_value(), theirs, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(history.cost, [np.mean(costs)], rtol=1e-5)
    assert net.engine.compilations == 1


#### Divergence
def diverging_run(training_data, validation_data, backend, **kwargs):
    """A linear net at eta=0.35 learns for an epoch or two, then its cost
    blows up; return the net, its seed and history for the first seed where
    an epoch was best before it diverged."""
    for seed in range(1, 10):
        net = linear_net(seed, backend)
        history = quietly(net, training_data, 10, 10, 0.35, validation_data, None,
                          **kwargs)
        if history.stopped == "diverged" and history.best_epoch is not None:
            return net, seed, history
    pytest.fail("no seed diverged after a best epoch")


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_after_a_best_epoch_restores_it_even_without_restore_best(
        small, capsys, backend):
    training_data, validation_data = small
    net, seed, history = diverging_run(training_data, validation_data, backend,
                                       restore_best=False)
    err = capsys.readouterr().err
    assert "training diverged" in err and "whose parameters the network holds" in err
    assert "parameters from before this SGD call" not in err
    again = linear_net(seed, backend)
    quietly(again, training_data, history.best_epoch + 1, 10, 0.35, validation_data,
            None, restore_best=False)
    for ours, best in zip(params_of(net), params_of(again)):
        np.testing.assert_array_equal(ours, best)
        assert np.all(np.isfinite(ours))
    assert net.accuracy(validation_data) == history.best_validation_accuracy


def test_divergence_guard_spots_nan_infinity_and_underflow():
    guard = training.DivergenceGuard(10)
    assert guard.first_bad([2.3, 1.0]) is None
    assert guard.first_bad([2.3, np.nan, 1.0]) == 1
    assert guard.first_bad([np.inf]) == 0
    # -log of the smallest float32: the right answers' probabilities underflowed
    assert guard.first_bad([80.0, 88.0]) == 1
    with pytest.warns(UserWarning, match="worse than guessing"):
        guard.check_epoch(0, 2.4, eta=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        guard.check_epoch(1, 2.5, eta=1.0)   # said once


#### Saying that it compiles
@pytest.mark.parametrize("after, verbose, said", [(0.05, True, True),
                                                   (0.05, False, False),
                                                   (60.0, True, False)])
def test_a_slow_first_mini_batch_is_explained(small, capsys, monkeypatch, after,
                                              verbose, said):
    """Building and compiling a new net's step takes well over 0.05 s even
    from a warm cache; the notice comes once, on standard error, and only
    while the first mini-batch has not come back."""
    monkeypatch.setattr(callbacks, "COMPILE_NOTICE_AFTER", after)
    training_data, validation_data = small
    net = Network([FullyConnectedLayer(784, 17), SoftmaxLayer(17, 10)], 10)
    quietly(net, training_data, 2, 10, 0.1, validation_data, None, verbose=verbose)
    out, err = capsys.readouterr()
    assert err.count(callbacks.COMPILE_NOTICE) == (1 if said else 0)
    assert callbacks.COMPILE_NOTICE not in out


#### The chapter's exercises: momentum, schedules, early stopping
def numpy_momentum_run(params, x, y, etas, lmbda, mu, mbs):
    """Chapter 3's momentum-based SGD on FC(sigmoid) + softmax, in NumPy:
    ``v <- mu*v - eta*grad``, ``w <- w + v``, one epoch per entry of ``etas``."""
    velocities = [np.zeros_like(p) for p in params]
    n = len(x) // mbs
    for eta in etas:
        for k in range(n):
            # numpy_sgd_step with eta 1 moves each parameter by -grad
            moved, _ = numpy_sgd_step(params, x[mbs*k:mbs*(k+1)], y[mbs*k:mbs*(k+1)],
                                      1.0, lmbda, n)
            grads = [p - m for p, m in zip(params, moved)]
            velocities = [mu * v - eta * g for v, g in zip(velocities, grads)]
            params = [p + v for p, v in zip(params, velocities)]
    return params


@pytest.mark.parametrize("backend", BACKENDS)
def test_momentum_and_a_schedule_match_numpy(backend):
    x, y = tiny_data(12, 16, 3, seed=0)
    net = Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4,
                  **on(backend))
    start = [p.get_value().astype(float) for p in net.params]
    schedule = lambda epoch: 0.5 * 0.5**epoch
    history = net.SGD((x, y), 3, 4, schedule, None, None, lmbda=0.3, momentum=0.7,
                      verbose=False)
    assert history.eta == [0.5, 0.25, 0.125]
    expected = numpy_momentum_run(start, x, y, history.eta, 0.3, 0.7, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=1e-4, atol=1e-5)
    # a second call starts with velocities at zero, and compiles nothing new
    again = net.SGD((x, y), 1, 4, 0.1, None, None, lmbda=0.3, momentum=0.7,
                    verbose=False)
    assert again.eta == [0.1]
    expected = numpy_momentum_run(expected, x, y, [0.1], 0.3, 0.7, 4)
    for ours, theirs in zip(net.params, expected):
        np.testing.assert_allclose(ours.get_value(), theirs, rtol=1e-4, atol=1e-5)
    assert net.engine.compilations == 1


def test_no_momentum_and_a_constant_schedule_are_the_books_sgd_bit_for_bit():
    x, y = tiny_data(40, 16, 3, seed=2)
    results = []
    for kwargs in ({}, dict(momentum=0.0, early_stopping=None), dict(eta=lambda e: 0.5)):
        net = Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4)
        eta = kwargs.pop("eta", 0.5)
        history = net.SGD((x, y), 2, 4, eta, (x, y), None, lmbda=0.3, verbose=False,
                          **kwargs)
        results.append((history.cost, params_of(net)))
    for cost, params in results[1:]:
        assert cost == results[0][0]
        for a, b in zip(params, results[0][1]):
            np.testing.assert_array_equal(a, b)


def scripted_validation(monkeypatch, accuracies):
    """Make SGD's validation accuracy, epoch by epoch, ``accuracies``."""
    script = iter(accuracies)
    monkeypatch.setattr(TrainingState, "accuracy", lambda self, data: next(script))


def test_early_stopping_ends_after_n_epochs_without_a_strictly_better_one(
        small, monkeypatch, capsys):
    training_data, validation_data = small
    # 0.6 ties (no improvement, though the book's rule makes epoch 2 the
    # best), 0.55 is worse: two epochs without improvement after epoch 1
    scripted_validation(monkeypatch, [0.5, 0.6, 0.6, 0.55, 0.9, 0.9])
    net = linear_net(4)
    kept = record_kept(monkeypatch)
    history = net.SGD(training_data, 6, 10, 0.1, validation_data, None,
                      early_stopping=2)
    assert history.stopped == "early_stopping" and history.epochs == 4
    assert history.best_epoch == 2
    for ours, best in zip(params_of(net), kept[-1]):
        np.testing.assert_array_equal(ours, best)
    out = capsys.readouterr().out
    assert "Early stopping: no better validation accuracy in the last 2 epochs." in out
    assert out.index("Early stopping") < out.index("Finished training network.")


def record_kept(monkeypatch):
    """A list that gets a copy of the parameters each time SGD keeps a best epoch."""
    kept, keep = [], callbacks.KeepBest.keep
    monkeypatch.setattr(callbacks.KeepBest, "keep", lambda self, *args: (
        kept.append(params_of(self.net)), keep(self, *args)))
    return kept


def test_halve_on_plateau_sets_each_epochs_eta_and_ends_training(small, monkeypatch):
    training_data, validation_data = small
    scripted_validation(monkeypatch, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    net = linear_net(4)
    history = quietly(net, training_data, 6, 10, network3.halve_on_plateau(
        0.1, patience=1, stop_below=0.03), validation_data, None)
    # 0.1, then halved after each epoch without improvement: 0.05, 0.025 <= 0.03
    assert history.eta == [0.1, 0.1, 0.05] and history.stopped == "schedule"


@pytest.mark.parametrize("kwargs, message", [
    (dict(early_stopping=0), "early_stopping must be a positive integer"),
    (dict(early_stopping=1.5), "early_stopping must be a positive integer"),
    (dict(early_stopping=True), "early_stopping must be a positive integer"),
    (dict(momentum=1.0), "momentum must be a number in [0, 1), got 1.0"),
    (dict(momentum=-0.1), "momentum must be a number in [0, 1), got -0.1"),
    (dict(eta=lambda epoch: -1.0), "returned -1.0 at epoch 0"),
    (dict(monitor_training=0), "monitor_training must be True, False or a number"),
    (dict(monitor_training="all"), "monitor_training must be True, False or a number"),
    (dict(early_stopping=3, validation_data=None), "give validation_data"),
    (dict(eta=network3.halve_on_plateau(0.1), validation_data=None),
     "give validation_data"),
])
def test_bad_exercise_arguments_are_refused_before_compiling(small, kwargs, message):
    training_data, validation_data = small
    net = linear_net(1)
    arguments = dict(eta=0.1, validation_data=validation_data)
    arguments.update(kwargs)
    eta, validation = arguments.pop("eta"), arguments.pop("validation_data")
    with pytest.raises(ValueError) as info:
        net.SGD(training_data, 2, 10, eta, validation, None, verbose=False, **arguments)
    assert message in str(info.value)
    assert net.engine.compilations == 0


def test_a_schedule_that_goes_wrong_mid_training_keeps_the_best_epoch(
        small, monkeypatch):
    training_data, validation_data = small
    net = linear_net(5)
    kept = record_kept(monkeypatch)
    schedule = lambda epoch: 0.05 if epoch < 2 else float("nan")
    with pytest.raises(ValueError, match="returned nan at epoch 2"):
        quietly(net, training_data, 4, 10, schedule, validation_data, None)
    assert len(kept) >= 1            # epoch 0, and 1 if it was as good
    for ours, best in zip(params_of(net), kept[-1]):
        np.testing.assert_array_equal(ours, best)


#### Monitoring overfitting
@pytest.mark.parametrize("backend", BACKENDS)
def test_monitored_training_accuracy_and_cost_match_numpy(small, backend, capsys):
    training_data, validation_data = small
    network3.seed(6)
    net = Network([FullyConnectedLayer(784, 30, p_dropout=0.2),
                   SoftmaxLayer(30, 10)], 10, **on(backend))
    history = net.SGD(training_data, 2, 10, 0.5, validation_data, None, lmbda=0.5,
                      monitor_training=300, restore_best=False)
    images, labels = (v.get_value()[:300] for v in training_data)
    probabilities = numpy_forward(net.layers, images)
    weights = sum((layer.w.get_value().astype(float) ** 2).sum() for layer in net.layers)
    cost = (-np.mean(np.log(probabilities[np.arange(300), labels]))
            + 0.5 * 0.5 / 100 * weights)
    assert history.training_accuracy[-1] == pytest.approx(
        np.mean(probabilities.argmax(axis=1) == labels), abs=1 / 300)
    assert history.training_cost[-1] == pytest.approx(cost, rel=1e-4)
    assert len(history.training_accuracy) == len(history.training_cost) == 2
    out = capsys.readouterr().out
    assert "Epoch 1: training accuracy {0:.2%}, training cost {1:.4f}".format(
        history.training_accuracy[-1], history.training_cost[-1]) in out


def test_plot_history_draws_the_gap(small, tmp_path, monkeypatch):
    from network3 import plots
    training_data, validation_data = small
    network3.seed(7)
    net = Network([FullyConnectedLayer(784, 30), SoftmaxLayer(30, 10)], 10)
    history = quietly(net, training_data, 2, 10, 0.5, validation_data, None,
                      monitor_training=True)
    assert len(history.training_accuracy) == 2    # all 1,000 images: fewer than 10,000
    drawn, write = [], plots._write
    monkeypatch.setattr(plots, "_write", lambda figure, filename: (
        drawn.append(figure), write(figure, filename))[1])
    plots.plot_history(history, tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 10000
    top, bottom = drawn[0].axes
    curves = {line.get_label(): line.get_ydata() for line in top.lines}
    np.testing.assert_allclose(curves["training"], 100 * np.asarray(
        history.training_accuracy))
    np.testing.assert_allclose(curves["validation"], 100 * np.asarray(
        history.validation_accuracy))
    gap = 100 * (history.training_accuracy[-1] - history.validation_accuracy[-1])
    assert "gap: {0:.1f} points at the end".format(gap) in [
        text.get_text() for text in top.get_legend().get_texts()]
    costs = [line.get_ydata() for line in bottom.lines]
    np.testing.assert_allclose(costs[0], history.cost)
    np.testing.assert_allclose(costs[1], history.training_cost)


def test_gradient_norms_are_each_layers_mean_gradient():
    x, y = tiny_data(12, 16, 3, seed=0)
    net = Network([FullyConnectedLayer(16, 6, rng=1), SoftmaxLayer(6, 3)], 4)
    params = [p.get_value().astype(float) for p in net.params]
    history = net.SGD((x, y), 2, 4, 0.5, None, None, lmbda=0.3, verbose=False)
    for epoch in range(2):
        total = [np.zeros_like(p) for p in params]
        for k in range(3):
            moved, _ = numpy_sgd_step(params, x[4*k:4*k+4], y[4*k:4*k+4], 1.0, 0.3, 3)
            grads = [p - m for p, m in zip(params, moved)]
            total = [t + g for t, g in zip(total, grads)]
            params = [p - 0.5 * g for p, g in zip(params, grads)]
        # per layer (w and b together): the norm of the epoch's mean gradient
        expected = [np.sqrt(sum(((t / 3) ** 2).sum() for t in total[2*j:2*j+2]))
                    for j in range(2)]
        np.testing.assert_allclose(history.gradient_norms[epoch], expected, rtol=1e-3)


#### Augmentation
AUGMENT = Augmentation(shift=2, rotate=10, elastic=(20, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_augmented_sgd_trains_each_epoch_on_the_feeds_images(small, backend,
                                                             monkeypatch):
    """SGD(augment=...) for 2 epochs is SGD on the feed's epoch 0 images and
    then on its epoch 1 images, which come in pages of 300, 300, 300 and 100
    (each a new array in the same compiled step), with the seed SGD draws
    from network3's generator."""
    monkeypatch.setattr(augmentation, "PAGE", 305)     # 30 mini-batches of 10
    training_data, _ = small
    images, labels = (p.get_value() for p in training_data)
    net = linear_net(5, backend)
    history = quietly(net, training_data, 2, 10, 0.1, None, None, augment=AUGMENT)
    assert net.engine.compilations == 1
    twin = linear_net(5, backend)
    with EpochFeed(AUGMENT, images, (1, 28, 28), 2, seeding.new_seed(), 300) as feed:
        pages = [feed.next() for _ in range(8)]
    assert [len(page) for page in pages] == [300, 300, 300, 100] * 2
    epochs = [np.concatenate(pages[:4]), np.concatenate(pages[4:])]
    costs = [quietly(twin, (epoch, labels), 1, 10, 0.1, None, None).cost[0]
             for epoch in epochs]
    np.testing.assert_allclose(history.cost, costs, rtol=1e-6)
    for ours, theirs in zip(net.params, twin.params):
        np.testing.assert_allclose(ours.get_value(), theirs.get_value(), rtol=1e-5,
                                   atol=1e-7)
    assert not np.allclose(costs[0], quietly(linear_net(5, backend), training_data, 1,
                                             10, 0.1, None, None).cost[0])


def test_augmentation_changes_nothing_it_is_given(small):
    training_data, validation_data = small
    given = [p.get_value().copy() for p in training_data]
    validation = [v.copy() for v in validation_data]
    net = linear_net(6)
    first = quietly(net, training_data, 2, 10, 0.1, validation_data, validation_data,
                    augment=AUGMENT)
    again = quietly(net, training_data, 1, 10, 0.1, validation_data, None,
                    augment=AUGMENT)
    for before, part in zip(given, training_data):
        np.testing.assert_array_equal(before, part.get_value())
    for before, part in zip(validation, validation_data):
        np.testing.assert_array_equal(before, part)
    # evaluated on the images as given (the net holds its best epoch)
    assert net.accuracy(validation_data) == again.best_validation_accuracy
    assert first.best_test_accuracy == first.best_validation_accuracy
    assert net.engine.compilations == 1         # the second call reused the step
    assert [v.get_value().size for v in net.augmented_data] == [0, 0]   # let go


def test_augmented_training_memory_is_two_pages_whatever_the_epochs(mnist,
                                                                   monkeypatch):
    """NumPy reports its arrays to tracemalloc: over 6 epochs the peak is
    about what it is over 2, and no more than two pages of transformed
    images (plus the random numbers of a chunk per thread) above the start:
    less than one transformed copy of the training set."""
    import tracemalloc
    monkeypatch.setattr(augmentation, "PAGE", 1000)
    images, labels = (part[:10000] for part in mnist[0])
    net = linear_net(7)
    quietly(net, (images, labels), 1, 10, 0.1, None, None, augment=AUGMENT)  # compiled
    page = 1000 * 784 * 4
    chunk_noise = 1000 * (5 + 2 * 784) * 4
    tracemalloc.start()
    try:
        peaks = []
        for epochs in (2, 6):
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            quietly(net, (images, labels), epochs, 10, 0.1, None, None, augment=AUGMENT)
            peaks.append(tracemalloc.get_traced_memory()[1] - start)
    finally:
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < page                 # (a copy kept per epoch: 4 more)
    assert peaks[1] <= 2 * page + 2 * chunk_noise + 2**20 < images.nbytes


def test_bad_augment_arguments_are_refused_before_compiling(small):
    training_data, _ = small
    net = linear_net(1)
    with pytest.raises(TypeError, match="augment must be a network3.Augmentation or "
                                        "None, got 'shift=2'"):
        net.SGD(training_data, 1, 10, 0.1, None, None, augment="shift=2")
    x, y = tiny_data(20, 30, 3, seed=0)
    small_net = Network([FullyConnectedLayer(30, 5), SoftmaxLayer(5, 3)], 10)
    with pytest.raises(ValueError, match="SGD: augment transforms square images .* "
                                         "but these have 30 values each"):
        small_net.SGD((x, y), 1, 10, 0.1, None, None, augment=AUGMENT)
    assert net.engine.compilations == small_net.engine.compilations == 0


#### Pinned before the loop became callbacks (survivors of a mutation audit)
def test_the_checkpoint_holds_the_best_epoch_not_the_last(small, monkeypatch, tmp_path):
    training_data, validation_data = small
    scripted_validation(monkeypatch, [0.5, 0.9, 0.6, 0.7])
    net = linear_net(3)
    kept = record_kept(monkeypatch)
    checkpoint = tmp_path / "best.npz"
    quietly(net, training_data, 4, 10, 0.1, validation_data, None,
            checkpoint=checkpoint, restore_best=False)
    assert len(kept) == 2                     # epochs 0 and 1
    saved = network3.load_network(checkpoint)
    for ours, best in zip(params_of(saved), kept[1]):
        np.testing.assert_array_equal(ours, best)
    # the network itself holds the last epoch's (restore_best=False), which differ
    assert not np.array_equal(params_of(net)[0], kept[1][0])


def test_an_improvement_resets_early_stoppings_count(small, monkeypatch):
    training_data, validation_data = small
    # 0.4: one epoch without improvement; 0.6 improves, so the count starts
    # again: 0.55 and 0.5 make two, after epoch 4
    scripted_validation(monkeypatch, [0.5, 0.4, 0.6, 0.55, 0.5, 0.3, 0.3])
    history = quietly(linear_net(4), training_data, 7, 10, 0.1, validation_data, None,
                      early_stopping=2)
    assert history.stopped == "early_stopping" and history.epochs == 5


def test_an_improvement_resets_halve_on_plateaus_count(small, monkeypatch):
    training_data, validation_data = small
    scripted_validation(monkeypatch, [0.5, 0.4, 0.6, 0.55, 0.5, 0.3])
    history = quietly(linear_net(4), training_data, 6, 10, network3.halve_on_plateau(
        0.1, patience=2), validation_data, None)
    # two epochs without improvement only after epoch 4: halved from epoch 5
    assert history.eta == [0.1] * 5 + [0.05] and history.stopped is None


#### Default SGD, bit for bit as before callbacks and update rules
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference",
                         "sgd_reference.npz")


@pytest.mark.parametrize("case", ["numba-plain", "numba-momentum", pytest.param(
    "jax-plain", marks=BACKENDS[1].marks)])
def test_default_sgd_gives_the_numbers_of_0986c54(case):
    """The parameters and history of a seeded run are those commit 0986c54
    gave (tests/reference/make_sgd_reference.py made them there).  The bits
    of a matrix product depend on the BLAS kernel: where the BLAS libraries
    differ from the reference's, the numbers must agree to float32 rounding
    (and the accuracies to one image in a hundred)."""
    import sys
    sys.path.insert(0, os.path.dirname(REFERENCE))
    import make_sgd_reference as maker
    reference = np.load(REFERENCE)
    got = maker.numbers(*maker.train(*maker.CASES[case]))
    exact = str(reference["blas"]) == maker.blas()
    for key, value in got.items():
        expected = reference["{0}/{1}".format(case, key)]
        if exact:
            np.testing.assert_array_equal(value, expected, err_msg=key)
        elif "accuracy" in key:      # 100 images: a rounding may flip one of them
            np.testing.assert_allclose(value, expected, atol=0.011, err_msg=key)
        elif key != "best_epoch":
            np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-6,
                                       err_msg=key)
