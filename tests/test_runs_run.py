"""runs/run.py: a run described as data, trained anywhere, handed back whole; each
process loads a data set once."""

import io
import json

import numpy as np

import network3
from network3 import cli, data, runs, saving
from network3 import options as network3_options


def tiny_run(**changes):
    options = dict(network3_options.run_defaults(), eta=0.1, lmbda=0.0, epochs=1,
                   mini_batch_size=10)
    options.update(changes.pop("options", {}))
    fields = dict(experiment="layers", repeat=0, seed=3, settings={"a": 1},
                  options=options, data=runs.DataSpec("../data/mnist.pkl.gz", 100, 50),
                  layers="fc20,softmax", config={"eta": 0.1}, verbose=False,
                  file="tiny-0.npz")
    fields.update(changes)
    return runs.Run(**fields)


def test_a_run_matches_only_its_own_record():
    run = tiny_run()
    record = {"experiment": "layers", "repeat": 0, "settings": {"a": 1},
              "config": {"eta": 0.1}}
    assert run.matches(record)
    for key, other in [("repeat", 1), ("settings", {"a": 2}), ("config", {"eta": 1}),
                       ("experiment", "fc")]:
        assert not run.matches(dict(record, **{key: other}))
    assert not run.matches({k: v for k, v in record.items() if k != "config"})
    ladder = tiny_run(config=None)
    assert ladder.matches({k: v for k, v in record.items() if k != "config"})


def test_data_sets_are_loaded_once_per_process(monkeypatch, mnist):
    loads = []

    def load(path):
        loads.append(path)
        return mnist
    monkeypatch.setattr(data, "load_data", load)
    monkeypatch.setattr(runs.run, "_loaded", runs.run._loaded.__class__())
    a, b, c = (runs.DataSpec("x", n, 50) for n in (100, 200, 300))
    first = runs.datasets(a)
    assert runs.datasets(a) is first and loads == ["x"]
    images = first[0][0].get_value()
    assert images.shape == (100, 784)
    np.testing.assert_array_equal(images, mnist[0][0][:100])
    assert first[1][0].get_value().shape == (50, 784)
    runs.datasets(b)
    runs.datasets(a)                     # still kept: the two latest are
    assert len(loads) == 2
    runs.datasets(c)                     # b, the least recent, goes
    runs.datasets(a)
    assert len(loads) == 3
    runs.datasets(b)
    assert len(loads) == 4


def test_a_trained_run_hands_back_its_record_and_model(tmp_path):
    outcome = runs.train(tiny_run())
    record = outcome.record
    assert record["experiment"] == "layers" and record["config"] == {"eta": 0.1}
    assert record["seed"] == 3 and record["net"] == "nets/tiny-0.npz"
    assert record["epochs"] == 1 and record["best_epoch"] == 0
    # the same seed gives the same network, wherever it is trained
    again = runs.train(tiny_run())
    assert again.record["test_accuracy"] == record["test_accuracy"]
    # kept: the model file first, then the record that names it
    (tmp_path / "nets").mkdir()
    runs.keep(str(tmp_path), outcome)
    assert json.loads((tmp_path / "runs.jsonl").read_text()) == record
    # its test accuracy is the saved net's, measured afresh on the 50 test images
    test_images, test_labels = (part[:50] for part in data.load_data()[2])
    saved = network3.load_network(tmp_path / "nets" / "tiny-0.npz")
    assert record["test_accuracy"] == np.mean(saved.predict(test_images) == test_labels)
    layers, mbs = saving.read_layers(tmp_path / "nets" / "tiny-0.npz")
    with np.load(io.BytesIO(outcome.model)) as sent, \
            np.load(io.BytesIO(again.model)) as other:
        for k, param in enumerate(p for layer in layers for p in layer.params):
            np.testing.assert_array_equal(param.get_value(), sent["param%d" % k])
            np.testing.assert_array_equal(other["param%d" % k], sent["param%d" % k])


def test_the_machine_names_the_cpus_widest_vector_instructions():
    def cpuinfo(flags):
        one = "processor\t: {0}\nmodel name\t: AMD EPYC\nflags\t\t: {1}\n"
        return "\n".join(one.format(k, flags) for k in range(2))
    assert runs.run.cpu_model(cpuinfo("fpu sse2 avx avx2 fma avx512f avx512bw")) == \
        "AMD EPYC (AVX-512)"
    assert runs.run.cpu_model(cpuinfo("fpu sse2 avx avx2 fma")) == "AMD EPYC (AVX2)"
    assert runs.run.cpu_model(cpuinfo("fpu sse2")) == "AMD EPYC"
    assert runs.run.cpu_model("processor\t: 0\nflags\t: avx2\n") is None


def test_a_diverged_run_is_recorded_without_a_model():
    outcome = runs.train(tiny_run(options={"eta": 1e30}))
    assert outcome.record["diverged"] is True and outcome.model is None
    assert outcome.record["test_accuracy"] is None and "net" not in outcome.record


def test_every_run_of_the_ladder_travels_and_resumes(tmp_path):
    """A Dask task is a pickled Run; resuming compares a Run with the JSON of
    its record: both must come back equal (an Augmentation, tuples...)."""
    import pickle
    from network3.runs import ladder as rungs, search
    args = cli.parse_arguments(["experiments"] + ["--output", str(tmp_path)])
    ladder = list(rungs.ladder(args, rungs.LADDER))
    assert len(ladder) == 3 * len(rungs.LADDER)
    assert len(list(rungs.ladder(args, rungs.NAMES))) == 3 * len(rungs.LADDER) + 2
    for run in ladder:
        assert pickle.loads(pickle.dumps(run)) == run
        record = json.loads(json.dumps({"experiment": run.experiment,
                                        "repeat": run.repeat, "settings": run.settings}))
        assert run.matches(record)
    # a sweep of the net trained on transformed images records its augmentation
    args = cli.parse_arguments(["sweep"] + ["--net", "augmented", "--vary", "eta=0.01,0.1",
                                       "--output", str(tmp_path)])
    for run in search.plan(args):
        assert pickle.loads(pickle.dumps(run)) == run
        assert run.options["augment"] is not None
        record = json.loads(json.dumps({"experiment": run.experiment, "repeat": 0,
                                        "settings": run.settings, "config": run.config}))
        assert run.matches(record)
