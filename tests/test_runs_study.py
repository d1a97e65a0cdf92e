"""runs/study.py, ``network3 sweep --search tpe``: an Optuna study over a
learning rate from 0.001 to 100 prunes hopeless trials after the pruner's
warm-up, records them in runs.jsonl, finds a best trial that its seed
retrains to the same accuracy, goes on when run again with more trials (no
trial twice), asks again first for a trial Ctrl-C left unfinished, and does
the same on a Dask LocalCluster, where the reports come back to this
process (with TensorBoard's event files)."""

import json
import os

import pytest

pytest.importorskip("optuna")

import optuna  # noqa: E402

from network3 import cli, runs  # noqa: E402
from network3.runs import search, study  # noqa: E402

EPOCHS = 3


def study_args(out, trials, *more):
    return ["sweep", "--net", "fc", "--vary", "eta=0.001:100", "--search", "tpe",
            "--trials", str(trials), "--prune", "median", "--epochs", str(EPOCHS),
            "--train-size", "1000", "--eval-size", "500", "--output", str(out),
            "--quiet"] + list(more)


def read(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def trials_of(out):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage).trials


def check_the_study(out, trials):
    """What a finished study of ``trials`` trials must show."""
    records = read(out / "runs.jsonl")
    assert len(records) == trials
    assert sorted(r["trial"] for r in records) == list(range(trials))
    assert len({r["config"]["eta"] for r in records}) == trials       # none twice
    assert all(0.001 <= r["config"]["eta"] <= 100 for r in records)
    pruned = [r for r in records if r.get("pruned")]
    complete = [r for r in records if not r.get("pruned") and not r.get("diverged")]
    assert pruned and complete
    # pruned after the warm-up (judged from the second epoch on), and so
    # trained fewer epochs than the trials that ran to the end
    assert all(study.MEDIAN_WARMUP_EPOCHS < r["epochs"] < EPOCHS for r in pruned)
    assert all(r["epochs"] == EPOCHS for r in complete)
    assert all("net" not in r for r in pruned)
    states = {t.number: t.state for t in trials_of(out)
              if t.state != optuna.trial.TrialState.FAIL}
    assert {r["trial"] for r in pruned} == {
        n for n, s in states.items() if s == optuna.trial.TrialState.PRUNED}
    table = (out / "table.md").read_text()
    assert table.count("(pruned)") == len(pruned)
    for name in ("sweep.png", "optuna_history.png", "optuna_importances.png"):
        assert (out / name).stat().st_size > 0
    return records


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """A study of 12 trials, then the same study asked for 16."""
    out = tmp_path_factory.mktemp("study")
    assert cli.main(study_args(out, 12)) == 0
    first = check_the_study(out, 12)
    assert cli.main(study_args(out, 16)) == 0
    return out, first


def test_a_study_prunes_hopeless_trials_after_the_warm_up(here):
    out, first = here
    assert any(r.get("diverged") for r in first)     # (eta near 100 diverges)
    # the best trial is the study's, and the table's first row
    best = max((r for r in first if not r.get("pruned") and not r.get("diverged")),
               key=lambda r: r["best_validation_accuracy"])
    trials = {t.number: t for t in trials_of(out)}
    assert trials[best["trial"]].value == best["best_validation_accuracy"]


def test_a_larger_trials_goes_on_with_the_same_study(here):
    out, first = here
    records = check_the_study(out, 16)
    assert records[:12] == first                      # the 12 kept as they were
    assert sorted(r["trial"] for r in records[12:]) == list(range(12, 16))


def test_the_best_trial_retrained_with_its_seed_gives_its_accuracy(here):
    out, _ = here
    records = read(out / "runs.jsonl")
    best = max((r for r in records if not r.get("pruned") and not r.get("diverged")),
               key=lambda r: r["best_validation_accuracy"])
    args = cli.parse_arguments(study_args(out / "elsewhere", 16))
    run = search.trial_plan(args)(best["config"])
    assert run.seed == best["seed"]
    again = runs.train(run).record
    assert again["best_validation_accuracy"] == best["best_validation_accuracy"]
    assert again["test_accuracy"] == best["test_accuracy"]


