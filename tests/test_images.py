"""images.py: your own digit made MNIST-like (load_image), and predict /
predict_proba taking one image or many.  The renderings below are drawn
from MNIST's test images by SciPy and saved by Pillow; the chapter's ReLU
net, trained briefly, must classify them as it classifies the originals."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import network3
from network3 import ReLU, chapter, cli

from conftest import BACKENDS, numpy_forward


#### Renderings of MNIST digits, as people photograph and draw them
def rendering(image, kind, rng):
    """MNIST ``image`` (784 values in [0, 1]) drawn another way, as uint8."""
    digit = image.reshape(28, 28)
    if kind == "large, dark on light, off-centre":
        big = ndimage.zoom(digit, 4, order=1)                    # 112x112
        canvas = np.zeros((150, 200))
        canvas[30:142, 70:182] = big
        return (255 - np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    if kind == "small, light on dark, blurred":
        small = ndimage.gaussian_filter(ndimage.zoom(digit, 0.75, order=1), 0.6)
        canvas = np.zeros((40, 30))
        canvas[10:31, 5:26] = small
        return (np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    if kind == "photo of paper":
        big = ndimage.gaussian_filter(ndimage.zoom(digit, 3, order=1), 1.5)
        canvas = np.zeros((120, 100))
        canvas[10:94, 8:92] = np.clip(big / big.max(), 0, 1)
        columns = np.arange(100)[None, :] / 100
        paper = 0.72 + 0.12 * columns + rng.normal(0, 0.02, canvas.shape)
        return (np.clip(paper * (1 - 0.8 * canvas), 0, 1) * 255).astype(np.uint8)
    assert kind == "blue ink, colour"
    big = np.clip(ndimage.zoom(digit, 2, order=1), 0, 1)
    canvas = np.zeros((80, 60))
    canvas[5:61, 2:58] = big
    ink = np.stack([255 * canvas, 200 * canvas, 100 * canvas], axis=-1)
    return (255 - ink).astype(np.uint8)


KINDS = ["large, dark on light, off-centre", "small, light on dark, blurred",
         "photo of paper", "blue ink, colour"]


@pytest.fixture(scope="module")
def relu_net(mnist):
    """The chapter's ReLU net after two epochs on 20,000 images (about 97%)."""
    network3.seed(3)
    (x, y), validation, _ = mnist
    net = network3.Network(chapter.build_layers("relu", 10), 10)
    net.SGD(network3.shared((x[:20000], y[:20000])), 2, 10, 0.03,
            network3.shared(tuple(part[:1000] for part in validation)), None, lmbda=0.1,
            verbose=False)
    return net


def test_renderings_are_classified_as_their_originals(relu_net, mnist, tmp_path):
    """400 test digits, each drawn one of four ways and read back from a PNG
    or JPEG file: >= 95% get the class their original gets."""
    rng = np.random.default_rng(5)
    originals = mnist[2][0][:400]
    loaded = []
    for k, image in enumerate(originals):
        picture = Image.fromarray(rendering(image, KINDS[k % 4], rng))
        path = tmp_path / "digit{0}.{1}".format(k, "png" if k % 8 < 4 else "jpg")
        picture.save(path, quality=92)
        loaded.append(network3.load_image(path))
    same = relu_net.predict(np.array(loaded)) == relu_net.predict(originals)
    per_kind = [same[k::4].mean() for k in range(4)]
    assert same.mean() >= 0.95, dict(zip(KINDS, per_kind))
    assert min(per_kind) >= 0.9, dict(zip(KINDS, per_kind))
    # and the net is one that reads digits, not one that agrees with anything
    assert relu_net.accuracy((originals, mnist[2][1][:400])) >= 0.95


def test_an_mnist_digit_comes_back_nearly_as_it_was(mnist):
    """MNIST's own digits are already prepared: they come back alike (the
    extent measured without the faintest edge pixels can rescale a digit
    by a pixel); where the extent is unchanged, exactly (stretched to 1)."""
    exact = 0
    for image in mnist[2][0][:100]:
        again = network3.load_image(image.reshape(28, 28))
        assert again.shape == (784,) and again.dtype == np.float32
        # alike, seen a pixel out of focus
        blurred = [ndimage.gaussian_filter(a.reshape(28, 28), 1).ravel() for a in (again, image)]
        assert np.corrcoef(*blurred)[0, 1] > 0.9
        exact += np.allclose(again, image / image.max(), atol=1e-6)
    assert exact >= 50


