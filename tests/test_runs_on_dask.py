"""runs/on_dask.py, sweeps on Dask: a real LocalCluster of two worker processes on the
loopback address gives the serial runner's results; a worker killed in the
middle of a run loses nothing; the runs start in the order they were
given; Ctrl-C keeps the finished runs and the next
sweep trains only the rest; ``dask scheduler`` and ``dask worker`` processes
take the same runs through --scheduler; bad addresses fail fast."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from network3 import cli, runs  # noqa: E402
from network3.runs import on_dask, search  # noqa: E402

from conftest import BACKENDS  # noqa: E402


def read(path):
    return [json.loads(line) for line in open(path) if line.strip().endswith("}")]


def sweep_args(out, *more, backend="numba"):
    """Four runs of a small conv net (two learning rates, two seeds)."""
    return ["--layers", "conv4,fc20,softmax", "--activation", "relu",
            "--vary", "eta=0.03,0.1", "--repeats", "2", "--epochs", "2",
            "--train-size", "1000", "--eval-size", "200", "--output", str(out),
            "--quiet", "--backend", backend, "--device", "cpu"] + list(more)


def results(out):
    """Each run's accuracies and trained parameters, by (eta, repeat)."""
    found = {}
    for r in read(out / "runs.jsonl"):
        with np.load(out / r["net"]) as model:
            params = [model[k] for k in sorted(model.files) if k.startswith("param")]
        found[r["config"]["eta"], r["repeat"]] = (
            r["seed"], r["best_validation_accuracy"], r["test_accuracy"],
            r["best_epoch"], params)
    return found


