"""How well the ONNX files agree with network3, net by net.

Every chapter net (``network3.chapter.RECIPES``; the expanded-data rungs
share their architectures with relu, and augmented is relu's too, so one
of each architecture) is trained ``--epochs`` epochs on the first
``--train-size`` training images with the book's settings, exported with
``net.export_onnx``, and run by onnxruntime on all 10,000 test images: how
many get the same digit as ``net.predict``, and the largest difference of
the probabilities from ``net.predict_proba``.  The ladder's five trained
dropout nets (benchmarks/results/ladder/nets/, 40 epochs on the expanded
data) are exported as they are.  Pooling options beyond the chapter's
(each pool mode, padding, strides) are checked by tests/test_onnx.py.

    pip install -e '.[onnx]' && python benchmarks/onnx_agreement.py   # ~3 minutes

Writes benchmarks/results/onnx.md.
"""

import argparse
import glob
import os
import tempfile
import time

import numpy as np

import network3
from network3 import chapter, onnx
from network3.runs.run import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = ["fc", "conv1", "conv1-nofc", "conv2", "relu", "expanded-fc300",
        "expanded-fc1000", "expanded-2fc", "dropout"]


def agreement(net, images, labels, folder, name):
    path = os.path.join(folder, name + ".onnx")
    net.export_onnx(path)
    mine, theirs = net.predict_proba(images), onnx.run(path, images)
    return {"net": name, "same": int(np.sum(mine.argmax(1) == theirs.argmax(1))),
            "n": len(labels), "diff": float(np.abs(mine - theirs).max()),
            "accuracy": float(np.mean(theirs.argmax(1) == labels)),
            "bytes": os.path.getsize(path)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--output", default=os.path.join(HERE, "results", "onnx.md"))
    args = parser.parse_args()
    training, validation, (images, labels) = network3.load_data()
    training = tuple(part[:args.train_size] for part in training)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in NETS:
            recipe = chapter.RECIPES[name]
            network3.seed(0)
            net = network3.Network(chapter.build_layers(name, 10), 10)
            start = time.perf_counter()
            net.SGD(training, args.epochs, 10, recipe.eta, validation, None,
                    lmbda=recipe.lmbda, verbose=False)
            row = agreement(net, images, labels, folder, name)
            row["trained"] = "{0} epoch(s), {1} images, {2:.0f} s".format(
                args.epochs, args.train_size, time.perf_counter() - start)
            rows.append(row)
            print(row, flush=True)
        for path in sorted(glob.glob(os.path.join(HERE, "results", "ladder", "nets",
                                                  "dropout-*.npz"))):
            name = os.path.basename(path)[:-4]
            row = agreement(network3.load_network(path), images, labels, folder, name)
            row["trained"] = "the ladder's (40 epochs, expanded data)"
            rows.append(row)
            print(row, flush=True)
    with open("/proc/cpuinfo") as f:
        machine = cpu_model(f.read())
    lines = ["# ONNX export: agreement with network3", "",
             "`python benchmarks/onnx_agreement.py` on {0}, {1} cores; onnxruntime {2}, "
             "ONNX opset {3}. All 10,000 test images.".format(
                 machine, os.cpu_count(), __import__("onnxruntime").__version__,
                 onnx.OPSET), "",
             "| net | trained | same digit | largest probability difference | "
             "test accuracy (ONNX) | file |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| {net} | {trained} | {same} of {n} | {diff:.2g} | {acc:.2%} | "
                     "{kb:.0f} KB |".format(acc=r["accuracy"], kb=r["bytes"] / 1024, **r))
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
