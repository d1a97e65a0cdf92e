"""runs/log.py: runs.jsonl's records read back, a line a crash cut short
skipped wherever it is; a finished run kept as its model file, then its
record; the runs still to do."""

import json

from network3 import runs


def test_a_broken_line_in_the_middle_of_runs_jsonl_is_skipped(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"experiment": "fc", "repeat": 0}\n{"experiment": "fc", "rep\n'
                    '{"experiment": "fc", "repeat": 1}\n')
    assert [r["repeat"] for r in runs.read_runs(str(path))] == [0, 1]


def test_a_run_is_kept_model_first_and_then_found_done(tmp_path):
    record = {"experiment": "fc", "repeat": 0, "settings": {"epochs": 1},
              "net": "nets/fc-0.npz", "test_accuracy": 0.5, "seconds": 2.0}
    (tmp_path / "nets").mkdir()
    runs.keep(str(tmp_path), runs.Outcome(record, b"model"))
    assert (tmp_path / "nets" / "fc-0.npz").read_bytes() == b"model"
    assert json.loads((tmp_path / "runs.jsonl").read_text()) == record
    done = runs.Run(experiment="fc", repeat=0, seed=0, settings={"epochs": 1},
                    options={}, data=runs.DataSpec("d"))
    other = runs.Run(experiment="fc", repeat=1, seed=1, settings={"epochs": 1},
                     options={}, data=runs.DataSpec("d"))
    assert runs.pending([done, other], str(tmp_path)) == [other]
    assert runs.finished_line("fc", record) == "== fc: test accuracy 50.00% in 2 s"


def test_the_line_of_a_pruned_run():
    record = {"pruned": True, "epochs": 2, "best_validation_accuracy": 0.9123,
              "test_accuracy": 0.9, "seconds": 3.0, "resumed_at": 1}
    assert runs.finished_line("fc, trial 3", record) == (
        "== fc, trial 3: pruned after 2 epochs, validation accuracy 91.23% (resumed at "
        "epoch 1)")
