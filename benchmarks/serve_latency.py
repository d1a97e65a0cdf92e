"""How fast network3 serve answers, and how well it agrees.

Serves a trained net with ``network3 serve`` (by default the ladder's first
dropout net, benchmarks/results/ladder/nets/dropout-0.npz: the chapter's
best architecture, 20 feature maps in its first layer) and measures

* from a stroke's end to the bars updated, in headless Chromium (Playwright
  pointed at the system's chromium): ``--strokes`` strokes drawn with the
  mouse on the page, each timed by the page itself (``data-latency``: from
  pointerup to the frame after the bars changed, the server's round trip
  included; a stroke whose last moves' request is still out waits for it);
* the API's round trip from Python (one keep-alive connection), for the
  pad's 280x280 PNG;
* agreement: every MNIST test digit posted as a PNG file, its answer
  compared with ``net.predict(load_image(file))`` and with its label.

    python benchmarks/serve_latency.py     # ~2 minutes; needs chromium and '.[test]'

Prints a Markdown table (benchmarks/results/serve.md keeps one).
"""

import argparse
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw

import network3
from network3.runs.run import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "results", "ladder", "nets", "dropout-0.npz")


def start(model):
    """``network3 serve MODEL`` on a free port: (process, host, port)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", "serve", model, "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()
    address = line.split(" is at http://")[1].split("/")[0]
    host, port = address.rsplit(":", 1)
    return proc, host, int(port)


def drawn_png(rng):
    """A 280x280 PNG like the pad's: two black strokes on white."""
    picture = Image.new("RGB", (280, 280), "white")
    draw = ImageDraw.Draw(picture)
    for _ in range(2):
        draw.line([tuple(rng.integers(40, 240, 2)) for _ in range(3)], fill="black",
                  width=20)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def round_trips(host, port, bodies):
    connection = http.client.HTTPConnection(host, port, timeout=60)
    seconds = []
    for body in bodies:
        start = time.perf_counter()
        connection.request("POST", "/api/predict", body)
        json.loads(connection.getresponse().read())
        seconds.append(time.perf_counter() - start)
    connection.close()
    return np.array(seconds) * 1000


def agreement(host, port, net, count):
    """(same digit as net.predict(load_image(file)), right, count) for the
    first ``count`` test digits posted as PNG files."""
    images, labels = network3.load_data()[2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    same = right = 0
    for image, label in zip(images[:count], labels[:count]):
        buffer = io.BytesIO()
        Image.fromarray((image.reshape(28, 28) * 255).round().astype(np.uint8)).save(
            buffer, "PNG")
        connection.request("POST", "/api/predict", buffer.getvalue())
        digit = json.loads(connection.getresponse().read())["digit"]
        buffer.seek(0)
        same += digit == net.predict(network3.load_image(buffer))
        right += digit == label
    connection.close()
    return same, right, count


def stroke_latencies(url, strokes, rng):
    from playwright.sync_api import sync_playwright
    import shutil
    latencies = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
            args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(url)
        page.wait_for_function("() => document.getElementById('bars').children.length")
        box = page.locator("#pad").bounding_box()
        for k in range(strokes):
            if k % 3 == 0:
                page.click("#clear")
            points = rng.uniform(0.15, 0.85, size=(4, 2))
            page.evaluate("() => { document.body.dataset.latency = ''; }")
            page.mouse.move(box["x"] + points[0, 0] * box["width"],
                            box["y"] + points[0, 1] * box["height"])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"],
                                steps=6)
            page.mouse.up()
            # the page times the stroke once the frame after its bars is drawn
            page.wait_for_function("() => document.body.dataset.latency")
            latencies.append(float(page.evaluate("() => document.body.dataset.latency")))
        browser.close()
    return np.array(latencies)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--strokes", type=int, default=60)
    parser.add_argument("--round-trips", type=int, default=300)
    parser.add_argument("--agreement", type=int, default=10000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    net = network3.load_network(args.model)
    proc, host, port = start(args.model)
    try:
        url = "http://{0}:{1}/".format(host, port)
        strokes = stroke_latencies(url, args.strokes, rng)
        trips = round_trips(host, port, [drawn_png(rng) for _ in range(args.round_trips)])
        same, right, count = agreement(host, port, net, args.agreement)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    with open("/proc/cpuinfo") as f:
        cpu = cpu_model(f.read())
    print("network3 serve {0}; {1}, {2} cores; Chromium headless\n".format(
        os.path.relpath(args.model), cpu, os.cpu_count()))
    print("| measured | n | median | 95th percentile | max |")
    print("|---|---|---|---|---|")
    for name, values in (("stroke's end to the bars drawn (ms, in the page)", strokes),
                         ("API round trip, a 280x280 PNG (ms, from Python)", trips)):
        print("| {0} | {1} | {2:.1f} | {3:.1f} | {4:.1f} |".format(
            name, len(values), np.median(values), np.percentile(values, 95), values.max()))
    print("\nMNIST test digits posted as PNG files: {0} of {1} get the digit "
          "net.predict(load_image(file)) gives; {2} of {1} ({3:.2%}) are right.".format(
              same, count, right, right / count))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
