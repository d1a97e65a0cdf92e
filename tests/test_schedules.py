"""schedules.py: halve_on_plateau against chapter 3's rule, played on a
scripted history of validation accuracies."""

import pytest

from network3 import TrainingHistory
from network3.schedules import halve_on_plateau


def play(schedule, accuracies):
    """The learning rate of each epoch, the schedule observing ``accuracies``
    one epoch at a time, until it finishes (as SGD plays it)."""
    history, etas = TrainingHistory(), []
    for epoch, accuracy in enumerate(accuracies):
        etas.append(schedule(epoch))
        history.validation_accuracy.append(accuracy)
        schedule.observe(history)
        if schedule.finished:
            break
    return etas


def test_halves_after_patience_epochs_without_improvement_and_finishes():
    schedule = halve_on_plateau(0.8, patience=2, stop_below=0.1)
    # two improvements, two epochs without (a tie is none): halve to 0.4; a
    # new best, two without: 0.2; two without: 0.1 <= stop_below, finished
    accuracies = [0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.65, 0.7, 0.7, 0.9, 0.9]
    assert play(schedule, accuracies) == [0.8] * 4 + [0.4] * 3 + [0.2] * 2
    assert schedule.finished and schedule.eta == 0.1


def test_the_default_stops_at_one_128th_of_eta():
    schedule = halve_on_plateau(1.0, patience=1)
    etas = play(schedule, [0.5] * 20)
    assert etas == [1.0] + [2.0**-k for k in range(7)]
    assert schedule.eta == 1 / 128 and schedule.finished


def test_reset_starts_again():
    schedule = halve_on_plateau(0.5, patience=1)
    play(schedule, [0.1, 0.1, 0.1])
    schedule.reset()
    assert schedule(0) == 0.5 and not schedule.finished


@pytest.mark.parametrize("kwargs, words", [
    (dict(eta=0), ["eta", "positive", "0"]),
    (dict(eta=0.1, patience=0), ["patience", "positive integer", "0"]),
    (dict(eta=0.1, stop_below=-1), ["stop_below", "positive", "-1"]),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        halve_on_plateau(**kwargs)
    assert all(word in str(info.value) for word in ["halve_on_plateau"] + words)
