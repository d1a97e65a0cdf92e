"""A round of single mutants over training's stateful logic: does the
test suite notice each one?

Each mutant changes one thing in backup/resume, the callbacks, the
schedules, the settings or the state (a text the source must hold exactly
once, replaced); the tests most likely to notice run with ``-x``; the
mutant is *killed* if a test fails, and the first failing test is named.
The source is restored after each mutant, whatever happens.

    python benchmarks/mutation_round.py [--only ID,ID] [--out FILE]   # ~20 minutes

Prints a Markdown table (benchmarks/results/mutation.md keeps the rounds).
The mutants are written against the code as it is: when the code moves,
each mutant moves with it (same id, same meaning).
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ["tests/test_schedules.py", "tests/test_callbacks.py", "tests/test_backup.py",
         "tests/test_training.py", "tests/test_options.py", "tests/test_settings.py",
         "tests/test_state.py", "tests/test_network.py"]

#: (id, what it breaks, file, the text, what it becomes)
MUTANTS = [
    ("plateau-tie", "the plateau counts a tie as an improvement",
     "network3/schedules.py", "if accuracy > self.best:", "if accuracy >= self.best:"),
    ("keepbest-tie", "KeepBest: a tie is no longer a new best (the book's rule)",
     "network3/callbacks.py",
     "history.validation_accuracy[-1] < self.accuracy:",
     "history.validation_accuracy[-1] <= self.accuracy:"),
    ("resume-no-callback-state", "a resume skips the callbacks' set_state (the plateau count...)",
     "network3/state.py", "            callback.set_state(own)\n", "            pass\n"),
    ("eta-not-recorded", "a set eta is not recorded in history.eta",
     "network3/state.py", "        self._eta = eta\n        if self._graph is not None:",
     "        if self._graph is not None:"),
    ("fingerprint-no-lmbda", "the backup's fingerprint ignores lmbda",
     "network3/settings.py", '        shaped["callbacks"] = [',
     '        shaped.pop("lmbda")\n        shaped["callbacks"] = ['),
    ("fingerprint-no-early-stopping", "the backup's fingerprint ignores early_stopping",
     "network3/settings.py", '        shaped["callbacks"] = [',
     '        shaped.pop("early_stopping")\n        shaped["callbacks"] = ['),
    ("resume-no-eta", "a resume does not restore eta",
     "network3/state.py", '"eta": self.eta,', '"eta": None,'),
    ("resume-no-warned", "a resume forgets the cost warning was given",
     "network3/training.py", "        self.warned = warned\n", "        pass\n"),
    ("resume-no-augment-seed", "a resume draws a new augmentation seed",
     "network3/training.py", "        self.seed = seed\n", "        pass\n"),
    ("resume-no-network3-rng", "a resume does not restore network3's generator",
     "network3/state.py", '        seeding.set_state(saved["network3_rng"])\n', ""),
    ("resume-no-numpy-rng", "a resume does not restore NumPy's global generator",
     "network3/state.py", '        np.random.set_state(saved["numpy_rng"])\n', ""),
    ("resume-no-dropout-rng", "a resume does not restore the dropout generators",
     "network3/state.py",
     "                self._net.engine.set_generator_state(var, saved_generator)\n",
     "                pass\n"),
    ("backup-wrong-epoch", "the backup says the epoch it ended, not the next",
     "network3/state.py", '"epoch": self.history.epochs,', '"epoch": self.epoch,'),
    ("interrupt-removes-backup", "an interrupted run removes its backup",
     "network3/backup.py", 'if event.error is None and event.stopped != "interrupted":',
     "if event.error is None:"),
    ("early-stopping-no-reset", "a second SGD call's early stopping goes on counting",
     "network3/callbacks.py", "    def on_train_begin(self, net, state, event):\n"
     "        self.plateau.reset()\n", "    def on_train_begin(self, net, state, event):\n"
     "        pass\n"),
    ("halving-thirds", "halve_on_plateau divides by 3",
     "network3/schedules.py", "self.eta /= 2", "self.eta /= 3"),
    ("halving-stop-strict", "halve_on_plateau stops only below stop_below",
     "network3/schedules.py", "self.finished = self.eta <= self.stop_below",
     "self.finished = self.eta < self.stop_below"),
    ("gradient-norms-cumulative", "GradientNorms measures from the start, not per epoch",
     "network3/callbacks.py", "        self.before = now\n", "        pass\n"),
    ("monitor-l2-doubled", "MonitorTraining's cost has twice the L2 term",
     "network3/callbacks.py", "cost += 0.5 * lmbda", "cost += lmbda"),
    ("diverged-no-restore", "a diverged run without restore_best keeps its last parameters",
     "network3/callbacks.py", 'if self.restore_at_end or event.stopped == "diverged":',
     "if self.restore_at_end:"),
    ("early-stopping-without-validation", "early_stopping without validation data is let through",
     "network3/settings.py",
     '    if values["early_stopping"] is not None and validation_data is None:',
     "    if False:"),
    ("momentum-one", "momentum=1 is accepted",
     "network3/options.py", "lambda v: 0 <= v < 1", "lambda v: 0 <= v <= 1"),
    ("keepbest-state-no-params", "a resume forgets the best epoch's parameters",
     "network3/callbacks.py", 'state["accuracy"], state["params"], state["pending"])',
     'state["accuracy"], None, state["pending"])'),
    ("schedule-state-lost", "a resume does not restore a schedule's own state",
     "network3/callbacks.py", "        if state is not None:\n            self.schedule.set_state(state)",
     "        if state is not None:\n            pass"),
    # the state and the one contract (since the state moved to state.py)
    ("eta-not-in-step", "a set eta does not reach the training step",
     "network3/state.py", "            self._graph.set_eta(eta)\n", "            pass\n"),
    ("last-reason-wins", "a later hook's reason to stop replaces the first",
     "network3/state.py", "        if self.stopping is None:\n            self.stopping = reason",
     "        self.stopping = reason"),
    ("batches-hook-cannot-stop", "a reason from a hook within an epoch is ignored until its end",
     "network3/training.py", "            raise _Stop(self.state.stopping)\n",
     "            pass\n"),
    ("failed-start-no-end", "a hook failing at the start leaves those begun unended",
     "network3/training.py", "            self._end(error, begun)\n", ""),
    ("old-hooks-let-through", "a hook with the old arguments is let through",
     "network3/callbacks.py", "            fits = arguments not in _OLD_ARGUMENTS\n",
     "            fits = True\n"),
]


def run_mutant(mutant, tests):
    ident, what, path, old, new = mutant
    filename = os.path.join(ROOT, path)
    with open(filename) as f:
        source = f.read()
    if source.count(old) != 1:
        return "not applied: the text is in {0} {1} times".format(path, source.count(old)), 0
    start = time.perf_counter()
    try:
        with open(filename, "w") as f:
            f.write(source.replace(old, new))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT, capture_output=True, text=True)
    finally:
        with open(filename, "w") as f:
            f.write(source)
    seconds = time.perf_counter() - start
    failed = re.search(r"^FAILED (\S+)", result.stdout, re.M)
    if result.returncode == 0:
        return "SURVIVED", seconds
    if failed:
        return "killed by " + failed.group(1), seconds
    return "killed (pytest status {0}: {1})".format(
        result.returncode, result.stdout.strip().splitlines()[-1:]), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated mutant ids")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m[0] in args.only.split(",")]
    print("| mutant | what it breaks | result | seconds |")
    print("|---|---|---|---|")
    for mutant in chosen:
        result, seconds = run_mutant(mutant, TESTS)
        print("| {0} | {1} | {2} | {3:.0f} |".format(mutant[0], mutant[1], result, seconds),
              flush=True)


if __name__ == "__main__":
    main()
