"""Training in Jupyter, through a real kernel (jupyter_client): the progress
bar is a notebook widget, and the kernel's interrupt (the notebook's stop
button: SIGINT to the kernel process) stops training cleanly -- the cell
ends without an error, the kernel lives on and the network holds its best
epoch's parameters -- on both back ends, at varied moments."""

import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")

from conftest import BACKENDS  # noqa: E402


class Kernel(object):
    """A Python kernel of this environment, running cells as a notebook does."""

    def __init__(self):
        from jupyter_client.manager import start_new_kernel
        self.manager, self.client = start_new_kernel(kernel_name="python3")

    def run(self, code, interrupt_after=None, delay=0.0, timeout=600):
        """Run ``code`` as a cell; send the kernel an interrupt ``delay``
        seconds after its output first shows ``interrupt_after``.  Returns
        the reply's status, its output (streams, errors) and the widgets'
        models it displayed."""
        msg_id = self.client.execute(code)
        text, models, when = [], [], None
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind == "error":
                text.append("{0}: {1}".format(content["ename"], content["evalue"]))
            elif kind == "comm_open":
                models.append(content["data"].get("state", {}).get("_model_name"))
            if when is None and interrupt_after and interrupt_after in "".join(text):
                when = time.monotonic() + delay
            if when is not None and time.monotonic() >= when:
                self.manager.interrupt_kernel()
                when = float("inf")
            if kind == "status" and content["execution_state"] == "idle":
                break
        reply = self.client.get_shell_msg(timeout=60)
        return reply["content"]["status"], "".join(text), models

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


TRAIN = """
import network3
from network3 import Network, FullyConnectedLayer, SoftmaxLayer
(x, y), (vx, vy), _ = network3.load_data()
training_data = network3.shared((x[:3000], y[:3000]))
validation_data = network3.shared((vx[:500], vy[:500]))
network3.seed(4)
net = Network([FullyConnectedLayer(784, 30), SoftmaxLayer(30, 10)], 10, {0})
history = net.SGD(training_data, 500, 10, 0.5, validation_data, None)
"""


@pytest.fixture
def kernel():
    kernel = Kernel()
    yield kernel
    kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delay", [0.0, 0.15])
def test_the_stop_button_stops_training_and_keeps_the_best_epoch(kernel, backend, delay):
    on = "backend='jax', device='cpu'" if backend == "jax" else "backend='numba'"
    # interrupted as epoch 2 ends, or a moment into epoch 3 (inside a step)
    status, text, models = kernel.run(TRAIN.format(on), interrupt_after="Epoch 2:",
                                      delay=delay)
    assert status == "ok", text
    assert "KeyboardInterrupt" not in text and "Error" not in text, text
    assert "SGD interrupted at epoch" in text, text
    # the bar is ipywidgets' (tqdm.auto in a kernel), one per epoch
    assert "FloatProgressModel" in models and "HBoxModel" in models
    assert "Epoch 0: validation accuracy" in text
    # the kernel lives on; the network holds its best epoch's parameters
    status, text, _ = kernel.run(
        "print(history.stopped, len(history.validation_accuracy) >= 3)\n"
        "print(net.accuracy(validation_data) == history.best_validation_accuracy)\n"
        "print(max(history.validation_accuracy) == history.best_validation_accuracy)")
    assert status == "ok" and text.split() == ["interrupted", "True", "True", "True"], text


def test_a_jupyter_without_ipywidgets_gets_the_text_bar(kernel):
    """tqdm's notebook bar needs ipywidgets, which `pip install -e .` does not
    install (the notebook extra does): tqdm.auto then falls back to its text
    bar, with a warning, and training goes on."""
    status, text, models = kernel.run(
        "import sys\nsys.modules['ipywidgets'] = None    # as if not installed\n"
        + TRAIN.format("backend='numba'").replace("500, 10, 0.5", "2, 10, 0.5"))
    assert status == "ok", text
    assert "Epoch 1: validation accuracy" in text and "Epoch 1/2" in text
    assert "FloatProgressModel" not in models
