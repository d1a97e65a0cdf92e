"""serve/server.py over real HTTP: 200 pictures posted to /api/predict get
the digit `network3 predict` prints for each file; every bad request gets
its status and a JSON error, and the server answers the next one; no path
reaches anything but the page's own files; 50 requests at once all
answer; a client that stalls holds up no one else."""

import concurrent.futures
import http.client
import json
import re
import socket
import threading

import numpy as np
import pytest

import network3
from network3 import cli, serve
from network3.serve import server as http_server


@pytest.fixture(scope="module")
def server(conv_model_file):
    """The server of the page for the conv net, on a free loopback port,
    serving from a thread."""
    model = serve.Model(network3.load_network(conv_model_file), "digits.npz")
    httpd = serve.make_server(model, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def request(server, method, path, body=None, headers=None):
    """(status, headers, body) of one request on a connection of its own,
    its path sent exactly as given."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True,
                              skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None and "Content-Length" not in (headers or {}):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def answers(server):
    """Whether the server still answers (GET /api/model)."""
    status, _, body = request(server, "GET", "/api/model")
    return status == 200 and json.loads(body)["file"] == "digits.npz"


def test_two_hundred_pictures_get_the_digit_network3_predict_prints(
        server, conv_model_file, digit_files, capsys):
    assert cli.main(["predict", str(conv_model_file)] + [str(p) for p in digit_files]) == 0
    printed = dict(re.findall(r"^(.*): (\d) \(", capsys.readouterr().out, re.M))
    net = network3.load_network(conv_model_file)
    digits = []
    for path in digit_files:
        status, headers, body = request(server, "POST", "/api/predict", path.read_bytes(),
                                        {"Content-Type": "image/png"})
        assert status == 200 and headers["Content-Type"] == "application/json"
        answer = json.loads(body)
        assert answer["digit"] == int(printed[str(path)]), path
        np.testing.assert_array_equal(np.float32(answer["probabilities"]),
                                      net.predict_proba(network3.load_image(path)))
        digits.append(answer["digit"])
    # a net that answers something (about 90% of MNIST right), not one digit
    labels = network3.load_data()[2][1][:200]
    assert np.mean(np.array(digits) == labels) > 0.8


def test_the_page_and_its_files_with_their_headers(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<canvas id="pad"' in body and b"<script" in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css"),
                       ("/favicon.svg", "image/svg+xml"), ("/index.html", "text/html")):
        status, headers, body = request(server, "GET", path + "?v=2")
        assert status == 200 and headers["Content-Type"].startswith(kind), path
        assert int(headers["Content-Length"]) == len(body) > 100
    status, headers, body = request(server, "HEAD", "/app.js")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 100
    status, headers, body = request(server, "GET", "/api/model")
    assert status == 200 and json.loads(body)["feature_maps"] == [8, 12, 12]


def assert_error(response, status, message):
    got, headers, body = response
    assert got == status, body
    if message is None:
        return
    assert headers["Content-Type"] == "application/json"
    assert re.search(message, json.loads(body)["error"]), body


@pytest.mark.parametrize("method, path, body, headers, status, message", [
    ("POST", "/api/predict", b"plain text", {}, 400, "not an image Pillow can read"),
    ("POST", "/api/predict", b"", {}, 400, "the picture is empty"),
    ("POST", "/api/predict", b"x", {"Content-Length": "a lot"}, 400,
     "Content-Length must be a whole number"),
    ("POST", "/api/predict", b"x", {"Host": "evil.example:8000"}, 400,
     "addressed to localhost or 127.0.0.1 only, not to 'evil.example:8000'"),
    ("GET", "/", None, {"Host": "127.0.0.1"}, 200, None),
    ("GET", "/", None, {"Host": "[::1]:8000"}, 200, None),
    ("GET", "/", None, {"Host": "LOCALHOST"}, 200, None),
    ("GET", "/api/predict", None, {}, 405, "/api/predict takes POST, not GET"),
    ("POST", "/", b"x", {}, 405, "/ takes GET or HEAD, not POST"),
    ("DELETE", "/api/model", None, {}, 405, "takes GET or HEAD, not DELETE"),
    ("PUT", "/app.js", b"alert(1)", {}, 405, "takes GET or HEAD, not PUT"),
    ("BREW", "/index.html", None, {}, 405, "not BREW"),
    ("GET", "/nothing.html", None, {}, 404, "no such page: /nothing.html"),
    ("POST", "/api/train", b"x", {}, 404, "no such page: /api/train"),
])
def test_bad_requests_get_their_status_and_the_server_goes_on(
        server, method, path, body, headers, status, message):
    assert_error(request(server, method, path, body, headers), status, message)
    assert answers(server)


def test_a_method_the_path_does_not_take_is_told_which_it_does(server):
    assert request(server, "GET", "/api/predict")[1]["Allow"] == "POST"
    assert request(server, "POST", "/style.css", b"x")[1]["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", [
    "/../setup.py", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fsetup.py",
    "/.%2e/serve/api.py", "//etc/passwd", "/app.js/../../../etc/passwd",
    "/page/index.html", "/network3/serve/page/app.js", "/index.html%00",
    "/api/../server.py", "/api/", "/page/", "/%2fetc%2fpasswd", "/app.js%2f..",
    "/\\..\\..\\setup.py",
])
def test_no_path_reaches_a_file_but_the_pages_own(server, path):
    status, headers, body = request(server, "GET", path)
    assert status == 404, path
    assert json.loads(body)["error"].startswith("no such page: /")
    for content in (b"root:", b"import ", b"function", b"use strict", b"<html"):
        assert content not in body


def raw(server, data, timeout=60):
    """What the server answers to ``data`` sent as it is on a socket."""
    with socket.create_connection(server.server_address[:2], timeout=timeout) as s:
        s.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_a_body_too_large_is_refused_before_it_is_read(server):
    """413 for 6 MB announced, at once, though only 10 bytes were sent."""
    head, body = raw(server, b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Length: 6000000\r\n\r\n0123456789")
    assert head.startswith("HTTP/1.1 413 ")
    assert "Connection: close" in head
    assert "6,000,000 bytes; at most 5,242,880" in json.loads(body)["error"]
    assert answers(server)


@pytest.mark.parametrize("data, status, message", [
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 411, "Content-Length"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
     b"\r\n5\r\nhello\r\n0\r\n\r\n", 411, "not in chunks"),
    (b"GET / HTTP/1.1 and more\r\n\r\n", 400, "bad request version ('more')"),
    (b"GET\r\n\r\n", 400, "bad request syntax"),
    (b"GET / HTTX/1.1\r\n\r\n", 400, "request version"),
    (b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 505, "version"),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414, "URI"),
])
def test_malformed_requests_get_a_json_error(server, data, status, message):
    head, body = raw(server, data)
    assert head.split()[1] == str(status), head
    assert message.lower() in json.loads(body)["error"].lower()
    assert answers(server)


def test_fifty_requests_at_once_all_answer(server, conv_model_file, digit_files):
    net = network3.load_network(conv_model_file)
    files = digit_files[:50]
    start = threading.Barrier(len(files))

    def ask(path):
        start.wait()
        status, _, body = request(server, "POST", "/api/predict", path.read_bytes())
        return status, json.loads(body)["digit"]

    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        results = list(pool.map(ask, files))
    assert results == [(200, net.predict(network3.load_image(path))) for path in files]


def test_a_client_that_stalls_holds_up_no_one(server, digit_files):
    """A request whose body never comes: the others are answered meanwhile."""
    with socket.create_connection(server.server_address[:2]) as stalled:
        stalled.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Length: 1000\r\n\r\nonly this")
        status, _, _ = request(server, "POST", "/api/predict", digit_files[0].read_bytes())
        assert status == 200
        assert answers(server)


def test_a_connection_carries_several_requests(server, digit_files):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
    try:
        for path in digit_files[:3]:
            connection.request("POST", "/api/predict", path.read_bytes())
            response = connection.getresponse()
            assert response.status == 200 and "digit" in json.loads(response.read())
    finally:
        connection.close()


def test_the_loopback_check_and_the_address(conv_model_file):
    assert [http_server.is_loopback(h) for h in ("127.0.0.1", "127.3.2.1", "::1",
                                                  "localhost", "0.0.0.0", "192.168.1.5",
                                                  "example.com")] == \
        [True, True, True, True, False, False, False]
    model = serve.Model(network3.load_network(conv_model_file), "digits.npz")
    with serve.make_server(model, "127.0.0.1", 0) as httpd:
        assert httpd.url == "http://127.0.0.1:{0}/".format(httpd.server_address[1])
        with pytest.raises(OSError):                  # the port is taken
            serve.make_server(model, "127.0.0.1", httpd.server_address[1])


def test_a_body_nobody_reads_is_not_taken_for_the_next_request(server):
    """GET with a body (a request smuggled in it): one answer, then the
    connection is closed."""
    smuggled = b"GET /favicon.svg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(server.server_address[:2], timeout=60) as s:
        s.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                  + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled)
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in received
    assert b"<svg" not in received
