"""runs/on_dask.py
~~~~~~~~~~~~~~~~~~

Sweeps on Dask distributed: the same runs on this machine's cores or on a
cluster.

The chapter's ladder is about a dozen networks, three runs each, some of
them 60 epochs over 250,000 images; chapter 3's search for good
hyper-parameters is many more runs.  They are independent, so an
:class:`Engine` hands them to Dask, one task per run:

* ``Engine(workers=N)`` starts a ``distributed.LocalCluster`` of N worker
  processes on the loopback address (scheduler, workers and dashboard: nothing
  listens on another interface), each with one thread (the nanny that
  starts it sets OpenMP, MKL and OpenBLAS to one thread too), so N runs share
  the machine's cores without getting in each other's way; the runs of a
  sweep of more than twice N runs wait in the scheduler's queue, a worker
  being sent the next only when it is free, so they start in the order they
  were submitted (the ladder's first round first);
* ``Engine(scheduler="tcp://host:8786")`` connects to a cluster someone
  started (``dask scheduler`` and ``dask worker``, dask-jobqueue,
  Kubernetes): a scheduler that does not answer is an error within
  :data:`CONNECT_TIMEOUT` seconds, not a hang.  ``tls://host:port`` connects
  with the certificates Dask's configuration names
  (``distributed.comm.tls.*``).

A worker trains each run with :func:`network3.runs.run.train`, loading the data
from its own disk once (``run.datasets``; a missing file is reported with
the worker's address), compiling into a PyTensor compile directory of its
own (``network3.config`` gives every Dask worker process one), and sends
back the record and the model file's bytes for the client to keep.  After
every epoch the run's backup (``SGD(backup=...)``) goes to a Dask
``Variable`` of its own on the scheduler, from which the client copies it to
``OUTPUT/backups/`` (:class:`_BackupCopier`).  When a worker dies in the
middle of a run (killed, out of memory) Dask's scheduler gives the run to
another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by
default), which goes on from the last backup; a sweep run again after the
client stopped starts each run's variable with the backup the client kept.
A run that raises comes back as its error and the others go on.  Leaving
the engine (Ctrl-C included) cancels what has not finished, once the client
holds the last backups.

Dask is an extra: ``pip install -e '.[cluster]'``.

"""

#### Libraries
# Standard library
import ctypes
import dataclasses
import importlib.util
import os
import pickle
import re
import sys
import threading
import uuid

# network3
from network3 import data, files
from network3.backup import Backup
from network3.runs.log import backup_file
from network3.runs.run import datasets, train

#: Seconds to wait for a ``--scheduler`` to answer.
CONNECT_TIMEOUT = 10

#: What a scheduler's address looks like: ``tcp://host:port`` (or another of
#: Dask's protocols).
ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://[^\s/:]+(:\d{1,5})?")

_INSTALL = "pip install -e '.[cluster]' (or pip install 'dask[distributed]')"


