"""augmentation/feed.py
~~~~~~~~~~~~~~~~~~~~~~~~~

Each epoch's transformed images, made in a background thread one page
ahead of training (:class:`EpochFeed`), so that two pages are all there is
of them, whatever the size of the training set.

"""

#### Libraries
# Standard library
import threading
from concurrent.futures import ThreadPoolExecutor

# Third-party libraries
import numpy as np

# network3
from network3 import config
from network3.augmentation.transforms import CHUNK, image_shape

#: Images per page: SGD trains on an epoch's transformed images a page at a
#: time while the next page is made, so two pages are all there is of them.
PAGE = 10000


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
    first_epoch : int, optional
        The first epoch to make (a run resumed from a backup goes on from
        there; the images of an epoch do not depend on those before).
    """

    def __init__(self, augmentation, images, shape, epochs, seed, page=None,
                 first_epoch=0):
        self.augmentation, self.images, self.epochs = augmentation, images, epochs
        self.shape = image_shape(shape, images.shape[1], "augment")
        self.seed, self.page = seed, max(1, int(page or PAGE))
        self._pages = ((epoch, start) for epoch in range(first_epoch, epochs)
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
