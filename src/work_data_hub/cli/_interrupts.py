"""Ctrl-C that reaches the command even when Python loses its ``KeyboardInterrupt``.

Python raises a SIGINT's ``KeyboardInterrupt`` wherever the main thread is.
When that is a finalizer the garbage collector runs (a weakref callback, a
``__del__``: SQLAlchemy's event registry has one), Python prints "Exception
ignored in ..." and the run goes on as if no Ctrl-C came: 2 of 20 runs
interrupted at random moments here went on to load every file and exit 0.
While interrupts are kept, a Ctrl-C is also remembered, and
``raise_if_interrupted`` raises it again at the next safe point (after a file).

A command's process keeps them for good (``keep_interrupts``, from its entry
point); ``wdh-etl``'s ``main`` called from Python keeps them for the call
(``interrupts_kept``) and gives the caller its handlers back.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

__all__ = [
    "interrupts_kept",
    "keep_interrupts",
    "on_ctrl_c_from_now",
    "raise_if_interrupted",
    "say_last",
    "take_ctrl_c_from_arrow",
]


class _Received:
    """Whether a Ctrl-C came while interrupts were kept; whether pyarrow's own
    handling of it is off (``take_ctrl_c_from_arrow``)."""

    sigint = False
    arrow_off = False


def _on_sigint(number: int, frame: FrameType | None) -> None:
    _Received.sigint = True
    raise KeyboardInterrupt


def keep_interrupts() -> bool:
    """From now on Ctrl-C raises ``KeyboardInterrupt`` as usual and is remembered,
    and a finalizer that swallows it prints nothing (the command says it once).
    True if so; False, changing nothing, where Ctrl-C is ignored (a job started
    with ``&`` by a shell without job control), is someone else's, or outside
    the main thread.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        return False
    _Received.sigint = False
    sys.unraisablehook = _quiet_about_interrupts(sys.unraisablehook)
    signal.signal(signal.SIGINT, _on_sigint)
    return True


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """``keep_interrupts`` for the block; after it, Python's own handling again
    (the handler and hook there before; SIGINT no longer ignored if the block
    ignored it to say an interrupt). Inside a command's process, which keeps
    them for good already, nothing changes.

    >>> with interrupts_kept():
    ...     raise_if_interrupted()  # no Ctrl-C came: nothing happens
    """
    hook = sys.unraisablehook
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if not keep_interrupts():
        try:
            yield
        finally:  # a caller's own handler, which saying an interrupt set aside (SIG_IGN)
            if callable(previous) and previous is not _on_sigint:
                signal.signal(signal.SIGINT, previous)
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = hook
        _Received.sigint = False
        if _Received.arrow_off:  # pyarrow's default again
            import pyarrow

            pyarrow.enable_signal_handlers(True)
            _Received.arrow_off = False


def take_ctrl_c_from_arrow() -> None:
    """While interrupts are kept, pyarrow's reads leave Ctrl-C to the command.

    Around ``pyarrow.csv.read_csv`` pyarrow puts a handler of its own, which
    hands a SIGINT to a thread of its own to cancel the read; one that lands as
    the read ends is lost (pyarrow looks for it before that thread has passed
    it on): 6 of 300 SIGINTs at random moments of a loop of reads here, and a
    run interrupted on PostgreSQL loaded every file and exited 0 (1 in about 15).
    With its handling off, Python's own handler takes every SIGINT, and the
    read finishes first (one file's read: a moment). Call it once the command
    has imported its modules (pyarrow among them).

    >>> with interrupts_kept():
    ...     take_ctrl_c_from_arrow()  # pyarrow's default back after the block
    """
    if signal.getsignal(signal.SIGINT) is not _on_sigint:
        return  # interrupts are not kept: Python's and pyarrow's own handling stay
    import pyarrow

    pyarrow.enable_signal_handlers(False)
    _Received.arrow_off = True


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came that nothing has acted on yet
    (whoever acts on one ignores the next: ``signal.SIG_IGN``)."""
    if _Received.sigint and signal.getsignal(signal.SIGINT) is _on_sigint:
        raise KeyboardInterrupt


def on_ctrl_c_from_now(act: Callable[[], object]) -> None:
    """From now on a Ctrl-C calls ``act()`` instead of raising, if interrupts are
    kept and none has been acted on: for a command whose work is done and whose
    process is ending, where a ``KeyboardInterrupt`` could only be a traceback
    (or be swallowed by an exit handler)."""
    if signal.getsignal(signal.SIGINT) is _on_sigint:
        signal.signal(signal.SIGINT, lambda number, frame: act())


def say_last(line: str) -> None:
    """Write ``line`` to stderr if there is one that takes it: a process started
    with stderr closed, or whose reader went with the same Ctrl-C (``| tee``),
    still ends with its status."""
    if sys.stderr is not None:
        with suppress(OSError, ValueError):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def _quiet_about_interrupts(
    hook: Callable[[sys.UnraisableHookArgs], object],
) -> Callable[[sys.UnraisableHookArgs], None]:
    """``hook`` for everything but a swallowed ``KeyboardInterrupt`` (remembered)."""

    def unraisable(error: sys.UnraisableHookArgs) -> None:
        if not isinstance(error.exc_value, KeyboardInterrupt):
            hook(error)

    return unraisable
