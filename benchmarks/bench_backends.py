"""One chapter epoch on the CPU with each back end: Numba (the default) and JAX.

For each of the chapter's networks named on the command line (default: fc,
relu, dropout): two epochs of SGD at mini-batch 10 on the bundled MNIST,
with validation and test evaluation, on each back end; the second epoch's
time is reported (the first includes compiling).

    pip install -e '.[test]'      # brings JAX for the CPU
    python benchmarks/bench_backends.py fc relu dropout
"""

import os
import sys
import time

import network3
from network3 import backends, chapter

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    names = sys.argv[1:] or ["fc", "relu", "dropout"]
    training_data, validation_data, test_data = network3.load_data_shared()
    lines = ["# One chapter epoch on the CPU: Numba against JAX", "",
             "Written by `python benchmarks/bench_backends.py` on {0}; {1} cores; "
             "mini-batch 10; 50,000 training + 10,000 validation + 10,000 test "
             "images.".format(time.strftime("%Y-%m-%d %H:%M"), os.cpu_count()), "",
             "| net | back end | first epoch s (compiling) | second epoch s | "
             "validation accuracy |", "|---|---|---|---|---|"]
    for name in names:
        recipe = chapter.RECIPES[name]
        for backend in backends.BACKENDS:      # every back end that runs on the CPU
            if "cpu" not in backends.BACKENDS[backend].devices:
                continue
            network3.seed(0)
            net = network3.Network(chapter.build_layers(name, 10), 10,
                                   device="cpu", backend=backend)
            seconds = []
            for _ in range(2):
                start = time.perf_counter()
                history = net.SGD(training_data, 1, 10, recipe.eta, validation_data,
                                  test_data, lmbda=recipe.lmbda, verbose=False)
                seconds.append(time.perf_counter() - start)
            lines.append("| {0} | {1} | {2:.1f} | {3:.1f} | {4:.2%} |".format(
                name, backend, seconds[0], seconds[1],
                history.validation_accuracy[-1]))
            print(lines[-1], flush=True)
    with open(os.path.join(HERE, "results", "jax_cpu.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
