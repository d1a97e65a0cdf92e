"""augmentation.py
~~~~~~~~~~~~~~~~~~~

Training-data augmentation on the fly: every epoch trains on a fresh,
randomly transformed copy of the training images.

Chapter 6 expands MNIST by one-pixel shifts written to disk (``network3
expand``: 250,000 images), and asks the reader to add small rotations,
skews and translations, noting that the whole expanded set would not fit in
memory.  This is the other approach: :class:`Augmentation` says which random
transforms to apply, and ``Network.SGD(..., augment=Augmentation(...))``
trains each epoch on a new copy, made in a background thread a page at a
time while the page before it trains (:class:`EpochFeed`), so that at most
two pages (of ``PAGE`` = 10,000 images) exist at any time, whatever the
size of the training set.

The transforms, all about the image's centre, in pixels and degrees:

* ``shift``: a translation of up to ``shift`` pixels along each axis;
* ``rotate``: a rotation by up to ``rotate`` degrees either way
  (counter-clockwise as the image is drawn, for a positive angle);
* ``shear``: a horizontal shear by up to ``shear`` degrees (the image's
  vertical lines lean by that angle);
* ``scale``: a zoom by a factor between ``1 - scale`` and ``1 + scale``;
* ``elastic=(alpha, sigma)``: the elastic distortion of Simard, Steinkraus
  and Platt (2003), the chapter's reference for expanding MNIST: each pixel
  is displaced by ``alpha`` times a field of uniform noise in [-1, 1]
  smoothed by a Gaussian of standard deviation ``sigma`` pixels (so no
  displacement is larger than ``alpha``).

Each image draws its own amounts, uniformly in those ranges.  The output
pixel at ``p`` takes the value of the input at ``M(p + e(p)) + m``, where
``e`` is the elastic displacement and ``M``, ``m`` undo the affine part
(shear, then rotation, then zoom, then shift); the value is interpolated
bilinearly between the four nearest pixels, with zeros outside the image.
So the affine part is applied first and the elastic distortion to its
result, in a single interpolation, and every output pixel is a weighted
mean of input pixels and zeros: MNIST's pixels stay in [0, 1].

The kernels are Numba loops that release the GIL, one call per chunk of
images, so the background thread runs beside training; ``method="scipy"``
does the same with ``scipy.ndimage`` (``gaussian_filter`` and
``map_coordinates``), four to eight times slower
(``benchmarks/augmentation.py`` measures both).

"""

#### Libraries
# Standard library
import math
import numbers
import threading
from concurrent.futures import ThreadPoolExecutor

# Third-party libraries
import numba
import numpy as np

# network3
from network3 import config, seeding

#: How the images are resampled: ``"numba"`` (our kernels, the default) or
#: ``"scipy"`` (``scipy.ndimage``).
METHODS = ("numba", "scipy")

#: Images transformed per kernel call: the background thread checks for a
#: request to stop between two, and holds a chunk's noise at a time.
CHUNK = 2000

#: Images per page: SGD trains on an epoch's transformed images a page at a
#: time while the next page is made, so two pages are all there is of them.
PAGE = 10000

#: The Gaussian that smooths the elastic noise is cut off at this many
#: standard deviations, as ``scipy.ndimage.gaussian_filter`` cuts it by default.
TRUNCATE = 4.0