@pytest.mark.parametrize("kind", KINDS)
def test_what_load_image_makes_is_shaped_as_mnist_is(mnist, kind):
    """Ink up to 1 on 0, the digit's box 20 pixels on its longer side,
    its centre of mass within a pixel of (14, 14) (where MNIST's are)."""
    rng = np.random.default_rng(6)
    for image in mnist[2][0][:20]:
        x = network3.load_image(rendering(image, kind, rng)).reshape(28, 28)
        assert x.min() == 0 and x.max() == 1
        rows, cols = np.nonzero(x)
        box = (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
        assert max(box) in (19, 20, 21), box
        centre = np.array(ndimage.center_of_mass(x))
        assert np.all(np.abs(centre - 14) <= 1), centre


def test_bad_pictures_get_clear_errors(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="notes.png' is not an image Pillow can read"):
        network3.load_image(text)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png' is empty"):
        network3.load_image(tmp_path / "empty.png")
    with pytest.raises(ValueError, match="no such file .*nothere.png"):
        network3.load_image(tmp_path / "nothere.png")
    Image.new("1", (9000, 6000)).save(tmp_path / "huge.png")  # small on disk
    with pytest.raises(ValueError, match="has 9000x6000 pixels, more than the 50,000,000"):
        network3.load_image(str(tmp_path / "huge.png"))
    with pytest.raises(ValueError, match="the image shows nothing"):
        network3.load_image(np.full((30, 30), 200, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(height, width\).*got shape \(3, 4, 5\)"):
        network3.load_image(np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        network3.load_image(np.full((5, 5), np.nan))
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*got values in \[0, 2\]"):
        network3.load_image(np.linspace(0, 2, 25).reshape(5, 5))
    with pytest.raises(ValueError, match=r"0\.\.255, got values in \[0, 300\]"):
        network3.load_image(np.arange(0, 325, 25).reshape(13, 1) * np.ones((1, 2), int))
    with pytest.raises(ValueError, match="a file name or an array of numbers, got dict"):
        network3.load_image({"a": 1})


@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_and_predict_proba_take_one_image_or_many(mnist, backend):
    """Probabilities as conftest.numpy_forward computes them; one image as a
    784-vector or 28x28, many as (n, 784) or (n, 28, 28)."""
    network3.seed(8)
    layers = [network3.ConvPoolLayer((4, 1, 5, 5), (10, 1, 28, 28), activation_fn=ReLU),
              network3.SoftmaxLayer(4 * 12 * 12, 10)]
    rng = np.random.default_rng(9)
    layers[-1].w.set_value(rng.normal(scale=0.1, size=(576, 10)).astype("float32"))
    net = network3.Network(layers, 10, backend=backend,
                           **({"device": "cpu"} if backend == "jax" else {}))
    images = mnist[2][0][:13]
    expected = numpy_forward(net.layers, images)
    p = net.predict_proba(images)
    assert p.shape == (13, 10)
    np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(images), expected.argmax(axis=1))
    np.testing.assert_allclose(net.predict_proba(images.reshape(13, 28, 28)), p, rtol=1e-6)
    one = net.predict_proba(images[4].reshape(28, 28))
    assert one.shape == (10,)
    np.testing.assert_allclose(one, expected[4], rtol=1e-4, atol=1e-6)
    assert net.predict(images[4]) == expected[4].argmax()
    assert isinstance(net.predict(images[4].reshape(28, 28)), int)
    assert net.predict_proba(images[:0]).shape == (0, 10)
    with pytest.raises(ValueError, match=r"images: expected one image \(784 values.*"
                                         r"got shape \(5, 100\)"):
        net.predict(np.zeros((5, 100)))


def test_network3_predict_prints_each_pictures_digit(relu_net, mnist, tmp_path, capsys):
    rng = np.random.default_rng(10)
    relu_net.save(tmp_path / "relu.npz")
    names = []
    for k in range(3):
        path = tmp_path / "mine{0}.png".format(k)
        Image.fromarray(rendering(mnist[2][0][k], KINDS[0], rng)).save(path)
        names.append(str(path))
    assert cli.main(["predict", str(tmp_path / "relu.npz")] + names) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, line in zip(names, lines):
        p = relu_net.predict_proba(network3.load_image(name))
        assert line == "{0}: {1} ({2:.1%})".format(name, p.argmax(), p.max())
    (tmp_path / "bad.png").write_text("no")
    assert cli.main(["predict", str(tmp_path / "relu.npz"), str(tmp_path / "bad.png")]) == 1
    assert "is not an image Pillow can read" in capsys.readouterr().err


def test_a_picture_received_as_bytes_is_prepared_as_its_file_is(mnist, tmp_path):
    """What a server receives (the file's bytes, in a BytesIO) gives what
    the file gives; its errors say "the picture"; max_pixels refuses a
    picture before it is decoded."""
    import io
    rng = np.random.default_rng(11)
    for n, kind in enumerate(KINDS):
        path = tmp_path / "digit{0}.png".format(n)
        Image.fromarray(rendering(mnist[2][0][n], kind, rng)).save(path)
        np.testing.assert_array_equal(network3.load_image(io.BytesIO(path.read_bytes())),
                                      network3.load_image(path))
    with pytest.raises(ValueError, match="the picture is not an image Pillow can read.*"
                                         "no kind of picture Pillow knows"):
        network3.load_image(io.BytesIO(b"GIF? no, text"))
    with pytest.raises(ValueError, match="the picture is empty"):
        network3.load_image(io.BytesIO(b""))
    with pytest.raises(ValueError, match="the picture has 300x200 pixels, more than the "
                                         "50,000 a digit needs"):
        big = io.BytesIO()
        Image.new("L", (300, 200)).save(big, "PNG")
        network3.load_image(io.BytesIO(big.getvalue()), max_pixels=50_000)
