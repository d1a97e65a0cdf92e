"""runs/tables.py: the ladder's table next to the book's accuracies and a
search's ranking, mean ± standard deviation computed here independently."""

import statistics

from network3.runs import tables


def test_table_reports_mean_and_spread():
    runs = [{"experiment": "fc", "repeat": k, "settings": {"epochs": 60},
             "test_accuracy": a, "seconds": 90.0 + 30 * k, "machine": "CPU X, 2 cores"}
            for k, a in enumerate([0.9780, 0.9790, 0.9800])]
    lines = tables.ladder_table(runs, {"conv1": [12], "fc": [3]},
                                names=["fc", "conv1", "conv2"]).splitlines()
    assert lines[2:] == [
        "| fc | 97.80% | 97.90% ± 0.10 | 3, 1 at epoch 3 | 60 | 2.0 | CPU X, 2 cores |",
        "| conv1 | 98.78% | - | 0 done, 1 at epoch 12 | - | - | - |",
        "| conv2 | 99.06% | - | - | - | - | - |"]


def test_a_resumed_run_counts_whole_at_the_pace_of_its_last_session():
    # resumed at epoch 45 of 60: its 600 s are 15 epochs', 40 s each
    runs = [{"experiment": "conv2", "repeat": 0, "settings": {"epochs": 60},
             "test_accuracy": 0.99, "epochs": 60, "seconds": 600.0, "resumed_at": 45},
            {"experiment": "conv2", "repeat": 1, "settings": {"epochs": 60},
             "test_accuracy": 0.99, "epochs": 60, "seconds": 1200.0}]
    minutes = (60 * 600.0 / 15 + 1200.0) / 2 / 60
    (row,) = tables.ladder_table(runs, names=["conv2"]).splitlines()[2:]
    assert row.split(" | ")[5] == "{0:.1f}".format(minutes) == "30.0"


def test_table_ranks_combinations_by_validation_accuracy():
    def record(eta, repeat, validation, test, **more):
        return dict({"config": {"eta": eta}, "repeat": repeat,
                     "best_validation_accuracy": validation, "test_accuracy": test,
                     "best_epoch": 1, "epochs": 2, "seconds": 4.0}, **more)
    records = [record(0.1, 0, 0.90, 0.89), record(0.1, 1, 0.92, 0.91),
               record(1.0, 0, 0.95, 0.94),
               record(10.0, 0, 0.10, None, diverged=True)]
    lines = tables.sweep_table(records, ["eta"]).splitlines()
    assert lines[0] == ("| eta | validation accuracy | test accuracy | runs | epochs "
                        "| s per run |")
    sd = statistics.stdev([90.0, 92.0])
    assert lines[2:] == [
        "| 1 | 95.00% | 94.00% | 1 | 2 | 4 |",
        "| 0.1 | 91.00% ± {0:.2f} | 90.00% ± {0:.2f} | 2 | 2 | 4 |".format(sd),
        "| 10 | - | - | 1 (1 diverged) | 2 | 4 |"]


def test_a_pruned_combination_is_marked_and_ranks_below_those_trained_to_the_end():
    def record(eta, validation, epochs, **more):
        return dict({"config": {"eta": eta}, "repeat": 0, "best_validation_accuracy":
                     validation, "test_accuracy": validation - 0.01, "best_epoch": 0,
                     "epochs": epochs, "seconds": 2.0}, **more)
    records = [record(0.3, 0.97, 2, pruned=True), record(0.1, 0.93, 3),
               record(0.01, 0.50, 2, pruned=True), record(1.0, 0.95, 3)]
    lines = tables.sweep_table(records, ["eta"]).splitlines()
    assert lines[2:] == [
        "| 1 | 95.00% | 94.00% | 1 | 3 | 2 |",
        "| 0.1 | 93.00% | 92.00% | 1 | 3 | 2 |",
        "| 0.3 | 97.00% | 96.00% | 1 (pruned) | 2 | 2 |",
        "| 0.01 | 50.00% | 49.00% | 1 (pruned) | 2 | 2 |"]