#### Which transforms
class Augmentation(object):
    """Random transforms of the training images, drawn afresh for every
    image of every epoch (see the module's docstring for what each does).

    Parameters
    ----------
    shift : float, optional
        Largest translation along each axis, in pixels (default 0: none).
    rotate : float, optional
        Largest rotation either way, in degrees (default 0).
    shear : float, optional
        Largest horizontal shear either way, in degrees, below 90 (default 0).
    scale : float, optional
        Largest relative zoom, in [0, 1): the factor is drawn from
        ``[1 - scale, 1 + scale]`` (default 0).
    elastic : pair of float, optional
        ``(alpha, sigma)``: Simard et al.'s elastic distortion, displacements
        of at most ``alpha`` pixels smoothed over ``sigma`` pixels (they used
        alpha=34, sigma=4 on MNIST).  Default None: none.
    method : {"numba", "scipy"}, optional
        Our kernels (default), or ``scipy.ndimage``'s: the same transforms.

    Examples
    --------
    >>> augment = Augmentation(shift=2, rotate=10, shear=10, elastic=(34, 4))
    >>> net.SGD(training_data, 60, 10, 0.03, validation_data, test_data,
    ...         lmbda=0.1, augment=augment)                   # doctest: +SKIP
    """

    def __init__(self, *, shift=0.0, rotate=0.0, shear=0.0, scale=0.0, elastic=None,
                 method="numba"):
        self.shift = _range("shift", shift)
        self.rotate = _range("rotate", rotate)
        self.shear = _range("shear", shear, below=90.0)
        self.scale = _range("scale", scale, below=1.0)
        if elastic is None:
            self.elastic = None
        else:
            if isinstance(elastic, (str, bytes)) or not hasattr(elastic, "__len__") \
                    or len(elastic) != 2:
                raise ValueError("Augmentation: elastic must be a pair (alpha, sigma) "
                                 "of pixels, got {0!r}".format(elastic))
            alpha = _range("elastic's alpha", elastic[0])
            sigma = _range("elastic's sigma", elastic[1])
            if sigma <= 0:
                raise ValueError("Augmentation: elastic's sigma (the smoothing, in "
                                 "pixels) must be positive, got {0!r}".format(
                                     elastic[1]))
            self.elastic = (alpha, sigma)
        if method not in METHODS:
            raise ValueError("Augmentation: method must be one of {0}, got {1!r}".format(
                ", ".join(repr(m) for m in METHODS), method))
        self.method = method

    def __repr__(self):
        options = ["{0}={1!r}".format(name, getattr(self, name))
                   for name in ("shift", "rotate", "shear", "scale", "elastic")
                   if getattr(self, name)]
        if self.method != "numba":
            options.append("method={0!r}".format(self.method))
        return "Augmentation({0})".format(", ".join(options))

    def __eq__(self, other):
        return isinstance(other, Augmentation) and vars(self) == vars(other)

    def __hash__(self):
        return hash(tuple(sorted(vars(self).items())))

    def transform(self, images, shape, rng=None):
        """A randomly transformed copy of ``images``.

        Parameters
        ----------
        images : ndarray, shape (n, channels*height*width)
            Images as rows, as the data sets hold them (float32 or float64).
        shape : tuple
            ``(height, width)`` or ``(channels, height, width)`` of one image;
            every channel gets the same transform.
        rng : numpy.random.Generator or int, optional
            Where the random amounts come from (default: network3's
            generator, see ``network3.seed``).

        Returns
        -------
        ndarray of the same shape and dtype.
        """
        shape = image_shape(shape, images.shape[1], "Augmentation.transform")
        rng = seeding.get_rng(rng)
        out = np.empty_like(images)
        for start in range(0, len(images), CHUNK):
            self._transform_chunk(images[start:start + CHUNK], shape, rng,
                                  out[start:start + CHUNK])
        return out

    def _transform_chunk(self, images, shape, rng, out):
        """Transform ``images`` (rows) into ``out``, drawing from ``rng``.

        One draw of uniform numbers in [0, 1) per chunk: five per image for
        the affine amounts, then (with ``elastic``) two fields of noise.  The
        Numba method then does the rest in one call without the GIL.
        """
        m, (c, h, w) = len(images), shape
        fields = 2 * h * w if self.elastic is not None else 0
        u = rng.random(m * (5 + fields), dtype=np.float32)
        amounts = u[:5 * m].reshape(m, 5)
        noise = u[5 * m:].reshape(m, fields // (h * w), h, w)
        images, out = images.reshape(m, c, h, w), out.reshape(m, c, h, w)
        alpha, sigma = self.elastic or (0.0, 1.0)
        ranges = np.array([self.shift, self.rotate, self.shear, self.scale])
        if self.method == "numba":
            _augment(images, amounts, ranges, noise, gaussian_weights(sigma),
                     np.float32(alpha), out)
            return
        matrices = np.array([_inverse(h, w, *_amounts(row, ranges)) for row in amounts])
        warp(images, matrices, elastic_fields(noise, alpha, sigma, method="scipy")
             if fields else None, method="scipy", out=out)


def _range(name, value, below=None):
    """``value`` checked as a non-negative number (less than ``below``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0 \
            or (below is not None and value >= below):
        raise ValueError("Augmentation: {0} must be a number >= 0{1}, got {2!r}".format(
            name, "" if below is None else " and < {0:g}".format(below), value))
    return float(value)


def image_shape(shape, size, where):
    """``shape`` as (channels, height, width), checked against images of
    ``size`` values each; raise ValueError naming ``where`` if they do not fit."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 or min(shape) < 1 or int(np.prod(shape)) != size:
        raise ValueError(
            "{0}: images of {1} values each are not grids of shape {2}; give "
            "(height, width) or (channels, height, width)".format(where, size, shape))
    if min(shape[1:]) < 2:
        raise ValueError("{0}: images of shape {1} are too small to transform (at "
                         "least 2x2 pixels)".format(where, shape))
    return shape


#### The transforms as numbers
def network_image_shape(layers, size):
    """The (channels, height, width) of a network's input images of ``size``
    values, for ``SGD(augment=...)``: the first layer's ``image_shape``, or a
    square of one channel."""
    shape = getattr(layers[0], "image_shape", None)
    if shape is not None:
        return image_shape(shape[1:], size, "SGD: augment")
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(
            "SGD: augment transforms square images (or those a first ConvPoolLayer's "
            "image_shape describes), but these have {0} values each".format(size))
    return image_shape((side, side), size, "SGD: augment")


def inverse_matrix(shape, shift=(0.0, 0.0), rotate=0.0, shear=0.0, scale=1.0):
    """Where each output pixel of an affine transform comes from.

    The transform, about the centre of an image of ``shape`` (height,
    width): a horizontal shear by ``shear`` degrees, a rotation by
    ``rotate`` degrees (counter-clockwise as drawn), a zoom by ``scale``,
    then a shift by ``shift`` = (x, y) pixels (right, down).  Each amount
    may be an array, for one transform per entry.

    Returns
    -------
    ndarray, shape (..., 6)
        ``(a, b, c, d, e, f)``: output pixel (row y, column x) takes its value
        from the input at column ``a*x + b*y + c``, row ``d*x + e*y + f``.
    """
    amounts = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in
                                    (shift[0], shift[1], rotate, shear, scale)))
    rows = [_inverse(shape[0], shape[1], *values)
            for values in zip(*(a.ravel() for a in amounts))]
    return np.array(rows, dtype=float).reshape(amounts[0].shape + (6,))


