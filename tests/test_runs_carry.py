"""runs/carry.py: the runs runs.jsonl does not hold are trained here, one
after another, each kept as it finishes (its model file, then its record);
finished runs are skipped; Ctrl-C keeps what finished.  (On Dask:
test_runs_on_dask.py.)"""

import pytest

from network3.runs import DataSpec, Interrupted, Outcome, Run, carry, read_runs


def a_run(k):
    return Run(experiment="x", repeat=k, seed=k, settings={"epochs": 1}, options={},
               data=DataSpec("data"), file="x-{0}.npz".format(k),
               description="x, run {0}".format(k + 1))


@pytest.fixture
def trained(monkeypatch):
    """The repeats trained, by a stand-in for runs.train (a run number 9
    is cut short by Ctrl-C)."""
    done = []

    def train(run, say=None, send=None):
        if run.repeat == 9:
            raise Interrupted(run.label())
        done.append(run.repeat)
        return Outcome({"experiment": "x", "repeat": run.repeat, "settings": {"epochs": 1},
                        "net": "nets/" + run.file, "test_accuracy": 0.5, "seconds": 1.0},
                       b"model %d" % run.repeat)
    monkeypatch.setattr(carry, "train", train)
    return done


def test_what_is_not_recorded_is_trained_and_kept(tmp_path, trained):
    said = []
    assert carry.carry_out([a_run(0), a_run(1)], str(tmp_path), said.append) == 0
    assert carry.carry_out([a_run(k) for k in range(3)], str(tmp_path), said.append) == 0
    assert trained == [0, 1, 2]
    assert [r["repeat"] for r in read_runs(str(tmp_path / "runs.jsonl"))] == [0, 1, 2]
    assert (tmp_path / "nets" / "x-2.npz").read_bytes() == b"model 2"
    assert said[0] == "== x, run 1, seed 0" and said[1] == "== x: test accuracy 50.00% in 1 s"


def test_ctrl_c_keeps_the_finished_runs(tmp_path, trained):
    with pytest.raises(Interrupted):
        carry.carry_out([a_run(0), a_run(9), a_run(2)], str(tmp_path), lambda line: None)
    assert trained == [0]
    assert [r["repeat"] for r in read_runs(str(tmp_path / "runs.jsonl"))] == [0]
