"""What a trial on a Dask worker pays to report an epoch and hear the
pruner's verdict: network3's relay against optuna-integration's DaskStorage.

On a LocalCluster of two single-threaded workers, each of two tasks reports
``--epochs`` epochs, one after another, and waits each time for the verdict
of a MedianPruner, timing the round trip on the worker:

* network3's way (``runs.on_dask``): the report goes to a Dask ``Queue``,
  the client takes it (``_ReportRelay``), tells the study, which lives in a
  journal file on the client's disk, and sends the verdict back in the
  run's own ``Queue``;
* DaskStorage's: the worker calls ``trial.report`` and
  ``trial.should_prune`` on a study whose storage lives in the scheduler
  (in its memory, or in a file on the scheduler's machine).

    pip install -e '.[cluster,optuna]' optuna-integration && python benchmarks/dask_reports.py

Writes benchmarks/results/dask_reports.md.
"""

import argparse
import os
import statistics
import tempfile
import time

import distributed
import optuna

from network3.runs import on_dask
from network3.runs.run import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))


def relayed(queue, key, epochs):
    """On a worker: the seconds of each report's round trip (network3's)."""
    send = on_dask._ToClient(queue, key)
    seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        send({"kind": "epoch", "epoch": epoch,
              "scalars": {"accuracy/validation": 0.5 + 0.001 * epoch}})
        seconds.append(time.perf_counter() - start)
    return seconds


def stored(storage_name, study_name, trial_id, epochs):
    """On a worker: the seconds of each report's round trip (DaskStorage's)."""
    from optuna_integration import DaskStorage
    study = optuna.load_study(study_name=study_name, storage=DaskStorage(
        name=storage_name))
    trial = optuna.Trial(study, trial_id)
    seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        trial.report(0.5 + 0.001 * epoch, epoch)
        trial.should_prune()
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--output", default=os.path.join(HERE, "results",
                                                         "dask_reports.md"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, tempfile.TemporaryDirectory() as folder:
        # network3's: the study on the client's disk
        study = optuna.create_study(
            storage=optuna.storages.JournalStorage(
                optuna.storages.journal.JournalFileBackend(
                    os.path.join(folder, "study.journal"))),
            direction="maximize", pruner=optuna.pruners.MedianPruner())
        trials = {}

        def listen(run, report):
            trial = trials[run]
            trial.report(report["scalars"]["accuracy/validation"], report["epoch"])
            return "pruned" if trial.should_prune() else None
        relay = on_dask._ReportRelay(client, distributed, listen)
        futures = []
        for k in range(2):
            key = "bench-{0}".format(k)
            trials[key] = study.ask()
            queue, key = relay.watch(key, key)
            futures.append(client.submit(relayed, queue, key, args.epochs, pure=False))
        results["network3 (two Queues, the journal on the client's disk)"] = sum(
            client.gather(futures), [])
        relay.stop()
        # DaskStorage's: the study in the scheduler
        from optuna_integration import DaskStorage
        storage = DaskStorage(client=client)
        study = optuna.create_study(storage=storage, direction="maximize",
                                    pruner=optuna.pruners.MedianPruner())
        futures = [client.submit(stored, storage.name, study.study_name,
                                 study.ask()._trial_id, args.epochs, pure=False)
                   for _ in range(2)]
        results["optuna-integration DaskStorage (in the scheduler)"] = sum(
            client.gather(futures), [])
    with open("/proc/cpuinfo") as f:
        machine = cpu_model(f.read())
    lines = ["# A trial's report and verdict on Dask", "",
             "`python benchmarks/dask_reports.py` on {0}, {1} cores: a LocalCluster of 2 "
             "single-threaded workers, 2 tasks of {2} epochs each, a MedianPruner.".format(
                 machine, os.cpu_count(), args.epochs), "",
             "| way | median ms per epoch | 90th percentile | max |", "|---|---|---|---|"]
    for name, seconds in results.items():
        ms = sorted(1000 * s for s in seconds)
        lines.append("| {0} | {1:.1f} | {2:.1f} | {3:.1f} |".format(
            name, statistics.median(ms), ms[int(0.9 * len(ms))], ms[-1]))
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
