"""shapes.py: the output sizes it predicts are the sizes the NumPy/SciPy
references of a convolution and a pooling give."""

import numpy as np
import pytest

from network3 import shapes

from conftest import reference_conv, reference_pool


@pytest.mark.parametrize("size, kernel, border_mode, subsample, pool, stride, pad", [
    (28, 5, "valid", 1, 2, None, 0), (12, 5, "valid", 1, 2, None, 0),
    (28, 5, "half", 1, 2, 1, 0), (13, 3, "full", 2, 3, 2, 1), (9, 4, 2, 3, 2, 1, 1),
    (10, 3, (1, 2), 1, 3, 2, 0)])
def test_predicted_shapes_are_the_references(size, kernel, border_mode, subsample, pool,
                                             stride, pad):
    image_shape, filter_shape = (2, 1, size, size + 1), (3, 1, kernel, kernel)
    x = np.zeros(image_shape)
    w = np.zeros(filter_shape)
    conv = reference_conv(x, w, border_mode, (subsample, subsample))
    assert shapes.conv_output_shape(image_shape, filter_shape, border_mode,
                                    (subsample, subsample)) == conv.shape[2:]
    pooled = reference_pool(conv, (pool, pool), None if stride is None
                            else (stride, stride), (pad, pad))
    assert shapes.conv_pool_output_shape(
        image_shape, filter_shape, (pool, pool),
        pool_stride=None if stride is None else (stride, stride), pool_pad=(pad, pad),
        border_mode=border_mode, subsample=(subsample, subsample)) == pooled.shape


def test_padding_and_its_errors():
    assert shapes.conv_padding("full", (5, 3)) == (4, 2)
    assert shapes.conv_padding("half", (5, 3)) == (2, 1)
    assert shapes.conv_padding(2, (5, 5)) == (2, 2)
    assert shapes.window_positions(4, 5, 1, 0) == 0


def test_windows_counted_as_theano_counts_them_without_ignore_border():
    # the sizes of Theano's pool_2d docstring: a 5x5 image, 2x2 windows
    assert shapes.window_positions(5, 2, 2, 0, ignore_border=True) == 2
    assert shapes.window_positions(5, 2, 2, 0, ignore_border=False) == 3
    # overlapping windows: a last partial one covers the 6th pixel
    assert shapes.window_positions(6, 3, 2, 0, ignore_border=False) == 3
    # gapped windows: those that start inside the image
    assert shapes.window_positions(5, 2, 3, 0, ignore_border=False) == 2
    # a window larger than the image: one, partial
    assert shapes.window_positions(3, 5, 5, 0, ignore_border=False) == 1
    with pytest.raises(ValueError, match="border_mode must be one of"):
        shapes.conv_padding("same", (3, 3))
    with pytest.raises(ValueError, match="border_mode must be a pair of integers >= 0"):
        shapes.conv_padding((1, -1), (3, 3))
