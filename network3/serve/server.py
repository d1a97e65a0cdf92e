"""serve/server.py
~~~~~~~~~~~~~~~~~~

The HTTP server of ``network3 serve``: the standard library's threading
server, answering

* ``GET /`` (and ``/index.html``, ``/app.js``, ``/style.css``,
  ``/favicon.svg``): the page's own files, read once from ``page/`` when the
  server is made: no other path reaches a file, so there is no directory to
  list or climb out of;
* ``POST /api/predict``: a picture (its file as the body) -> the net's
  answer as JSON (``network3.serve.api``);
* ``GET /api/model``: what the net is, as JSON.

Every error is JSON too, ``{"error": "..."}``, with its status: 400 for a
request that is not right (not a picture, a malformed request line, a Host
that is not this machine's), 404 for an unknown path, 405 for a method the
path does not take (with ``Allow``), 411 for a body without a length, 413
for one over :data:`network3.serve.api.MAX_BYTES` (refused before it is
read), 500 if the server itself failed (the traceback goes to stderr); the
server answers the next request as before.  Each response says what the
page may load (``Content-Security-Policy``: its own files and API only).

Nothing is written anywhere.  The standard library's server was measured
against Starlette on uvicorn (benchmarks/results/serve.md): no slower, and
no dependency; what it lacks (the bounds, the Host check, the headers) is
here, small enough to read whole.

"""

#### Libraries
# Standard library
import importlib.resources
import ipaddress
import json
import socket
import socketserver
import sys
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# network3
from network3.serve.api import MAX_BYTES, RequestError

#### What is served
#: The page's files by path: (file in ``page/``, content type).
PAGE = {"/": ("index.html", "text/html; charset=utf-8"),
        "/index.html": ("index.html", "text/html; charset=utf-8"),
        "/app.js": ("app.js", "text/javascript; charset=utf-8"),
        "/style.css": ("style.css", "text/css; charset=utf-8"),
        "/favicon.svg": ("favicon.svg", "image/svg+xml")}
#: The API's paths and the methods each takes.
API = {"/api/predict": ("POST",), "/api/model": ("GET", "HEAD")}
#: What the page may load and run: its own files and API, nothing inline,
#: nothing from elsewhere, in no one else's frame.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
           "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store"}
#: Seconds a connection may sit idle, or send its request this slowly,
#: before it is closed.
TIMEOUT = 30


#### The server
def make_server(model, host="127.0.0.1", port=8000):
    """An HTTP server of the page and API for ``model``
    (a :class:`network3.serve.Model`), listening on ``host``:``port``
    (port 0: any free one), not yet serving: call its ``serve_forever``
    (and ``server_close`` when done); ``server.url`` is its address.

    Raises
    ------
    OSError
        If the address cannot be listened on (a port in use, a host that
        is not this machine's).
    """
    return _Server(model, host, port)


def serve(model, host="127.0.0.1", port=8000, say=print):
    """Serve the page for ``model`` on ``host``:``port`` until Ctrl-C
    (KeyboardInterrupt, which it lets through once the port is closed),
    ``say``-ing its address first."""
    with make_server(model, host, port) as server:
        say("network3 serve: the page for {0} is at {1} (Ctrl-C stops it)".format(
            model.name, server.url))
        server.serve_forever()


def is_loopback(host):
    """Whether ``host`` (a name or address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    """A thread per connection (threads that die with the program); the
    model, the page's files and whether only loopback names are answered."""

    daemon_threads = True
    # connections waiting to be accepted (socketserver's 5 reset some of
    # 50 arriving at once)
    request_queue_size = 128

    def __init__(self, model, host, port):
        self.model = model
        page = importlib.resources.files("network3.serve") / "page"
        self.files = {name: (page / name).read_bytes() for name, _ in PAGE.values()}
        self.loopback = is_loopback(host)
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        port = self.server_address[1]
        self.url = "http://{0}:{1}/".format("[{0}]".format(host) if ":" in host
                                            else host, port)

    def handle_error(self, request, client_address):
        # a client that goes away mid-request (a closed tab) is no news
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def server_bind(self):
        # HTTPServer's would look the host's name up (getfqdn), which can
        # wait on a DNS server; nothing here needs it
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


