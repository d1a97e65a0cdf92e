"""Where a training step's time goes, Op by Op (CPU, Numba back end).

PyTensor's Numba linker compiles a whole training step into one function,
so PyTensor's profiler cannot see inside it.  This script takes the step
that ``Network.SGD`` compiles (the same graph, after PyTensor's rewrites),
runs it once to record every intermediate value, then compiles each node of
the graph on its own with the same linker and times it on those values.
The table sums the nodes by Op: where the time goes, what each part costs
in GFLOP/s for the matrix products, and the sum of the parts against the
step as a whole (the difference is what the whole step saves by running
fused, or loses to calling kernels one by one).

    python benchmarks/profile_ops.py --net relu --batch 256
    python benchmarks/profile_ops.py --net dropout --batch 10 --top 15

Compiling every node takes a minute or two the first time (PyTensor caches
the kernels on disk).
"""

import argparse
import collections
import statistics
import time

import numba
import numpy as np
import pytensor
from pytensor.compile.mode import Mode
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
from pytensor.graph.replace import clone_replace

import network3
from network3 import chapter, data


def timed(fn, make_args, rounds=5):
    """Median seconds of ``fn(*make_args())``; arguments are made outside the
    timed part (inputs an in-place Op overwrites are copied each call)."""
    args = make_args()
    start = time.perf_counter()
    fn(*args)
    once = time.perf_counter() - start
    calls = max(1, min(200, int(0.05 / max(once, 1e-6))))
    results = []
    for _ in range(rounds):
        total = 0.0
        for _ in range(calls):
            args = make_args()
            start = time.perf_counter()
            fn(*args)
            total += time.perf_counter() - start
        results.append(total / calls)
    return statistics.median(results)


def step_function(name, batch, images, labels):
    """The network's compiled training step: the PyTensor function of the
    mini-batch index that ``Network.SGD`` runs."""
    network3.seed(0)
    net = network3.Network(chapter.build_layers(name, batch), batch)
    recipe = chapter.RECIPES[name]
    run = net.compile_training(data.shared((images, labels)), recipe.eta, recipe.lmbda)
    run(0, 3)
    (fn, _), = net.engine._steps.values()
    return fn


def node_values(fn, index):
    """Every variable of ``fn``'s graph computed for input ``index``: the
    inputs from the function's storage, the rest by a function that returns
    them all (compiled without rewrites, so the graph stays as it is)."""
    fgraph = fn.maker.fgraph
    values = {}
    for var, container in zip(fgraph.inputs, fn.input_storage):
        values[var] = np.asarray(index, dtype=np.int64) if var is fgraph.inputs[0] \
            else container.storage[0]
    wanted = [v for node in fgraph.toposort() for v in node.outputs]
    fresh = [v.type() for v in fgraph.inputs]     # shared variables can't be inputs
    # (with the step's own linker: PyTensor's Python linker refuses the
    # in-place random draws inside a dropout layer's mask)
    every = pytensor.function(fresh, clone_replace(wanted, dict(zip(fgraph.inputs, fresh))),
                              mode=Mode(linker=type(fn.maker.linker)(), optimizer=None),
                              accept_inplace=True, on_unused_input="ignore")
    copies = [np.copy(values[v]) if isinstance(values[v], np.ndarray) else values[v]
              for v in fgraph.inputs]
    for var, value in zip(wanted, every(*copies)):
        values[var] = value
    return values


def node_flops(node, values):
    """Floating-point operations of a matrix product node, else 0."""
    kind = type(node.op).__name__
    if kind == "Gemm":                   # z*b + a*x.y
        x, y = node.inputs[2:4]
    elif kind in ("Dot", "Dot22", "Dot22Scalar"):
        x, y = node.inputs[:2]
    else:
        return 0
    x, y = values[x], values[y]
    if x.ndim != 2 or y.ndim != 2:
        return 0
    return 2 * x.shape[0] * x.shape[1] * y.shape[1]


def calling(kernel, arity):
    """A jitted function that calls the jitted ``kernel`` and drops what it
    returns.  (A pytensor.function of the node alone would copy an output
    that is a view of an input, and Numba crashes handing some views back
    to Python.)"""
    names = ", ".join("a{0}".format(k) for k in range(arity))
    namespace = {"kernel": kernel}
    exec("def call({0}):\n    kernel({0})\n    return 0\n".format(names), namespace)
    return numba.njit(namespace["call"])