class DataUnavailable(RuntimeError):
    """A worker could not read a run's data."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise RuntimeError("--workers and --scheduler run sweeps on Dask, which is "
                           "not installed: " + _INSTALL) from None
    return distributed


def check_engine_arguments(workers=None, scheduler=None):
    """Raise ValueError for a bad ``workers`` or ``scheduler`` (see
    :class:`Engine`), before anything starts."""
    if workers is not None and scheduler is not None:
        raise ValueError("--workers and --scheduler: give one, not both "
                         "(the workers of --scheduler are the cluster's)")
    if workers is not None and (isinstance(workers, bool)
                                or not isinstance(workers, int) or workers < 1):
        raise ValueError("--workers: expected a number of worker processes >= 1, "
                         "got {0!r}".format(workers))
    if scheduler is not None and not (isinstance(scheduler, str)
                                      and ADDRESS.fullmatch(scheduler)):
        raise ValueError("--scheduler: expected a Dask scheduler's address such as "
                         "tcp://10.0.0.5:8786, got {0!r}".format(scheduler))


class Engine(object):
    """Dask, to train runs on: use as ``with Engine(...) as engine:``.

    Parameters
    ----------
    workers : int, optional
        Start a LocalCluster of this many single-threaded worker processes.
    scheduler : str, optional
        Or connect to the scheduler at this address (``tcp://host:port``).
        With neither, a LocalCluster of one worker per core.
    say : callable, optional
        Where to print the cluster's description (``print``).
    """

    def __init__(self, workers=None, scheduler=None, say=print):
        check_engine_arguments(workers, scheduler)
        self.workers = workers or (None if scheduler else os.cpu_count() or 1)
        self.scheduler = scheduler
        self.say = say
        self.cluster = self.client = None
        self._futures = []
        self._copier = self._relay = self._completed = self._output = None
        self._jobs = {}

    def __enter__(self):
        distributed = _distributed()
        try:
            self._start(distributed)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, distributed):
        if self.scheduler:
            _check_tls(self.scheduler, distributed)
            try:
                self.client = distributed.Client(
                    self.scheduler, timeout="{0}s".format(CONNECT_TIMEOUT),
                    set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise ConnectionError(
                    "--scheduler: no Dask scheduler answered at {0} within {1} s "
                    "({2})".format(self.scheduler, CONNECT_TIMEOUT, error)) from None
            where = "the cluster at " + self.scheduler
        else:
            import dask                 # (there when distributed is)
            # everything on the loopback address, the dashboard included
            # (Dask's default serves it on every interface)
            dashboard = "127.0.0.1:0" if importlib.util.find_spec("bokeh") else None
            # a worker is sent its next run only when it is free, so the runs
            # start in the order they were submitted (Dask's default of 1.1
            # sends a one-thread worker two, the second waiting there behind
            # the first while another worker starts a later run)
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=dashboard)
            self.client = distributed.Client(self.cluster, set_as_default=False)
            where = "a local cluster at " + self.cluster.scheduler_address
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        threads = sorted({w["nthreads"] for w in workers.values()})
        self.say("network3: Dask: {0} worker{1} of {2} thread{3} in {4}".format(
            len(workers), "" if len(workers) == 1 else "s",
            "/".join(map(str, threads)) or "?", "" if threads == [1] else "s", where))
        link = self._dashboard()
        if link:
            self.say("network3: Dask dashboard: " + link)
        if not workers:
            self.say("network3: the cluster has no workers yet; the runs wait for "
                     "some to join")
        if any(t > 1 for t in threads):
            self.say("network3: a worker process trains one run at a time; start "
                     "workers with --nthreads 1 (and --nworkers N) to use every core")

    def _dashboard(self):
        try:
            return self.client.dashboard_link
        except Exception:            # no dashboard running (bokeh missing)
            return None

    def results(self, todo, output=None, listen=None):
        """Submit the runs ``todo``, one task each, and yield ``(run,
        outcome, None)`` or ``(run, None, error)`` as each finishes; runs
        given to :meth:`add` meanwhile are yielded too.  With ``output``,
        each run starts from its backup there (if it has one) and its
        backups are copied there after every epoch.  With ``listen``, the
        reports of the runs that report (``Run.report``) come to
        ``listen(run, report)`` here, whose verdict goes back to the run
        (:class:`_ReportRelay`); a run's reports are all taken before it is
        yielded."""
        distributed = _distributed()
        self._output = output
        if output is not None and self._copier is None:
            self._copier = _BackupCopier(self.client, distributed)
        if listen is not None and self._relay is None:
            self._relay = _ReportRelay(self.client, distributed, listen)
        self._completed = distributed.as_completed(loop=self.client.loop)
        self.add(todo)
        for future in self._completed:
            run, key, backup = self._jobs.pop(future)
            try:
                result = future.result()
                if backup is not None:          # (done: no more copies)
                    self._copier.forget(backup[0])
            except Exception as failure:
                result, error = None, "{0}: {1}".format(type(failure).__name__, failure)
            else:
                error = None
            finally:
                future.release()
            if self._relay is not None:
                self._relay.finish(key)
            yield run, result, error

    def add(self, todo):
        """Submit the runs ``todo`` to the :meth:`results` being yielded."""
        if not todo:
            return
        tag = uuid.uuid4().hex[:8]
        keys = ["network3-{0}-{1}".format(tag, k) for k in range(len(todo))]
        runs = [dataclasses.replace(run, verbose=False) for run in todo]
        backups, reports = [], []
        for key, run in zip(keys, runs):
            backup = None
            if self._output is not None and run.file is not None:
                path = backup_file(self._output, run)
                backup = (key + "-backup", path)
                self._copier.watch(backup[0], path, _read_if_there(path))
            backups.append(backup)
            reporting = self._relay is not None and run.report is not None
            reports.append(self._relay.watch(key, run) if reporting else None)
        # all in one call: one group, which the scheduler queues in this
        # order when it has more tasks than twice the cluster's threads (a
        # smaller group is shared out at once; submitted one by one, the
        # first few runs of every sweep would be, two to a worker)
        futures = self.client.map(_train_on_worker, runs, backups, reports, key=keys,
                                  pure=False)
        for future, run, key, backup in zip(futures, todo, keys, backups):
            self._jobs[future] = (run, key, backup)
            self._completed.add(future)
        self._futures += futures

    def __exit__(self, *exc_info):
        futures, self._futures = self._futures, []
        copier, self._copier = self._copier, None
        relay, self._relay = self._relay, None
        try:
            if copier is not None:
                copier.stop()           # the last backups copied first
            if relay is not None:
                relay.stop()            # and the last reports taken
            if self.client is not None and futures:
                self.client.cancel(futures)
        finally:
            for thing in (self.client, self.cluster):
                if thing is not None:
                    thing.close()
            self.client = self.cluster = None
        return False


def _check_tls(address, distributed):
    """A ``tls://`` scheduler needs certificates from Dask's configuration."""
    if not address.startswith("tls://"):
        return
    arguments = distributed.security.Security().get_connection_args("client")
    if arguments.get("ssl_context") is None:
        raise ValueError(
            "--scheduler {0}: a TLS scheduler needs Dask's TLS configuration, which "
            "names no certificates here: set distributed.comm.tls.ca-file, "
            "distributed.comm.tls.client.cert and distributed.comm.tls.client.key "
            "(in ~/.config/dask/distributed.yaml, or as the environment variables "
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, ..._CLIENT__CERT and "
            "..._CLIENT__KEY)".format(address))


def _read_if_there(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()


class _BackupCopier(object):
    """Copies each run's latest backup from its Dask ``Variable`` (on the
    scheduler) to the client's disk, every :data:`COPY_EVERY` seconds, in a
    thread of its own.  A second, small variable (the first's name and
    ``-count``) counts the backups, so only a new one is fetched."""

    def __init__(self, client, distributed):
        self.client, self.distributed = client, distributed
        self._paths, self._copied = {}, {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="network3-backups")
        self._thread.start()

    def watch(self, name, path, content):
        """Copy the variable ``name`` to ``path`` whenever it changes.  It
        starts as ``content``, the backup the client holds (None: none), and
        its count at 0: both are set, so that no one waits for a variable
        that is not (the scheduler logs each such wait as an error), and the
        backup travels to the worker through the scheduler, not in the task
        (which Dask warns about when it is large)."""
        variable, count = _variables(name, self.distributed, self.client)
        variable.set(content)
        count.set(0)
        with self._lock:
            self._paths[name] = path
            self._copied[name] = 0

    def forget(self, name):
        """The run is finished: copy it no more, and free its variables."""
        with self._lock:
            self._paths.pop(name, None)
            self._copied.pop(name, None)
            for variable in _variables(name, self.distributed, self.client):
                variable.delete()

    def _run(self):
        while not self._stop.wait(COPY_EVERY):
            self.copy()

    def copy(self):
        """Copy every backup that is newer than its last copy."""
        with self._lock:
            for name, path in self._paths.items():
                content, count = _variables(name, self.distributed, self.client)
                try:
                    new = count.get(timeout=0)
                    if new == self._copied.get(name):
                        continue
                    data = content.get(timeout=0)
                except Exception:           # the client is closing
                    continue
                with files.atomic_write(path) as f:
                    f.write(data)
                self._copied[name] = new

    def stop(self):
        """Stop, after a last copy; free the variables."""
        self._stop.set()
        self._thread.join()
        self.copy()
        for name in list(self._paths):
            self.forget(name)


#: Seconds between two copies of the runs' backups to the client's disk.
COPY_EVERY = 0.5


def _variables(name, distributed, client):
    """A run's two Dask variables: its latest backup, and how many it wrote."""
    return (distributed.Variable(name, client=client),
            distributed.Variable(name + "-count", client=client))


class _ReportRelay(object):
    """Brings the reports of runs on workers to ``listen(run, report)`` here,
    in a thread of its own: a worker puts each report (pickled) in a Dask
    ``Queue`` of the sweep's, on the scheduler, where the thread waits for
    it; after an epoch's report the worker waits for the verdict, which
    comes back in a ``Queue`` of the run's (:class:`_ToClient`).  Each is a
    round trip through the scheduler: a few milliseconds an epoch
    (benchmarks/dask_reports.py)."""

    def __init__(self, client, distributed, listen):
        self.client, self.distributed, self.listen = client, distributed, listen
        self.queue = distributed.Queue("network3-reports-" + uuid.uuid4().hex[:8],
                                       client=client)
        self._runs, self._finished = {}, {}
        #: the first error taking a report raised (the sweep goes on)
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="network3-reports")
        self._thread.start()

    def watch(self, key, run):
        """Take the reports of ``run``, whose task is ``key``; what the task
        needs to send them: ``(queue's name, key)``."""
        self._runs[key] = run
        return self.queue.name, key

    def _verdicts(self, key):
        return self.distributed.Queue(key + "-verdicts", client=self.client)

    def _run(self):
        while True:
            try:
                item = self.queue.get()
            except Exception:               # (the client is closing)
                return
            if item is None:                # (stop)
                return
            key, payload = item
            if payload is None:             # (the task ended: see finish)
                self._runs.pop(key, None)
                try:
                    self._verdicts(key).close()
                except Exception:           # (the client is closing)
                    pass
                self._finished.pop(key).set()
            else:
                self._take(key, pickle.loads(payload))

    def _take(self, key, report):
        run, verdict = self._runs.get(key), None
        try:
            if run is not None:
                verdict = self.listen(run, report)
        except Exception as error:          # (said once; the sweep goes on)
            if self.error is None:
                self.error = error
                print("network3: a run's report could not be taken: {0}: {1}".format(
                    type(error).__name__, error), file=sys.stderr)
        if report["kind"] == "epoch":       # (the run waits for it)
            self._verdicts(key).put([report["epoch"], verdict])

    def finish(self, key):
        """The task ``key`` has ended: return once the reports it sent (all
        in the queue by now, before this mark) are taken."""
        if key not in self._runs:
            return
        done = self._finished[key] = threading.Event()
        try:
            self.queue.put([key, None])
        except Exception:                   # (the client is closing)
            return
        done.wait(VERDICT_TIMEOUT)

    def stop(self):
        try:
            self.queue.put(None)
        except Exception:                   # (the cluster is gone)
            pass
        self._thread.join(VERDICT_TIMEOUT)


#: Seconds a run waits for the verdict on an epoch before it goes on.
VERDICT_TIMEOUT = 60


class _ToClient(object):
    """A run's ``send`` on a worker: each report to the sweep's queue; after
    an epoch's, the verdict from the run's own queue (None if none comes
    within :data:`VERDICT_TIMEOUT` seconds).  A verdict on another epoch (a
    worker that died before it read it) is passed over."""

    def __init__(self, queue, key):
        self.queue, self.key = queue, key

    def __call__(self, report):
        import distributed
        client = distributed.get_client()
        distributed.Queue(self.queue, client=client).put(
            [self.key, pickle.dumps(report)])
        if report["kind"] != "epoch":
            return None
        verdicts = distributed.Queue(self.key + "-verdicts", client=client)
        while True:
            try:
                epoch, answer = verdicts.get(timeout=VERDICT_TIMEOUT)
            except Exception:               # (none came: go on)
                return None
            if epoch == report["epoch"]:
                return answer


#### On a worker
# A worker process trains one run at a time: runs seed network3's generator
# and compile, which are this process's, not a thread's.
_one_at_a_time = threading.Lock()
_prepared = []


def _train_on_worker(run, backup=None, reports=None):
    """Train ``run`` on the worker this runs on (a Dask task); ``backup``:
    ``(name, shown_as)``, the run's Dask variable and the client's backup
    file, which messages name (or None: no backups); ``reports``: ``(queue,
    key)``, where its reports go (see :class:`_ToClient`), or None."""
    with _one_at_a_time:
        if not _prepared:
            _prepared.append(_keep_freed_memory())
            # one BLAS/OpenMP thread, as the nanny's environment also asks
            # (a worker started without a nanny has no such environment)
            from threadpoolctl import threadpool_limits
            _prepared.append(threadpool_limits(limits=1))
        try:
            datasets(run.data)
        except (OSError, data.DataError) as error:
            from distributed import get_worker
            raise DataUnavailable("on worker {0}: {1}".format(
                get_worker().address, error)) from None
        if backup is not None:
            run = dataclasses.replace(run, backup=_worker_backup(*backup))
        return train(run, send=None if reports is None else _ToClient(*reports))


def _worker_backup(name, shown_as):
    """The run's backup on this worker: a file of its own, holding the
    newest backup there is (the variable ``name``'s: the client's backup, or
    a newer one from a worker that died in the run), whose every new version
    goes to the variable; messages call it ``shown_as``."""
    import distributed
    variable, count = _variables(name, distributed, distributed.get_client())
    written = count.get(timeout=0)          # how many backups workers sent
    content = variable.get(timeout=0)
    # in the worker's own scratch folder, which Dask removes when the worker
    # closes, and purges at the next worker's start if this one was killed
    path = os.path.join(distributed.get_worker().local_directory, name + ".state")
    if content is not None:
        with files.atomic_write(path) as f:
            f.write(content)
    elif os.path.exists(path):
        os.remove(path)

    def send(data):
        nonlocal written
        written += 1
        variable.set(data)
        count.set(written)
    return Backup(path, on_write=send, name=shown_as)


def _keep_freed_memory():
    """Let glibc's malloc keep freed memory for the next training step.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``), which also fixes the size
    above which malloc maps fresh pages from the system at 128 KB.  A
    training step allocates and frees arrays larger than that thousands of
    times a second, and each comes back as fresh pages: a chapter epoch ran
    2.2 times slower.  Here malloc gets back a threshold above any array of
    a step (32 MB, glibc's largest), and keeps up to 64 MB free before
    trimming.  Returns whether it changed anything.
    """
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_") or not sys.platform.startswith(
            "linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:               # not glibc
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
                and libc.mallopt(M_TRIM_THRESHOLD, 64 << 20))
