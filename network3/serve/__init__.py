"""serve
~~~~~

Draw a digit and watch the net answer: ``network3 serve MODEL.npz``.

A trained network behind a page in the browser.  The learner draws a digit
(mouse, pen or finger) or uploads a picture of one; the page shows the
28x28 image the net actually sees, the ten probabilities as bars, the digit
it picks and, for a net that starts with a ConvPool layer, that layer's
feature maps, updated as the strokes go down.

* :mod:`network3.serve.api`: what the page asks for, apart from HTTP: a
  picture in, the net's answer out (prepared by ``network3.load_image``,
  the one preparation there is), and what the net is;
* :mod:`network3.serve.server`: the HTTP server (the standard library's
  threading server): the page's own files, the JSON API at ``/api/``,
  limits, headers and errors;
* ``page/``: the page's HTML, CSS and JavaScript, written for network3 and
  served with it (it makes no request anywhere else).

"""

from network3.serve.api import Model, RequestError
from network3.serve.server import make_server, serve

__all__ = ["Model", "RequestError", "make_server", "serve"]
