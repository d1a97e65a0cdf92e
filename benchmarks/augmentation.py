"""What on-the-fly augmentation costs: time per epoch and memory.

1. The transforms alone, µs per image on 10,000 MNIST images: our Numba
   kernels against scipy.ndimage (gaussian_filter, map_coordinates), with the
   affine transforms only and with the elastic distortion too.
2. A chapter epoch of the ReLU net (50,000 images, mini-batch 10, eta 0.03,
   lmbda 0.1, validation after each epoch) without augmentation and with
   ``chapter.AUGMENTATION`` (shift 2, rotate 10, shear 10, elastic 34/4), in
   one process, alternating round by round; each round is one SGD call of
   ``--epochs`` epochs per side.  The ratio of mean epoch times per round, and
   of the epochs after the first (which also waits for its first page of
   images, made while nothing trains): medians over the rounds.  One round
   with ``method="scipy"``.
3. Peak resident memory (ru_maxrss) of a process that trains ``--epochs``
   epochs without augmentation and of one that trains them with it, against
   the target: no more than twice the training set's size more.

    python benchmarks/augmentation.py                 # ~5 minutes
    python benchmarks/augmentation.py --rounds 5

Writes benchmarks/results/augmentation.md.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (cpu_description)


def transforms(images):
    """µs per image of each method, affine only and affine + elastic."""
    from network3 import chapter
    from network3.augmentation import Augmentation
    full = chapter.AUGMENTATION
    affine = Augmentation(shift=full.shift, rotate=full.rotate, shear=full.shear)
    rows = []
    for name, base in (("affine", affine), ("affine + elastic", full)):
        times = {}
        for method in ("numba", "scipy"):
            augment = Augmentation(shift=base.shift, rotate=base.rotate, shear=base.shear,
                                   elastic=base.elastic, method=method)
            augment.transform(images[:100], (28, 28), rng=0)      # compiled, warm
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                augment.transform(images, (28, 28), rng=0)
                best = min(best, time.perf_counter() - start)
            times[method] = best / len(images) * 1e6
        rows.append((name, times["numba"], times["scipy"]))
    return rows


def epochs(rounds, count):
    """Per round: the epoch seconds without and with augmentation; and one
    round with the scipy method."""
    import network3
    from network3 import chapter
    from network3.augmentation import Augmentation
    training, validation, _ = network3.load_data_shared()
    network3.seed(0)
    net = network3.Network(chapter.build_layers("relu", 10), 10)
    net.SGD(training, 0, 10, 0.03, validation, None, lmbda=0.1, verbose=False)
    full = chapter.AUGMENTATION
    scipy = Augmentation(shift=full.shift, rotate=full.rotate, shear=full.shear,
                         elastic=full.elastic, method="scipy")
    results = []
    for k in range(rounds + 1):
        sides = [("plain", None), ("numba", full)] if k < rounds else [("scipy", scipy)]
        if k % 2:
            sides.reverse()
        for name, augment in sides:
            history = net.SGD(training, count, 10, 0.03, validation, None, lmbda=0.1,
                              verbose=False, augment=augment)
            results.append({"round": k, "side": name, "seconds": history.seconds})
            print(name, " ".join("{0:.2f}".format(s) for s in history.seconds),
                  flush=True)
    return results


def worker_rss(augmented, count):
    """Train ``count`` epochs in this process; print its peak RSS (MB)."""
    import network3
    from network3 import chapter
    training, validation, _ = network3.load_data_shared()
    network3.seed(0)
    net = network3.Network(chapter.build_layers("relu", 10), 10)
    net.SGD(training, count, 10, 0.03, validation, None, lmbda=0.1, verbose=False,
            augment=chapter.AUGMENTATION if augmented else None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(json.dumps({"peak_mb": peak,
                      "training_mb": training[0].get_value(borrow=True).nbytes / 1e6}))


def rss(count):
    me = [sys.executable, os.path.abspath(__file__), "--worker-rss"]
    out = {}
    for side in ("plain", "augmented"):
        run = subprocess.run(me + [side, "--epochs", str(count)], capture_output=True,
                             text=True, check=True)
        out[side] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def report(rows, results, memory, args):
    from network3 import chapter
    def mean(side, k, first=0):
        return statistics.mean(_seconds(results, k, side)[first:])
    ratios = [mean("numba", k) / mean("plain", k) for k in range(args.rounds)]
    later = [mean("numba", k, 1) / mean("plain", k, 1) for k in range(args.rounds)]
    scipy_ratio = mean("scipy", args.rounds) / statistics.median(
        mean("plain", k) for k in range(args.rounds))
    plain, augmented = memory["plain"], memory["augmented"]
    extra, budget = augmented["peak_mb"] - plain["peak_mb"], 2 * plain["training_mb"]
    lines = [
        "# On-the-fly augmentation: time and memory",
        "",
        "Written by `python benchmarks/augmentation.py --rounds {0} --epochs {1}` on "
        "{2}; {3} cores of {4}.".format(args.rounds, args.epochs,
                                        time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
                                        bench_cpu.cpu_description()),
        "",
        "## The transforms alone (10,000 MNIST images, best of 3)",
        "",
        "| transforms | Numba kernels µs/image | scipy.ndimage µs/image | scipy / Numba |",
        "|---|---|---|---|"]
    lines += ["| {0} | {1:.1f} | {2:.1f} | {3:.1f} |".format(name, ours, theirs,
                                                            theirs / ours)
              for name, ours, theirs in rows]
    lines += [
        "",
        "## A chapter epoch of the ReLU net (50,000 images, with validation)",
        "",
        "Augmentation: `{0!r}`. Each round: one SGD call of {1} epochs without "
        "augmentation and one with it, in alternating order.".format(
            chapter.AUGMENTATION, args.epochs),
        "",
        "| round | plain s/epoch | augmented s/epoch | ratio | ratio after epoch 0 |",
        "|---|---|---|---|---|"]
    lines += ["| {0} | {1} | {2} | {3:.3f} | {4:.3f} |".format(
        k, " ".join("{0:.2f}".format(s) for s in _seconds(results, k, "plain")),
        " ".join("{0:.2f}".format(s) for s in _seconds(results, k, "numba")),
        ratios[k], later[k]) for k in range(args.rounds)]
    lines += [
        "",
        "- **Median ratio, augmented / plain epoch: {0:.3f}** (target <= 1.15); "
        "after epoch 0: {1:.3f}.".format(statistics.median(ratios),
                                         statistics.median(later)),
        "- With `method=\"scipy\"` (one round: {0}): {1:.3f} x the plain epoch.".format(
            " ".join("{0:.2f}".format(s) for s in _seconds(results, args.rounds,
                                                         "scipy")), scipy_ratio),
        "",
        "## Peak memory ({0} epochs, each side in a process of its own)".format(
            args.epochs),
        "",
        "- without augmentation: {0:.0f} MB; with it: {1:.0f} MB; difference "
        "**{2:+.0f} MB**, against a budget of 2 x the training set = {3:.0f} MB "
        "({4}).".format(plain["peak_mb"], augmented["peak_mb"], extra, budget,
                        "within" if extra <= budget else "OVER"),
        ""]
    text = "\n".join(lines)
    print(text)
    with open(args.output, "w") as f:
        f.write(text)


def _seconds(results, k, side):
    return next(r["seconds"] for r in results if r["round"] == k and r["side"] == side)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per SGD call (and in the memory runs)")
    parser.add_argument("--output",
                        default=os.path.join(HERE, "results", "augmentation.md"))
    parser.add_argument("--worker-rss", choices=["plain", "augmented"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_rss:
        return worker_rss(args.worker_rss == "augmented", args.epochs)
    import network3
    images = network3.load_data()[0][0][:10000]
    rows = transforms(images)
    memory = rss(args.epochs)
    results = epochs(args.rounds, args.epochs)
    report(rows, results, memory, args)


if __name__ == "__main__":
    main()
