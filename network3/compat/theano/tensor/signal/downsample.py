"""compat/theano/tensor/signal/downsample.py
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

``theano.tensor.signal.downsample``: Theano 0.8's name for pooling,
``max_pool_2d(input, ds, ignore_border, st, padding, mode)``, which the
chapter's ``network3.py`` calls.

"""

from network3.compat.theano.tensor.signal import pool


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """Theano 0.8's ``max_pool_2d``: :func:`pool.pool_2d` with window ``ds``,
    stride ``st`` and padding ``padding`` (and its warning when
    ``ignore_border`` is not given)."""
    return pool.pool_checked("max_pool_2d", input, ds, ignore_border, st, padding, mode)
