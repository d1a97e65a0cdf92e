"""augmentation.py: each transform against an exact answer or SciPy on small
images, both methods; the elastic field against scipy.ndimage's Gaussian
filter, bounded by alpha and smooth; pixels kept in range; the same seed
giving the same images; the feed of pages (in order, two at most, stopping,
errors); bad options refused."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest
from scipy import ndimage

from network3 import augmentation
from network3.augmentation import Augmentation, EpochFeed, elastic_fields, warp

METHODS = augmentation.METHODS


def one(matrix, n):
    """``n`` copies of one :func:`inverse_matrix` row."""
    return np.repeat(np.asarray(matrix)[None], n, axis=0)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((3, 2, 7, 7)).astype(np.float32)


#### Exact answers
@pytest.mark.parametrize("method", METHODS)
def test_a_quarter_turn_and_a_half_turn_are_exact(images, method):
    quarter = augmentation.inverse_matrix((7, 7), rotate=90)
    half = augmentation.inverse_matrix((7, 7), rotate=-180)
    # counter-clockwise as drawn: NumPy's rot90
    np.testing.assert_allclose(warp(images, one(quarter, 3), method=method),
                               np.rot90(images, 1, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(warp(images, one(half, 3), method=method),
                               images[:, :, ::-1, ::-1], atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_whole_pixel_shifts_are_exact_with_zeros_coming_in(images, method):
    right = warp(images, one(augmentation.inverse_matrix((7, 7), shift=(1, 0)), 3),
                 method=method)
    up_two = warp(images, one(augmentation.inverse_matrix((7, 7), shift=(0, -2)), 3),
                  method=method)
    expected_right = np.zeros_like(images)
    expected_right[..., 1:] = images[..., :-1]
    expected_up = np.zeros_like(images)
    expected_up[:, :, :-2] = images[:, :, 2:]
    np.testing.assert_array_equal(right, expected_right)
    np.testing.assert_array_equal(up_two, expected_up)


@pytest.mark.parametrize("method", METHODS)
def test_nothing_on_gives_the_images_back(method):
    x = np.random.default_rng(1).random((5, 64)).astype(np.float32)
    out = Augmentation(method=method).transform(x, (8, 8), rng=3)
    np.testing.assert_array_equal(out, x)
    assert out is not x


def test_shear_and_zoom_move_pixels_where_geometry_says():
    impulse = np.zeros((1, 1, 9, 9), np.float32)
    impulse[0, 0, 2, 6] = 1.0           # x = +2, y = -2 from the centre (4, 4)
    # a horizontal shear by 45 degrees: x' = x + y, so (2, -2) -> (0, -2)
    sheared = warp(impulse, one(augmentation.inverse_matrix((9, 9), shear=45), 1))
    assert sheared[0, 0, 2, 4] == pytest.approx(1, abs=1e-6)
    assert sheared.sum() == pytest.approx(1, abs=1e-6)
    # zoom 2: the output at centre + 2*(2, -2) = (8, 0) reads the impulse
    zoomed = warp(impulse, one(augmentation.inverse_matrix((9, 9), scale=2), 1))
    assert zoomed[0, 0, 0, 8] == pytest.approx(1)
    assert zoomed[0, 0, 4, 4] == 0


def test_the_inverse_matrix_undoes_shear_rotation_zoom_and_shift_in_that_order():
    """The forward map written out with its own matrices (x right, y down,
    about the centre): shear, then rotate counter-clockwise as drawn, then
    zoom, then shift; the inverse matrix must send its outputs back."""
    rng = np.random.default_rng(8)
    h, w = 11, 9
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    for _ in range(5):
        shift, rotate = rng.normal(size=2), rng.uniform(-40, 40)
        shear, scale = rng.uniform(-30, 30), rng.uniform(0.7, 1.3)
        t, s = np.radians(rotate), np.tan(np.radians(shear))
        forward = scale * np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) \
            @ np.array([[1, s], [0, 1]])
        a, b, c, d, e, f = augmentation.inverse_matrix(
            (h, w), shift=shift, rotate=rotate, shear=shear, scale=scale)
        source = rng.uniform(0, 9, size=(2, 20))             # (x, y) in the input
        output = forward @ (source - centre[:, None]) + (centre + shift)[:, None]
        back = np.array([a * output[0] + b * output[1] + c,
                         d * output[0] + e * output[1] + f])
        np.testing.assert_allclose(back, source, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_an_affine_map_matches_scipys_affine_transform(method):
    """Rotation, shear, zoom and a fractional shift together, against
    ``scipy.ndimage.affine_transform`` (bilinear, zero outside) given the
    same map in its (row, column) coordinates."""
    rng = np.random.default_rng(2)
    x = rng.random((2, 1, 11, 9))
    m = augmentation.inverse_matrix((11, 9), shift=(0.3, -1.2), rotate=23, shear=7,
                                    scale=1.1)
    out = warp(x, one(m, 2), method=method)
    a, b, c, d, e, f = m
    for k in range(2):
        expected = ndimage.affine_transform(x[k, 0], [[e, d], [b, a]], offset=[f, c],
                                            order=1, mode="grid-constant")
        np.testing.assert_allclose(out[k, 0], expected, atol=1e-12)


def reference_warp(images, matrices, fields):
    """Bilinear sampling at M(p + field(p)) + m, zero outside: SciPy's
    map_coordinates, image by image."""
    n, c, h, w = images.shape
    y, x = np.mgrid[0:h, 0:w].astype(float)
    out = np.empty_like(images)
    for k in range(n):
        a, b, cc, d, e, f = matrices[k]
        px, py = x + fields[k, 0], y + fields[k, 1]
        rows, cols = d * px + e * py + f, a * px + b * py + cc
        for ch in range(c):
            out[k, ch] = ndimage.map_coordinates(images[k, ch], [rows, cols], order=1,
                                                 mode="grid-constant")
    return out


@pytest.mark.parametrize("method", METHODS)
def test_displacement_fields_move_each_pixel_by_its_own_amount(images, method):
    rng = np.random.default_rng(3)
    fields = rng.normal(scale=1.5, size=(3, 2, 7, 7)).astype(np.float32)
    matrices = augmentation.inverse_matrix((7, 7), shift=rng.normal(size=(2, 3)),
                                           rotate=rng.normal(scale=20, size=3))
    out = warp(images, matrices, fields, method=method)
    np.testing.assert_allclose(out, reference_warp(images, matrices, fields), atol=2e-6)


#### The elastic field
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape, sigma", [((28, 28), 4.0), ((9, 13), 1.5),
                                          ((5, 6), 3.0)])
def test_elastic_fields_are_scipys_gaussian_filter_of_the_noise(method, shape, sigma):
    """Simard et al.: alpha times uniform noise in [-1, 1) smoothed by a
    Gaussian (reflected at the edges; radius larger than the image too)."""
    noise = np.random.default_rng(4).random((3, 2) + shape, dtype=np.float32)
    fields = elastic_fields(noise, 34.0, sigma, method=method)
    expected = np.stack([[34.0 * ndimage.gaussian_filter(2.0 * f - 1, sigma,
                                                         mode="reflect")
                          for f in image] for image in noise])
    assert fields.dtype == np.float32
    np.testing.assert_allclose(fields, expected, atol=2e-5)


def test_elastic_fields_are_bounded_by_alpha_and_smooth():
    noise = np.random.default_rng(5).random((20, 2, 28, 28), dtype=np.float32)
    alpha, sigma = 34.0, 4.0
    fields = elastic_fields(noise, alpha, sigma)
    assert np.abs(fields).max() <= alpha
    # all-ones noise is the largest field there is: alpha everywhere
    np.testing.assert_allclose(elastic_fields(np.full((1, 2, 8, 8), 1.0, np.float32),
                                              alpha, sigma), alpha, rtol=1e-5)
    # neighbours differ by at most alpha times the total variation of the
    # (1-D) Gaussian, about 0.2 alpha at sigma 4; raw noise by up to 2 alpha
    t = np.arange(-16, 17)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    bound = alpha * np.abs(np.diff(g / g.sum())).sum()
    steps = max(np.abs(np.diff(fields, axis=2)).max(), np.abs(np.diff(fields, axis=3)).max())
    assert steps <= bound * 1.0001 and bound < 0.21 * alpha
    # and it is not zero: the typical displacement is a pixel or two
    assert 0.5 < fields.std() < 3


#### Random transforms
@pytest.mark.parametrize("method", METHODS)
def test_random_transforms_keep_pixels_in_range_and_the_dtype(method, mnist):
    x = mnist[0][0][:200]
    big = Augmentation(shift=3, rotate=30, shear=20, scale=0.2, elastic=(34, 4),
                       method=method)
    out = big.transform(x, (28, 28), rng=1)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out, x)
    assert big.transform(x.astype(np.float64), (28, 28), rng=1).dtype == np.float64


def test_both_methods_give_the_same_images(mnist):
    x = mnist[0][0][:300]
    options = dict(shift=2, rotate=10, shear=10, scale=0.1, elastic=(34, 4))
    ours = Augmentation(**options).transform(x, (28, 28), rng=7)
    scipys = Augmentation(method="scipy", **options).transform(x, (28, 28), rng=7)
    np.testing.assert_allclose(ours, scipys, atol=1e-5)


def test_channels_share_one_transform():
    x = np.random.default_rng(6).random((4, 1, 10, 10)).astype(np.float32)
    both = np.concatenate([x, 2 * x], axis=1).reshape(4, 200)
    out = Augmentation(rotate=30, elastic=(5, 2)).transform(both, (2, 10, 10), rng=2)
    out = out.reshape(4, 2, 10, 10)
    np.testing.assert_allclose(out[:, 1], 2 * out[:, 0], rtol=1e-6, atol=1e-7)


def test_the_same_seed_gives_the_same_images(mnist):
    x = mnist[0][0][:100]
    augment = Augmentation(shift=2, rotate=10, elastic=(34, 4))
    a, b = (augment.transform(x, (28, 28), rng=11) for _ in range(2))
    c = augment.transform(x, (28, 28), rng=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


#### The feed of epochs
def feed(images, epochs, seed=0, augment=None, page=None):
    return EpochFeed(augment or Augmentation(rotate=15, elastic=(10, 3)), images,
                     (1, 28, 28), epochs, seed, page)


def test_a_feed_gives_each_epoch_new_images_and_repeats_with_its_seed(mnist):
    x = mnist[0][0][:5000]        # several chunks; epoch 0 made by two threads
    with feed(x, 3, seed=4) as one, feed(x, 3, seed=4) as two, feed(x, 1, seed=5) as other:
        first = [one.next() for _ in range(3)]
        second = [two.next() for _ in range(3)]
        different = other.next()
        with pytest.raises(RuntimeError, match="all 1 epochs were made"):
            other.next()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], different)
    assert first[0].dtype == np.float32 and first[0].shape == x.shape
    np.testing.assert_array_equal(x, mnist[0][0][:5000])      # the input untouched


def test_a_feed_hands_over_pages_epoch_by_epoch(mnist):
    x = mnist[0][0][:2500]
    with feed(x, 2, seed=3, page=1000) as pages, feed(x, 2, seed=3, page=1000) as again:
        first = [pages.next() for _ in range(6)]
        second = [again.next() for _ in range(6)]
        with pytest.raises(RuntimeError, match="all 2 epochs were made"):
            pages.next()
    assert [len(p) for p in first] == [1000, 1000, 500] * 2
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[3])       # epoch 1 is new


def test_a_feed_started_at_a_later_epoch_makes_that_epochs_images(mnist):
    """A run resumed from a backup at epoch k gets the images epoch k had."""
    x = mnist[0][0][:1500]
    augment = Augmentation(rotate=15, elastic=(10, 3))
    with feed(x, 3, seed=6, page=1000) as whole, EpochFeed(
            augment, x, (1, 28, 28), 3, 6, 1000, first_epoch=2) as resumed:
        pages = [whole.next() for _ in range(6)]
        later = [resumed.next() for _ in range(2)]
        with pytest.raises(RuntimeError, match="all 3 epochs were made"):
            resumed.next()
    for a, b in zip(pages[4:], later):
        np.testing.assert_array_equal(a, b)


def test_a_feed_holds_no_epoch_it_has_handed_over(mnist):
    """Two copies at most: the one handed over (training reads it) and the
    one being made.  Once training lets an epoch go, nothing keeps it."""
    x = mnist[0][0][:3000]
    with feed(x, 4) as epochs:
        gone = []
        for _ in range(4):
            images = epochs.next()
            ref = weakref.ref(images)
            del images
            gc.collect()
            gone.append(ref() is None)
    assert all(gone)


def test_a_feed_says_when_it_is_busy_and_stops_within_a_chunk(mnist):
    x = np.tile(mnist[0][0][:2000], (40, 1))      # 80,000 images: seconds of work
    epochs = feed(x, 2, augment=Augmentation(rotate=10, elastic=(34, 4)))
    assert epochs.busy
    start = time.perf_counter()
    epochs.close()
    assert time.perf_counter() - start < 1.0
    assert not epochs.busy
    assert not [t for t in threading.enumerate() if t.name.startswith("network3-augment")]


def test_an_error_while_making_images_reaches_next(mnist):
    class Broken(Augmentation):
        def _transform_chunk(self, *args):
            raise MemoryError("no room for the images")
    with feed(mnist[0][0][:100], 2, augment=Broken(rotate=5)) as epochs:
        with pytest.raises(MemoryError, match="no room"):
            epochs.next()


#### Bad options
@pytest.mark.parametrize("kwargs, message", [
    (dict(shift=-1), "shift must be a number >= 0, got -1"),
    (dict(rotate=float("nan")), "rotate must be a number >= 0, got nan"),
    (dict(shear=90), "shear must be a number >= 0 and < 90, got 90"),
    (dict(scale=1.0), "scale must be a number >= 0 and < 1, got 1.0"),
    (dict(rotate="10"), "rotate must be a number >= 0, got '10'"),
    (dict(elastic=34), r"elastic must be a pair \(alpha, sigma\) of pixels, got 34"),
    (dict(elastic=(34, 0)), "elastic's sigma .* must be positive, got 0"),
    (dict(elastic=(-1, 4)), "elastic's alpha must be a number >= 0, got -1"),
    (dict(method="opencv"), "method must be one of 'numba', 'scipy', got 'opencv'"),
])
def test_bad_options_are_refused_naming_them(kwargs, message):
    with pytest.raises(ValueError, match="Augmentation: " + message):
        Augmentation(**kwargs)


def test_unknown_options_and_ungridded_images_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'flip'"):
        Augmentation(flip=True)
    augment = Augmentation(rotate=5)
    with pytest.raises(ValueError, match=r"images of 785 values each are not grids "
                                         r"of shape \(1, 28, 28\)"):
        augment.transform(np.zeros((2, 785), np.float32), (28, 28))
    with pytest.raises(ValueError, match="too small to transform"):
        augment.transform(np.zeros((2, 5), np.float32), (5, 1))


def test_repr_names_what_is_on():
    assert repr(Augmentation()) == "Augmentation()"
    assert repr(Augmentation(shift=2, elastic=(34, 4), method="scipy")) == \
        "Augmentation(shift=2.0, elastic=(34.0, 4.0), method='scipy')"
    assert Augmentation(rotate=10) == Augmentation(rotate=10.0)
    assert Augmentation(rotate=10) != Augmentation(rotate=11)
