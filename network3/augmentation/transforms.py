"""augmentation/transforms.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

The transforms as numbers: the inverse affine matrix of a shift, rotation,
shear and zoom (:func:`inverse_matrix`), Simard et al.'s elastic fields
(:func:`elastic_fields`), and the warp that resamples images through both
in one bilinear interpolation (:func:`warp`), as Numba kernels that release
the GIL (or ``scipy.ndimage``'s, ``method="scipy"``).

"""

#### Libraries
# Standard library
import math

# Third-party libraries
import numba
import numpy as np

#: How the images are resampled: ``"numba"`` (our kernels, the default) or
#: ``"scipy"`` (``scipy.ndimage``).
METHODS = ("numba", "scipy")

#: Images transformed per kernel call: the background thread checks for a
#: request to stop between two, and holds a chunk's noise at a time.
CHUNK = 2000

#: The Gaussian that smooths the elastic noise is cut off at this many
#: standard deviations, as ``scipy.ndimage.gaussian_filter`` cuts it by default.
TRUNCATE = 4.0


#### The transforms as numbers
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
