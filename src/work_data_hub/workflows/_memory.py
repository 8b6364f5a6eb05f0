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

__all__ = ["release_memory", "share_one_allocator"]


def share_one_allocator() -> None:
    """Let Arrow allocate through the C allocator, as pandas and numpy do."""
    pa.set_memory_pool(pa.system_memory_pool())


def release_memory() -> None:
    """Collect cycles and return the C allocator's free memory to the system (glibc)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        # the process's own symbols, libc's among them: no ``find_library``, which runs
        # ``ldconfig`` in a child process on every call (once per file here)
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
        if trim is not None:
            trim(0)
