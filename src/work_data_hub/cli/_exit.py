"""How a command's process ends once its work is done: without the interpreter's teardown.

At exit CPython frees every module's objects one by one: 0.19 s after a run
that imported pandas, pandera and SQLAlchemy, 0.25-0.28 s with Dask (measured
on this project's whole runs), for nothing: the process is ending. A program
that has flushed its output, run its exit handlers and left no thread Python
would wait for can end at once (``os._exit``) with the same status.

A command interrupted (Ctrl-C) ends with 130 and one line, never a traceback;
output its encoding cannot hold is escaped, never a traceback either.
"""

from __future__ import annotations

import atexit
import io
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Final, NoReturn

__all__ = [
    "INTERRUPTED",
    "end_now",
    "end_process",
    "escape_what_output_cannot_encode",
    "run_program",
]

#: The exit status of an interrupted command (128 + SIGINT, as shells report it).
INTERRUPTED: Final = 130


def end_process(status: int) -> int:
    """End this process now with ``status``: its output flushed, its ``atexit``
    handlers run, the interpreter's teardown skipped. Returns ``status`` instead,
    for the usual exit, while a thread that Python would wait for still runs or
    a tracer or profiler is set (``python -m cProfile``, coverage, pdb).

    The end of a command's process (``run_program``'s last step), never a
    function a caller of the library calls.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(thread.is_alive() and not thread.daemon for thread in others):
        return status
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return status  # a profiler, coverage, a debugger: they write their results at exit
    atexit._run_exitfuncs()  # (CPython's own, as at a normal exit: logging's flush among them)
    end_now(status)


def end_now(status: int) -> NoReturn:
    """End this process now with ``status``, its output flushed: no exit handler,
    no teardown. For a status that must hold whatever state the interpreter is in
    (an interrupted command's 130: see ``run_program``).
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # (None: started with that stream closed)
            with suppress(OSError, ValueError):  # a reader that went away (a closed pipe)
                stream.flush()
    os._exit(status)


def escape_what_output_cannot_encode() -> None:
    """Write text stdout's or stderr's encoding cannot hold (Chinese under an ASCII or
    Latin-1 locale) escaped (``\\u4e0a``), instead of a ``UnicodeEncodeError`` that
    loses the rest of the output. An error handler the user chose is kept."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            with suppress(OSError, ValueError):
                stream.reconfigure(errors="backslashreplace")


def run_program(main: Callable[[], int], name: str) -> NoReturn:
    """``main()`` as the whole process of the command ``name`` (its entry point):
    it ends as ``end_process`` ends it. A Ctrl-C that ``main`` did not say
    itself, one that something swallowed (``cli._interrupts``) and one after
    the work (while the process ends) are one line, ``<name>:
    interrupted``, and 130: never a traceback, never 0.

    Status 130 ends the process at once (``end_now``): an interrupt caught
    inside some extension's import can leave CPython's "unhandled Ctrl-C"
    mark set, and then ``sys.exit(130)`` ends the process by SIGINT instead
    (seen under load while pandas imports).
    """
    from work_data_hub.cli._interrupts import (
        keep_interrupts,
        on_ctrl_c_from_now,
        raise_if_interrupted,
        say_last,
    )

    def ended_by_ctrl_c() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the line short
        say_last(f"{name}: interrupted")
        end_now(INTERRUPTED)

    keep_interrupts()
    escape_what_output_cannot_encode()
    try:
        status = main()
        raise_if_interrupted()
        on_ctrl_c_from_now(ended_by_ctrl_c)  # (inside the try: a Ctrl-C before it is caught)
    except KeyboardInterrupt:
        ended_by_ctrl_c()
    if status == INTERRUPTED:
        end_now(status)
    sys.exit(end_process(status))