def assert_same(mine, serial):
    assert sorted(mine) == sorted(serial) == [(0.03, 0), (0.03, 1), (0.1, 0), (0.1, 1)]
    for key in serial:
        assert mine[key][:4] == serial[key][:4], key
        for a, b in zip(mine[key][4], serial[key][4]):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The four runs trained here, one after another, BLAS on one thread as
    on a worker (with more threads its sums round differently)."""
    from threadpoolctl import threadpool_limits
    found = {}
    for backend in ("numba", "jax"):
        if backend == "jax" and not cluster_backend_available("jax"):
            continue
        out = tmp_path_factory.mktemp("serial-" + backend)
        with threadpool_limits(1):
            assert cli.main(["sweep"] + sweep_args(out, backend=backend)) == 0
        found[backend] = results(out)
    return found


def cluster_backend_available(name):
    from network3 import backends
    return name != "jax" or bool(backends.find_jax("cpu")[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_local_cluster_gives_the_serial_results(tmp_path, serial, backend, capsys):
    out = tmp_path / "cluster"
    assert cli.main(["sweep"] + sweep_args(out, "--workers", "2", backend=backend)) == 0
    said = capsys.readouterr().out
    assert "network3: Dask: 2 workers of 1 thread in a local cluster at tcp://127.0.0.1:" \
        in said
    # not a terminal: no bar, and each run's line says how far the sweep is
    assert "(1 of 4 runs done, about " in said and "(4 of 4 runs done)" in said
    assert_same(results(out), serial[backend])
    assert "| eta | validation accuracy |" in (out / "table.md").read_text()
    # again: everything is done, so no cluster starts and nothing is trained
    assert cli.main(["sweep"] + sweep_args(out, "--workers", "2", backend=backend)) == 0
    assert "Dask" not in capsys.readouterr().out
    assert len(read(out / "runs.jsonl")) == 4


def test_a_worker_killed_in_a_run_loses_nothing(tmp_path, serial):
    out = tmp_path / "cluster"
    todo = search.plan(cli.parse_arguments(["sweep"] + sweep_args(out)))
    said = []
    with on_dask.Engine(workers=2, say=said.append) as engine:
        # every worker process compiles into a directory of its own
        dirs = engine.client.run(lambda: __import__("network3").config.own_compiledir)
        assert len(set(dirs.values())) == 2 and None not in dirs.values()
        assert all(os.path.basename(d).startswith("worker-") for d in dirs.values())

        def well_into_a_run():             # its first epoch's backup is here
            return bool(list((out / "backups").glob("*.state")))

        failed, killed = carry_out_killing_a_worker(engine, todo, out, said,
                                                    well_into_a_run)
    assert killed is not None, "no worker was killed in a run"
    assert failed == 0
    assert sum("runs done" in line for line in said) == 4
    assert_same(results(out), serial["numba"])
    if any("dashboard" in line for line in said):
        assert any(line.startswith("network3: Dask dashboard: http://") for line in said)


def carry_out_killing_a_worker(engine, todo, out, said, when):
    """``runs.carry_out`` on ``engine``, killing (SIGKILL) the worker that
    stops after its first backup (:func:`stall_after_the_first_backup`),
    once ``when()`` says so; return the number of failed runs and the killed
    process's id (None if none was killed).  The kill waits for events, not
    for time: on a fast machine a run would otherwise end before it."""
    from distributed import Variable
    stalled = Variable("network3-test-stalled-pid", client=engine.client)
    stalled.set(None)
    engine.client.run(stall_after_the_first_backup)
    killed = []

    def killer():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            pid = stalled.get(timeout=0)
            if pid is not None and when():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        failed = runs.carry_out(todo, str(out), say=said.append, engine=engine)
    finally:
        killed.append(None)
        thread.join()
    return failed, killed[0]


def stall_after_the_first_backup():
    """On a worker: once a backup is written, the first worker to get there
    (a Dask ``Event`` says which) says its process id and stops until it is
    killed, for at most :data:`STALL` seconds; the others, and the worker
    started in its place, go on."""
    from distributed import Event, Variable, get_client
    from network3 import backup
    write = backup.Backup.write

    def stalling(self, state, fingerprint):
        write(self, state, fingerprint)
        once = Event("network3-test-stalled", client=get_client())
        if not once.is_set():
            once.set()
            Variable("network3-test-stalled-pid", client=get_client()).set(os.getpid())
            time.sleep(STALL)
    backup.Backup.write = stalling


#: Seconds the stopped worker waits for its kill (it comes as soon as the
#: client holds the backup, within a second).
STALL = 120


def read_if_there(path):
    return read(path) if os.path.exists(path) else []


def test_ctrl_c_keeps_finished_runs_and_the_next_sweep_trains_the_rest(tmp_path):
    out = tmp_path / "cluster"
    args = sweep_args(out, "--workers", "2") + ["--vary", "lmbda=0,0.1"]  # 8 runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "network3", "sweep"] + args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 300
        while not read_if_there(out / "runs.jsonl") and proc.poll() is None:
            assert time.time() < deadline, "no run finished"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted; finished runs are in" in stderr
    first = read(out / "runs.jsonl")
    assert 1 <= len(first) < 8
    for r in first:
        assert (out / r["net"]).exists()
    assert cli.main(["sweep"] + args) == 0
    after = read(out / "runs.jsonl")
    assert after[:len(first)] == first                  # kept as they were
    keys = [(r["config"]["eta"], r["config"]["lmbda"], r["repeat"]) for r in after]
    assert len(keys) == len(set(keys)) == 8             # each run once


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_an_error_within_seconds(tmp_path, capsys):
    address = "tcp://127.0.0.1:{0}".format(free_port())
    start = time.perf_counter()
    assert cli.main(["sweep"] + sweep_args(tmp_path / "out", "--scheduler", address)) == 1
    assert time.perf_counter() - start < on_dask.CONNECT_TIMEOUT + 20
    err = capsys.readouterr().err
    assert "--scheduler: no Dask scheduler answered at " + address in err


def test_dask_scheduler_and_dask_worker_processes_take_the_runs(tmp_path, serial,
                                                                capsys):
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    where = tmp_path / "scheduler.json"
    started = []
    try:
        started.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(where)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in ("one", "two"):
            started.append(subprocess.Popen(
                [dask, "worker", "--scheduler-file", str(where), "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--name", name],
                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        deadline = time.time() + 120
        while not where.exists():
            assert time.time() < deadline
            time.sleep(0.2)
        time.sleep(0.5)
        address = json.loads(where.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        out = tmp_path / "cluster"
        assert cli.main(["sweep"] + sweep_args(out, "--scheduler", address)) == 0
        said = capsys.readouterr().out
        assert "2 workers of 1 thread in the cluster at " + address in said
        assert_same(results(out), serial["numba"])
        # a data file the workers cannot read: every run reports it, with the
        # worker's address, and the sweep goes on to the end
        missing = str(tmp_path / "nowhere" / "mnist.pkl.gz")
        status = cli.main(["sweep"] + sweep_args(tmp_path / "missing", "--scheduler", address,
                                        "--data", missing))
        said = capsys.readouterr()
        assert status == 1
        assert said.out.count("failed: DataUnavailable: on worker tcp://127.0.0.1:") == 4
        assert missing in said.out
        assert "4 runs failed" in said.err
    finally:
        for proc in reversed(started):
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_the_ladder_runs_on_a_local_cluster_too(tmp_path):
    """network3 experiments --workers: the records the serial runner writes."""
    args = ["--only", "fc", "--repeats", "2", "--epochs", "1", "--train-size", "300",
            "--eval-size", "100", "--quiet"]
    serial, there = tmp_path / "serial", tmp_path / "cluster"
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        assert cli.main(["experiments"] + args + ["--output", str(serial)]) == 0
    assert cli.main(["experiments"] + args + ["--output", str(there), "--workers", "2"]) == 0
    keys = ("experiment", "repeat", "seed", "settings", "best_validation_accuracy",
            "test_accuracy", "best_epoch", "net")
    mine = sorted(read(there / "runs.jsonl"), key=lambda r: r["repeat"])
    assert [{k: r[k] for k in keys} for r in mine] == \
        [{k: r[k] for k in keys} for r in read(serial / "runs.jsonl")]
    assert "| fc | 97.80% |" in (there / "table.md").read_text()


def outward_address():
    """This machine's address on a network other than the loopback, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))      # (a documentation address: nothing is sent)
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_a_local_cluster_listens_on_the_loopback_address_only():
    from urllib.parse import urlparse
    said = []
    with on_dask.Engine(workers=1, say=said.append) as engine:
        link = next(line.rsplit(" ", 1)[1] for line in said if "dashboard" in line)
        port = urlparse(link).port
        assert urlparse(link).hostname == "127.0.0.1"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass                                 # it is there on the loopback
        ports = [port, urlparse(engine.cluster.scheduler_address).port] + [
            urlparse(w).port for w in engine.client.scheduler_info()["workers"]]
        outward = outward_address()
        if outward is None:
            pytest.skip("this machine has no address but the loopback")
        for port in ports:
            with pytest.raises(OSError):
                socket.create_connection((outward, port), timeout=5).close()


