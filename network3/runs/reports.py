"""runs/reports.py
~~~~~~~~~~~~~~~~~~~

What runs report while they train, and who listens on the machine that
runs the sweep.

A run told to report (``Run.report``: the keywords of
``network3.callbacks.Reports``) hands a report to its carrier after every
epoch and when it ends (``network3.tensorboard`` says what a report holds);
here, or from a Dask worker through the scheduler (``runs.on_dask``).  On
this machine a :class:`Listener` takes each report, with the run it came
from: it writes the run's TensorBoard event files in a folder of its own
under ``--tensorboard DIR`` (named after the run, so one TensorBoard
compares the whole sweep), and asks the search's ``judge`` (Optuna's pruner,
``runs.study``) whether an epoch's run should stop: the answer goes back to
the run.

"""

#### Libraries
# Standard library
import os
import re
import threading

# network3
from network3 import tensorboard


def folder_name(run):
    """The folder of ``run``'s event files: its experiment, its trial (in a
    search), the values it was given, its repeat (``relu_eta=0.03_run1``)."""
    parts = [run.experiment]
    if run.trial is not None:
        parts.append("trial{0}".format(run.trial))
    parts += ["{0}={1}".format(name, "{0:.4g}".format(value) if isinstance(value, float)
                               else value) for name, value in (run.config or {}).items()]
    parts.append("run{0}".format(run.repeat + 1))
    return re.sub(r"[^A-Za-z0-9=.,+_-]+", "_", "_".join(parts))


def wanted(tensorboard_dir=None, prune=False):
    """What runs report (``Run.report``) for a ``tensorboard_dir`` and a
    search that prunes: None if nothing listens."""
    if tensorboard_dir is None and not prune:
        return None
    shown = tensorboard_dir is not None
    return {"histograms": shown, "images": shown}


class Listener(object):
    """Takes the reports of a sweep's runs (call it with ``(run, report)``):
    TensorBoard's event files in ``tensorboard_dir/folder_name(run)``, if
    given, and the verdict of ``judge(run, report)`` on each epoch's report,
    which it returns (a string stops the run).  Reports may come from
    several threads; they are taken one at a time."""

    def __init__(self, tensorboard_dir=None, judge=None):
        self.tensorboard_dir = tensorboard_dir
        self.judge = judge
        self._writers = {}
        self._lock = threading.Lock()
        if tensorboard_dir is not None:
            tensorboard.require()       # (before anything trains)

    def __call__(self, run, report):
        with self._lock:
            if self.tensorboard_dir is not None:
                writer = self._writers.get(run.file)
                if writer is None:
                    writer = self._writers[run.file] = tensorboard.EventWriter(
                        os.path.join(self.tensorboard_dir, folder_name(run)))
                writer.write(report)
                if report["kind"] == "end":
                    self._writers.pop(run.file).close()
            if self.judge is not None and report["kind"] == "epoch":
                return self.judge(run, report)
            return None

    def close(self):
        with self._lock:
            for writer in self._writers.values():
                writer.close()
            self._writers = {}
