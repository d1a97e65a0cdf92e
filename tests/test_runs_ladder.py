"""runs/ladder.py, the experiment runner: the whole ladder end to end on a tiny subset,
results appended as runs finish, and resuming an interrupted sweep."""

import json
from collections import Counter
import subprocess
import sys

import numpy as np

import network3
from network3 import cli
from network3.runs import ladder

# JAX compiles each of the ladder's ten architectures in a few seconds; the
# Numba back end is exercised by the resume test.
try:
    import jax  # noqa: F401  (only whether it is there)
    BACKEND = ["--backend", "jax", "--device", "cpu"]
except ImportError:
    BACKEND = []


def read(path):
    return [json.loads(line) for line in open(path)]


def test_the_whole_ladder_runs_end_to_end(tmp_path):
    out = tmp_path / "sweep"
    status = cli.main(["experiments"] + ["--epochs", "1", "--repeats", "1", "--train-size", "20",
                               "--eval-size", "20", "--output", str(out), "--quiet"]
                              + BACKEND)
    assert status == 0
    runs = read(out / "runs.jsonl")
    # one run of each rung, then the dropout net's other four: the voters
    assert [r["experiment"] for r in runs] == (
        ladder.LADDER + ["dropout"] * 4 + [ladder.ENSEMBLE])
    assert [r["seed"] for r in runs if r["experiment"] == "dropout"] == [0, 1, 2, 3, 4]
    # each run's test accuracy is its saved net's on the 20 test images, and
    # the ensemble's is the plurality of the five dropout nets' votes
    images, labels = (part[:20] for part in network3.load_data()[2])
    on = {"backend": "jax", "device": "cpu"} if BACKEND else {}
    for r in runs:
        if r["experiment"] == ladder.ENSEMBLE:
            voters = [network3.load_network(out / "nets" / "dropout-{0}.npz".format(k), **on)
                      for k in range(5)]
            votes = np.array([net.predict(images) for net in voters])
            # a tie goes to the earliest net's class, as Counter.most_common gives it
            winners = [Counter(column.tolist()).most_common(1)[0][0] for column in votes.T]
            assert r["test_accuracy"] == np.mean(np.array(winners) == labels)
            assert r["settings"]["nets"] == 5
            continue
        net = network3.load_network(out / r["net"], **on)
        assert r["test_accuracy"] == np.mean(net.predict(images) == labels), r
        assert r["seconds"] > 0
    table = (out / "table.md").read_text().splitlines()
    assert table[0].startswith("| experiment | book |")
    assert len(table) == 2 + len(ladder.NAMES)
    assert "| fc | 97.80% |" in table[2] and "| dropout | 99.60% |" in table[-2]
    assert (out / "nets" / "dropout-0.npz").exists()


def test_an_interrupted_sweep_resumes(tmp_path):
    out = tmp_path / "sweep"
    args = ["--only", "fc", "--epochs", "1", "--train-size", "30", "--eval-size", "30",
            "--output", str(out), "--quiet"]
    assert cli.main(["experiments"] + args + ["--repeats", "1"]) == 0
    first = read(out / "runs.jsonl")
    # a crash mid-write leaves half a line: it is ignored and that run redone
    with open(out / "runs.jsonl", "a") as f:
        f.write('{"experiment": "fc", "rep')
    assert cli.main(["experiments"] + args + ["--repeats", "2"]) == 0
    lines = open(out / "runs.jsonl").read().splitlines()
    runs = [json.loads(line) for line in lines if line.endswith("}")]
    assert runs[0] == first[0]                      # run 1 was not redone
    assert [r["repeat"] for r in runs] == [0, 1]
    assert runs[1]["seed"] == runs[0]["seed"] + 1
    # different settings are new runs, not skipped ones
    assert cli.main(["experiments"] + args[:-1] + ["--repeats", "1", "--epochs", "2"]) == 0
    assert len([r for r in read_clean(out / "runs.jsonl")]) == 3
    assert "| fc | 97.80% |" in (out / "table.md").read_text()


def test_the_ensemble_votes_as_soon_as_its_nets_are_there_and_once(tmp_path):
    """The five dropout nets come in the first round and vote then, before
    the second round; a sweep run again, with nothing new, votes no more."""
    out = tmp_path / "sweep"
    args = (["experiments", "--only", "fc,dropout,ensemble", "--repeats", "2",
             "--epochs", "1", "--train-size", "20", "--eval-size", "20",
             "--output", str(out), "--quiet"] + BACKEND)
    assert cli.main(args) == 0
    runs = read(out / "runs.jsonl")
    assert [(r["experiment"], r["repeat"]) for r in runs] == (
        [("fc", 0)] + [("dropout", k) for k in range(5)]
        + [(ladder.ENSEMBLE, 0), ("fc", 1)])
    assert cli.main(args) == 0
    assert read(out / "runs.jsonl") == runs


def read_clean(path):
    return [json.loads(line) for line in open(path) if line.strip().endswith("}")]


def test_bad_arguments(tmp_path, capsys):
    assert cli.main(["experiments"] + ["--only", "nosuch", "--output", str(tmp_path)]) == 1
    assert "unknown experiment(s) nosuch" in capsys.readouterr().err
    assert cli.main(["experiments"] + ["--repeats", "0"]) == 2
    result = subprocess.run([sys.executable, "scripts/experiments.py", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--repeats" in result.stdout


def test_the_ladder_comes_round_by_round(tmp_path):
    """Every rung's first run before any rung's second: a sweep cut short has
    covered the table once; the ensemble's first run is five dropout nets, so
    they all come in the first round."""
    args = cli.parse_arguments(["experiments", "--output", str(tmp_path), "--repeats", "2"])
    runs = [(run.experiment, run.repeat) for run in
            ladder.ladder(args, ["conv2", "fc", "dropout", "ensemble"])]
    assert runs == [("fc", 0), ("conv2", 0), ("dropout", 0), ("dropout", 1),
                    ("dropout", 2), ("dropout", 3), ("dropout", 4),
                    ("fc", 1), ("conv2", 1)]
    without = [(run.experiment, run.repeat) for run in ladder.ladder(args, ["dropout"])]
    assert without == [("dropout", 0), ("dropout", 1)]
    args = cli.parse_arguments(["experiments", "--output", str(tmp_path), "--repeats", "7"])
    runs = [run.repeat for run in ladder.ladder(args, ["fc", "dropout", "ensemble"])
            if run.experiment == "dropout"]
    assert runs == list(range(7))
