"""runs
~~~~~~~

Training many networks: the chapter's ladder, hyper-parameter searches, on
this machine or on a Dask cluster.

* ``run.py``: what a run is (:class:`Run`, :class:`DataSpec`) and
  :func:`train`, which any process can carry out;
* ``log.py``: ``runs.jsonl``, the log of finished runs that makes a sweep
  resumable;
* ``carry.py``: where runs train, here or on Dask (:func:`carry_out`);
* ``on_dask.py``: Dask itself (an ``Engine``: a LocalCluster or a
  scheduler's cluster, a task per run);
* ``ladder.py``: the chapter's ladder and the ensemble's vote;
* ``search.py``: grids and random searches of the options
  ``network3.options`` lists;
* ``tables.py``: the tables of both (``plots.plot_sweep`` draws a search).

The command line (``network3 experiments``, ``network3 sweep``) is in
``network3.cli``.

"""

from network3.runs.carry import carry_out
from network3.runs.log import append, finished_line, keep, pending, read_runs
from network3.runs.run import (DataSpec, Interrupted, Outcome, Run, build_layers,
                               datasets, expanded, train)

__all__ = ["carry_out", "append", "finished_line", "keep", "pending", "read_runs",
           "DataSpec", "Interrupted", "Outcome", "Run", "build_layers", "datasets",
           "expanded", "train"]
