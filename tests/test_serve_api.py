"""serve/api.py: the answer for a picture is what net.predict,
net.predict_proba and net.layer_output say of load_image of its file (the
feature maps checked against SciPy too); what the net is; the requests it
refuses, and why."""

import io

import numpy as np
import pytest
from PIL import Image

import network3
from network3 import serve
from network3.serve import api

from conftest import reference_conv, reference_pool


@pytest.fixture(scope="module")
def net(conv_model_file):
    return network3.load_network(conv_model_file)


@pytest.fixture(scope="module")
def model(net):
    return serve.Model(net, "digits.npz")


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_answer_is_the_nets_for_load_image_of_the_file(model, net, digit_files):
    for path in digit_files[:12]:
        answer = model.predict(path.read_bytes())
        x = network3.load_image(path)
        assert answer["digit"] == net.predict(x)
        assert isinstance(answer["digit"], int)
        np.testing.assert_array_equal(np.float32(answer["probabilities"]),
                                      net.predict_proba(x))
        np.testing.assert_array_equal(np.float32(answer["prepared"]), x.reshape(28, 28))
        # the first layer's maps, ReLU of the pooled true convolution (SciPy)
        w, b = (p.get_value().astype(float) for p in net.layers[0].params)
        maps = np.maximum(0, reference_pool(reference_conv(x.reshape(1, 1, 28, 28), w),
                                            (2, 2))[0] + b[:, None, None])
        np.testing.assert_allclose(answer["feature_maps"], maps, rtol=1e-4, atol=1e-5)


def test_what_the_net_is(model, net):
    described = model.describe()
    assert described == {"file": "digits.npz", "network": repr(net),
                         "layers": [repr(layer) for layer in net.layers],
                         "classes": 10, "feature_maps": [8, 12, 12]}


def test_a_net_without_a_convpool_layer_has_no_feature_maps(mnist):
    net = network3.Network([network3.FullyConnectedLayer(784, 20),
                            network3.SoftmaxLayer(20, 10)], 10)
    model = serve.Model(net, "fc.npz")
    assert model.describe()["feature_maps"] is None
    answer = model.predict(png((mnist[2][0][0].reshape(28, 28) * 255).astype(np.uint8)))
    assert answer["feature_maps"] is None
    assert len(answer["probabilities"]) == 10


def test_a_net_for_other_images_is_refused():
    net = network3.Network([network3.FullyConnectedLayer(100, 20),
                            network3.SoftmaxLayer(20, 10)], 10)
    with pytest.raises(ValueError, match=r"gives the net 28x28 images \(784 values\), but "
                                         r"small.npz's first layer takes 100 values"):
        serve.Model(net, "small.npz")


@pytest.mark.parametrize("body, status, message", [
    (b"", 400, "the picture is empty"),
    (b"<html>not a picture</html>", 400, "not an image Pillow can read"),
    (png(np.full((40, 40), 255, np.uint8)), 400, "the image shows nothing"),
    (png(np.zeros((5000, 4000), np.uint8)), 400,
     "has 4000x5000 pixels, more than the 16,000,000"),
    (b"\0" * (api.MAX_BYTES + 1), 413, "5,242,881 bytes; at most 5,242,880"),
])
def test_requests_it_refuses(model, body, status, message):
    with pytest.raises(serve.RequestError, match=message) as refused:
        model.predict(body)
    assert refused.value.status == status
    model.predict(png(np.eye(28, dtype=np.uint8) * 255))     # and it goes on answering
