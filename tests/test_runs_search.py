"""runs/search.py: what --vary accepts and refuses, the grid and the random
draws, and a whole (serial) sweep that resumes."""

import itertools
import json
import math
import statistics

import pytest

from network3 import cli
from network3.runs import search


def read(path):
    return [json.loads(line) for line in open(path)]


@pytest.mark.parametrize("text, name, values", [
    ("eta=0.01,0.1", "eta", [0.01, 0.1]),
    ("mini-batch-size=5,10", "mini_batch_size", [5, 10]),
    ("halve_on_plateau=none,3", "halve_on_plateau", [None, 3]),
    ("pool_mode=max,l2", "pool_mode", ["max", "l2"]),
    ("eta=0.001:1", "eta", ("range", 0.001, 1.0)),
    ("epochs=1:4", "epochs", ("range", 1, 4)),
])
def test_vary_reads_lists_and_ranges(text, name, values):
    assert search.parse_vary(text) == (name, values)


@pytest.mark.parametrize("text, words", [
    ("speed=1,2", "unknown option 'speed'"),
    ("eta=-0.1,0.1", "eta: expected a positive number, got '-0.1'"),
    ("eta=nan", "expected a positive number"),
    ("lmbda=-1", "lmbda: expected a non-negative number"),
    ("mini_batch_size=0", "expected a positive integer, got '0'"),
    ("mini_batch_size=2.5", "got '2.5'"),
    ("momentum=1", "expected a number in [0, 1)"),
    ("pool_mode=max,median", "expected one of max, l2"),
    ("init=zeros", "expected one of book, he, glorot"),
    ("eta", "expected NAME=V1,V2,... or NAME=LOW:HIGH"),
    ("eta=0.1,0.1", "a value is given twice"),
    ("eta=1:0.1", "needs LOW < HIGH"),
    ("pool_mode=max:l2", "a range LOW:HIGH needs numbers"),
    ("early_stopping=none:3", "needs LOW < HIGH"),
])
def test_vary_refuses_bad_items_naming_them(text, words):
    with pytest.raises(ValueError, match="--vary") as error:
        search.parse_vary(text)
    assert words in str(error.value)


def test_a_grid_is_every_combination_in_order():
    varied = {"eta": [0.01, 0.1, 1.0], "lmbda": [0.0, 5.0], "pool_mode": ["max", "l2"]}
    found = search.combinations(varied)
    expected = [dict(zip(varied, values)) for values in itertools.product(
        [0.01, 0.1, 1.0], [0.0, 5.0], ["max", "l2"])]
    assert found == expected and len(found) == 12
    with pytest.raises(ValueError, match="a range LOW:HIGH is for --random"):
        search.combinations({"eta": ("range", 0.01, 1.0)})


def test_random_search_draws_in_the_ranges_on_the_right_scales():
    varied = {"eta": ("range", 0.001, 1.0), "momentum": ("range", 0.0, 0.9),
              "epochs": ("range", 2, 4), "init": ["book", "he"]}
    found = search.combinations(varied, count=3000, seed=5)
    assert found == search.combinations(varied, count=3000, seed=5)   # seeded
    assert found != search.combinations(varied, count=3000, seed=6)
    etas = [c["eta"] for c in found]
    assert 0.001 <= min(etas) and max(etas) <= 1.0
    # log-uniform: half the draws below the geometric mean of the ends (0.0316),
    # where a uniform draw would put 3%
    below = sum(e < math.sqrt(0.001 * 1.0) for e in etas) / len(etas)
    assert 0.45 < below < 0.55
    momenta = [c["momentum"] for c in found]
    assert 0 <= min(momenta) and max(momenta) < 0.9
    assert abs(statistics.mean(momenta) - 0.45) < 0.02      # uniform
    assert {c["epochs"] for c in found} == {2, 3, 4}
    assert all(isinstance(c["epochs"], int) for c in found)
    assert {c["init"] for c in found} == {"book", "he"}
    # a combination drawn twice is trained once
    assert len(search.combinations({"init": ["book", "he"]}, count=50)) == 2


