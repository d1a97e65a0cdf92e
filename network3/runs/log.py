"""runs/log.py
~~~~~~~~~~~~~~~

``runs.jsonl``, the log of finished runs that makes a sweep resumable: one
JSON line per finished run, appended (and synced) only once the run's
network is written whole under ``nets/``.  A run whose cost diverged is
recorded as diverged, with its epoch, and a run a search pruned as pruned,
so that resuming does not try them again.  A run not finished yet keeps its backup under ``backups/``
(:func:`backup_file`; see ``SGD(backup=...)``): run the sweep again and it
goes on from its last epoch.

"""

#### Libraries
# Standard library
import json
import os

# network3
from network3 import files


def read_runs(path):
    """The records of ``runs.jsonl``, oldest first (a line a crash cut short
    is skipped: that run is done again)."""
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        runs.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return runs


def append(path, record):
    """Add ``record`` to ``runs.jsonl`` as a line of its own."""
    files.append_line(path, json.dumps(record).encode())


def keep(output, outcome):
    """Write a finished run's network under ``output`` and then its record
    to ``output/runs.jsonl``: a record never names a model file that is not
    there whole."""
    if outcome.model is not None:
        with files.atomic_write(os.path.join(output, outcome.record["net"])) as f:
            f.write(outcome.model)
    append(os.path.join(output, "runs.jsonl"), outcome.record)


def backup_file(output, run):
    """Where ``run`` keeps its backup under ``output`` while it is not
    finished: ``backups/NAME.state``, NAME that of its model file."""
    return os.path.join(output, "backups", os.path.splitext(run.file)[0] + ".state")


def forget_backup(output, run):
    """Remove ``run``'s backup (it is finished and kept)."""
    path = backup_file(output, run)
    if os.path.exists(path):
        os.remove(path)


def finished_line(name, record):
    """The line a sweep prints when the run ``name`` ends."""
    resumed = ("" if record.get("resumed_at") is None else
               " (resumed at epoch {0})".format(record["resumed_at"]))
    if record.get("diverged"):
        return "== {0}: diverged in epoch {1}; recorded as diverged{2}".format(
            name, record["diverged_epoch"], resumed)
    if record.get("pruned"):
        return "== {0}: pruned after {1} epoch{2}, validation accuracy {3:.2%}{4}".format(
            name, record["epochs"], "" if record["epochs"] == 1 else "s",
            record["best_validation_accuracy"] or 0.0, resumed)
    return "== {0}: test accuracy {1:.2%} in {2:.0f} s{3}".format(
        name, record["test_accuracy"] or 0.0, record["seconds"], resumed)


def pending(runs, output):
    """The ``runs`` that ``output/runs.jsonl`` does not hold yet."""
    done = read_runs(os.path.join(output, "runs.jsonl"))
    return [run for run in runs if not any(run.matches(r) for r in done)]
