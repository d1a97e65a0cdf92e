"""Training speed of network3 against PyTorch (CPU, eager), in one run.

For each of the chapter's networks and mini-batch sizes, network3's training
step and PyTorch doing the same computation (``torch_peer.py``: same weights,
same mini-batches, same cost, plain SGD) are timed in separate processes,
interleaved round by round, and the median of the rounds is reported: µs per
mini-batch, images/s, our time / PyTorch's, compile time, and GFLOP/s as a
fraction of the machine's float32 GEMM peak (measured by NumPy in this run);
for each net and mini-batch where the step's time goes (``profile_ops.py``:
the share of the matrix products, with their GFLOP/s, of im2col/col2im, of
pooling and of the rest); for each net the cold start, from a fresh process
with an empty cache to its first mini-batch trained, and where it goes
(importing, MNIST, building, compiling with Numba's share, the step); and
one chapter epoch of the dropout net on the expanded training set
(extrapolated from 1,000 mini-batches).
Optionally also one full chapter epoch of the ReLU net (50,000 training +
10,000 validation + 10,000 test images) and the wall time to 99.0% test
accuracy with the book's ReLU recipe.

    pip install -e . torch==2.13.0
    python benchmarks/bench_cpu.py                 # table, ~10 minutes
    python benchmarks/bench_cpu.py --epoch --to-99 # and the long runs

Results go to ``benchmarks/results/cpu.md`` (and ``cpu.json``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = ("fc", "conv1", "relu", "dropout")
STEPS = {10: 400, 64: 100, 256: 30}


#### The networks, as specs both sides can build
def spec_of(layers):
    """network3 layers as a JSON-able list of dicts (for the PyTorch side):
    each layer's type and ``config()``."""
    return [dict(layer.config(), type=type(layer).__name__) for layer in layers]


def training_flops(spec, batch):
    """Floating-point operations of one training step (multiply-adds x 2):
    forward, weight gradients, and input gradients except for the first layer."""
    total = 0
    for k, layer in enumerate(spec):
        if layer["type"] == "ConvPoolLayer":
            f, c, kh, kw = layer["filter_shape"]
            _, _, h, w = layer["image_shape"]
            forward = 2 * batch * f * c * kh * kw * (h - kh + 1) * (w - kw + 1)
        else:
            forward = 2 * batch * layer["n_in"] * layer["n_out"]
        total += forward * (2 if k == 0 else 3)
    return total


#### Workers: each runs in a process of its own and prints one JSON line
def network3_worker(args):
    import numpy as np
    import network3
    from network3 import chapter, data
    weights = np.load(args.weights)
    network3.seed(0)
    net = network3.Network(chapter.build_layers(args.net, args.batch), args.batch)
    for k, layer in enumerate(net.layers):
        layer.w.set_value(weights["w{0}".format(k)])
        layer.b.set_value(weights["b{0}".format(k)])
    training_data = data.shared((weights["images"], weights["labels"]))
    recipe = chapter.RECIPES[args.net]
    n_batches = len(weights["images"]) // args.batch
    start = time.perf_counter()
    train = net.compile_training(training_data, recipe.eta, recipe.lmbda)
    train(0, 1)
    compile_s = time.perf_counter() - start
    train(1, 10)
    start = time.perf_counter()
    done = 0
    while done < args.steps:          # runs of mini-batches, as SGD makes them
        count = min(args.steps - done, n_batches)
        train(0, count)
        done += count
    seconds = time.perf_counter() - start
    print(json.dumps({"step_us": seconds / args.steps * 1e6, "compile_s": compile_s}))


class _NumbaCompiles:
    """Numba's compile events: how many functions it compiled, the seconds
    it spent compiling, and those seconds by function (its own time, less
    that of the functions compiled inside its compilation)."""

    def __init__(self):
        from numba.core import event
        self.count, self.seconds, self.by_function = 0, 0.0, {}
        stack = []                     # [name, started, children's seconds]
        outer = self

        class Listener(event.Listener):
            def on_start(self, ev):
                outer.count += 1
                stack.append([_function_name(ev), time.perf_counter(), 0.0])

            def on_end(self, ev):
                name, started, children = stack.pop()
                seconds = time.perf_counter() - started
                outer.by_function[name] = outer.by_function.get(name, 0.0) + seconds - children
                if stack:
                    stack[-1][2] += seconds
                else:
                    outer.seconds += seconds

        event.register("numba:compile", Listener())

    def slowest(self, n=5):
        """The ``n`` functions that took longest to compile, with their seconds."""
        return sorted(self.by_function.items(), key=lambda item: -item[1])[:n]


