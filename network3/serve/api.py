"""serve/api.py
~~~~~~~~~~~~~~~

What the draw-a-digit page asks of a trained network, apart from HTTP:
``POST /api/predict`` (a picture in, the net's answer out) and
``GET /api/model`` (what the net is), as dictionaries ready for JSON.

A picture is prepared by ``network3.load_image`` and nothing else: the
page sends the file (its canvas as a PNG, or the picture the learner
uploaded) and the server answers what ``net.predict`` and
``net.predict_proba`` say of ``load_image`` of that file, with the 28x28
image they were given.

"""

#### Libraries
# Standard library
import io
import threading

# Third-party libraries
import numpy as np

# network3
from network3.images import FIELD, load_image
from network3.layers import ConvPoolLayer

#### Limits
#: The most bytes a picture may have (a phone's photograph of a digit fits).
MAX_BYTES = 5 * 1024 * 1024
#: Pictures with more pixels than this are refused before they are decoded:
#: a 16-megapixel photograph takes about half a gigabyte to prepare.
MAX_PIXELS = 16_000_000


class RequestError(Exception):
    """A request the API refuses: ``status``, HTTP's status code, and a
    message saying why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


#### The model behind the page
class Model:
    """A trained network answering the page.

    Parameters
    ----------
    net : network3.Network
        A network taking 28x28 images (784 values), as ``load_image``
        prepares them.
    name : str
        The model file's name, shown on the page.

    Raises
    ------
    ValueError
        If ``net``'s first layer takes another number of values.

    Notes
    -----
    Requests are answered one at a time, a picture being prepared and
    classified in a few milliseconds: a compiled PyTensor function is not
    safe to call from two threads at once, and one picture at a time bounds
    the memory preparing large ones takes.  The prediction functions are
    compiled here, so the first stroke is answered as fast as the others.
    """

    def __init__(self, net, name):
        size = net.layers[0].input_size
        if size != FIELD * FIELD:
            raise ValueError(
                "serve: the page gives the net {0}x{0} images ({1} values), but {2}'s "
                "first layer takes {3} values per image".format(FIELD, FIELD * FIELD,
                                                                name, size))
        self.net, self.name = net, name
        self.has_feature_maps = isinstance(net.layers[0], ConvPoolLayer)
        self._lock = threading.Lock()
        with self._lock:
            self._answer(np.zeros(FIELD * FIELD, dtype=np.float32))

    def describe(self):
        """``GET /api/model``: the file's name, the network and its layers
        as ``repr`` shows them, how many classes it tells apart, and the
        shape of its first layer's feature maps (maps, height, width), or
        None when it does not start with a ConvPool layer."""
        first = self.net.layers[0]
        return {"file": self.name, "network": repr(self.net),
                "layers": [repr(layer) for layer in self.net.layers],
                "classes": int(self.net.layers[-1].output_size),
                "feature_maps": list(first.output_shape[1:]) if self.has_feature_maps
                else None}

    def predict(self, body):
        """``POST /api/predict``: the answer for the picture whose file is
        ``body`` (bytes of a PNG, JPEG, ...).

        Returns
        -------
        dict
            ``digit``: what ``net.predict`` says; ``probabilities``: what
            ``net.predict_proba`` says (one per class); ``prepared``: the
            28x28 image they were given (``load_image``'s), rows of values
            in [0, 1]; ``feature_maps``: the first layer's output for it,
            (maps, height, width) nested lists, or None when the net does
            not start with a ConvPool layer.

        Raises
        ------
        RequestError
            413 if ``body`` has more than :data:`MAX_BYTES` bytes; 400 if it
            is not a picture ``load_image`` reads, has more than
            :data:`MAX_PIXELS` pixels, or shows nothing.
        """
        if len(body) > MAX_BYTES:
            raise RequestError(413, "the picture has {0:,} bytes; at most {1:,} are taken"
                               .format(len(body), MAX_BYTES))
        with self._lock:
            try:
                image = load_image(io.BytesIO(body), max_pixels=MAX_PIXELS)
            except ValueError as error:
                raise RequestError(400, str(error)) from None
            return self._answer(image)

    def _answer(self, image):
        """The answer for ``image``, a prepared 784-vector (the lock held)."""
        probabilities = self.net.predict_proba(image)
        maps = self.net.layer_output(image, 0) if self.has_feature_maps else None
        return {"digit": self.net.predict(image),
                "probabilities": probabilities.tolist(),
                "prepared": image.reshape(FIELD, FIELD).tolist(),
                "feature_maps": None if maps is None else maps.tolist()}
