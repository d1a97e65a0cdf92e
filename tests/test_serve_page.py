"""The page of network3 serve in a real browser (Debian's Chromium, driven
by Playwright), against `network3 serve` on a free loopback port: strokes
drawn with the mouse, a finger and a pen update the bars, and the digit
shown is what /api/predict answers for the pad's picture; Clear resets the
page; 200 MNIST digits uploaded through it get the digit `network3
predict` prints for each file; it fits a phone's screen and asks nothing
of anyone else.  The picture of the docs is taken here
(NETWORK3_FIGURES=docs/figures writes it there)."""

import base64
import json
import math
import os
import re
import signal
import urllib.request

import numpy as np
import pytest

from network3 import cli

from conftest import NO_CHROMIUM, chromium, start_serving

pytest.importorskip("playwright", reason="pip install -e '.[test]' installs Playwright")
pytestmark = pytest.mark.skipif(not chromium(), reason=NO_CHROMIUM)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def url(conv_model_file):
    """The address of `network3 serve` serving the conv net."""
    proc, address = start_serving(conv_model_file)
    yield address
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox cannot start as root (CI's user)
        browser = playwright.chromium.launch(executable_path=chromium(),
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


class Page:
    """The page open in a tab, with what it asked for and what went wrong
    in it, and ways to draw on it and wait for its answers."""

    def __init__(self, browser, url, **options):
        self.context = browser.new_context(**options)
        self.tab = self.context.new_page()
        self.url, self.requests, self.problems = url, [], []
        self.tab.on("request", lambda request: self.requests.append(request.url))
        self.tab.on("pageerror", lambda error: self.problems.append(str(error)))
        self.tab.on("console", lambda message: self.problems.append(message.text)
                    if message.type == "error" else None)
        self.tab.goto(url)
        # ready once it knows the model (the bars are made from it)
        self.tab.wait_for_function(
            "() => document.getElementById('bars').children.length === 10")
        self.box = self.tab.locator("#pad").bounding_box()

    def close(self):
        self.context.close()

    def answered(self):
        return int(self.tab.evaluate("() => document.body.dataset.answered"))

    def wait_for_answer(self, before):
        """Wait until an answer after the ``before``-th is shown and none
        is awaited."""
        self.tab.wait_for_function(
            "n => document.body.dataset.busy === 'false' && "
            "+document.body.dataset.answered > n", arg=before)

    def at(self, x, y):
        """Page coordinates of (x, y) in [0, 1] on the pad."""
        return self.box["x"] + x * self.box["width"], self.box["y"] + y * self.box["height"]

    def stroke_with_mouse(self, points):
        before = self.answered()
        self.tab.mouse.move(*self.at(*points[0]))
        self.tab.mouse.down()
        for point in points[1:]:
            self.tab.mouse.move(*self.at(*point), steps=4)
        self.tab.mouse.up()
        self.wait_for_answer(before)

    def shown(self):
        """What the page shows: the digit, the bars' widths and labels in
        percent, the 28x28 image's grey levels, the feature maps' count."""
        return self.tab.evaluate("""() => {
            const prepared = document.getElementById('prepared');
            const pixels = prepared.getContext('2d').getImageData(0, 0, 28, 28).data;
            const bars = [...document.querySelectorAll('#bars li')];
            return {
              digit: document.getElementById('digit').textContent,
              widths: bars.map((li) => parseFloat(li.querySelector('.fill').style.width) || 0),
              labels: bars.map((li) => li.querySelector('.value').textContent),
              picked: bars.findIndex((li) => li.classList.contains('picked')),
              prepared: Array.from(pixels.filter((_, k) => k % 4 === 0)),
              maps: document.querySelectorAll('#maps canvas').length,
              mapsShown: !document.getElementById('maps-card').hidden,
              status: document.getElementById('status').textContent,
            };
        }""")

    def pad_png(self):
        data = self.tab.evaluate(
            "() => document.getElementById('pad').toDataURL('image/png')")
        return base64.b64decode(data.split(",", 1)[1])

    def pad_is_blank(self):
        return self.tab.evaluate("""() => {
            const pad = document.getElementById('pad');
            const data = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
            return data.every((v) => v === 255);
        }""")


@pytest.fixture
def page(browser, url):
    page = Page(browser, url)
    yield page
    assert page.problems == []
    assert all(address.startswith(url) for address in page.requests), page.requests
    page.close()


def api(url, body):
    request = urllib.request.Request(url + "api/predict", data=body,
                                     headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def assert_shows(shown, answer):
    """The page shows ``answer`` (what /api/predict said)."""
    assert shown["digit"] == str(answer["digit"]) and shown["picked"] == answer["digit"]
    percent = 100 * np.array(answer["probabilities"])
    np.testing.assert_allclose(shown["widths"], percent, atol=0.006)
    assert shown["labels"] == ["{0:.1f}%".format(p) for p in percent] or \
        np.allclose([float(label[:-1]) for label in shown["labels"]], percent, atol=0.051)
    assert shown["prepared"] == list(np.round(255 * np.array(answer["prepared"]))
                                     .astype(int).ravel())


#: Strokes of a seven, a cross-bar and then a loop, in pad coordinates.
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)], [(0.35, 0.5), (0.65, 0.5)]]
LOOP = [(0.5 + 0.2 * math.cos(t), 0.5 + 0.25 * math.sin(t))
        for t in np.linspace(0, 2 * math.pi, 16)]


