"""tensorboard.py and callbacks.TensorBoard: the event files, read back with
TensorBoard's own reader and served by TensorBoard's own server, hold every
number the history holds, for every epoch, once; histograms of each layer's
parameters, the filters and the mistakes as images, the run's settings for
the HParams tab; a run resumed from its backup continues its curves without
a step twice."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator)

import network3  # noqa: E402
from network3 import (ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer,  # noqa
                      cli, tensorboard)
from network3.callbacks import Callback, Reports, TensorBoard  # noqa: E402

from conftest import NO_CHROMIUM, chromium  # noqa: E402


def small_net():
    network3.seed(3)
    return network3.Network([
        ConvPoolLayer((4, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU),
        FullyConnectedLayer(4 * 12 * 12, 20, activation_fn=ReLU),
        SoftmaxLayer(20, 10)], 10)


def read(folder):
    events = EventAccumulator(str(folder), size_guidance={
        "scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def scalars(events, tag):
    return [(e.step, e.value) for e in events.Scalars(tag)]


class Interrupt(Callback):
    """KeyboardInterrupt at the end of epoch ``epoch`` (after the callbacks
    before it), as a Ctrl-C there would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, state, event):
        if event.epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def trained(subset, tmp_path_factory):
    """A small conv net trained 3 epochs with TensorBoard watching."""
    folder = tmp_path_factory.mktemp("tensorboard") / "run"
    training, validation, test = subset(300, 100, 100)
    net = small_net()
    history = net.SGD(training, 3, 10, 0.1, validation, test, lmbda=0.1,
                      verbose=False, monitor_training=100, restore_best=False,
                      callbacks=[TensorBoard(folder, batch_cost_every=7)])
    return net, history, folder, (training, validation, test)


def test_every_scalar_is_the_historys_for_every_epoch(trained):
    net, history, folder, _ = trained
    events = read(folder)
    epochs = list(range(history.epochs))
    expected = {"accuracy/validation": history.validation_accuracy,
                "cost/training": history.cost, "eta": history.eta,
                "accuracy/training": history.training_accuracy,
                "cost/monitored_training": history.training_cost}
    for j, layer in enumerate(net.layers):
        expected["learning_speed/layer{0}_{1}".format(j, type(layer).__name__)] = [
            norms[j] for norms in history.gradient_norms]
    for tag, values in expected.items():
        found = scalars(events, tag)
        assert [step for step, _ in found] == epochs, tag
        np.testing.assert_allclose([v for _, v in found], values, rtol=1e-6, err_msg=tag)
    # the test accuracy where the book measures it: at each new best
    measured = [(k, v) for k, v in enumerate(history.test_accuracy) if v is not None]
    found = scalars(events, "accuracy/test")
    assert [s for s, _ in found] == [k for k, _ in measured]
    np.testing.assert_allclose([v for _, v in found], [v for _, v in measured], rtol=1e-6)
    final = scalars(events, "final/best_validation_accuracy")
    assert final == [(history.epochs - 1, pytest.approx(history.best_validation_accuracy))]


def test_the_cost_every_n_mini_batches(trained):
    _, history, folder, _ = trained
    found = scalars(read(folder / "batches"), "cost/mini_batches")
    # 30 mini-batches an epoch: groups of 7 end at 6, 13, 20, 27 of each
    assert [s for s, _ in found] == [30 * e + k for e in range(3) for k in (6, 13, 20, 27)]
    assert all(0 < v < 5 for _, v in found)


