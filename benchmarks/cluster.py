"""Sweeps on Dask against the serial runner: the wall time of the same runs.

Each side is the command a user types, timed from its start to its exit
(starting the cluster, importing, loading the data and compiling included):

    network3 experiments --only NET --repeats 4 --epochs 1 --quiet --output DIR
    network3 experiments ... --workers 2

four runs of one of the chapter's nets over the 50,000 training images
(validation and test after each epoch), serially in one process (BLAS free
to use every core) against a LocalCluster of two single-threaded worker
processes: the ReLU net (``relu``) and the first convolutional net
(``conv1``), an epoch each, and the fully connected baseline (``fc``), ten
epochs each.  The sides alternate, round by round, each into a fresh
output folder (nothing is skipped); a first, untimed round fills the compile
caches (the serial process's and each worker's).  The ratio parallel/serial
per round, and its median.  The target: at most 0.6 on 2 cores.

Whether one process gains from BLAS's second thread decides most of it: a
worker runs at one thread's speed, so the ratio cannot fall below (a run's
time on one thread) / (2 x its time on all of them), plus the cluster's
start and stop.  The last columns show both times.

    python benchmarks/cluster.py               # ~15 minutes on 2 cores
    python benchmarks/cluster.py --nets relu:2 --rounds 5 --runs 8 --workers 4

Writes benchmarks/results/cluster.md.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (cpu_description)


def command(args, net, output, workers):
    net, _, epochs = net.partition(":")
    line = [sys.executable, "-m", "network3", "experiments", "--only", net,
            "--repeats", str(args.runs), "--epochs", epochs or "1",
            "--quiet", "--output", output]
    if args.train_size:
        line += ["--train-size", str(args.train_size)]
    return line + (["--workers", str(workers)] if workers else [])


def timed(args, net, workers, folder):
    """Wall seconds of one side, and the seconds each of its runs trained."""
    output = os.path.join(folder, "parallel" if workers else "serial")
    shutil.rmtree(output, ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run(command(args, net, output, workers), capture_output=True,
                            text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("failed:\n" + result.stderr[-3000:])
    with open(os.path.join(output, "runs.jsonl")) as f:
        seconds = [json.loads(line)["seconds"] for line in f]
    if len(seconds) != args.runs:
        sys.exit("expected {0} runs, found {1}".format(args.runs, len(seconds)))
    return wall, seconds


def measure(args, net, folder):
    """The rounds of one net: (serial s, parallel s, s per run each side)."""
    print("{0}: warming the compile caches ...".format(net), flush=True)
    timed(args, net, 0, folder)
    timed(args, net, args.workers, folder)
    rounds = []
    for k in range(args.rounds):
        serial, serial_runs = timed(args, net, 0, folder)
        parallel, parallel_runs = timed(args, net, args.workers, folder)
        rounds.append((serial, parallel, statistics.mean(serial_runs),
                       statistics.mean(parallel_runs)))
        print("{0} round {1}: serial {2:.1f} s, --workers {3} {4:.1f} s, ratio "
              "{5:.2f}".format(net, k + 1, serial, args.workers, parallel,
                               parallel / serial), flush=True)
    return rounds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--nets", default="relu:1,conv1:1,fc:10",
                   help="NET:EPOCHS of each run, comma-separated (default "
                        "relu:1,conv1:1,fc:10)")
    p.add_argument("--train-size", type=int)
    p.add_argument("--output", default=os.path.join(HERE, "results", "cluster.md"))
    args = p.parse_args()
    folder = tempfile.mkdtemp(prefix="network3-cluster-")
    measured = {net: measure(args, net, folder) for net in args.nets.split(",")}
    shutil.rmtree(folder, ignore_errors=True)
    import dask
    import distributed
    lines = [
        "# Sweeps on Dask: serial runner vs a LocalCluster",
        "",
        "Written by `python benchmarks/cluster.py` on {0}; {1} cores of {2}; "
        "Dask {3}, distributed {4}.".format(
            time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
            bench_cpu.cpu_description(), dask.__version__, distributed.__version__),
        "",
        "{0} runs of one of the chapter's nets, EPOCHS epoch(s) over {1} training images "
        "each (validation and test after each epoch): `network3 experiments --only "
        "NET --repeats {0} --epochs EPOCHS` as one process (BLAS free to use every core), "
        "against the same with `--workers {2}` (a LocalCluster of {2} single-threaded "
        "worker processes). Wall time of each command from start to exit (cluster "
        "start, imports, data and compiling included), the sides alternating round by "
        "round after an untimed round that fills the compile caches. Even without the "
        "cluster's start and stop the ratio cannot fall below (s per run on a worker) / "
        "({2} x s per run serially): a worker trains on one thread, the serial process "
        "on all of them.".format(args.runs, args.train_size or 50000, args.workers),
        "",
        "| net:epochs | round | serial (s) | --workers {0} (s) | ratio | s per run, serial | "
        "s per run, on a worker |".format(args.workers),
        "|---|---|---|---|---|---|---|",
    ]
    for net, rounds in measured.items():
        for k, (s, par, s_run, p_run) in enumerate(rounds):
            lines.append("| {0} | {1} | {2:.1f} | {3:.1f} | {4:.2f} | {5:.1f} | "
                         "{6:.1f} |".format(net, k + 1, s, par, par / s, s_run, p_run))
    lines.append("")
    for net, rounds in measured.items():
        lines.append("**{0}: median ratio {1:.2f}** (target: at most 0.6 on 2 "
                     "cores).  ".format(net, statistics.median(p / s for s, p, _, _
                                                                in rounds)))
    lines.append("")
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