def gaussian_weights(sigma):
    """The normalised Gaussian of standard deviation ``sigma``, cut off at
    ``TRUNCATE`` sigmas (as ``scipy.ndimage.gaussian_filter`` does)."""
    radius = int(TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=float)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    return (weights / weights.sum()).astype(np.float32)


def elastic_fields(noise, alpha, sigma, method="numba"):
    """Simard et al.'s displacement fields from uniform noise.

    Parameters
    ----------
    noise : ndarray of float32, shape (n, 2, height, width)
        Uniform in [0, 1): two fields (x and y displacements) per image.
    alpha, sigma : float
        The fields are ``alpha`` times the noise, moved to [-1, 1) and
        smoothed by a Gaussian of ``sigma`` pixels (reflected at the edges).
    method : {"numba", "scipy"}, optional

    Returns
    -------
    ndarray of float32, the same shape: displacements in pixels, each at most
    ``alpha`` in size.
    """
    if method == "scipy":
        from scipy import ndimage
        return (alpha * ndimage.gaussian_filter(
            2 * noise - 1, sigma=(0, 0, sigma, sigma), mode="reflect",
            truncate=TRUNCATE)).astype(np.float32)
    out = np.empty(noise.shape, dtype=np.float32)
    _smooth(noise, gaussian_weights(sigma), np.float32(alpha), out)
    return out


