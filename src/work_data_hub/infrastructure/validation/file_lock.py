"""An inter-process lock for one failure log, held beside it.

The lock lives in its own file (``.<log name>.lock``), never on the log
itself: a writer that must remove or repair the log under the lock cannot
strand another writer that is waiting on the log's inode.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["lock_path_for", "locked"]


def lock_path_for(log_file: Path) -> Path:
    """Return the lock file of ``log_file``.

    >>> lock_path_for(Path("logs/wdh_etl_failures_x.csv")).name
    '.wdh_etl_failures_x.csv.lock'
    """
    return log_file.with_name(f".{log_file.name}.lock")


@contextmanager
def locked(log_file: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``log_file`` for the ``with`` block.

    Works across processes and across threads of one process (each call opens
    its own file description). The lock file is opened without following
    links, so a planted symlink cannot redirect it.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(lock_path_for(log_file), flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock
