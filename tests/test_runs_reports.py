"""runs/reports.py: a sweep's runs report each epoch to a Listener here,
which writes each run's TensorBoard event files in a folder named after it
(one TensorBoard then compares the sweep) and returns a judge's verdict."""

import json

import pytest

pytest.importorskip("tensorboardX")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator)

from network3 import cli  # noqa: E402
from network3.runs import DataSpec, Run  # noqa: E402
from network3.runs.reports import Listener, folder_name, wanted  # noqa: E402


def a_run(**changes):
    fields = dict(experiment="relu", repeat=0, seed=0, settings={}, options={},
                  data=DataSpec("mnist.pkl.gz"), file="relu-0.npz")
    fields.update(changes)
    return Run(**fields)


def test_folder_names_say_which_run():
    assert folder_name(a_run()) == "relu_run1"
    assert folder_name(a_run(repeat=2, config={"eta": 0.0123456, "pool_mode": "l2"})) \
        == "relu_eta=0.01235_pool_mode=l2_run3"
    assert folder_name(a_run(trial=7, config={"update": "adam"})) == \
        "relu_trial7_update=adam_run1"
    assert folder_name(a_run(experiment="layers", config={"activation": "a/b c"})) == \
        "layers_activation=a_b_c_run1"


def test_what_runs_report():
    assert wanted() is None
    assert wanted("tb") == {"histograms": True, "images": True}
    assert wanted(None, prune=True) == {"histograms": False, "images": False}


def test_a_listener_writes_each_runs_events_and_returns_the_verdict(tmp_path):
    verdicts = []

    def judge(run, report):
        verdicts.append((run.file, report["epoch"]))
        return "pruned" if report["epoch"] == 1 else None
    listen = Listener(tmp_path, judge)
    one, two = a_run(), a_run(repeat=1, file="relu-1.npz")
    for epoch in range(2):
        for run in (one, two):
            answer = listen(run, {"kind": "epoch", "epoch": epoch,
                                  "scalars": {"eta": 0.1 * (run.repeat + 1)}})
            assert answer == (None if epoch == 0 else "pruned")
    listen(one, {"kind": "end", "epoch": 1, "images": {}})
    listen.close()
    assert verdicts == [("relu-0.npz", 0), ("relu-1.npz", 0), ("relu-0.npz", 1),
                        ("relu-1.npz", 1)]
    for name, eta in (("relu_run1", 0.1), ("relu_run2", 0.2)):
        events = EventAccumulator(str(tmp_path / name))
        events.Reload()
        assert [(e.step, e.value) for e in events.Scalars("eta")] == [
            (0, pytest.approx(eta)), (1, pytest.approx(eta))]


def test_a_sweep_writes_a_folder_of_events_per_run(tmp_path):
    out, tb = tmp_path / "sweep", tmp_path / "tb"
    assert cli.main(["sweep", "--layers", "fc20,softmax", "--vary", "eta=0.1,1",
                     "--vary", "lmbda=0,1", "--epochs", "2", "--train-size", "300",
                     "--eval-size", "100", "--output", str(out), "--quiet",
                     "--tensorboard", str(tb)]) == 0
    records = [json.loads(line) for line in open(out / "runs.jsonl")]
    assert sorted(p.name for p in tb.iterdir()) == [
        "layers_eta=0.1_lmbda=0_run1", "layers_eta=0.1_lmbda=1_run1",
        "layers_eta=1_lmbda=0_run1", "layers_eta=1_lmbda=1_run1"]
    for r in records:
        events = EventAccumulator(str(tb / "layers_eta={0:g}_lmbda={1:g}_run1".format(
            r["config"]["eta"], r["config"]["lmbda"])))
        events.Reload()
        found = [e.value for e in events.Scalars("accuracy/validation")]
        assert len(found) == 2 and max(found) == pytest.approx(
            r["best_validation_accuracy"])
        hparams = events.PluginTagToContent("hparams")
        assert "_hparams_/session_start_info" in hparams
