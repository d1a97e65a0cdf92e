"""The figures: each call writes a PNG of the expected size, headless."""

import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

import network3  # noqa: E402
from network3 import plots  # noqa: E402
from network3.layers import ConvPoolLayer, SoftmaxLayer  # noqa: E402


def test_plot_errors_draws_only_the_errors(tmp_path, mnist):
    images, labels = mnist[2][0][:40], mnist[2][1][:40]
    predictions = labels.copy()
    predictions[[3, 17, 29]] = (labels[[3, 17, 29]] + 1) % 10
    path = plots.plot_errors(images, labels, predictions, tmp_path / "errors.png")
    picture = imread(path)
    assert picture.ndim == 3 and picture.shape[0] > 50 and picture.shape[1] > 200
    with pytest.raises(ValueError, match="same length"):
        plots.plot_errors(images, labels[:3], predictions, tmp_path / "x.png")


def test_plot_filters_and_history(tmp_path):
    network3.seed(2)
    conv = ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                         poolsize=(2, 2))
    filters = imread(plots.plot_filters(conv, tmp_path / "filters.png"))
    assert filters.shape[1] > filters.shape[0]           # two rows of ten
    history = network3.TrainingHistory(
        validation_accuracy=[0.9, 0.95, 0.94], test_accuracy=[0.89, 0.94, None],
        cost=[0.5, 0.2, 0.15], seconds=[1.0, 1.0, 1.0])
    curves = imread(plots.plot_history(history, tmp_path / "history.png"))
    assert curves.shape[0] > 100
    with pytest.raises(TypeError, match="must be a ConvPoolLayer"):
        plots.plot_filters(SoftmaxLayer(n_in=10, n_out=2), tmp_path / "x.png")
    with pytest.raises(ValueError, match="feature_map must be in 0..0"):
        plots.plot_filters(conv, tmp_path / "x.png", feature_map=1)


def test_plot_augmentation_draws_each_digit_and_its_versions(tmp_path, mnist):
    images = mnist[0][0][:10]
    path = plots.plot_augmentation(images, network3.Augmentation(rotate=20), tmp_path /
                                   "augmented.png", rows=3, copies=5, rng=1)
    picture = imread(path)
    assert picture.shape[1] > 1.5 * picture.shape[0]          # 3 rows of 6


def test_plot_sweep_draws_a_panel_per_option(tmp_path):
    records = [{"config": {"eta": eta, "pool_mode": mode, "early_stopping": stop},
                "best_validation_accuracy": 0.9 + eta / 10, "repeat": r}
               for eta in (0.01, 0.1, 1.0) for mode in ("max", "l2")
               for stop in (None, 5) for r in (0, 1)]
    records.append({"config": {"eta": 10.0, "pool_mode": "max", "early_stopping": None},
                    "best_validation_accuracy": 0.1, "diverged": True})
    one = imread(plots.plot_sweep(records, ["eta"], tmp_path / "one.png"))
    three = imread(plots.plot_sweep(records, ["eta", "pool_mode", "early_stopping"],
                                    tmp_path / "three.png"))
    assert three.shape[1] > 2.5 * one.shape[1] and three.shape[0] < 1.3 * one.shape[0]
