"""Where a training step's time goes, for one of the chapter's networks.

PyTensor's Numba linker compiles the whole step into one function, so it has
no per-Op profiler.  This script takes the step apart instead: it compiles
and times the forward pass up to each layer's output, then the cost, the
cost and its gradients, and the full step with its parameter updates, all on
the same mini-batches.  Differences between rows are what each part costs.

    python benchmarks/profile_step.py --net dropout --batch 10

For nets with dropout the same net without dropout is timed as well.  Times
are medians of several rounds (this kind of VM varies by +-30% run to run).
"""

import argparse
import statistics
import time

import numpy as np
import pytensor
import pytensor.tensor as T

import network3
from network3 import chapter, config, data, ops


def timed(fn, n_batches, steps, rounds=7):
    """Median µs per call of ``fn(i)`` over ``rounds`` rounds of ``steps`` calls."""
    for i in range(10):
        fn(i % n_batches)
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(steps):
            fn(i % n_batches)
        results.append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(results)


def profile(name, batch, arrays, dropout=True):
    network3.seed(0)
    layers = chapter.build_layers(name, batch)
    if not dropout:
        for layer in layers:
            layer.p_dropout = 0.0
    net = network3.Network(layers, batch)
    recipe = chapter.RECIPES[name]
    x, y = data.shared(arrays)
    n_batches = len(arrays[0]) // batch
    i = T.lscalar()
    givens = {net.x: x[i*batch:(i+1)*batch], net.y: y[i*batch:(i+1)*batch]}
    steps = max(20, 2000 // batch)

    def compiled(outputs, updates=()):
        fn = pytensor.function([i], outputs, givens=givens, updates=list(updates),
                               mode=config.mode, on_unused_input="ignore")
        fn.trust_input = True    # as the Numba back end's training step
        return lambda index: fn(np.asarray(index, dtype=np.int64))

    rows = []
    for k, layer in enumerate(net.layers):
        out = layer.output_dropout
        fn = compiled(out.sum(), ops.rng_updates([out]))
        rows.append(("forward to layer {0} ({1})".format(k, type(layer).__name__),
                     timed(fn, n_batches, steps)))
    cost = net.layers[-1].cost(net)
    if recipe.lmbda:
        cost = cost + 0.5 * recipe.lmbda / n_batches * sum(
            (layer.w**2).sum() for layer in net.layers)
    rows.append(("cost", timed(compiled(cost, ops.rng_updates([cost])), n_batches, steps)))
    grads = T.grad(cost, net.params)
    fn = compiled([cost] + grads, ops.rng_updates([cost]))
    rows.append(("cost + gradients", timed(fn, n_batches, steps)))
    train = net.compile_training((x, y), recipe.eta, recipe.lmbda)
    rows.append(("full step (+ updates)",
                 timed(lambda index: train(index, 1), n_batches, steps)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", default="relu", choices=list(chapter.RECIPES))
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    images, labels = network3.load_data()[0]
    arrays = data.check_arrays((images[:10000], labels[:10000]), "images")
    variants = [True]
    if any(layer.p_dropout for layer in chapter.build_layers(args.net, args.batch)):
        variants.append(False)
    for dropout in variants:
        print("{0} net, mini-batch {1}{2}".format(
            args.net, args.batch, "" if dropout else ", dropout switched off"))
        previous = 0.0
        for label, us in profile(args.net, args.batch, arrays, dropout):
            print("  {0:<40} {1:9.0f} µs  (+{2:.0f})".format(label, us, us - previous))
            previous = us


if __name__ == "__main__":
    main()
