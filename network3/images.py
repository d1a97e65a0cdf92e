"""images.py
~~~~~~~~~~~

Your own digit, made to look like MNIST's.

A network trained on MNIST has only ever seen digits prepared one way:
light strokes on a black background, the digit scaled to fit a 20x20 box
(keeping its aspect ratio, with grey levels where the scaling blurred the
edges), then placed in a 28x28 field so that its centre of mass sits in the
middle.  :func:`load_image` prepares any picture of a digit the same way: a
PNG or JPEG of any size, dark on light or light on dark, a photograph of a
digit on paper, or an array (here a one, drawn as a black bar on white paper):

>>> import numpy as np
>>> picture = np.full((60, 40), 255, dtype=np.uint8)
>>> picture[10:50, 18:22] = 0
>>> x = network3.load_image(picture)               # or a file's name
>>> x.shape, float(x.max())
((784,), 1.0)

:func:`as_batch` is how ``Network.predict`` and ``predict_proba`` accept
one image or many, as 784-vectors or 28x28 arrays.

"""

#### Libraries
# Standard library
import os

# Third-party libraries
import numpy as np
from scipy import ndimage

#### Constants
#: MNIST's field and the box its digits are scaled to fit.
FIELD, BOX = 28, 20
#: Pictures with more pixels than this (an 8000x6000 photograph) are refused
#: before they are decoded.
MAX_PIXELS = 50_000_000
#: How far above the noise of the picture's border (its 95th percentile) a
#: pixel must be to count as ink: what is left of a photographed sheet of
#: paper after its grey is taken away is cleared.
NOISE = 2.0
#: The faintest ink that counts when the digit's extent is measured (the
#: faint halo a blurred picture has around its strokes does not).
EXTENT = 0.2


#### Reading a picture
def load_image(image, *, max_pixels=MAX_PIXELS):
    """A picture of one digit as an MNIST-like image.

    Parameters
    ----------
    image : str or path or binary file or array-like
        A file Pillow can read (PNG, JPEG, ...), by name or opened for
        reading in binary (``io.BytesIO(data)`` for bytes received), or an
        array: grey levels of shape (height, width), or colours of shape
        (height, width, 3 or 4); integers in 0..255 or floats in [0, 1].
    max_pixels : int, optional
        A file with more pixels than this is refused before it is decoded
        (a server can keep it well below :data:`MAX_PIXELS`).

    Returns
    -------
    numpy.ndarray of float32, shape (784,)
        The digit as MNIST has its digits: ink as values up to 1 on a
        background of 0, the digit scaled (aspect ratio kept) to fit 20x20
        and centred by its centre of mass in 28x28, row by row.  It goes to
        ``net.predict`` as it is.

    Raises
    ------
    ValueError
        If ``image`` is not an image (not a file Pillow reads, empty, of
        another shape), has more than ``max_pixels`` pixels, or shows nothing
        (every pixel the same).

    Notes
    -----
    Which of light and dark is the ink is decided by the picture's border,
    taken to be background.  The background's grey level is taken away and
    the strokes stretched to reach 1, so that the grey of a photographed
    sheet of paper becomes MNIST's black.
    """
    grey = _grey(image, max_pixels)
    ink = _ink(grey)
    return _fit(ink).reshape(FIELD * FIELD).astype(np.float32)


