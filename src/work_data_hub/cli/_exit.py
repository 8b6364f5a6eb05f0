"""How a command's process ends once its work is done: without the interpreter's teardown.

At exit CPython frees every module's objects one by one: 0.19 s after a run
that imported pandas, pandera and SQLAlchemy, 0.25-0.28 s with Dask (measured
on this project's whole runs), for nothing: the process is ending. A program
that has flushed its output, run its exit handlers and left no thread Python
would wait for can end at once (``os._exit``) with the same status.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn

__all__ = ["end_now", "end_process"]


def end_process(status: int) -> int:
    """End this process now with ``status``: its output flushed, its ``atexit``
    handlers run, the interpreter's teardown skipped. Returns ``status`` instead,
    for the usual exit, while a thread that Python would wait for still runs or
    a tracer or profiler is set (``python -m cProfile``, coverage, pdb).

    The entry point of a command (``wdh-etl``), never a function a caller of
    the library calls: ``sys.exit(end_process(main()))``.
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
    (an interrupted run's 130: see ``cli.etl.program``).
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # (None: started with that stream closed)
            with suppress(OSError, ValueError):  # a reader that went away (a closed pipe)
                stream.flush()
    os._exit(status)
