"""Memory a run hands back between files, so one large file's peak does not stack on the
next one's.

pandas, numpy, Python's small objects and Arrow's buffers all allocate through
the C allocator here (Arrow's own pool would keep freed pages for itself), and
glibc keeps freed memory for reuse unless asked to return it.
"""

from __future__ import annotations

import ctypes
import gc
import sys

import pyarrow as pa

__all__ = ["freeze_imports", "own_libc", "release_memory", "share_one_allocator"]


def share_one_allocator() -> None:
    """Let Arrow allocate through the C allocator, as pandas and numpy do."""
    pa.set_memory_pool(pa.system_memory_pool())


def freeze_imports() -> None:
    """Keep every object alive now (the imports) out of the cycle collector's walks.

    For a process that runs one job and ends (the CLI; its ``--jobs`` workers
    inherit the frozen imports, a local cluster's workers freeze their own at
    start: ``io._local_workers.FreezeStartup``): the
    collection per file then walks the run's own objects, about 20,000,
    instead of the 140,000 that pandas, pandera, Arrow and SQLAlchemy leave
    (0.10 s -> 0.01 s per file here). Frozen objects are never collected, so a
    long-lived process (a notebook, a worker of a standing cluster) must not
    call this.

    >>> freeze_imports(); gc.get_freeze_count() > 0
    True
    >>> gc.unfreeze()  # (this example's process goes on)
    """
    gc.collect()
    gc.freeze()


def own_libc() -> ctypes.CDLL:
    """The C library this process runs on (Linux): the process's own symbols, libc's
    among them. No ``find_library``, which runs ``ldconfig`` in a child process on
    every call.

    >>> import os; own_libc().getpid() == os.getpid()
    True
    """
    return ctypes.CDLL(None, use_errno=True)


def release_memory() -> None:
    """Collect cycles and return the C allocator's free memory to the system (glibc)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        trim = getattr(own_libc(), "malloc_trim", None)  # glibc only
        if trim is not None:
            trim(0)