def test_histograms_per_layer_and_epoch_and_the_images(trained):
    net, history, folder, (_, validation, _) = trained
    events = read(folder)
    tags = events.Tags()
    names = ["layer0_ConvPoolLayer", "layer1_FullyConnectedLayer", "layer2_SoftmaxLayer"]
    assert sorted(tags["histograms"]) == sorted(
        "{0}/{1}".format(n, p) for n in names for p in ("w", "b"))
    for layer, name in zip(net.layers, names):
        found = events.Histograms(name + "/w")
        assert [h.step for h in found] == [0, 1, 2]
        last, w = found[-1].histogram_value, layer.w.get_value().astype(float)
        # the last epoch's parameters are the net's (restore_best=False)
        assert last.num == w.size and sum(last.bucket) == w.size
        assert (last.min, last.max) == pytest.approx((w.min(), w.max()))
        assert last.sum == pytest.approx(w.sum(), rel=1e-5, abs=1e-6)
    filters = events.Images("filters/layer0_ConvPoolLayer")
    assert [i.step for i in filters] == [0, 1, 2]
    assert (filters[0].height, filters[0].width) == (1 + 6, 1 + 4 * 6)   # 4 in a row
    wrong = events.Images("misclassified/validation")
    mistakes = int(np.sum(net.predict(validation[0].get_value()) !=
                          validation[1].eval()))
    rows = -(-min(mistakes, tensorboard.MISTAKES) // 10)
    assert (wrong[0].height, wrong[0].width) == (1 + 29 * rows, 1 + 29 * 10)


def test_the_runs_settings_and_final_numbers_for_the_hparams_tab(trained):
    from tensorboard.plugins.hparams import plugin_data_pb2
    _, history, folder, _ = trained
    content = read(folder).PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert {k: (v.number_value or v.string_value) for k, v in start.hparams.items()} == {
        "eta": pytest.approx(0.1), "lmbda": pytest.approx(0.1), "mini_batch_size": 10,
        "epochs": 3, "update": "sgd"}
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {
        "final/best_validation_accuracy", "final/test_accuracy", "final/epochs"}


def test_the_tensorboard_server_serves_the_historys_numbers(trained):
    net, history, folder, _ = trained
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(folder.parent),
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:               # (waits for its line, however long)
            found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                break
        else:
            pytest.fail("tensorboard said no address")
        url = found.group(1) + "data/plugin/scalars/scalars?run=run&tag=accuracy/validation"
        deadline = time.monotonic() + 120
        while True:             # (until it has read the files: polled, as a browser does)
            try:
                with urllib.request.urlopen(url, timeout=60) as answer:
                    points = json.loads(answer.read())
            except urllib.error.HTTPError:      # (no such run yet)
                points = []
            if len(points) >= history.epochs or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [step for _, step, _ in points] == list(range(history.epochs))
        np.testing.assert_allclose([v for *_, v in points], history.validation_accuracy,
                                   rtol=1e-6)
        with urllib.request.urlopen(found.group(1) + "data/runs", timeout=60) as answer:
            assert sorted(json.loads(answer.read())) == ["run", "run/batches"]
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_resumed_run_continues_its_event_files_with_no_step_twice(subset, tmp_path):
    training, validation, test = subset(200, 100, 100)
    folder, state = tmp_path / "run", tmp_path / "run.state"

    def train(*more):
        net = small_net()
        return net.SGD(training, 4, 10, 0.1, validation, test, verbose=False,
                       backup=state, callbacks=[TensorBoard(folder, batch_cost_every=5),
                                                *more])
    # Ctrl-C at the end of epoch 2, once TensorBoard has its events: the
    # backup holds epoch 1's end, so epoch 2 is trained (and written) again
    assert train(Interrupt(2)).stopped == "interrupted"
    assert [s for s, _ in scalars(read(folder), "accuracy/validation")] == [0, 1, 2]
    resumed = train(Interrupt(None))
    assert resumed.epochs == 4 and not state.exists()
    events = read(folder)
    for tag in ("accuracy/validation", "cost/training", "eta"):
        assert [s for s, _ in scalars(events, tag)] == [0, 1, 2, 3], tag
    np.testing.assert_allclose([v for _, v in scalars(events, "accuracy/validation")],
                               resumed.validation_accuracy, rtol=1e-6)
    assert [h.step for h in events.Histograms("layer0_ConvPoolLayer/w")] == [0, 1, 2, 3]
    steps = [s for s, _ in scalars(read(folder / "batches"), "cost/mini_batches")]
    assert steps == [20 * e + k for e in range(4) for k in (4, 9, 14, 19)]


def test_a_run_resumes_with_or_without_a_watching_callback(subset, tmp_path):
    training, validation, test = subset(200, 100, 100)
    state = tmp_path / "run.state"
    net = small_net()
    net.SGD(training, 3, 10, 0.1, validation, test, verbose=False, backup=state,
            callbacks=[Interrupt(1)])
    reports = []
    history = small_net().SGD(training, 3, 10, 0.1, validation, test, verbose=False,
                              backup=state,
                              callbacks=[Interrupt(None), Reports(reports.append)])
    assert history.epochs == 3
    assert [r["epoch"] for r in reports if r["kind"] == "epoch"] == [1, 2]


def test_reports_can_end_training(subset):
    training, validation, test = subset(100, 50, 50)

    def send(report):
        return "pruned" if report["kind"] == "epoch" and report["epoch"] == 1 else None
    history = small_net().SGD(training, 5, 10, 0.1, validation, test, verbose=False,
                              callbacks=[Reports(send)])
    assert history.stopped == "pruned" and history.epochs == 2


def test_bad_arguments_are_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match="TensorBoard: log_dir must be a folder's name, "
                                        "got 3"):
        TensorBoard(3)
    with pytest.raises(ValueError, match="batch_cost_every must be a positive integer"):
        TensorBoard(tmp_path, batch_cost_every=0)