def test_a_trial_left_unfinished_is_asked_again_first(tmp_path):
    args = cli.parse_arguments(study_args(tmp_path, 3))
    varied = search.axes(args)
    os.makedirs(tmp_path, exist_ok=True)
    first = study.Study(args, varied, search.trial_plan(args))
    (cut_short,) = first.start(1)           # then Ctrl-C: its trial stays running
    again = study.Study(args, varied, search.trial_plan(args))
    (resumed,) = again.start(1)
    assert resumed.config == cut_short.config and resumed.file == cut_short.file
    states = [t.state for t in trials_of(tmp_path)]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.RUNNING]


@pytest.mark.parametrize("bad, message", [
    (["--vary", "eta=0.1:1", "--prune", "median"], "--prune median: pruning is for "
                                                     "--search tpe"),
    (["--vary", "eta=0.1:1", "--search", "tpe"], "--search tpe: give the study's size"),
    (["--vary", "eta=0.1:1", "--search", "tpe", "--trials", "4", "--repeats", "2"],
     "a trial of --search tpe is one run"),
    (["--vary", "eta=0.1:1", "--search", "random"], "--search random: give how many"),
    (["--vary", "eta=0.1,1", "--search", "grid", "--trials", "3"], "--search grid "
                                                                     "trains every"),
])
def test_bad_arguments_are_refused_before_anything_runs(tmp_path, capsys, bad, message):
    assert cli.main(["sweep", "--net", "fc", "--output", str(tmp_path / "o")] + bad) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_same_study_on_a_local_cluster_with_tensorboard(tmp_path, capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("tensorboardX")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    out = tmp_path / "cluster"
    assert cli.main(study_args(out, 12, "--workers", "2", "--tensorboard",
                               str(tmp_path / "tb"))) == 0
    assert "Dask: 2 workers" in capsys.readouterr().out
    records = check_the_study(out, 12)
    # each trial's events, written here from what the workers reported
    folders = sorted(os.listdir(tmp_path / "tb"))
    assert len(folders) == 12
    for r in records:
        (folder,) = [f for f in folders if f.startswith("fc_trial{0}_".format(r["trial"]))]
        events = EventAccumulator(str(tmp_path / "tb" / folder))
        events.Reload()
        if r.get("diverged"):
            continue
        steps = [e.step for e in events.Scalars("accuracy/validation")]
        assert steps == list(range(r["epochs"]))
        assert max(e.value for e in events.Scalars("accuracy/validation")) == \
            pytest.approx(r["best_validation_accuracy"])


def test_ctrl_c_keeps_the_finished_trials_and_the_next_run_goes_on(tmp_path):
    """A real SIGINT while the third trial trains: the two finished trials
    are kept, the study's journal holds the third as running, and the same
    command again asks for it first (its run goes on from its backup) and
    finishes the study."""
    import signal
    import subprocess
    import sys
    out = tmp_path / "study"
    command = [sys.executable, "-m", "network3", "sweep", "--net", "fc", "--vary",
               "eta=0.1:3", "--search", "tpe", "--trials", "4", "--epochs", "3",
               "--train-size", "5000", "--eval-size", "500", "--output", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                             signal.SIG_DFL))
    third = False
    for line in proc.stdout:            # Ctrl-C once the third trial has an epoch
        third = third or line.startswith("== fc, trial 2 ")
        if third and line.startswith("Epoch 0: validation accuracy"):
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "interrupted; finished runs are in" in err
    kept = read(out / "runs.jsonl")
    assert [r["trial"] for r in kept] == [0, 1]
    states = [t.state for t in trials_of(out)]
    assert states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    assert states[2] == optuna.trial.TrialState.RUNNING
    cut_short = trials_of(out)[2].params
    again = subprocess.run(command + ["--quiet"], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    records = read(out / "runs.jsonl")
    assert records[:2] == kept and len(records) == 4
    resumed = [r for r in records if r["config"] == cut_short]
    assert len(resumed) == 1 and resumed[0]["trial"] == 3
    assert resumed[0]["resumed_at"] >= 1       # from its backup, not from the start
    assert len(trials_of(out)) == 5                  # the cut-short one failed, asked again


def test_hyperband_prunes_too(tmp_path):
    out = tmp_path / "hyperband"
    args = study_args(out, 16)
    args[args.index("median")] = "hyperband"
    args[args.index("--epochs") + 1] = "6"
    assert cli.main(args) == 0
    records = read(out / "runs.jsonl")
    assert len(records) == 16
    # pruned before the last epoch (a verdict after it would spare nothing)
    pruned = [r for r in records if r.get("pruned")]
    assert pruned and all(r["epochs"] < 6 for r in pruned)
    assert any(r["epochs"] == 6 for r in records if not r.get("diverged"))