def warp(images, matrices, fields=None, method="numba", out=None):
    """Resample ``images`` through affine transforms and displacement fields.

    Parameters
    ----------
    images : ndarray, shape (n, channels, height, width)
    matrices : ndarray, shape (n, 6)
        Rows of :func:`inverse_matrix`.
    fields : ndarray, shape (n, 2, height, width), optional
        x and y displacements of the output pixels (:func:`elastic_fields`),
        added before the affine map: output pixel p takes the input's value
        at ``M(p + field(p)) + m``, bilinearly interpolated, zero outside.
    method : {"numba", "scipy"}, optional
    out : ndarray like ``images``, optional
        Where to write the result.

    Returns
    -------
    ndarray like ``images``.
    """
    if out is None:
        out = np.empty_like(images)
    n, c, h, w = images.shape
    matrices = np.ascontiguousarray(matrices, dtype=np.float64)
    if method == "scipy":
        _warp_scipy(images, matrices, fields, out)
    else:
        if fields is None:
            fields = np.zeros((n, 0, h, w), dtype=np.float32)
        _warp(images, matrices, fields, out)
    return out


def _warp_scipy(images, matrices, fields, out):
    """:func:`warp` by ``scipy.ndimage.map_coordinates``, one call a channel."""
    from scipy import ndimage
    n, c, h, w = images.shape
    y, x = np.mgrid[0:h, 0:w].astype(float)
    x, y = np.broadcast_to(x, (n, h, w)), np.broadcast_to(y, (n, h, w))
    if fields is not None:
        x, y = x + fields[:, 0], y + fields[:, 1]
    m = matrices[:, :, None, None]
    source_x = m[:, 0] * x + m[:, 1] * y + m[:, 2]
    source_y = m[:, 3] * x + m[:, 4] * y + m[:, 5]
    index = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], (n, h, w))
    for channel in range(c):
        # the image index is a whole number: interpolation reads only that image
        out[:, channel] = ndimage.map_coordinates(
            images[:, channel], [index, source_y, source_x], order=1,
            mode="grid-constant", cval=0.0)


#### The kernels
# Plain loops, compiled once and cached on disk by Numba.  ``nogil`` lets
# the background thread run them beside the training step (which holds the
# GIL); :func:`_augment` does a chunk of images in one call, since every
# time the thread needs the GIL back it may wait for the training thread.
@numba.njit(nogil=True, cache=True)
def _augment(images, amounts, ranges, noise, weights, alpha, out):
    """Transform ``images`` (n, c, h, w) into ``out``: image k by the amounts
    ``amounts[k]`` (uniform in [0, 1)) of ``ranges``, and by the elastic
    field smoothed from ``noise[k]`` (if ``noise`` has fields)."""
    n, c, h, w = images.shape
    field = np.empty((noise.shape[1], h, w), dtype=np.float32)
    scratch = _smoothing_scratch(h, w, len(weights))
    for k in range(n):
        matrix = _inverse(h, w, *_amounts(amounts[k], ranges))
        if noise.shape[1]:
            _smooth_one(noise[k], weights, alpha, field, scratch)
        _warp_one(images[k], matrix, field, out[k])


@numba.njit(nogil=True, cache=True)
def _smooth(noise, weights, alpha, out):          # (n, 2, h, w) each
    n, fields, h, w = noise.shape
    scratch = _smoothing_scratch(h, w, len(weights))
    for k in range(n):
        _smooth_one(noise[k], weights, alpha, out[k], scratch)


@numba.njit(nogil=True, cache=True)
def _warp(images, matrices, fields, out):
    for k in range(images.shape[0]):
        m = matrices[k]
        _warp_one(images[k], (m[0], m[1], m[2], m[3], m[4], m[5]), fields[k], out[k])


@numba.njit(nogil=True, cache=True)
def _amounts(u, ranges):
    """One image's shift (x, y), rotation, shear and zoom, from five
    uniform numbers in [0, 1) and the ranges (shift, rotate, shear, scale)."""
    return (ranges[0] * (2 * u[0] - 1), ranges[0] * (2 * u[1] - 1),
            ranges[1] * (2 * u[2] - 1), ranges[2] * (2 * u[3] - 1),
            1 + ranges[3] * (2 * u[4] - 1))


