"""Saving and loading networks: identical predictions after a round trip,
no code run from a file, clear errors for damaged ones, atomic writes."""

import os
import pickle
import zipfile

import numpy as np
import pytest

import network3
from network3 import ModelFileError, ReLU, saving
from network3.layers import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer


def conv_net(mbs=5):
    return network3.Network([
        ConvPoolLayer(image_shape=(mbs, 1, 28, 28), filter_shape=(3, 1, 5, 5),
                      poolsize=(2, 2), activation_fn=ReLU),
        FullyConnectedLayer(n_in=3*12*12, n_out=20, p_dropout=0.5),
        SoftmaxLayer(n_in=20, n_out=10)], mbs)


@pytest.fixture
def trained(subset):
    training_data, validation_data, test_data = subset(100, 100, 100)
    network3.seed(11)
    net = conv_net()
    net.SGD(training_data, 1, 5, 0.1, validation_data, None, verbose=False)
    return net, test_data[0].get_value()


def test_round_trip_gives_identical_predictions(trained, tmp_path):
    net, images = trained
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = network3.load_network(path)
    assert repr(loaded) == repr(net)
    for a, b in zip(net.params, loaded.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
    np.testing.assert_array_equal(loaded.predict(images), net.predict(images))
    # another mini-batch size, the same network
    other = network3.Network.load(path, mini_batch_size=7)
    assert other.mini_batch_size == 7
    np.testing.assert_array_equal(other.predict(images), net.predict(images))
    assert os.listdir(tmp_path) == ["net.npz"]


def test_pooling_and_convolution_options_survive_a_round_trip(subset, tmp_path):
    training_data, validation_data, test_data = subset(100, 100, 100)
    network3.seed(12)
    conv = ConvPoolLayer(image_shape=(5, 1, 28, 28), filter_shape=(3, 1, 5, 5),
                         activation_fn=ReLU, pool_mode="average_exc_pad",
                         pool_stride=(1, 2), pool_pad=(1, 1), border_mode="full",
                         subsample=(2, 1))
    net = network3.Network([conv, SoftmaxLayer(n_in=conv.output_size, n_out=10)], 5)
    net.SGD(training_data, 1, 5, 0.03, validation_data, None, verbose=False)
    net.save(tmp_path / "net.npz")
    loaded = network3.load_network(tmp_path / "net.npz")
    assert repr(loaded) == repr(net)
    assert loaded.layers[0].config() == conv.config()
    images = test_data[0].get_value()
    assert len(set(net.predict(images))) > 1      # it predicts more than one digit
    np.testing.assert_array_equal(loaded.predict(images), net.predict(images))


def test_a_version_1_file_loads_with_the_chapters_pooling(trained, tmp_path):
    # what network3 wrote before the pooling options: version 1, no options
    import json
    net, images = trained
    net.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as archive:
        members = {name: archive[name] for name in archive.files}
    arch = json.loads(members["architecture"].tobytes())
    assert arch["version"] == 2
    arch["version"] = 1
    for layer in arch["layers"]:
        for key in ("pool_mode", "pool_stride", "pool_pad", "border_mode", "subsample",
                    "init"):
            layer.pop(key, None)
    arch_bytes = json.dumps(arch).encode()
    arrays = [members["param{0}".format(k)] for k in range(len(net.params))]
    members["architecture"] = np.frombuffer(arch_bytes, dtype=np.uint8)
    members["sha256"] = np.frombuffer(saving.digest(arch_bytes, arrays).encode(),
                                      dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **members)
    loaded = network3.load_network(tmp_path / "old.npz")
    assert repr(loaded) == repr(net)
    np.testing.assert_array_equal(loaded.predict(images), net.predict(images))


def test_loading_leaves_the_global_random_state_alone(trained, tmp_path):
    net, _ = trained
    net.save(tmp_path / "net.npz")
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    network3.load_network(tmp_path / "net.npz")
    assert np.random.random() == expected


def test_a_pickle_is_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch {0}".format(marker),))
    # as a whole file, and as a parameter inside an otherwise valid archive
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(ModelFileError, match="not a readable network3 model file"):
        network3.load_network(path)
    np.savez(tmp_path / "evil2.npz", architecture=np.zeros(3, np.uint8),
             sha256=np.zeros(3, np.uint8),
             param0=np.array([Evil()], dtype=object))
    with pytest.raises(ModelFileError):
        network3.load_network(tmp_path / "evil2.npz")
    assert not marker.exists()


def test_truncated_and_garbage_files_are_refused(trained, tmp_path):
    net, _ = trained
    path = tmp_path / "net.npz"
    net.save(path)
    raw = path.read_bytes()
    (tmp_path / "half.npz").write_bytes(raw[:len(raw) // 2])
    with pytest.raises(ModelFileError, match="half.npz: not a readable"):
        network3.load_network(tmp_path / "half.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="text.npz"):
        network3.load_network(tmp_path / "text.npz")
    with pytest.raises(ModelFileError, match="no such model file"):
        network3.load_network(tmp_path / "missing.npz")


def rewrite(path, out, change):
    """Copy the archive at ``path`` to ``out``, changing members with ``change``."""
    with np.load(path) as archive:
        members = {name: archive[name] for name in archive.files}
    change(members)
    np.savez(out, **members)


def test_altered_parameters_fail_the_digest(trained, tmp_path):
    net, _ = trained
    net.save(tmp_path / "net.npz")

    def nudge(members):
        members["param0"] = members["param0"] + 1e-3
    rewrite(tmp_path / "net.npz", tmp_path / "altered.npz", nudge)
    with pytest.raises(ModelFileError, match="do not match its SHA-256 digest"):
        network3.load_network(tmp_path / "altered.npz")


def test_parameters_that_do_not_fit_the_architecture(trained, tmp_path):
    net, _ = trained
    net.save(tmp_path / "net.npz")

    def reshape(members):   # a consistent digest, but the wrong shape
        members["param2"] = np.zeros((7, 20), np.float32)
        arrays = [members["param{0}".format(k)] for k in range(6)]
        members["sha256"] = np.frombuffer(saving.digest(
            members["architecture"].tobytes(), arrays).encode(), np.uint8)
    rewrite(tmp_path / "net.npz", tmp_path / "bad.npz", reshape)
    with pytest.raises(ModelFileError,
                       match=r"parameter FullyConnectedLayer1.w has shape \(7, 20\) "
                             r"but the architecture needs \(432, 20\)"):
        network3.load_network(tmp_path / "bad.npz")


def test_a_failed_save_leaves_the_old_file(trained, tmp_path, monkeypatch):
    net, images = trained
    path = tmp_path / "net.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(f, **members):
        f.write(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.npz"]
    assert zipfile.is_zipfile(path)


def test_custom_activation_cannot_be_saved(tmp_path):
    def swish(z):
        return z
    net = network3.Network([FullyConnectedLayer(n_in=784, n_out=5, activation_fn=swish),
                            SoftmaxLayer(n_in=5, n_out=10)], 10)
    with pytest.raises(ValueError, match="layer 0 .* activation_fn=.*swish"):
        net.save(tmp_path / "net.npz")
    assert not os.listdir(tmp_path)


def test_sgd_checkpoint_holds_the_best_network(subset, tmp_path):
    training_data, validation_data, test_data = subset(200, 100, 100)
    network3.seed(12)
    net = conv_net()
    path = tmp_path / "best.npz"
    history = net.SGD(training_data, 3, 5, 0.1, validation_data, None,
                      verbose=False, checkpoint=path)
    best = network3.load_network(path)
    assert best.accuracy(validation_data) == history.best_validation_accuracy
    # restore_best left the net holding the same parameters
    for a, b in zip(net.params, best.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())


def test_a_layer_type_that_is_not_registered_is_refused(tmp_path, monkeypatch):
    """A file names layer types; loading builds only registered ones and
    imports nothing: a type unknown here is a clear ModelFileError."""
    class Vanishing(FullyConnectedLayer):
        pass

    net = network3.Network([Vanishing(n_in=784, n_out=5), SoftmaxLayer(n_in=5, n_out=10)],
                           10)
    net.save(tmp_path / "net.npz")
    monkeypatch.delitem(network3.layers.LAYER_TYPES, "Vanishing")
    with pytest.raises(network3.ModelFileError,
                       match="holds a layer of type 'Vanishing', which is not a known "
                             "layer type .* define that Layer subclass before loading"):
        network3.load_network(tmp_path / "net.npz")
