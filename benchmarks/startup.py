"""How long a learner waits before training starts: from a fresh process to
its first mini-batch trained, for each chapter net, against PyTorch in the
same run.

For each net (mini-batch 10):

* **cold**: empty PyTensor and Numba caches (a new folder for each), a new
  process: import, MNIST, building the net, its graph, and compiling and
  training the first mini-batch (``Network.compile_training`` and one step,
  as SGD does), with Numba's compile events (how many functions, their
  seconds, the slowest);
* **warm**: the same net again in a new process, the caches as the cold run
  left them;
* **changed**: warm caches, a new process, the net with each FC layer one
  unit wider, and then with mini-batch 11: the seconds from asking for the
  step to the first mini-batch trained (the issue's "within 1 s of SGD being
  called");
* **PyTorch** (eager, the same net: ``torch_peer.py``): a new process to its
  first two mini-batches trained, and its import.

    python benchmarks/startup.py --torch-python /path/to/python-with-torch
    python benchmarks/startup.py --nets relu --no-torch

Writes ``benchmarks/results/startup.md``.  Unset ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` in the command that runs it (see README).
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

NETS = ("fc", "conv1", "relu", "dropout")


#### In the measured process
def worker(args):
    """Prints when (``time.time()``) each phase ended, and Numba's compiles."""
    marks = {"start": time.time()}
    import network3
    from network3 import chapter
    from bench_cpu import _NumbaCompiles
    compiles = _NumbaCompiles()
    marks["import"] = time.time()
    training_data = network3.load_data_shared()[0]
    marks["mnist"] = time.time()
    recipe = chapter.RECIPES[args.net]
    if args.wider:
        chapter.RECIPES[args.net] = dataclasses.replace(
            recipe, fc=tuple(n + args.wider for n in recipe.fc))
    network3.seed(0)
    net = network3.Network(chapter.build_layers(args.net, args.batch), args.batch)
    marks["build"] = time.time()
    train = net.compile_training(training_data, recipe.eta, recipe.lmbda)
    marks["graph"] = time.time()
    train(0, 1)
    marks["first step"] = time.time()
    print(json.dumps({"marks": marks, "numba_compiles": compiles.count,
                      "numba_s": compiles.seconds, "numba_slowest": compiles.slowest(3)}))


#### The driver
def measure(net, cache, batch=10, wider=0):
    """A new process training ``net``'s first mini-batch with the caches in
    the folder ``cache``: seconds from its start, the phases, Numba's part."""
    env = dict(os.environ, PYTENSOR_FLAGS="base_compiledir=" + os.path.join(cache, "pytensor"),
               NUMBA_CACHE_DIR=os.path.join(cache, "numba"))
    started = time.time()
    out = subprocess.run([sys.executable, __file__, "--worker", "--net", net,
                          "--batch", str(batch), "--wider", str(wider)],
                         capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE))
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    marks = result.pop("marks")
    names = list(marks)
    result["phases"] = {"python": marks["start"] - started}
    result["phases"].update((b, marks[b] - marks[a]) for a, b in zip(names, names[1:]))
    result["seconds"] = marks["first step"] - started
    result["from_sgd"] = marks["first step"] - marks["build"]
    return result


def torch_first(python, net, folder):
    """PyTorch: a new process to its first two mini-batches of ``net``."""
    import bench_cpu
    import network3
    training = network3.load_data()[0]
    weights, spec = bench_cpu.prepare(net, 10, folder, training)
    started = time.time()
    out = subprocess.run([python, os.path.join(HERE, "torch_peer.py"), "--weights", weights,
                          "--spec", json.dumps(spec), "--batch", "10", "--steps", "0",
                          "--first"], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": marks["second_step"] - started, "import": marks["import"] - started,
            "two_steps": marks["second_step"] - marks["ready"]}


def describe(result):
    phases = ", ".join("{0} {1:.1f}".format(k, v) for k, v in result["phases"].items())
    slowest = ", ".join("{0} {1:.1f}".format(k, v) for k, v in result["numba_slowest"])
    return "{0} s ({1}); Numba compiled {2} functions in {3:.1f} s, the slowest {4}".format(
        "{0:.1f}".format(result["seconds"]), phases, result["numba_compiles"],
        result["numba_s"], slowest or "none")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--net", default="relu", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--wider", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--torch-python", default=sys.executable,
                        help="a Python that has torch (default: this one)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "startup.md"))
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    rows, details = [], []
    with tempfile.TemporaryDirectory() as folder:
        for net in args.nets.split(","):
            cache = os.path.join(folder, "cache-" + net)
            cold = measure(net, cache)
            warm = measure(net, cache)
            wider = measure(net, cache, wider=1)
            batch = measure(net, cache, batch=11)
            peer = None if args.no_torch else torch_first(args.torch_python, net, folder)
            rows.append("| {0} | {1:.1f} | {2:.1f} ({3:.1f} of it import) | {4:.1f} | {5:.1f} | "
                        "{6} |".format(
                            net, cold["seconds"], warm["seconds"], warm["phases"]["import"],
                            wider["from_sgd"], batch["from_sgd"],
                            "-" if peer is None else "{0:.1f} (import {1:.1f}, two "
                            "mini-batches {2:.2f})".format(peer["seconds"], peer["import"],
                                                           peer["two_steps"])))
            for name, result in (("cold", cold), ("warm", warm), ("FC one wider", wider),
                                 ("mini-batch 11", batch)):
                details.append("- {0}, {1}: {2}".format(net, name, describe(result)))
            print(rows[-1], flush=True)
    import platform
    lines = ["# From a new process to the first mini-batch trained", "",
             "`python benchmarks/startup.py` (OpenBLAS variables unset), {0}, {1}, "
             "Python {2}; seconds.".format(time.strftime("%Y-%m-%d"), _cpu(),
                                          platform.python_version()), "",
             "| net | cold: start to first mini-batch | warm: the same net, new process | "
             "warm, FC one wider: from asking for the step | warm, mini-batch 11: from "
             "asking for the step | PyTorch eager: start to two mini-batches |",
             "|---|---|---|---|---|---|"] + rows + ["", "Where the time went:", ""] + details
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "an unknown CPU"
    return "{0} cores of {1}".format(os.cpu_count(), model)


if __name__ == "__main__":
    main()
