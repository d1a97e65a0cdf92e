"""The experiment runner: the whole ladder end to end on a tiny subset,
results appended as runs finish, and resuming an interrupted sweep."""

import json
import subprocess
import sys

from network3 import cli
from network3.runs import ladder, tables

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
    assert [r["experiment"] for r in runs] == ladder.NAMES
    for r in runs:
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["seconds"] >= 0
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


def read_clean(path):
    return [json.loads(line) for line in open(path) if line.strip().endswith("}")]


def test_bad_arguments(tmp_path, capsys):
    assert cli.main(["experiments"] + ["--only", "nosuch", "--output", str(tmp_path)]) == 1
    assert "unknown experiment(s) nosuch" in capsys.readouterr().err
    assert cli.main(["experiments"] + ["--repeats", "0"]) == 2
    result = subprocess.run([sys.executable, "scripts/experiments.py", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--repeats" in result.stdout


def test_table_reports_mean_and_spread():
    runs = [{"experiment": "fc", "repeat": k, "settings": {"epochs": 60},
             "test_accuracy": a, "seconds": 10.0}
            for k, a in enumerate([0.9780, 0.9790, 0.9800])]
    row = tables.ladder_table(runs).splitlines()[2]
    assert row == "| fc | 97.80% | 97.90% ± 0.10 | 3 | 60 | 10 |"
