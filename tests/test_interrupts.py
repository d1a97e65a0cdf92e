"""interrupts.py: Ctrl-C recorded as a request (a second one raises), the
modes SGD uses around compiling, shielded and compiled blocks, a Ctrl-C
that lands in a finalizer, and an interrupt Numba wrapped recognised.
(Real signals at random moments during training: test_faults.py.)"""

import os
import signal
import sys

import pytest

from network3 import interrupts


def test_interruption_records_the_first_ctrl_c_and_aborts_on_the_second(python_sigint):
    before = signal.getsignal(signal.SIGINT)
    with interrupts.Interruption() as interruption:
        assert signal.getsignal(signal.SIGINT) != before
        os.kill(os.getpid(), signal.SIGINT)
        assert interruption.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        with interruption.shielded():
            os.kill(os.getpid(), signal.SIGINT)        # only recorded
    assert signal.getsignal(signal.SIGINT) is before
    with interrupts.Interruption() as interruption, interruption.immediately():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    # around compiled calls the second Ctrl-C waits for the block's end:
    # raised inside a call, it can land while Numba boxes the results
    with interrupts.Interruption() as interruption:
        with pytest.raises(KeyboardInterrupt):
            with interruption.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
                sum(range(1000))                       # no exception in here
                reached_the_end = True
        assert reached_the_end and interruption.requested
        with interruption.deferred():                  # later blocks go on
            pass


class Finalized(object):
    """An object whose finalizer gets this process's Ctrl-C (a signal handler
    runs wherever the main thread is), or fails on its own."""

    def __init__(self, fails=False):
        self.fails = fails

    def __del__(self):
        if self.fails:
            raise ValueError("a finalizer's own error")
        signal.raise_signal(signal.SIGINT)
        for _ in range(1000):                   # (the handler runs in here)
            pass


def test_a_ctrl_c_lost_in_a_finalizer_is_recorded_without_a_traceback(python_sigint,
                                                                       monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with interrupts.Interruption() as interruption:
        with interruption.immediately():        # (compiling: Ctrl-C raises at once)
            Finalized()
        assert interruption.requested
        Finalized()                             # a second Ctrl-C raises too
        assert reported == []
        Finalized(fails=True)                   # other errors are still reported
        assert [r.exc_type for r in reported] == [ValueError]
    assert sys.unraisablehook == reported.append


def test_interruption_leaves_an_ignored_sigint_alone():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.Interruption():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_interrupt_wrapped_by_numba_is_recognised():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as error:
            raise SystemError("CPUDispatcher(...) returned a result with an "
                              "exception set") from error
    except SystemError as wrapped:
        assert interrupts.is_interrupt(wrapped)
    assert not interrupts.is_interrupt(SystemError("something else"))
    assert not interrupts.is_interrupt(ValueError("bad"))