#### Requests
class _Handler(BaseHTTPRequestHandler):
    """One connection's requests, routed by path and method."""

    server_version = "network3"
    protocol_version = "HTTP/1.1"
    # a request line without a version (or a broken one) is answered with a
    # status line and headers all the same (HTTP/0.9 would send neither)
    default_request_version = "HTTP/1.1"
    timeout = TIMEOUT
    # a response's head and body go out at once: with Nagle's algorithm the
    # body waited for the browser's delayed acknowledgement of the head
    # (some 40 ms a request)
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def __getattr__(self, name):
        # every method (do_GET, do_PUT, do_BREW...) goes to _route, which
        # says 405 where the path does not take it
        if name.startswith("do_"):
            return lambda: self._route(name[3:])
        raise AttributeError(name)

    def _route(self, method):
        self.body_read = False
        try:
            path = urllib.parse.urlsplit(self.path).path
            if self.server.loopback and not self._to_loopback():
                raise RequestError(400, "this server answers requests addressed to "
                                        "localhost or 127.0.0.1 only, not to {0!r}"
                                        .format(self.headers.get("Host")))
            allowed = ("GET", "HEAD") if path in PAGE else API.get(path)
            if allowed is None:
                raise RequestError(404, "no such page: {0}".format(path[:200]))
            if method not in allowed:
                self._send_json(405, {"error": "{0} takes {1}, not {2}".format(
                    path, " or ".join(allowed), method[:20])},
                    {"Allow": ", ".join(allowed)})
            elif path in PAGE:
                name, content_type = PAGE[path]
                self._send(200, self.server.files[name], content_type)
            elif path == "/api/model":
                self._send_json(200, self.server.model.describe())
            else:
                self._send_json(200, self.server.model.predict(self._body()))
        except RequestError as error:
            self._send_json(error.status, {"error": str(error)})
        except (TimeoutError, ConnectionError):
            self.close_connection = True       # the client went quiet or away
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {"error": "the server failed to answer (its "
                                           "traceback is in the server's output)"})

    def _to_loopback(self):
        """Whether the request's Host names this machine's loopback (or
        is missing, as HTTP/1.0 allows): a page elsewhere that makes its own
        name point at 127.0.0.1 (DNS rebinding) gets 400."""
        hosts = self.headers.get_all("Host", [])
        if len(hosts) != 1:
            return not hosts
        host = hosts[0]
        name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        return is_loopback(name.lower())

    def _body(self):
        """The request's body, at most MAX_BYTES, read only once its length
        is known to be within bounds."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise RequestError(411, "send the picture with a Content-Length, not "
                                    "in chunks")
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "send the picture with a Content-Length")
        if not length.strip().isdigit():
            raise RequestError(400, "Content-Length must be a whole number of bytes, "
                                    "got {0!r}".format(length[:40]))
        length = int(length)
        if length > MAX_BYTES:
            raise RequestError(413, "the picture has {0:,} bytes; at most {1:,} are "
                                    "taken".format(length, MAX_BYTES))
        body = self.rfile.read(length)
        self.body_read = True
        if len(body) < length:
            raise ConnectionError("the body ended early")
        return body

    #### Responses
    def _send_json(self, status, value, headers=None):
        self._send(status, json.dumps(value, separators=(",", ":")).encode(),
                   "application/json", headers)

    def _send(self, status, body, content_type, headers=None):
        """Send a whole response.  After an error, or a request whose body
        was not read, the connection is closed: a body left unread (a
        refused upload) must not be taken for the next request."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        if status >= 400 or self._body_unread():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body_unread(self):
        """Whether the request came with a body that was not read."""
        if getattr(self, "body_read", True):
            return False
        return ("Transfer-Encoding" in self.headers or
                self.headers.get("Content-Length", "0").strip() != "0")

    def send_error(self, code, message=None, explain=None):
        # the base class's errors (a malformed request line, a line or
        # header too long, an unknown HTTP version) as JSON too
        self._send_json(code, {"error": message or explain or self.responses.get(
            code, ("error",))[0]})

    def log_message(self, format, *args):
        # requests are not logged (a learner drawing makes many); a
        # failure's traceback is printed by _route
        pass
