"""The network3 command, run as a user would: in a subprocess."""

import subprocess
import sys


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