def sweep_args(tmp_path, *more):
    return ["--layers", "conv4,fc20,softmax", "--activation", "relu",
            "--epochs", "1", "--train-size", "200", "--eval-size", "100",
            "--output", str(tmp_path / "sweep"), "--quiet"] + list(more)


def test_bad_sweeps_are_refused_before_any_run(tmp_path, capsys):
    cases = [
        (["--vary", "eta=0.1", "--vary", "eta=1"], "--vary eta: given twice"),
        (["--vary", "colour=red"], "unknown option 'colour'"),
        (["--vary", "eta=0.01:0.1"], "a range LOW:HIGH is for --random"),
        (["--vary", "eta=0.1", "--random", "0"], "--random: expected a whole number"),
        (["--vary", "eta=0.1", "--momentum", "1.5"], "--momentum: expected a number in [0, 1), got '1.5'"),
        (["--vary", "eta=0.1", "--workers", "0"], "--workers: expected a whole number"),
        (["--vary", "eta=0.1", "--scheduler", "localhost"],
         "--scheduler: expected a Dask scheduler's address"),
        (["--vary", "eta=0.1", "--workers", "2", "--scheduler", "tcp://h:1"],
         "give one, not both"),
    ]
    for more, words in cases:
        assert cli.main(["sweep"] + sweep_args(tmp_path, *more)) == 2, more
        err = capsys.readouterr().err
        assert "usage:" in err and words in err, (more, err)
    # a chapter net's activation is its own
    args = ["--net", "fc", "--vary", "activation=relu,sigmoid", "--train-size", "200",
            "--output", str(tmp_path / "sweep")]
    assert cli.main(["sweep"] + args) == 2
    assert "vary it with --layers" in capsys.readouterr().err
    # a layer that cannot be built (a 5x5 filter on a 1x1 map) is found up front
    args = ["--layers", "conv4,conv4,conv4,softmax", "--vary", "eta=0.1,1",
            "--output", str(tmp_path / "sweep")]
    assert cli.main(["sweep"] + args) == 2
    assert "--layers: item 2" in capsys.readouterr().err
    assert not (tmp_path / "sweep" / "runs.jsonl").exists()


def test_a_serial_sweep_trains_each_combination_and_resumes(tmp_path):
    out = tmp_path / "sweep"
    args = sweep_args(tmp_path, "--vary", "eta=0.03,0.3", "--vary",
                      "pool_mode=max,average_exc_pad")
    assert cli.main(["sweep"] + args) == 0
    runs = read(out / "runs.jsonl")
    assert [(r["config"]["eta"], r["config"]["pool_mode"]) for r in runs] == [
        (0.03, "max"), (0.03, "average_exc_pad"), (0.3, "max"), (0.3, "average_exc_pad")]
    for r in runs:
        assert r["experiment"] == "layers" and r["seed"] == 0
        assert r["settings"]["layers"] == "conv4,fc20,softmax"
        assert "eta" not in r["settings"] and r["settings"]["lmbda"] == 0.1
        assert (out / r["net"]).exists()
    assert len({r["net"] for r in runs}) == 4
    # the pooling mode reached the layers: the saved nets say so
    from network3 import saving
    layers, _ = saving.read_layers(out / runs[1]["net"])
    assert layers[0].pool_mode == "average_exc_pad"
    table = (out / "table.md").read_text().splitlines()
    assert table[0].startswith("| eta | pool_mode | validation accuracy |")
    assert len(table) == 6 and (out / "sweep.png").stat().st_size > 1000
    # a second repeat: only the new runs are trained; the old are kept as they were
    assert cli.main(["sweep"] + args + ["--repeats", "2"]) == 0
    again = read(out / "runs.jsonl")
    assert again[:4] == runs and len(again) == 8
    assert sorted(r["repeat"] for r in again[4:]) == [1, 1, 1, 1]
    assert {r["seed"] for r in again[4:]} == {1}
    assert "| 2 |" in (out / "table.md").read_text()
