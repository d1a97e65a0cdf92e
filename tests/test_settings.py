"""settings.py: what SGD is told, made once and checked there; the
translation of a run's options into SGD's arguments, every special case in
one place; and an option added to the registry with the callback that does
its work changes training through Network.SGD, `network3 train --flag` and
a sweep's --vary, each recorded."""

import json

import numpy as np
import pytest

import network3
from network3 import callbacks, cli, options, schedules, settings, training
from network3.callbacks import Callback
from network3.settings import TrainingSettings


def fc_net():
    network3.seed(4)
    return network3.Network([network3.FullyConnectedLayer(784, 20),
                             network3.SoftmaxLayer(20, 10)], 10)


def test_settings_hold_every_sgd_option_checked_and_resolved(subset):
    training, validation, test = subset(100, 50, 50)
    made, datasets = TrainingSettings.from_sgd(
        fc_net(), training, 3, 10, 0.5, validation, test, 0.1, momentum=0.9,
        early_stopping=2, verbose=False)
    assert set(made.values) == set(options.sgd_options())
    assert (made.epochs, made.eta, made.lmbda, made.early_stopping) == (3, 0.5, 0.1, 2)
    assert made.update.name == "momentum" and made.update.hyper == {"mu": 0.9}
    assert made.verbose is False and made.callbacks == ()
    assert len(datasets[0][0]) == 100 and len(datasets[2][1]) == 50
    with pytest.raises(AttributeError, match="no setting 'etaa'"):
        made.etaa
    # what a backup's fingerprint names: as before settings had a home, so
    # that backups written then still resume
    assert set(made.fingerprint()) == {"epochs", "eta", "lmbda", "update", "early_stopping",
                                       "monitor_training", "augment", "callbacks"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'etta'; its options "
                                        "are eta, lmbda, epochs"):
        TrainingSettings.from_sgd(fc_net(), training, 3, 10, 0.5, None, None, etta=1)


def test_a_runs_options_become_sgds_arguments_in_one_place():
    values = dict(options.run_defaults(), eta=0.2, lmbda=0.1, epochs=5)
    plain = settings.from_options(values, verbose=False)
    assert plain["eta"] == 0.2 and plain["update"] is None and plain["verbose"] is False
    assert not {"init", "pool_mode", "activation", "halve_on_plateau"} & set(plain)
    halving = settings.from_options(dict(values, halve_on_plateau=3, update="adam"))
    assert isinstance(halving["eta"], schedules.halve_on_plateau)
    assert (halving["eta"].initial_eta, halving["eta"].patience) == (0.2, 3)
    assert halving["update"].name == "adam"
    assert settings.from_options({"eta": 0.1})["momentum"] == 0.0   # the registry's default


#### An option of the registry, with the callback that does its work
class EtaDecay(Callback):
    """Multiplies eta by (1 - decay) at the start of each epoch but the
    first: the work of the made-up option ``eta_decay``."""

    made = []          # the decays it was made with, run after run

    def __init__(self, decay):
        self.decay = decay
        EtaDecay.made.append(decay)

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.eta_decay) if settings.eta_decay else None

    def on_epoch_begin(self, net, state, event):
        if event.epoch > 0:
            state.eta = state.eta * (1 - self.decay)


@pytest.fixture
def eta_decay(monkeypatch):
    """The option ``eta_decay`` in the registry, its callback among the
    built-in ones (after the schedules, before early stopping)."""
    monkeypatch.setitem(options.OPTIONS, "eta_decay", options.Option(
        "eta_decay", "a number in [0, 1)", lambda v: 0 <= v < 1, 0.0,
        "multiply eta by 1 - D each epoch", metavar="D"))
    order = list(training.CALLBACKS)
    order.insert(order.index(callbacks.EarlyStopping), EtaDecay)
    monkeypatch.setattr(training, "CALLBACKS", order)
    EtaDecay.made = []


def test_an_added_option_changes_training_through_sgd(eta_decay, subset):
    training, validation, test = subset(200, 100, 100)

    def train(**option):
        net = fc_net()
        history = net.SGD(training, 3, 10, 0.5, validation, test, verbose=False, **option)
        return history, [p.get_value() for p in net.params]

    plain, decayed = train(), train(eta_decay=0.5)
    assert plain[0].eta == [0.5, 0.5, 0.5] and decayed[0].eta == [0.5, 0.25, 0.125]
    assert not np.array_equal(plain[1][0], decayed[1][0])
    assert EtaDecay.made == [0.5]
    with pytest.raises(ValueError, match=r"SGD: eta_decay must be a number in \[0, 1\), "
                                         r"got 1.5"):
        train(eta_decay=1.5)


def test_an_added_option_changes_training_through_network3_train(eta_decay, capsys):
    def train(*flag):
        assert cli.main(["train", "--net", "fc", "--epochs", "2", "--train-size", "1000",
                         "--seed", "2", "--no-progress", *flag]) == 0
        return [line for line in capsys.readouterr().out.splitlines()
                if line.startswith("Epoch 1: validation accuracy")]

    assert train() != train("--eta-decay", "0.9")
    assert EtaDecay.made == [0.9]


def test_an_added_option_changes_training_through_a_sweep(eta_decay, tmp_path):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--net", "fc", "--vary", "eta_decay=0,0.9", "--epochs", "2",
                     "--train-size", "500", "--eval-size", "200", "--quiet",
                     "--output", str(out)]) == 0
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["config"]["eta_decay"] for r in runs] == [0, 0.9]
    assert runs[0]["seed"] == runs[1]["seed"]          # the same run but for it
    assert runs[0]["best_validation_accuracy"] != runs[1]["best_validation_accuracy"]
    assert EtaDecay.made == [0.9]