def test_strokes_update_the_bars_with_what_the_api_answers_and_clear_resets(page):
    assert page.shown()["digit"] == "?" and page.pad_is_blank()
    for stroke in SEVEN + [LOOP]:
        before = page.answered()
        page.stroke_with_mouse(stroke)
        assert page.answered() > before
        shown = page.shown()
        assert_shows(shown, api(page.url, page.pad_png()))
        assert sum(shown["widths"]) == pytest.approx(100, abs=0.1)
        assert shown["maps"] == 8 and shown["mapsShown"]
    latency = float(page.tab.evaluate("() => document.body.dataset.latency"))
    assert latency > 0
    page.tab.click("#clear")
    shown = page.shown()
    assert shown["digit"] == "?" and shown["picked"] == -1
    assert shown["widths"] == [0] * 10 and shown["labels"] == [""] * 10
    assert shown["prepared"] == [0] * 784 and page.pad_is_blank()
    assert shown["status"].startswith("Draw with the mouse, a pen or a finger")
    # and drawing starts again from a clean pad
    page.stroke_with_mouse(SEVEN[0])
    assert_shows(page.shown(), api(page.url, page.pad_png()))


def test_a_finger_and_a_pen_draw_too(browser, url):
    page = Page(browser, url, has_touch=True)
    try:
        session = page.context.new_cdp_session(page.tab)
        before = page.answered()
        points = [page.at(*point) for point in [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)]]
        session.send("Input.dispatchTouchEvent", {
            "type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for x, y in points[1:]:
            session.send("Input.dispatchTouchEvent", {
                "type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_answer(before)
        assert not page.pad_is_blank()
        assert_shows(page.shown(), api(url, page.pad_png()))
        # a pen: the bar across the top of a seven
        before = page.answered()
        (x0, y0), (x1, y1) = page.at(0.3, 0.15), page.at(0.7, 0.15)
        for kind, x, y in (("mousePressed", x0, y0), ("mouseMoved", x1, y1),
                           ("mouseReleased", x1, y1)):
            session.send("Input.dispatchMouseEvent", {
                "type": kind, "x": x, "y": y, "button": "left", "buttons": 1,
                "clickCount": 1, "pointerType": "pen"})
        page.wait_for_answer(before)
        assert_shows(page.shown(), api(url, page.pad_png()))
        assert page.problems == []
    finally:
        page.close()


def test_two_hundred_uploads_get_the_digit_network3_predict_prints(
        page, conv_model_file, digit_files, capsys, tmp_path):
    assert cli.main(["predict", str(conv_model_file)] + [str(p) for p in digit_files]) == 0
    printed = dict(re.findall(r"^(.*): (\d) \(", capsys.readouterr().out, re.M))
    for path in digit_files:
        before = page.answered()
        page.tab.set_input_files("#file", str(path))
        page.wait_for_answer(before)
        shown = page.shown()
        assert shown["digit"] == printed[str(path)], path
        assert shown["status"] == "The answer for {0}.".format(path.name)
    # what is not a picture is said so, on the page
    (tmp_path / "notes.txt").write_text("not a digit")
    page.tab.set_input_files("#file", str(tmp_path / "notes.txt"))
    page.tab.wait_for_function("() => document.getElementById('status')"
                               ".classList.contains('error')")
    assert "not an image Pillow can read" in page.shown()["status"]
    page.problems.remove("Failed to load resource: the server responded with a status "
                         "of 400 (Bad Request)")


def test_the_page_fits_a_phone_and_its_picture_for_the_docs(browser, url, tmp_path):
    phone = Page(browser, url, viewport={"width": 390, "height": 844}, has_touch=True,
                 is_mobile=True, device_scale_factor=2)
    try:
        width = phone.tab.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
        assert phone.box["x"] >= 0 and phone.box["x"] + phone.box["width"] <= 390
        assert phone.box["width"] >= 250
    finally:
        phone.close()
    page = Page(browser, url, viewport={"width": 1000, "height": 820})
    try:
        # a three, in strokes a hand would make
        top = [(0.48 + 0.2 * math.sin(t), 0.34 - 0.15 * math.cos(t))
               for t in np.linspace(-1.2, 2.6, 12)]
        bottom = [(0.48 + 0.22 * math.sin(t), 0.65 - 0.19 * math.cos(t))
                  for t in np.linspace(0.6, 3.9, 14)]
        page.stroke_with_mouse(top)
        page.stroke_with_mouse(bottom)
        picture = os.path.join(os.environ.get("NETWORK3_FIGURES", tmp_path), "serve.png")
        page.tab.screenshot(path=picture, full_page=True)
        from PIL import Image
        assert Image.open(picture).size[0] == 1000
        assert page.problems == []
    finally:
        page.close()