def _function_name(ev):
    """The name of the function a Numba compile event is for."""
    dispatcher = ev.data.get("dispatcher")
    python = getattr(dispatcher, "py_func", None)
    return getattr(python, "__qualname__", str(dispatcher))


def coldstart_worker(args):
    """What ``python -m network3 --net NAME`` does before its first mini-batch:
    import network3, load MNIST, build the chapter's net, compile (from the
    empty cache the parent gives it) and train one mini-batch; prints the
    wall-clock time at which that mini-batch is done and how long each of
    those took, with Numba's share of the compilation."""
    marks = [time.time()]
    import network3
    from network3 import chapter
    compiles = _NumbaCompiles()
    marks.append(time.time())
    training_data = network3.load_data_shared()[0]
    marks.append(time.time())
    network3.seed(0)
    net = network3.Network(chapter.build_layers(args.net, args.batch), args.batch)
    recipe = chapter.RECIPES[args.net]
    marks.append(time.time())
    train = net.compile_training(training_data, recipe.eta, recipe.lmbda)
    marks.append(time.time())
    train(0, 1)
    marks.append(time.time())
    # PyTensor builds and rewrites the graph in compile_training; Numba
    # compiles it when it is first called
    phases = dict(zip(("import", "mnist", "build", "graph", "first step"),
                      (b - a for a, b in zip(marks, marks[1:]))))
    print(json.dumps({"done_at": marks[-1], "phases_s": phases,
                      "numba_compiles": compiles.count, "numba_s": compiles.seconds,
                      "numba_slowest": compiles.slowest()}))


def cold_start(me, net, folder):
    """From starting a fresh process with an empty PyTensor cache to its
    first mini-batch of ``net`` trained (mini-batch 10): the seconds, and
    what ``coldstart_worker`` says they went to."""
    env = dict(os.environ, PYTENSOR_FLAGS="base_compiledir=" +
               os.path.join(folder, "cold-cache-" + net))
    start = time.time()
    result = run_json(me + ["--worker", "coldstart", "--net", net, "--batch", "10"],
                      env=env)
    result["seconds"] = result.pop("done_at") - start
    # before network3's import: the interpreter starting
    result["phases_s"] = dict(python=result["seconds"] - sum(result["phases_s"].values()),
                              **result["phases_s"])
    return result


def describe_cold_start(result):
    """One cold start in words: its seconds and where they went."""
    return ("{0:.1f} s ({1}); Numba compiled {2} functions in {3:.1f} s, the "
            "slowest {4}").format(
        result["seconds"], ", ".join("{0} {1:.1f}".format(phase, seconds)
                                     for phase, seconds in result["phases_s"].items()),
        result["numba_compiles"], result["numba_s"],
        ", ".join("{0} {1:.1f}".format(name, seconds)
                  for name, seconds in result["numba_slowest"]))


def profile_worker(args):
    """Where the step's time goes (``profile_ops.py``), as one line."""
    import numpy as np
    import profile_ops
    weights = np.load(args.weights)
    whole, seconds, flops, _, _ = profile_ops.breakdown(
        args.net, args.batch, weights["images"], weights["labels"])
    print(json.dumps({"bound": profile_ops.summary(whole, seconds, flops, args.peak)}))


def gemm_peak_worker(args):
    import numpy as np
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(5))
    print(json.dumps({"gflops": 2 * 2048**3 / best / 1e9}))


