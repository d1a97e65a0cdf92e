"""runs/tables.py
~~~~~~~~~~~~~~~~~~

What many runs add up to, as markdown tables: the chapter's ladder next to
the book's accuracies (:func:`ladder_table`), and a search's combinations
ranked by validation accuracy (:func:`sweep_table`); each mean ± standard
deviation over the repeats, diverged runs counted, not averaged.

"""

#### Libraries
# Standard library
import json
import statistics

# network3
from network3 import chapter

#: The last rung of the ladder: the dropout runs' nets voting together.
ENSEMBLE = "ensemble"
ENSEMBLE_BOOK_ACCURACY = 0.9967
#: The rungs, in the book's order: the chapter's networks, then the ensemble.
NAMES = list(chapter.RECIPES) + [ENSEMBLE]


def ladder_table(runs, unfinished=None, names=NAMES):
    """Markdown: experiment, book accuracy, our runs (mean ± standard
    deviation of the test accuracy; diverged runs are counted, not
    averaged), epochs, minutes per run, the machines they ran on.  For each
    experiment only the latest settings count; an ensemble's latest vote
    counts.  ``unfinished`` (experiment -> the epochs at which its runs cut
    short will go on, from their backups) adds them to the runs column;
    an experiment of ``names`` with neither gets a row of dashes."""
    unfinished = unfinished or {}
    lines = ["| experiment | book | ours: test accuracy | runs | epochs | min per run "
             "| machine |", "|---|---|---|---|---|---|---|"]
    books = {name: recipe.book_accuracy for name, recipe in chapter.RECIPES.items()}
    books[ENSEMBLE] = ENSEMBLE_BOOK_ACCURACY
    for name in names:
        book = "-" if books[name] is None else "{0:.2f}%".format(100 * books[name])
        mine = [r for r in runs if r["experiment"] == name]
        going = "".join(", 1 at epoch {0}".format(epoch)
                        for epoch in sorted(unfinished.get(name, ())))
        if not mine:
            if going or name in unfinished:
                going = "0 done" + going
            lines.append("| {0} | {1} | - | {2} | - | - | - |".format(
                name, book, going or "-"))
            continue
        latest = mine[-1]["settings"]
        mine = [r for r in mine if r["settings"] == latest]
        if name == ENSEMBLE:
            mine = mine[-1:]
        accuracies = [100 * r["test_accuracy"] for r in mine
                      if r["test_accuracy"] is not None]
        ours = _spread(accuracies)
        count = str(len(mine))
        diverged = sum(1 for r in mine if r.get("diverged"))
        if diverged:
            count += " ({0} diverged)".format(diverged)
        machines = sorted({r["machine"] for r in mine if r.get("machine")})
        lines.append("| {0} | {1} | {2} | {3} | {4} | {5:.1f} | {6} |".format(
            name, book, ours,
            count + going if name != ENSEMBLE else "{0} nets".format(latest.get("nets")),
            latest["epochs"], statistics.mean(_run_seconds(r) for r in mine) / 60,
            "; ".join(machines) or "-"))
    return "\n".join(lines) + "\n"


def _run_seconds(record):
    """A run's seconds.  A run resumed from its backup at epoch k recorded
    only the session that finished it (epochs k onwards): the whole run is
    counted at that session's pace."""
    resumed_at = record.get("resumed_at") or 0
    epochs = record.get("epochs")
    if not resumed_at or not epochs or epochs <= resumed_at:
        return record["seconds"]
    return record["seconds"] * epochs / (epochs - resumed_at)


def _spread(values, digits=2):
    if not values:
        return "-"
    if len(values) == 1:
        return "{0:.{1}f}%".format(values[0], digits)
    return "{0:.{2}f}% ± {1:.{2}f}".format(statistics.mean(values),
                                            statistics.stdev(values), digits)


def sweep_table(records, swept):
    """Markdown: one row per combination of the ``swept`` options' values
    in ``records`` (runs.jsonl's lines of one sweep), best mean validation
    accuracy first: its validation and test accuracy (mean ± standard
    deviation over the repeats; diverged runs counted, not averaged), runs,
    mean epochs trained and seconds per run.  Runs a search pruned are
    counted and their accuracies shown, but a combination whose runs were
    all pruned ranks below those trained to the end."""
    groups = {}
    for r in records:
        key = json.dumps([r["config"].get(n) for n in swept])
        groups.setdefault(key, []).append(r)
    rows = []
    for key, group in groups.items():
        ok = [r for r in group if not r.get("diverged")]
        validation = [100 * r["best_validation_accuracy"] for r in ok
                      if r["best_validation_accuracy"] is not None]
        test = [100 * r["test_accuracy"] for r in ok if r["test_accuracy"] is not None]
        pruned = sum(1 for r in group if r.get("pruned"))
        notes = [n for n in ("{0} diverged".format(len(group) - len(ok))
                             if len(ok) < len(group) else None,
                             "pruned" if pruned and len(group) == 1 else
                             "{0} pruned".format(pruned) if pruned else None) if n]
        count = str(len(group)) + (" ({0})".format(", ".join(notes)) if notes else "")
        epochs = statistics.mean(r.get("epochs", r["best_epoch"] or 0) for r in group)
        cells = [shown(v) for v in json.loads(key)] + [
            _spread(validation), _spread(test), count, "{0:g}".format(epochs),
            "{0:.0f}".format(statistics.mean(_run_seconds(r) for r in group))]
        rows.append((pruned == len(group),
                     -(statistics.mean(validation) if validation else -1), cells))
    lines = ["| " + " | ".join(list(swept) + [
                 "validation accuracy", "test accuracy", "runs", "epochs",
                 "s per run"]) + " |",
             "|" + "---|" * (len(swept) + 5)]
    lines += ["| " + " | ".join(cells) + " |" for *_, cells in sorted(
        rows, key=lambda row: row[:2])]
    return "\n".join(lines) + "\n"


def shown(value):
    """A swept value as the tables show it (floats in their shortest form)."""
    return "none" if value is None else "{0:g}".format(value) if isinstance(
        value, float) else str(value)
