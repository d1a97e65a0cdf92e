"""options.py: every option checks its values the same way wherever they
come from, and an option added to the registry appears in SGD's checks,
network3 train's and sweep's flags, --vary and a run's options."""

import pytest

from network3 import cli, options
from network3.runs import search

#: A value each option refuses, and the words of its error.
BAD = {"eta": 0, "lmbda": -0.1, "epochs": -1, "mini_batch_size": 0, "update": "sgdd",
       "momentum": 1.0, "halve_on_plateau": 0, "early_stopping": 2.5,
       "monitor_training": 0, "init": "zeros", "pool_mode": "median",
       "activation": "swish"}


def test_every_option_is_tested_here():
    assert set(BAD) | {"augment"} == set(options.OPTIONS)


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_option_takes_its_default_and_refuses_a_bad_value(name):
    option = options.OPTIONS[name]
    if option.default is not None:          # (None: the recipe's value)
        assert option.check(option.default) == option.default
    with pytest.raises(ValueError) as error:
        option.check(BAD[name], "SGD")
    assert str(error.value) == "SGD: {0} must be {1}, got {2!r}".format(
        name, option.expected, BAD[name])
    if option.flag:
        with pytest.raises(ValueError, match="--{0}: expected ".format(
                name.replace("_", "-"))):
            option.parse(str(BAD[name]))


def test_text_becomes_checked_values_and_records_plain_json():
    assert options.OPTIONS["epochs"].parse("3") == 3
    assert options.OPTIONS["epochs"].parse("3.0") == 3
    assert options.OPTIONS["early_stopping"].parse("none") is None
    augment = options.OPTIONS["augment"].parse("shift=2,rotate=10")
    assert options.OPTIONS["augment"].record(augment) == "shift=2,rotate=10"
    with pytest.raises(ValueError, match="--augment: "):
        options.OPTIONS["augment"].parse("flip=1")


def test_an_option_added_to_the_registry_appears_everywhere(monkeypatch, tmp_path):
    added = options.Option("dampening", "a number in [0, 1]", lambda v: 0 <= v <= 1,
                           0.0, "a made-up option", metavar="D")
    monkeypatch.setitem(options.OPTIONS, "dampening", added)
    # the command line's flags, for train and sweep
    args = cli.parse_arguments(["train", "--dampening", "0.5"])
    assert args.dampening == 0.5
    assert cli.main(["train", "--dampening", "2"]) == 2
    # a sweep varies it, its runs carry it
    args = cli.parse_arguments(["sweep", "--net", "fc", "--vary", "dampening=0,0.5",
                                "--output", str(tmp_path)])
    assert [run.options["dampening"] for run in args.todo] == [0.0, 0.5]
    assert search.parse_vary("dampening=0.1:0.9") == ("dampening", ("range", 0.1, 0.9))
    # and SGD's check, through the registry
    with pytest.raises(ValueError, match="SGD: dampening must be a number in"):
        options.check("dampening", 1.5)