def test_network3_train_tensorboard(tmp_path, capsys):
    folder = tmp_path / "tb"
    assert cli.main(["--layers", "fc20,softmax", "--epochs", "2", "--train-size", "200",
                     "--tensorboard", str(folder)]) == 0
    events = read(folder)
    assert [s for s, _ in scalars(events, "accuracy/validation")] == [0, 1]
    accuracy = re.findall(r"Epoch 1: validation accuracy ([\d.]+)%",
                          capsys.readouterr().out)
    assert scalars(events, "accuracy/validation")[1][1] == pytest.approx(
        float(accuracy[0]) / 100, abs=5e-5)


def test_folder_names_and_grids():
    grid = tensorboard.grid(np.arange(2 * 3 * 4).reshape(2, 3, 4), columns=3)
    assert grid.shape == (1 + 4, 1 + 3 * 5)
    np.testing.assert_allclose(grid[1:4, 1:5], np.arange(12).reshape(3, 4) / 23)
    np.testing.assert_allclose(grid[1:4, 6:10], (12 + np.arange(12).reshape(3, 4)) / 23)
    assert np.all(grid[:, 11:] == 0.5)          # the third place is empty
    values = np.random.default_rng(0).standard_normal(1000)
    low, high, n, total, squares, edges, counts = tensorboard.histogram(values)
    assert (n, sum(counts), len(edges)) == (1000, 1000, tensorboard.BUCKETS)
    assert edges[-1] == high == values.max() and low == values.min()
    assert squares == pytest.approx(np.sum(values ** 2))


def test_an_earlier_step_replaces_the_steps_from_it_on(tmp_path):
    """As when a Dask worker dies after reporting epoch 2 and another goes on
    from the backup of epoch 1's end."""
    writer = tensorboard.EventWriter(tmp_path)
    for epoch, value in ((0, 0.1), (1, 0.2), (2, 0.3), (1, 0.25), (2, 0.35), (3, 0.4)):
        writer.write({"kind": "epoch", "epoch": epoch,
                      "scalars": {"accuracy/validation": value}})
    writer.close()
    assert scalars(read(tmp_path), "accuracy/validation") == [
        (0, pytest.approx(0.1)), (1, pytest.approx(0.25)), (2, pytest.approx(0.35)),
        (3, pytest.approx(0.4))]


def colours(picture):
    """How many colours the picture has."""
    from PIL import Image
    return len(np.unique(np.asarray(Image.open(picture).convert("RGB")).reshape(-1, 3),
                         axis=0))


@pytest.mark.skipif(not chromium(), reason=NO_CHROMIUM)
def test_a_screenshot_of_tensorboard_comparing_a_sweep(tmp_path):
    """The picture of docs/watching.md: a sweep of three learning rates, as
    TensorBoard shows it in a real browser (NETWORK3_FIGURES=docs/figures
    writes it there)."""
    from PIL import Image
    tb = tmp_path / "tb"
    assert cli.main(["sweep", "--net", "fc", "--vary", "eta=0.03,0.3,3", "--epochs", "6",
                     "--train-size", "3000", "--eval-size", "1000", "--quiet",
                     "--output", str(tmp_path / "sweep"), "--tensorboard", str(tb)]) == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(tb),
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    picture = os.path.join(os.environ.get("NETWORK3_FIGURES", tmp_path), "tensorboard.png")
    try:
        for line in server.stdout:
            found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                break
        # the page draws its charts once its own requests come back: taken
        # again (a few times at most) until the curves are on it
        for _ in range(6):
            shot = subprocess.run(
                [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                 "--hide-scrollbars", "--window-size=1400,900",
                 "--virtual-time-budget=40000", "--screenshot=" + picture,
                 found.group(1) + "?smoothing=0#timeseries"],
                capture_output=True, text=True, timeout=300)
            assert shot.returncode == 0, shot.stderr[-2000:]
            if colours(picture) > 1000:
                break
    finally:
        server.terminate()
        server.wait(timeout=60)
    image = np.asarray(Image.open(picture).convert("RGB"))
    assert image.shape == (900, 1400, 3)
    # TensorBoard's orange bar, and the three runs' curves in their colours
    assert np.all(np.abs(image[20, 700].astype(int) - (245, 124, 0)) < 30)
    assert colours(picture) > 1000