@numba.njit(nogil=True, cache=True)
def _inverse(h, w, tx, ty, rotate, shear, scale):
    """:func:`inverse_matrix` of one transform, as a 6-tuple."""
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    theta, phi = math.radians(rotate), math.radians(shear)
    cos, sin, tan = math.cos(theta), math.sin(theta), math.tan(phi)
    # forward: shear [[1, tan], [0, 1]], then rotate [[cos, sin], [-sin, cos]]
    # (x right, y down), then zoom; its inverse is unshear @ unrotate / scale
    a, b = (cos - tan * sin) / scale, (-sin - tan * cos) / scale
    d, e = sin / scale, cos / scale
    # input = M @ (output - centre - shift) + centre
    ox, oy = cx + tx, cy + ty
    return a, b, cx - a * ox - b * oy, d, e, cy - d * ox - e * oy


@numba.njit(nogil=True, cache=True)
def _warp_one(image, matrix, field, out):       # (c, h, w), 6-tuple, (0 or 2, h, w)
    channels, h, w = image.shape
    a, b, c, d, e, f = matrix
    elastic = field.shape[0] > 0
    for i in range(h):
        for j in range(w):
            x, y = float(j), float(i)
            if elastic:
                x += field[0, i, j]
                y += field[1, i, j]
            sx = a * x + b * y + c
            sy = d * x + e * y + f
            x0, y0 = math.floor(sx), math.floor(sy)
            fx, fy = sx - x0, sy - y0
            x0, y0 = int(x0), int(y0)
            # the four neighbours' weights; those outside the image read 0
            w00, w01 = (1 - fy) * (1 - fx), (1 - fy) * fx
            w10, w11 = fy * (1 - fx), fy * fx
            in_x0, in_x1 = 0 <= x0 < w, 0 <= x0 + 1 < w
            in_y0, in_y1 = 0 <= y0 < h, 0 <= y0 + 1 < h
            for ch in range(channels):
                value = 0.0
                if in_y0 and in_x0:
                    value += w00 * image[ch, y0, x0]
                if in_y0 and in_x1:
                    value += w01 * image[ch, y0, x0 + 1]
                if in_y1 and in_x0:
                    value += w10 * image[ch, y0 + 1, x0]
                if in_y1 and in_x1:
                    value += w11 * image[ch, y0 + 1, x0 + 1]
                out[ch, i, j] = value


@numba.njit(nogil=True, cache=True)
def _smoothing_scratch(h, w, taps):
    """Buffers for :func:`_smooth_one`: reflected row and column indices,
    a padded image, the same transposed, and a smoothed image."""
    radius = (taps - 1) // 2
    return (_reflected(h, radius), _reflected(w, radius),
            np.empty((h + 2 * radius) * w, dtype=np.float32),
            np.empty((w + 2 * radius) * h, dtype=np.float32),
            np.empty(h * w, dtype=np.float32))


@numba.njit(nogil=True, cache=True)
def _reflected(size, radius):
    """Row ``k`` of a copy padded by ``radius`` rows reflected each side
    ("d c b a | a b c d | d c b a") is row ``index[k]`` of the original."""
    index = np.empty(size + 2 * radius, dtype=np.int64)
    for k in range(len(index)):
        j = (k - radius) % (2 * size)
        index[k] = j if j < size else 2 * size - 1 - j
    return index


@numba.njit(nogil=True, cache=True)
def _smooth_one(noise, weights, alpha, out, scratch):     # (fields, h, w) each
    down, across, padded, padded_t, smooth = scratch
    fields, h, w = noise.shape
    radius = (len(weights) - 1) // 2
    # Smooth down the columns, then (transposed) along the rows.  Each pass
    # reads a copy with reflected rows above and below, so that for each
    # weight it is one long, contiguous multiply-add over the whole image.
    for f in range(fields):
        for i in range(h + 2 * radius):
            for j in range(w):
                padded[i * w + j] = 2 * noise[f, down[i], j] - 1
        _weighted_sum(padded, weights, w, smooth)
        for j in range(w + 2 * radius):          # transposed, padded
            for i in range(h):
                padded_t[j * h + i] = smooth[i * w + across[j]]
        _weighted_sum(padded_t, weights, h, smooth)     # now (w, h)
        for i in range(h):
            for j in range(w):
                out[f, i, j] = alpha * smooth[j * h + i]