def epoch_worker(args):
    import network3
    from network3 import chapter
    training_data, validation_data, test_data = network3.load_data_shared()
    network3.seed(0)
    net = network3.Network(chapter.build_layers("relu", 10), 10)
    recipe = chapter.RECIPES["relu"]
    start = time.perf_counter()
    first = net.SGD(training_data, 1, 10, recipe.eta, validation_data, test_data,
                    lmbda=recipe.lmbda, verbose=False)
    result = {"first_epoch_s": time.perf_counter() - start}
    if args.to_99:
        result.update(train_to_99(net, training_data, validation_data, test_data,
                                  start, epochs=1, accuracy=first.best_test_accuracy))
    start = time.perf_counter()
    net.SGD(training_data, 1, 10, recipe.eta, validation_data, test_data,
            lmbda=recipe.lmbda, verbose=False)
    result["epoch_s"] = time.perf_counter() - start
    print(json.dumps(result))


def dropout_epoch_worker(args):
    """One chapter epoch of the book's best net (the dropout net, mini-batch
    10, on the expanded training set of 250,000 images, then 10,000
    validation and 10,000 test images), extrapolated from 1,000 mini-batches
    of expanded images and a timed evaluation of the validation and test
    sets: every mini-batch costs the same, whatever its images."""
    import network3
    from network3 import chapter, data
    (train_images, train_labels), validation_data, test_data = network3.load_data()
    expanded = data.expand((train_images[:2000], train_labels[:2000]), rng=0)
    network3.seed(0)
    net = network3.Network(chapter.build_layers("dropout", 10), 10)
    recipe = chapter.RECIPES["dropout"]
    train = net.compile_training(data.shared(expanded), recipe.eta, recipe.lmbda)
    train(0, 10)
    start = time.perf_counter()
    for first in range(0, 1000, 100):      # runs of 100, as SGD makes them
        train(first, 100)
    step_s = (time.perf_counter() - start) / 1000
    net.accuracy(validation_data)          # compiles the evaluation
    start = time.perf_counter()
    net.accuracy(validation_data)
    net.accuracy(test_data)
    evaluate_s = time.perf_counter() - start
    batches = 5 * 50000 // 10
    print(json.dumps({"step_us": step_s * 1e6, "evaluate_s": evaluate_s,
                      "epoch_s": batches * step_s + evaluate_s}))


def train_to_99(net, training_data, validation_data, test_data, start, epochs=0,
                accuracy=0.0):
    """Train ``net`` with the book's ReLU recipe an epoch at a time until its
    test accuracy reaches 99.0% (at most 60 epochs); the seconds since
    ``start``, the epochs and the accuracy reached."""
    from network3 import chapter
    recipe = chapter.RECIPES["relu"]
    while accuracy < 0.99 and epochs < 60:
        net.SGD(training_data, 1, net.mini_batch_size, recipe.eta, validation_data,
                None, lmbda=recipe.lmbda, restore_best=False, verbose=False)
        accuracy, epochs = net.accuracy(test_data), epochs + 1
    return {"to_99_s": time.perf_counter() - start, "to_99_epochs": epochs,
            "to_99_accuracy": accuracy}


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