def test_a_local_cluster_starts_the_runs_in_the_order_they_were_given(tmp_path,
                                                                      monkeypatch):
    """A worker is sent a run only when it is free, and the runs wait in
    the order they were given: none waits behind the long first one while
    the other worker starts later ones."""
    def train_on_worker(run, backup=None, reports=None):   # what each run does here
        import time
        start = time.monotonic()        # (one clock for the machine's processes)
        time.sleep(3 if run.config["eta"] == 1 else 0.2)
        return start

    monkeypatch.setattr(on_dask, "_train_on_worker", train_on_worker)
    etas = [1] + [k / 100 for k in range(1, 8)]
    todo = search.plan(cli.parse_arguments(
        ["sweep", "--layers", "fc20,softmax", "--vary", "eta=" + ",".join(map(str, etas)),
         "--output", str(tmp_path)]))
    with on_dask.Engine(workers=2, say=[].append) as engine:
        started = {run.config["eta"]: start for run, start, _ in engine.results(todo)}
    order = sorted(started, key=started.get)
    assert order[0:2] in ([1, 0.01], [0.01, 1]), started
    assert order[2:] == etas[2:], started


def test_a_killed_workers_run_goes_on_from_its_last_epoch(tmp_path):
    """The run's backup reaches the client after every epoch; the worker
    that takes the run over from a killed one starts from there, and the
    result is the serial runner's. The workers' copies of the backup leave
    nothing behind, the killed worker's included."""
    import dask
    from threadpoolctl import threadpool_limits
    args = ["--layers", "conv4,fc20,softmax", "--activation", "relu", "--vary", "eta=0.1",
            "--epochs", "4", "--train-size", "10000", "--eval-size", "200", "--quiet",
            "--device", "cpu"]
    with threadpool_limits(1):
        assert cli.main(["sweep"] + args + ["--output", str(tmp_path / "serial")]) == 0
    out = tmp_path / "cluster"
    todo = search.plan(cli.parse_arguments(["sweep"] + args + ["--output", str(out)]))
    said = []

    def backed_up():                # on the client, and on a worker (in its scratch)
        return bool(list((out / "backups").glob("*.state"))) and bool(
            list((tmp_path / "scratch").rglob("*.state")))

    with dask.config.set({"temporary-directory": str(tmp_path / "scratch")}), \
            on_dask.Engine(workers=2, say=said.append) as engine:
        failed, killed = carry_out_killing_a_worker(engine, todo, out, said, backed_up)
    assert failed == 0
    assert killed is not None, "no worker was killed in the run"
    assert not list(tmp_path.rglob("*.state*")), "a backup was left behind"
    (record,) = read(out / "runs.jsonl")
    assert record["resumed_at"] >= 1, record
    assert "(resumed at epoch {0})".format(record["resumed_at"]) in said[-1]
    assert not list((out / "backups").glob("*.state"))
    (serial,) = read(tmp_path / "serial" / "runs.jsonl")
    for key in ("best_validation_accuracy", "test_accuracy", "best_epoch", "epochs"):
        assert record[key] == serial[key], key
    with np.load(out / record["net"]) as mine, np.load(tmp_path / "serial" /
                                                       serial["net"]) as theirs:
        for name in mine.files:
            np.testing.assert_array_equal(mine[name], theirs[name])


def test_a_tls_scheduler_takes_the_runs_with_dasks_tls_configuration(tmp_path, serial):
    pytest.importorskip("cryptography")
    import dask
    from distributed import LocalCluster
    from distributed.security import Security
    security = Security.temporary()           # certificates made for this test
    with LocalCluster(n_workers=2, threads_per_worker=1, security=security,
                      protocol="tls://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        out = tmp_path / "tls"
        with pytest.raises(ValueError, match="needs Dask's TLS configuration"):
            on_dask.Engine(scheduler=address).__enter__()
        # the client's certificates, as a user would configure them: files
        # named in Dask's configuration
        config = {}
        for setting, name in (("ca-file", "tls_ca_file"), ("client.cert", "tls_client_cert"),
                              ("client.key", "tls_client_key")):
            path = tmp_path / (name + ".pem")
            path.write_text(getattr(security, name))
            config["distributed.comm.tls." + setting] = str(path)
        with dask.config.set(config):
            assert cli.main(["sweep"] + sweep_args(out, "--scheduler", address)) == 0
    assert_same(results(out), serial["numba"])
