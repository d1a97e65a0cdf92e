"""The network3 command, run as a user would: in a subprocess (and its
exit statuses, in this process)."""

import subprocess
import sys

import pytest

from network3 import cli, runs

from conftest import start_serving


def network3(*args):
    return subprocess.run([sys.executable, "-m", "network3", *args],
                          capture_output=True, text=True, timeout=600)


def test_train_prints_the_books_lines():
    result = network3("--net", "fc", "--epochs", "1", "--train-size", "2000",
                      "--seed", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("network3: FC 784-100-10")
    assert "Training mini-batch number 0" in lines
    assert "Finished training network." in lines
    assert any(l.startswith("Corresponding test accuracy of ") for l in lines)


def test_help_and_bad_arguments():
    result = network3("train", "--help")
    assert result.returncode == 0 and "--epochs" in result.stdout
    result = network3("--net", "nosuchnet")
    assert result.returncode == 2 and "usage:" in result.stderr
    result = network3("--data", "missing.pkl.gz")
    assert result.returncode == 1
    assert "network3: error: missing.pkl.gz: no such data file" in result.stderr


def test_device_gpu_without_a_gpu_says_so_and_trains():
    result = network3("--net", "fc", "--epochs", "1", "--train-size", "500",
                      "--device", "gpu")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert ("running on the CPU" in first) or ("running on the GPU" in first)
    assert "Finished training network." in result.stdout
    assert "Traceback" not in result.stderr


def test_layers_save_and_evaluate(tmp_path):
    model = tmp_path / "net.npz"
    result = network3("train", "--layers", "fc20:d0.2,softmax", "--activation", "relu",
                      "--epochs", "1", "--train-size", "500", "--seed", "2",
                      "--save", str(model))
    assert result.returncode == 0, result.stderr
    assert "layers fc20:d0.2,softmax" in result.stdout
    net = __import__("network3").load_network(model)
    assert [type(l).__name__ for l in net.layers] == [
        "FullyConnectedLayer", "SoftmaxLayer"]
    assert net.layers[0].p_dropout == 0.2
    result = network3("evaluate", str(model), "--set", "validation",
                      "--errors", str(tmp_path / "errors.png"))
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout and (tmp_path / "errors.png").exists()
    result = network3("evaluate", str(tmp_path / "missing.npz"))
    assert result.returncode == 1 and "no such model file" in result.stderr


def test_a_net_with_options_trains_saves_and_loads(tmp_path):
    model = tmp_path / "net.npz"
    result = network3("train", "--layers", "conv4:l2:pool_stride=1:border_mode=1,softmax",
                      "--activation", "relu", "--epochs", "1", "--train-size", "200",
                      "--seed", "2", "--save", str(model))
    assert result.returncode == 0, result.stderr
    (layer, _) = __import__("network3").load_network(model).layers
    assert (layer.pool_mode, layer.pool_stride, layer.border_mode) == (
        "l2", (1, 1), (1, 1))


def test_bad_layer_descriptions_and_numbers():
    result = network3("--layers", "conv20,fc100", "--epochs", "1")
    assert result.returncode == 1 and "last layer must be softmax" in result.stderr
    result = network3("--layers", "fc100,conv20,softmax", "--epochs", "1")
    assert result.returncode == 1 and "conv layers must come first" in result.stderr
    result = network3("--epochs", "-1")
    assert result.returncode == 2 and "--epochs: expected a non-negative integer, got '-1'" in result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_other_data_sets_from_an_idx_folder(tmp_path):
    import gzip
    import numpy as np
    rng = np.random.default_rng(0)
    for name, n, dims in (("train-images-idx3-ubyte.gz", 120, (28, 28)),
                          ("train-labels-idx1-ubyte.gz", 120, ()),
                          ("t10k-images-idx3-ubyte.gz", 30, (28, 28)),
                          ("t10k-labels-idx1-ubyte.gz", 30, ())):
        shape = (n,) + dims
        values = (rng.integers(0, 256, size=shape) if dims else
                  np.arange(n) % 10).astype(np.uint8)
        header = bytes([0, 0, 8, len(shape)]) + b"".join(
            d.to_bytes(4, "big") for d in shape)
        with gzip.open(tmp_path / name, "wb") as f:
            f.write(header + values.tobytes())
    result = network3("--net", "fc", "--epochs", "1", "--data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Corresponding test accuracy of" in result.stdout


def test_expand_command(tmp_path):
    target = tmp_path / "e.pkl.gz"
    target.write_bytes(b"x")
    result = network3("expand", "--output", str(target))
    assert result.returncode == 0 and "already exists" in result.stdout
    result = network3("experiments", "--help")
    assert result.returncode == 0 and "usage: network3 experiments" in result.stdout


def test_the_exercises_flags(tmp_path):
    figure = tmp_path / "history.png"
    result = network3("--net", "fc", "--epochs", "3", "--train-size", "500",
                      "--seed", "3", "--momentum", "0.5", "--init", "glorot",
                      "--halve-on-plateau", "1", "--early-stopping", "2",
                      "--monitor-training", "200", "--plot-history", str(figure))
    assert result.returncode == 0, result.stderr
    assert "Epoch 0: training accuracy " in result.stdout
    assert figure.stat().st_size > 10000
    result = network3("--net", "fc", "--epochs", "1", "--momentum", "1.5")
    assert result.returncode == 2 and "usage:" in result.stderr
    assert "--momentum: expected a number in [0, 1), got '1.5'" in result.stderr
    result = network3("--net", "fc", "--update", "adamw")
    assert result.returncode == 2
    assert "--update: expected one of sgd, momentum, nesterov" in result.stderr


def test_the_augment_flag(tmp_path):
    result = network3("--net", "fc", "--epochs", "1", "--train-size", "500", "--seed", "1",
                      "--augment", "shift=1,rotate=5,elastic=10x3")
    assert result.returncode == 0, result.stderr
    assert ("network3: each epoch's training images transformed afresh: "
            "shift=1,rotate=5,elastic=10x3") in result.stdout
    assert "Corresponding test accuracy of" in result.stdout
    for spec, message in (("shift=2,flip=1", "'flip=1' is not <option>=<value>"),
                          ("elastic=34", "elastic takes ALPHAxSIGMA, e.g. 34x4"),
                          ("rotate=-1", "rotate must be a number >= 0, got -1.0")):
        result = network3("--augment", spec, "--epochs", "1")
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "usage:" in result.stderr


@pytest.mark.parametrize("status, raised", [(0, None), (1, ValueError("bad")),
                                            (130, KeyboardInterrupt()),
                                            (130, runs.Interrupted("fc, run 1")),
                                            (1, 3)])
def test_exit_statuses_of_a_sweep(status, raised, monkeypatch, capsys, tmp_path):
    """experiments' outcome (failed runs, or what it raised) as an exit status."""
    def ladder_run(args, say=print):
        if isinstance(raised, BaseException):
            raise raised
        return raised or 0
    monkeypatch.setattr(cli.ladder, "run", ladder_run)
    assert cli.main(["experiments", "--output", str(tmp_path)]) == status
    err = capsys.readouterr().err
    if raised == 3:
        assert "network3 experiments: 3 runs failed (see above); run again" in err
    elif status == 1:
        assert "network3: error: bad" in err
    elif status == 130:
        assert "interrupted; finished runs are in {0}".format(
            tmp_path / "runs.jsonl") in err


def test_a_recipe_trains_on_its_own_data(monkeypatch, tmp_path, capsys):
    """``--net expanded`` (and the other rungs the book trains on the
    expanded set) trains on it, made from the training images in use when
    the file is missing, as the experiment runner does; ``--net relu`` on
    the images as given."""
    import network3
    sizes = []

    def sgd(net, training_data, *args, **kwargs):
        sizes.append(len(training_data[0].get_value()))
        return network3.TrainingHistory()
    monkeypatch.setattr(network3.Network, "SGD", sgd)
    common = ["--epochs", "1", "--train-size", "100", "--expanded",
              str(tmp_path / "missing.pkl.gz")]
    assert cli.main(["--net", "expanded"] + common) == 0
    assert "Expanding 100 training images" in capsys.readouterr().out
    assert cli.main(["--net", "dropout"] + common) == 0
    assert cli.main(["--net", "relu"] + common) == 0
    assert sizes == [500, 500, 100]


def test_backup_resumes_a_run_stopped_by_ctrl_c(tmp_path):
    import os
    import signal
    args = ["train", "--net", "fc", "--epochs", "4", "--train-size", "1000", "--seed", "3",
            "--no-progress"]
    whole = network3(*args)
    assert whole.returncode == 0, whole.stderr
    state = tmp_path / "run.state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", *args, "--backup", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:            # Ctrl-C once epoch 1 has begun
        if line.startswith("Epoch 1: validation accuracy"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and state.exists(), err
    resumed = network3(*args, "--backup", str(state))
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from the backup {0} at epoch".format(state) in resumed.stderr
    assert not state.exists()
    # the same best epoch and accuracies as the run never stopped
    last = [l for l in whole.stdout.splitlines() if "accuracy of" in l]
    assert last == [l for l in resumed.stdout.splitlines() if "accuracy of" in l]
    # a damaged backup: refused, exit 1, left as it was
    state.write_bytes(b"junk")
    refused = network3(*args, "--backup", str(state))
    assert refused.returncode == 1 and "not a readable network3 backup" in refused.stderr
    assert state.read_bytes() == b"junk"


@pytest.mark.parametrize("moment", ["idle", "answering"])
def test_serve_answers_and_stops_on_ctrl_c(conv_model_file, digit_files, moment):
    """Ctrl-C while the server waits, or while a client keeps it busy
    predicting: status 130, one line, no traceback."""
    import json
    import signal
    import threading
    import urllib.request
    proc, url = start_serving(conv_model_file)
    try:
        with urllib.request.urlopen(url + "api/model", timeout=60) as response:
            assert json.load(response)["file"] == conv_model_file.name
        answered, stop = threading.Semaphore(0), threading.Event()

        def keep_asking():
            while not stop.is_set():
                try:
                    urllib.request.urlopen(urllib.request.Request(
                        url + "api/predict", data=digit_files[0].read_bytes()),
                        timeout=60).read()
                except OSError:
                    return              # the server has gone
                answered.release()

        client = threading.Thread(target=keep_asking, daemon=True)
        if moment == "answering":
            client.start()
            for _ in range(5):
                assert answered.acquire(timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        stop.set()
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip() == "network3: interrupted"


def test_serve_refuses_a_bad_model_and_warns_of_an_open_host(tmp_path, conv_model_file):
    import signal
    (tmp_path / "junk.npz").write_bytes(b"junk")
    result = network3("serve", str(tmp_path / "junk.npz"))
    assert result.returncode == 2
    assert result.stderr.startswith("network3 serve: error: ") and \
        len(result.stderr.splitlines()) == 1, result.stderr
    result = network3("serve", str(conv_model_file), "--port", "70000")
    assert result.returncode == 2 and "expected a port, 0..65535, got 70000" in result.stderr
    proc, url = start_serving(conv_model_file, "--host", "0.0.0.0")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert url.startswith("http://0.0.0.0:")
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine there can " \
           "use the page" in err
