"""interrupts.py: Ctrl-C recorded as a request (a second one raises), the
modes SGD uses around compiling, shielded and compiled blocks, and an
interrupt Numba wrapped recognised.  (Real signals at random moments during
training: test_faults.py.)"""

import os
import signal

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