@numba.njit(nogil=True, cache=True)
def _weighted_sum(padded, weights, row, out):
    """``out`` = the sum over t of ``weights[t]`` times ``padded`` from its
    row t on (rows of ``row`` values): a padded image's columns smoothed."""
    size = len(out)
    for q in range(size):
        out[q] = 0
    for t in range(len(weights)):
        wt = weights[t]
        # (a slice, indexed from 0: Numba then vectorises the loop)
        rows = padded[t * row:t * row + size]
        for q in range(size):
            out[q] += wt * rows[q]


#### Epochs made in the background
class EpochFeed(object):
    """The training images of each epoch, transformed by ``augmentation``
    in a background thread, handed over a page at a time, one page ahead.

    :meth:`next` returns the next page (of ``page`` images; an epoch's last
    page may be shorter), waiting for it if it is not ready, and starts
    making the one after, so at most two pages of transformed images exist
    at once: the one training reads and the one being made.  The first page,
    made while nothing trains yet, is made by two threads.  The chunk of
    images from number j on in epoch k draws from a generator seeded by
    ``(seed, k, j)``: the same seed gives the same images, whatever the
    timing.  :meth:`close` stops the threads (within a chunk of images); the
    feed is also a context manager.

    Parameters
    ----------
    augmentation : Augmentation
    images : ndarray, shape (n, pixels)
        The training images; never changed.
    shape : tuple
        One image's (channels, height, width).
    epochs : int
        How many epochs will be asked for (no page is made beyond).
    seed : int
    page : int, optional
        Images per page (default ``PAGE``; SGD makes it a whole number of
        mini-batches).
    """

    def __init__(self, augmentation, images, shape, epochs, seed, page=None):
        self.augmentation, self.images, self.epochs = augmentation, images, epochs
        self.shape = image_shape(shape, images.shape[1], "augment")
        self.seed, self.page = seed, max(1, int(page or PAGE))
        self._pages = ((epoch, start) for epoch in range(epochs)
                       for start in range(0, len(images), self.page))
        self._cancel = threading.Event()
        self._executor = ThreadPoolExecutor(2, thread_name_prefix="network3-augment")
        self._pending = self._start(threads=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def _start(self, threads=1):
        """Start making the next page: (its array, the futures), or None."""
        epoch, first = next(self._pages, (None, None))
        if epoch is None:
            return None
        images = self.images[first:first + self.page]
        out = np.empty(images.shape, dtype=config.floatX)
        chunks = range(0, len(out), CHUNK)
        return out, [self._executor.submit(self._make, epoch, first, images, out,
                                           chunks[t::threads]) for t in range(threads)]

    def _make(self, epoch, first, images, out, starts):
        for start in starts:
            if self._cancel.is_set():
                return
            rng = np.random.default_rng((self.seed, epoch, first + start))
            self.augmentation._transform_chunk(images[start:start + CHUNK], self.shape,
                                               rng, out[start:start + CHUNK])

    @property
    def busy(self):
        """Whether images are being made now."""
        return self._pending is not None and not all(
            future.done() for future in self._pending[1])

    def next(self):
        """The next page of transformed images (epoch by epoch, in order)."""
        if self._pending is None:
            raise RuntimeError("EpochFeed: all {0} epochs were made".format(self.epochs))
        images, futures = self._pending
        self._pending = None
        for future in futures:
            future.result()          # (raises what the thread raised)
        self._pending = self._start()
        return images

    def close(self):
        """Stop making images and let the threads end."""
        self._cancel.set()
        self._pending = None
        self._executor.shutdown(wait=True, cancel_futures=True)
