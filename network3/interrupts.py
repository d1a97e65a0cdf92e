"""interrupts.py
~~~~~~~~~~~~~~~~

Ctrl-C as a request to stop, not an exception in the middle of compiled
code.  :class:`Interruption` is what SGD, the command line and the sweeps
put around their work; :func:`is_interrupt` recognises a KeyboardInterrupt
however Numba wrapped it.

"""

#### Libraries
# Standard library
import contextlib
import signal
import sys
import threading


class Interruption(object):
    """Ctrl-C during training, turned into a request to stop.

    Used as a context manager around training.  In the main thread it
    replaces the SIGINT handler with one that only records the request
    (:attr:`requested`); the loop checks it between mini-batches and stops
    cleanly.  A KeyboardInterrupt raised in the middle of compiled code
    would come out of Numba as a ``SystemError``, and could leave the
    network half-updated; a recorded request never does.

    A second Ctrl-C raises KeyboardInterrupt at once (users expect that), as
    does the first one inside :meth:`immediately` (compiling, where there is
    no step to finish).  Inside :meth:`shielded` Ctrl-C is only recorded.
    Inside :meth:`deferred` (running compiled code) a second Ctrl-C raises
    KeyboardInterrupt as the block ends: raised in the middle of a compiled
    call, it can land while Numba hands back the call's results, and crash
    the process.
    The previous handler is put back at the end.  Interruptions nest: an
    inner one (SGD's) starts with the request an outer one (the command
    line's) has recorded, and hands its own request back to it.  Where
    SIGINT is ignored, or outside the main thread, nothing is installed:
    KeyboardInterrupt arrives as usual, and :func:`is_interrupt` recognises
    it.

    Python runs a signal handler wherever the main thread is, a finalizer
    (``__del__``, a weakref callback) included, and cannot raise out of
    one: it prints "Exception ignored in ..." with a traceback and goes on.
    A KeyboardInterrupt of ours lost that way is not printed (the request
    is recorded, and training stops at the next check); other exceptions
    in finalizers are printed as before.
    """

    def __init__(self):
        self.requested = False
        self._abort = False
        self._mode = "record"
        self._previous = None
        self._outer = None
        self._previous_hook = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous not in (signal.SIG_IGN, None):
                self._previous = previous
                # inside another Interruption (the command line's, say): a
                # request it recorded is ours, and ours will be its
                self._outer = getattr(previous, "__self__", None)
                if isinstance(self._outer, Interruption):
                    self.requested = self._outer.requested
                signal.signal(signal.SIGINT, self._handle)
                self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._previous_hook
            self._previous = self._previous_hook = None
            if isinstance(self._outer, Interruption) and self.requested:
                self._outer.requested = True
        return False

    def _handle(self, signum, frame):
        if self._mode in ("shield", "defer"):
            self._abort = self._abort or (self.requested and self._mode == "defer")
            self.requested = True
            return
        abort = self.requested or self._mode == "raise"
        self.requested = True
        if abort:
            raise KeyboardInterrupt

    def _unraisable(self, unraisable):
        """Python's report of an exception a finalizer could not raise: not
        printed if it is our KeyboardInterrupt (the request is recorded)."""
        if not (self.requested and unraisable.exc_type is KeyboardInterrupt):
            self._previous_hook(unraisable)

    @contextlib.contextmanager
    def _in_mode(self, mode):
        before, self._mode = self._mode, mode
        try:
            yield
        finally:
            self._mode = before

    def immediately(self):
        """A block in which Ctrl-C raises KeyboardInterrupt at once."""
        return self._in_mode("raise")

    def shielded(self):
        """A block that Ctrl-C does not interrupt (it is only recorded)."""
        return self._in_mode("shield")

    @contextlib.contextmanager
    def deferred(self):
        """A block of compiled calls (training steps, predictions): Ctrl-C is
        recorded, and a second one raises KeyboardInterrupt when the block
        ends (back ends check the request between steps, so the first one
        ends the block soon)."""
        self._abort = False
        with self._in_mode("defer"):
            yield
        if self._abort:
            self._abort = False
            raise KeyboardInterrupt


def is_interrupt(error):
    """Whether ``error`` is a KeyboardInterrupt, or an exception it caused:
    Numba reports one raised while its compiled code ran as a SystemError
    ("returned a result with an exception set") caused by it."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False