#### The driver
def run_json(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError("{0} failed:\n{1}".format(" ".join(cmd), out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(net, batch, folder, training_data):
    """Write the net's initial weights and the first 10,000 training images
    to an .npz."""
    import numpy as np
    import network3
    from network3 import chapter
    network3.seed(0)
    layers = chapter.build_layers(net, batch)
    arrays = {}
    for k, layer in enumerate(layers):
        arrays["w{0}".format(k)] = layer.w.get_value()
        arrays["b{0}".format(k)] = layer.b.get_value()
    images, labels = training_data
    arrays["images"], arrays["labels"] = images[:10000], labels[:10000]
    path = os.path.join(folder, "{0}-{1}.npz".format(net, batch))
    np.savez(path, **arrays)
    return path, spec_of(layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=["network3", "gemm", "epoch", "coldstart",
                                             "dropout_epoch", "profile"])
    parser.add_argument("--peak", type=float, help="(profile worker) GEMM GFLOP/s")
    parser.add_argument("--net", default="relu")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--weights")
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--batches", default="10,64,256")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epoch", action="store_true",
                        help="also time a full chapter epoch of the ReLU net")
    parser.add_argument("--no-profile", action="store_true",
                        help="leave out the 'where the time goes' column")
    parser.add_argument("--to-99", action="store_true",
                        help="also the wall time to 99.0%% test accuracy (minutes)")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "cpu"))
    args = parser.parse_args()
    if args.worker == "network3":
        return network3_worker(args)
    if args.worker == "gemm":
        return gemm_peak_worker(args)
    if args.worker == "epoch":
        return epoch_worker(args)
    if args.worker == "coldstart":
        return coldstart_worker(args)
    if args.worker == "dropout_epoch":
        return dropout_epoch_worker(args)
    if args.worker == "profile":
        return profile_worker(args)

    me = [sys.executable, os.path.abspath(__file__)]
    peak = run_json(me + ["--worker", "gemm"])["gflops"]
    print("float32 GEMM peak (NumPy, 2048^3): {0:.1f} GFLOP/s".format(peak))
    import network3
    from network3 import chapter
    training_data = network3.load_data()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cases = []
        for net in args.nets.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                path, spec = prepare(net, batch, folder, training_data)
                cases.append((net, batch, path, spec))
        # from an empty cache to the first mini-batch, each net
        cold = {}
        for net in args.nets.split(","):
            cold[net] = cold_start(me, net, folder)
            print("cold start, {0} net: {1}".format(net, describe_cold_start(cold[net])),
                  flush=True)
        timings = {(c[0], c[1]): {"ours": [], "torch": [], "compile": []} for c in cases}
        for r in range(args.rounds):
            for net, batch, path, spec in cases:
                steps = STEPS.get(batch, 50)
                ours = run_json(me + ["--worker", "network3", "--net", net,
                                      "--batch", str(batch), "--steps", str(steps),
                                      "--weights", path])
                recipe = chapter.RECIPES[net]
                theirs = min(
                    (run_json([sys.executable, os.path.join(HERE, "torch_peer.py"),
                               "--weights", path, "--spec", json.dumps(spec),
                               "--batch", str(batch), "--steps", str(steps),
                               "--eta", str(recipe.eta), "--lmbda", str(recipe.lmbda),
                               "--threads", str(threads)])
                     for threads in (1, 2)), key=lambda t: t["step_us"])
                t = timings[(net, batch)]
                t["ours"].append(ours["step_us"])
                t["compile"].append(ours["compile_s"])
                t["torch"].append(theirs["step_us"])
                print("round {0}: {1} batch {2}: network3 {3:.0f} us, PyTorch {4:.0f} us "
                      "({5} threads)".format(r + 1, net, batch, ours["step_us"],
                                             theirs["step_us"], theirs["threads"]),
                      flush=True)
        bounds = {}
        for net, batch, path, spec in ([] if args.no_profile else cases):
            try:
                bounds[(net, batch)] = run_json(me + [
                    "--worker", "profile", "--net", net, "--batch", str(batch),
                    "--weights", path, "--peak", str(peak)])["bound"]
            except RuntimeError as e:       # the timings stand without it
                bounds[(net, batch)] = "(profile failed: {0})".format(
                    str(e).strip().splitlines()[-1])
            print("{0} batch {1}: {2}".format(net, batch, bounds[(net, batch)]),
                  flush=True)
        for net, batch, path, spec in cases:
            t = timings[(net, batch)]
            ours, theirs = statistics.median(t["ours"]), statistics.median(t["torch"])
            gflops = training_flops(spec, batch) / ours / 1e3
            rows.append({"net": net, "batch": batch, "network3_us": ours,
                         "pytorch_us": theirs, "ratio": ours / theirs,
                         "images_per_s": batch / ours * 1e6,
                         "compile_s": statistics.median(t["compile"]),
                         "gflops": gflops, "peak_fraction": gflops / peak,
                         "bound": bounds.get((net, batch), "")})
    epoch = run_json(me + ["--worker", "epoch"] + (["--to-99"] if args.to_99 else [])) \
        if args.epoch or args.to_99 else None
    dropout_epoch = run_json(me + ["--worker", "dropout_epoch"])
    report(rows, peak, cold, epoch, dropout_epoch, args.output)