def profile(fn, values):
    """Seconds per Op type (summed over its nodes), FLOPs, and node counts."""
    seconds, flops, counts = (collections.Counter() for _ in range(3))
    slowest = []                             # (seconds, node, input shapes)
    for node in fn.maker.fgraph.toposort():
        kernel = calling(numba_funcify_and_cache_key(node.op, node=node)[0],
                         len(node.inputs))
        destroyed = {k for k in sum(getattr(node.op, "destroy_map", {}).values(), [])}

        def make_args(node=node, destroyed=destroyed):
            args = [values[v] if v in values else v.data for v in node.inputs]
            return [np.copy(a) if k in destroyed else a for k, a in enumerate(args)]
        label = type(node.op).__name__
        if label == "Elemwise":
            label = "Elemwise{{{0}}}".format(type(node.op.scalar_op).__name__)
        try:
            took = timed(kernel, make_args)
        except numba.core.errors.TypingError:
            # a random generator: the step converts it at its boundary, and
            # its draws are left to the whole step's time
            counts["(untimed: " + label + ")"] += 1
            continue
        seconds[label] += took
        slowest.append((took, str(node.op), [describe(a) for a in make_args()]))
        flops[label] += node_flops(node, values)
        counts[label] += 1
    return seconds, flops, counts, sorted(slowest, key=lambda t: -t[0])


def describe(value):
    """An input's shape, with "F" for one laid out column-major and "s"
    for one strided otherwise."""
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return "()"
    order = "" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else "s"
    return "x".join(map(str, value.shape)) + order


#: What each Op is, for the summary a benchmark prints
GROUPS = {"matrix products": ("Dot", "Dot22", "Dot22Scalar", "Gemm", "Gemv", "Ger"),
          "im2col/col2im": ("Im2Col", "Col2Im"), "pooling": ("Pool", "PoolGrad")}


def breakdown(net, batch, images, labels):
    """The profile of ``net``'s training step at mini-batch ``batch``: the
    whole step's seconds, and per Op seconds, FLOPs, node counts, and the
    slowest nodes."""
    fn = step_function(net, batch, images, labels)
    index = np.asarray(1, dtype=np.int64)
    whole = timed(fn, lambda: [index], rounds=7)
    seconds, flops, counts, slowest = profile(fn, node_values(fn, index))
    return whole, seconds, flops, counts, slowest


def summary(whole, seconds, flops, peak_gflops):
    """One line: the share of the step each group of Ops takes, the matrix
    products' GFLOP/s against ``peak_gflops``, and the difference between
    the whole step and its parts (calls, Python, what fusing saves)."""
    total = sum(seconds.values())
    parts = []
    for group, ops in GROUPS.items():
        s = sum(seconds[op] for op in ops)
        if s:
            extra = ""
            if group == "matrix products":
                rate = sum(flops[op] for op in ops) / s / 1e9
                extra = " at {0:.0f} GFLOP/s, {1:.0%} of peak".format(
                    rate, rate / peak_gflops)
            parts.append("{0} {1:.0%}{2}".format(group, s / total, extra))
    rest = total - sum(seconds[op] for ops in GROUPS.values() for op in ops)
    parts.append("elementwise and the rest {0:.0%}".format(rest / total))
    parts.append("whole step {0:.0f}% of its parts".format(100 * whole / total))
    return "; ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", default="relu", choices=list(chapter.RECIPES))
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--nodes", type=int, default=10,
                        help="also list the slowest nodes, with their inputs' shapes")
    args = parser.parse_args()
    images, labels = network3.load_data()[0]
    whole, seconds, flops, counts, slowest = breakdown(
        args.net, args.batch, images[:10000], labels[:10000])
    total = sum(seconds.values())
    print("{0} net, mini-batch {1}: whole step {2:.0f} µs; its {3} nodes one by "
          "one {4:.0f} µs".format(args.net, args.batch, whole * 1e6,
                                  sum(counts.values()), total * 1e6))
    print("  {0:<34} {1:>6} {2:>9} {3:>6} {4:>8}".format("Op", "nodes", "µs", "share",
                                                         "GFLOP/s"))
    for label, s in seconds.most_common(args.top):
        rate = "{0:8.1f}".format(flops[label] / s / 1e9) if flops[label] else ""
        print("  {0:<34} {1:>6} {2:>9.0f} {3:>5.0%} {4}".format(
            label, counts[label], s * 1e6, s / total, rate))
    rest = seconds.most_common()[args.top:]
    if rest:
        print("  {0:<34} {1:>6} {2:>9.0f} {3:>5.0%}".format(
            "(the other {0} Ops)".format(len(rest)), sum(counts[k] for k, _ in rest),
            sum(s for _, s in rest) * 1e6, sum(s for _, s in rest) / total))

    print("The slowest nodes (inputs: shape, F column-major, s strided):")
    for took, op, shapes in slowest[:args.nodes]:
        print("  {0:9.0f} µs  {1}({2})".format(took * 1e6, op[:60], ", ".join(shapes)))


if __name__ == "__main__":
    main()
