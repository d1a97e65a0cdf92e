"""runs/carry.py
~~~~~~~~~~~~~~~~~

Where runs train: :func:`carry_out` trains the runs that ``runs.jsonl`` does
not hold yet, one after another in this process (printing SGD's lines, as
the book does) or, when asked, on a Dask cluster (``runs.on_dask``); as each
run finishes it is kept (``log.keep``: its network, then its record), even
if Ctrl-C comes then.  Only finished runs are recorded, so an interrupted
sweep resumes with what is missing; and every run keeps a backup under
``backups/`` after each epoch (``log.backup_file``), so a run cut short goes
on from its last epoch.

"""

#### Libraries
# Standard library
import collections
import dataclasses
import functools
import os
import time

# network3
from network3.interrupts import Interruption
from network3.runs.log import backup_file, finished_line, forget_backup, keep, pending
from network3.runs.reports import Listener, wanted
from network3.runs.run import Interrupted, train


def carry_out(todo, output, say=print, workers=None, scheduler=None, engine=None,
              kept=None, tensorboard=None, judge=None, more=None):
    """Carry out the runs ``todo`` that ``output/runs.jsonl`` does not hold
    yet; return the number of runs that failed.  ``kept``, if given, is
    called with each finished run's record once it is kept (the ladder's
    ensemble votes as soon as its nets are there).  With ``tensorboard`` (a
    folder) or ``judge`` the runs report each epoch to a
    ``runs.reports.Listener`` here: TensorBoard's event files, a folder per
    run, and ``judge(run, report)``'s verdict, which may prune the run.
    ``more``, if given, is called with each run that ends and its record
    (None if it failed) and returns the runs to carry out next (a search
    that chooses each trial from those before it).

    Here, one after another, unless ``workers`` or ``scheduler`` ask for Dask
    (a :class:`network3.runs.on_dask.Engine` is started only if some run is
    pending) or an ``engine`` is given.  Here an exception a run raises ends
    the sweep; on Dask a progress bar counts finished runs on a terminal, and
    a run that raises is reported with its error while the others go on.
    Ctrl-C raises :class:`Interrupted` (pending runs are cancelled).
    """
    for folder in ("nets", "backups"):
        os.makedirs(os.path.join(output, folder), exist_ok=True)
    report = wanted(tensorboard, judge is not None)
    listen = None if report is None else Listener(tensorboard, judge)

    def reporting(runs):
        return [dataclasses.replace(run, report=report) for run in runs]
    todo = reporting(pending(todo, output))
    kept = kept or (lambda record: None)
    more = more or (lambda run, record: [])
    hooks = (kept, listen, lambda run, record: reporting(more(run, record)))
    try:
        if engine is not None:
            return _train_there(todo, output, say, engine, *hooks)
        if (workers is None and scheduler is None) or not todo:
            todo = collections.deque(todo)
            while todo:
                run = todo.popleft()
                todo.extend(_train_here(run, output, say, *hooks))
            return 0
        from network3.runs.on_dask import Engine
        with Engine(workers, scheduler, say) as engine:
            return _train_there(todo, output, say, engine, *hooks)
    finally:
        if listen is not None:
            listen.close()


def _train_here(run, output, say, kept, listen, more):
    """Train ``run`` here, keep it; return the runs ``more`` adds."""
    say("== {0}, seed {1}".format(run.description, run.seed))
    send = None if listen is None else functools.partial(listen, run)
    with Interruption() as interruption:
        outcome = train(dataclasses.replace(run, backup=backup_file(output, run)), say,
                        send)
        with interruption.shielded():      # a finished run is kept whole
            keep(output, outcome)
        say(finished_line(run.experiment if run.config is None else run.label(),
                          outcome.record))
        kept(outcome.record)
    if interruption.requested:
        raise Interrupted(run.label())
    return more(run, outcome.record)


def _train_there(todo, output, say, engine, kept, listen, more):
    from tqdm.auto import tqdm
    failed = finished = 0
    total = len(todo)
    started = time.perf_counter()
    # a bar on a terminal; in a log, each run's line says how far the sweep is
    with tqdm(total=len(todo), unit="run", desc="runs", dynamic_ncols=True,
              disable=None) as bar, Interruption() as interruption:
        results = engine.results(todo, output, listen)
        while True:
            with interruption.immediately():
                item = next(results, None)
            if item is None:
                break
            run, outcome, error = item
            if error is None:
                with interruption.shielded():
                    keep(output, outcome)
                    forget_backup(output, run)
                line = finished_line(run.label(), outcome.record)
            else:
                failed += 1
                line = "== {0}: failed: {1}".format(run.label(), error)
            finished += 1
            if error is None:
                kept(outcome.record)
            added = more(run, outcome.record if error is None else None)
            if added:
                engine.add(added)
                total += len(added)
                bar.total = total
            bar.update()
            if bar.disable:         # (and then bar.n stays 0)
                say(line + _progress(finished, total, time.perf_counter() - started))
            else:
                bar.write(line)
            if interruption.requested:
                raise Interrupted(run.label())
    return failed


def _progress(done, total, seconds):
    """`` (3 of 8 runs done, about 2 min left)``."""
    left = seconds / done * (total - done)
    return " ({0} of {1} runs done{2})".format(done, total, "" if done == total else
                                              ", about {0:.0f} min left".format(
                                                  left / 60) if left >= 90 else
                                              ", about {0:.0f} s left".format(left))