def cpu_description():
    """The CPU's model name and its vector-instruction flags (from /proc/cpuinfo):
    PyTorch's oneDNN kernels gain most where there is AVX-512."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    vector = sorted(f for f in flags if f.startswith(("avx", "fma")))
    return "{0} ({1})".format(model, " ".join(vector) or "no AVX")


def blas_description():
    """Which BLAS network3 calls, the kernels OpenBLAS chose, and the two
    variables that steer them (this environment sets them; users' do not)."""
    from threadpoolctl import threadpool_info
    from network3.backends.numba import blas
    kernels = sorted({"{0} {1} ({2})".format(i.get("internal_api"), i.get("version"),
                                             i.get("architecture"))
                      for i in threadpool_info() if i["user_api"] == "blas"})
    settings = ", ".join("{0}={1}".format(name, os.environ.get(name, "unset"))
                         for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    return "network3 calls {0}'s BLAS; loaded: {1}; {2}.".format(
        "NumPy" if blas.BLAS == "numpy" else "SciPy", ", ".join(kernels), settings)


def report(rows, peak, cold, epoch, dropout_epoch, output):
    lines = [
        "# network3 vs PyTorch (CPU, eager): training step",
        "",
        "Written by `python benchmarks/bench_cpu.py` on {0}; {1} cores of {3}; "
        "float32 GEMM peak {2:.1f} GFLOP/s. Median of interleaved rounds, each side "
        "in its own process; PyTorch gets the better of 1 and 2 threads. "
        "{4}".format(time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), peak,
                     cpu_description(), blas_description()),
        "",
        "| net | batch | network3 µs/step | PyTorch µs/step | ratio | images/s | "
        "compile s | GFLOP/s | % of peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| {net} | {batch} | {network3_us:.0f} | {pytorch_us:.0f} | "
                     "{ratio:.2f} | {images_per_s:.0f} | {compile_s:.1f} | "
                     "{gflops:.1f} | {pct:.0f}% |".format(pct=100 * r["peak_fraction"], **r))
    if any(r["bound"] for r in rows):
        lines += ["", "Where each step's time goes (`benchmarks/profile_ops.py`: every "
                  "node of the compiled step timed on its own; the last figure is the "
                  "whole step against the sum of its parts):", ""]
        lines += ["- {net} at {batch}: {bound}".format(**r) for r in rows]
    lines += ["", "Cold start, from starting a process with an empty PyTensor cache to "
              "its first mini-batch trained (mini-batch 10), and where it went: "
              "Python starting, importing network3, loading MNIST, building the net, "
              "PyTensor building and rewriting the step's graph, the first step "
              "(Numba compiling it, then running it); Numba's compile time, and the "
              "functions that took longest (seconds of their own):", ""]
    lines += ["- {0}: {1}".format(net, describe_cold_start(result))
              for net, result in cold.items()]
    lines.append(
        "One chapter epoch of the dropout net (the book's best: mini-batch 10, the "
        "expanded training set of 250,000 images, then 10,000 validation and 10,000 "
        "test images), extrapolated from 1,000 mini-batches and a timed evaluation: "
        "{0:.0f} s ({1:.0f} µs per mini-batch, {2:.1f} s evaluating); the book's 40 "
        "epochs: {3:.1f} h.".format(dropout_epoch["epoch_s"], dropout_epoch["step_us"],
                                   dropout_epoch["evaluate_s"],
                                   40 * dropout_epoch["epoch_s"] / 3600))
    if epoch:
        lines.append("One chapter epoch of the ReLU net at mini-batch 10 (50,000 training "
                     "+ 10,000 validation + 10,000 test images): {0:.1f} s.".format(
                         epoch["epoch_s"]))
        if "to_99_s" in epoch:
            lines.append("Book's ReLU recipe to {0:.2%} test accuracy: {1:.0f} s "
                         "({2} epochs).".format(epoch["to_99_accuracy"], epoch["to_99_s"],
                                                epoch["to_99_epochs"]))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output + ".md", "w") as f:
        f.write(text)
    with open(output + ".json", "w") as f:
        json.dump({"rows": rows, "gemm_peak_gflops": peak, "cold_start": cold,
                   "epoch": epoch, "dropout_epoch": dropout_epoch}, f, indent=1)


if __name__ == "__main__":
    main()