def _grey(image, max_pixels):
    """Grey levels in [0, 1] (0 black, 1 white) of ``image``, shape (h, w)."""
    if isinstance(image, (str, bytes, os.PathLike)) or hasattr(image, "read"):
        return _read(image, max_pixels)
    array = np.asarray(image)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise ValueError("load_image: image must be a file name or an array of "
                         "numbers, got {0}".format(type(image).__name__))
    integers = np.issubdtype(array.dtype, np.integer)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        # the luma of ITU-R 601, as Pillow's convert("L"); alpha ignored
        array = array[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError("load_image: an array must have shape (height, width) or "
                         "(height, width, 3 or 4), got shape {0}".format(np.shape(image)))
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("load_image: the array holds NaN or infinite values")
    if integers:
        if array.min() < 0 or array.max() > 255:
            raise ValueError("load_image: an integer array must hold values in 0..255, "
                             "got values in [{0:g}, {1:g}]".format(array.min(), array.max()))
        return array / 255.0
    if array.min() < 0 or array.max() > 1:
        raise ValueError("load_image: a float array must hold values in [0, 1] "
                         "(or use integers 0..255), got values in [{0:.3g}, {1:.3g}]"
                         .format(array.min(), array.max()))
    return array


def _read(source, max_pixels):
    """Grey levels of the picture in ``source``, a file's name or a binary
    file object (a transparent background counts as white paper)."""
    from PIL import Image, UnidentifiedImageError
    if hasattr(source, "read"):
        name = "the picture"
        empty = not source.read(1)
        source.seek(0)
    else:
        name = repr(os.fspath(source))
        if not os.path.isfile(source):
            raise ValueError("load_image: no such file {0}".format(name))
        empty = os.path.getsize(source) == 0
    if empty:
        raise ValueError("load_image: {0} is empty".format(name))
    try:
        with Image.open(source) as picture:
            width, height = picture.size
            if width * height > max_pixels:
                raise ValueError(
                    "load_image: {0} has {1}x{2} pixels, more than the {3:,} a "
                    "digit needs; scale it down first".format(
                        name, width, height, max_pixels))
            picture = picture.convert("RGBA")
            paper = Image.new("RGBA", picture.size, "white")
            grey = Image.alpha_composite(paper, picture).convert("L")
            return np.asarray(grey, dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        if isinstance(e, UnidentifiedImageError):   # its text names the file object
            e = "its first bytes are no kind of picture Pillow knows"
        raise ValueError("load_image: {0} is not an image Pillow can read (PNG, "
                         "JPEG, ...): {1}".format(name, e)) from None


#### From grey levels to ink
def _ink(grey):
    """Ink in [0, 1] on a background of 0: the picture inverted when its
    border is light, the background's level taken away, strokes stretched
    to 1, and what is left of the paper (:data:`NOISE`) cleared."""
    def border(array):
        return np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    background = np.median(border(grey))
    ink = grey - background if background < 0.5 else background - grey
    darkest = ink.max()
    if darkest <= 0:
        raise ValueError("load_image: the image shows nothing: every pixel is as "
                         "light or dark as its border")
    ink = np.clip(ink / darkest, 0.0, 1.0)
    ink[ink <= NOISE * np.percentile(border(ink), 95)] = 0.0
    return ink


def _fit(ink):
    """``ink`` cropped to the digit, scaled to fit 20x20 keeping the aspect
    ratio, and placed in 28x28 with its centre of mass in the middle."""
    rows, cols = np.nonzero(ink > EXTENT)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = BOX / max(ink.shape)
    size = tuple(max(1, int(round(side * scale))) for side in ink.shape)
    digit = _resize(ink, size)
    field = np.zeros((FIELD, FIELD))
    top, left = ((FIELD - side) // 2 for side in size)
    field[top:top + size[0], left:left + size[1]] = digit
    # move the centre of mass to pixel (14, 14), by whole pixels (as MNIST's
    # digits were), as far as the field allows
    centre = ndimage.center_of_mass(field)
    (down, right) = (int(round(FIELD // 2 - c)) for c in centre)
    down = int(np.clip(down, -top, FIELD - top - size[0]))
    right = int(np.clip(right, -left, FIELD - left - size[1]))
    return np.roll(field, (down, right), axis=(0, 1))


def _resize(ink, size):
    """``ink`` resampled to ``size`` (rows, columns), anti-aliased: a box
    filter when shrinking, as a scanner averages, bilinear when enlarging;
    the strongest stroke stays at 1."""
    from PIL import Image
    picture = Image.fromarray(ink.astype(np.float32), mode="F")
    shrinking = size[0] < ink.shape[0] or size[1] < ink.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    digit = np.asarray(picture.resize(size[::-1], method), dtype=np.float64)
    digit = np.clip(digit, 0.0, None)
    return digit / digit.max() if digit.max() > 0 else digit


#### One image or many
def as_batch(images, input_size, dtype):
    """``images`` as a C-contiguous ``dtype`` array of shape (n, input_size),
    and whether it was one image.

    One image is a vector of ``input_size`` values or a 2-d array of that
    many (28x28 for MNIST); many are an array of shape (n, input_size) or
    (n, height, width) with height*width == input_size.
    """
    array = np.asarray(images)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise ValueError("images: expected numbers (an array of images), got {0}".format(
            type(images).__name__))
    shape = array.shape
    if array.ndim == 1 and shape[0] == input_size:
        array, one = array.reshape(1, input_size), True
    elif array.ndim == 2 and shape[1] != input_size and shape[0] * shape[1] == input_size:
        array, one = array.reshape(1, input_size), True
    elif array.ndim == 2 and shape[1] == input_size:
        one = False
    elif array.ndim == 3 and shape[1] * shape[2] == input_size:
        array, one = array.reshape(shape[0], input_size), False
    else:
        raise ValueError(
            "images: expected one image ({0} values, or a 2-d array of {0} such as "
            "28x28) or many (shape (n, {0}) or (n, height, width)), got shape {1}"
            .format(input_size, shape))
    return np.ascontiguousarray(array, dtype=dtype), one
