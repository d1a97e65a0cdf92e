"""network3's training step in two versions of the code, in one run.

Checks that a change (a restructuring, say) costs no speed: for each of the
chapter's networks and mini-batch sizes, the training step of an earlier
commit and of the working tree are timed on the same initial weights and
mini-batches, each in a process of its own (each version's own
``bench_cpu.py --worker network3``), alternating which goes first, round by
round; the medians and their ratio are reported.

    python benchmarks/ab_commits.py 88c54c4            # that commit vs the working tree
    python benchmarks/ab_commits.py 88c54c4 --rounds 5 --nets relu,dropout
    python benchmarks/ab_commits.py 88c54c4 --epoch    # also a whole SGD epoch

The step is timed compiled, called as SGD calls it; ``--epoch`` also times
one whole chapter epoch of the ReLU net through ``Network.SGD`` (the loop,
its hooks and the evaluation included: ``bench_cpu.py --worker epoch``, the
second epoch, compiled already).

The earlier commit is checked out with ``git worktree`` into a temporary
folder; both versions must have ``benchmarks/bench_cpu.py``'s network3 worker.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (the weights and the worker come from there)


def step_us(tree, net, batch, weights, compiledir):
    """µs per training step of ``net`` at ``batch``, with the code in ``tree``
    compiling into ``compiledir`` (each version its own: compiled kernels
    name the modules they call, which one version may lack)."""
    env = dict(os.environ, PYTHONPATH=tree,
               PYTENSOR_FLAGS="base_compiledir=" + compiledir)
    out = subprocess.run(
        [sys.executable, os.path.join(tree, "benchmarks", "bench_cpu.py"), "--worker",
         "network3", "--net", net, "--batch", str(batch),
         "--steps", str(bench_cpu.STEPS.get(batch, 50)), "--weights", weights],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if out.returncode:
        raise RuntimeError("{0}: {1}".format(tree, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])["step_us"]


def epoch_s(tree, compiledir):
    """Seconds of a whole chapter epoch of the ReLU net through SGD, with
    the code in ``tree``."""
    env = dict(os.environ, PYTHONPATH=tree,
               PYTENSOR_FLAGS="base_compiledir=" + compiledir)
    out = subprocess.run(
        [sys.executable, os.path.join(tree, "benchmarks", "bench_cpu.py"), "--worker",
         "epoch"], capture_output=True, text=True, env=env, cwd=tree)
    if out.returncode:
        raise RuntimeError("{0}: {1}".format(tree, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])["epoch_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the earlier version (any git revision)")
    parser.add_argument("--nets", default=",".join(bench_cpu.NETS))
    parser.add_argument("--batches", default="10,64,256")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epoch", action="store_true",
                        help="also a whole SGD epoch of the ReLU net, loop included")
    args = parser.parse_args()
    import network3
    training = network3.load_data()[0]
    cases = [(net, int(b)) for net in args.nets.split(",")
             for b in args.batches.split(",")]
    epochs = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as folder:
        before = os.path.join(folder, "before")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", before,
                        args.commit], check=True)
        try:
            trees = {"before": before, "after": ROOT}
            weights = {c: bench_cpu.prepare(c[0], c[1], folder, training)[0]
                       for c in cases}
            times = {(c, t): [] for c in cases for t in trees}
            for r in range(args.rounds):
                for c in cases:
                    for t in (("before", "after") if r % 2 == 0 else ("after", "before")):
                        times[c, t].append(step_us(trees[t], c[0], c[1], weights[c],
                                                   os.path.join(folder, "cache-" + t)))
                    print("round {0}: {1} batch {2}: before {3:.0f} µs, after {4:.0f} "
                          "µs".format(r + 1, c[0], c[1], times[c, "before"][-1],
                                      times[c, "after"][-1]), flush=True)
                if args.epoch:
                    for t in (("before", "after") if r % 2 == 0 else ("after", "before")):
                        epochs[t].append(epoch_s(trees[t], os.path.join(folder,
                                                                        "cache-" + t)))
                    print("round {0}: SGD epoch, relu: before {1:.2f} s, after {2:.2f} "
                          "s".format(r + 1, epochs["before"][-1], epochs["after"][-1]),
                          flush=True)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", before],
                           check=False)
    print("\n| net | batch | before µs | after µs | after / before |")
    print("|---|---|---|---|---|")
    for c in cases:
        b, a = statistics.median(times[c, "before"]), statistics.median(times[c, "after"])
        print("| {0} | {1} | {2:.0f} | {3:.0f} | {4:.2f} |".format(c[0], c[1], b, a, a / b))
    if args.epoch:
        b, a = statistics.median(epochs["before"]), statistics.median(epochs["after"])
        print("\nA whole SGD epoch of the ReLU net (mini-batch 10): before {0:.2f} s, after "
              "{1:.2f} s, after / before {2:.3f}".format(b, a, a / b))


if __name__ == "__main__":
    main()
