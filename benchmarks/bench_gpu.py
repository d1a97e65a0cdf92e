"""network3 on a GPU (through JAX) against PyTorch CUDA, in one run.

Measures, for the chapter's ReLU net (two ConvPool + FC 100, the book's
recipe: eta=0.03, lmbda=0.1):

* one full chapter epoch (50,000 training + 10,000 validation + 10,000 test
  images) at mini-batch 10 and at a large mini-batch, for network3 and for
  PyTorch doing the same work on the same device (same initial weights, same
  mini-batches, plain SGD, data kept on the device);
* the wall time to 99.0% test accuracy with the book's recipe (network3);
* the time per mini-batch with 1,000 and with 50,000 training images: equal
  times show that no mini-batch copies data or parameters between host and
  device.

    bash benchmarks/gpu.sh            # on a machine with a GPU (see there)
    python benchmarks/bench_gpu.py --device cpu --quick   # the same path on JAX's CPU

Results go to ``--output`` (.md and .json).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def network3_runs(args):
    from bench_cpu import train_to_99
    import network3
    from network3 import chapter
    training_data, validation_data, test_data = network3.load_data()
    if args.quick:
        training_data = tuple(a[:2000] for a in training_data)
        validation_data = tuple(a[:1000] for a in validation_data)
        test_data = tuple(a[:1000] for a in test_data)
    recipe = chapter.RECIPES["relu"]
    result = {"device": args.device}

    def build(batch):
        network3.seed(0)
        net = network3.Network(chapter.build_layers("relu", batch), batch,
                               device=args.device, backend="jax")
        if net.backend != "jax":
            raise SystemExit("bench_gpu.py: no GPU that JAX can use here (see the line "
                             "above); try --device cpu to run the same path on the CPU")
        return net

    for batch in (10, args.large):
        net = build(batch)
        times = []
        for _ in range(2):    # the first epoch includes compiling
            start = time.perf_counter()
            net.SGD(training_data, 1, batch, recipe.eta, validation_data, test_data,
                    lmbda=recipe.lmbda, verbose=False)
            times.append(time.perf_counter() - start)
        result["epoch_s_{0}".format(batch)] = times[1]
        result["first_epoch_s_{0}".format(batch)] = times[0]
    # no per-mini-batch copies: the step time does not grow with the data set
    net = build(10)
    for n in (1000, len(training_data[0])):
        subset = tuple(a[:n] for a in training_data)
        train = net.compile_training(subset, recipe.eta, recipe.lmbda)
        train(0, 100)
        start = time.perf_counter()
        for _ in range(5):
            train(0, 100)
        result["step_us_with_{0}_images".format(n)] = (
            (time.perf_counter() - start) / 500 * 1e6)
    if not args.quick:
        result.update(train_to_99(build(10), training_data, validation_data,
                                  test_data, time.perf_counter()))
    return result


def torch_worker(args):
    """PyTorch doing one chapter epoch of the same net on the same device."""
    import numpy as np
    import torch
    from torch_peer import build, sgd_step
    device = "cuda" if args.device == "gpu" else "cpu"
    weights = np.load(args.weights)
    spec = json.loads(args.spec)
    x_all = torch.tensor(weights["images"], device=device)
    y_all = torch.tensor(weights["labels"], device=device).long()
    evals = [(torch.tensor(weights[k + "_images"], device=device),
              torch.tensor(weights[k + "_labels"], device=device).long())
             for k in ("validation", "test")]
    result = {}
    for batch in (10, args.large):
        params, forward = build(weights, spec, device)
        n_batches = len(x_all) // batch
        step = sgd_step(params, forward, x_all, y_all, batch, 0.03, 0.1, n_batches)

        def epoch():
            for i in range(n_batches):
                step(i)
            with torch.no_grad():
                accuracies = [float(torch.cat([forward(x[k:k+250]).argmax(1)
                                               for k in range(0, len(x), 250)])
                                    .eq(y).float().mean()) for x, y in evals]
            if device == "cuda":
                torch.cuda.synchronize()
            return accuracies

        epoch()
        start = time.perf_counter()
        epoch()
        result["epoch_s_{0}".format(batch)] = time.perf_counter() - start
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="gpu", choices=["gpu", "cpu"])
    parser.add_argument("--large", type=int, default=256,
                        help="the large mini-batch size (default 256)")
    parser.add_argument("--quick", action="store_true",
                        help="a small subset, to try the script")
    parser.add_argument("--worker", choices=["torch"])
    parser.add_argument("--weights")
    parser.add_argument("--spec")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "gpu"))
    args = parser.parse_args()
    if args.worker == "torch":
        return torch_worker(args)
    import numpy as np
    import network3
    from network3 import chapter
    from bench_cpu import spec_of
    training, validation, test = network3.load_data()
    n = 2000 if args.quick else len(training[0])
    with tempfile.TemporaryDirectory() as folder:
        network3.seed(0)
        layers = chapter.build_layers("relu", 10)
        arrays = {}
        for k, layer in enumerate(layers):
            arrays["w{0}".format(k)] = layer.w.get_value()
            arrays["b{0}".format(k)] = layer.b.get_value()
        arrays["images"], arrays["labels"] = training[0][:n], training[1][:n]
        for name, (x, y) in (("validation", validation), ("test", test)):
            arrays[name + "_images"] = x[:n // 2]
            arrays[name + "_labels"] = y[:n // 2]
        path = os.path.join(folder, "relu.npz")
        np.savez(path, **arrays)
        ours = network3_runs(args)
        print("network3:", json.dumps(ours), flush=True)
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--worker", "torch",
             "--device", args.device, "--large", str(args.large), "--weights", path,
             "--spec", json.dumps(spec_of(layers))],
            capture_output=True, text=True, check=False)
        theirs = (json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0
                  else {"error": out.stderr[-2000:]})
        print("PyTorch:", json.dumps(theirs), flush=True)
    report(ours, theirs, args)


def report(ours, theirs, args):
    import jax
    lines = ["# network3 (JAX) vs PyTorch on {0}".format(
                 "the GPU" if args.device == "gpu" else "the CPU"), "",
             "Written by `python benchmarks/bench_gpu.py` on {0}; JAX {1} on {2}.{3}".format(
                 time.strftime("%Y-%m-%d %H:%M"), jax.__version__, jax.devices()[0],
                 " Quick run on a subset." if args.quick else ""), "",
             "| ReLU net, one chapter epoch | network3 s | PyTorch s | ratio |",
             "|---|---|---|---|"]
    for batch in (10, args.large):
        key = "epoch_s_{0}".format(batch)
        t = theirs.get(key)
        lines.append("| mini-batch {0} | {1:.2f} | {2} | {3} |".format(
            batch, ours[key], "{0:.2f}".format(t) if t else "-",
            "{0:.2f}".format(ours[key] / t) if t else "-"))
    lines.append("")
    for key, value in sorted(ours.items()):
        if key.startswith(("first_", "step_us", "to_99")):
            lines.append("- {0}: {1}".format(key, round(value, 4)
                                             if isinstance(value, float) else value))
    if "error" in theirs:
        lines += ["", "PyTorch failed:", "```", theirs["error"], "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output + ".md", "w") as f:
        f.write(text)
    with open(args.output + ".json", "w") as f:
        json.dump({"network3": ours, "pytorch": theirs}, f, indent=1)


if __name__ == "__main__":
    main()
