"""augmentation
~~~~~~~~~~~~~~~

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

The transforms themselves are ``transforms.py``'s: Numba loops that
release the GIL, one call per chunk of images, so the background thread
runs beside training; ``method="scipy"`` does the same with
``scipy.ndimage`` (``gaussian_filter`` and ``map_coordinates``), four to
eight times slower (``benchmarks/augmentation.py`` measures both).  The
background thread is ``feed.py``'s.

"""

#### Libraries
# Standard library
import math
import numbers

# Third-party libraries
import numpy as np

# network3
from network3 import seeding
from network3.augmentation.feed import PAGE, EpochFeed
from network3.augmentation.transforms import (
    CHUNK, METHODS, _amounts, _augment, _inverse, elastic_fields, gaussian_weights,
    image_shape, inverse_matrix, warp)

__all__ = ["Augmentation", "EpochFeed", "CHUNK", "METHODS", "PAGE", "elastic_fields",
           "gaussian_weights", "image_shape", "inverse_matrix", "network_image_shape",
           "warp"]


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
    ...         lmbda=0.1, augment=augment)
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


#### The images of a network
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
