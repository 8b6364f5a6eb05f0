"""Ctrl-C that reaches the run even when Python loses its ``KeyboardInterrupt``.

Python raises a SIGINT's ``KeyboardInterrupt`` wherever the main thread is.
When that is a finalizer the garbage collector runs (a weakref callback, a
``__del__``: SQLAlchemy's event registry has one), Python prints "Exception
ignored in ..." and the run goes on as if no Ctrl-C came: 2 of 20 runs
interrupted at random moments here went on to load every file and exit 0.
Within ``interrupts_kept`` a Ctrl-C is also remembered, and
``raise_if_interrupted`` raises it again at the next safe point (after a file).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["interrupts_kept", "raise_if_interrupted"]


class _Received:
    """Whether a Ctrl-C came while ``interrupts_kept`` was in force."""

    sigint = False


def _on_sigint(number: int, frame: FrameType | None) -> None:
    _Received.sigint = True
    raise KeyboardInterrupt


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Within: Ctrl-C raises ``KeyboardInterrupt`` as usual and is remembered,
    and a finalizer that swallows it prints nothing (the run says it once).

    Nothing changes where Ctrl-C is ignored (a job started with ``&`` by a
    shell without job control) or outside the main thread.

    >>> with interrupts_kept():
    ...     raise_if_interrupted()  # no Ctrl-C came: nothing happens
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    _Received.sigint = False
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_about_interrupts(hook)
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is _on_sigint:  # (SIG_IGN: the interrupt is being said)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = hook
        _Received.sigint = False


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came that nothing has acted on yet
    (whoever acts on one ignores the next: ``signal.SIG_IGN``)."""
    if _Received.sigint and signal.getsignal(signal.SIGINT) is _on_sigint:
        raise KeyboardInterrupt


def _quiet_about_interrupts(
    hook: Callable[[sys.UnraisableHookArgs], object],
) -> Callable[[sys.UnraisableHookArgs], None]:
    """``hook`` for everything but a swallowed ``KeyboardInterrupt`` (remembered)."""

    def unraisable(error: sys.UnraisableHookArgs) -> None:
        if not isinstance(error.exc_value, KeyboardInterrupt):
            hook(error)

    return unraisable
