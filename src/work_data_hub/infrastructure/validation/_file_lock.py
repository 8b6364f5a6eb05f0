"""The lock file beside a failure log: inter-process lock and commit record.

The lock lives in its own file (``.<log name>.lock``), never on the log
itself: a writer that must cut back or repair the log under the lock cannot
strand another writer waiting on the log's inode. The same file holds the
log's commit record (see ``commit_record``).
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from work_data_hub.errors import FailureLogWriteError, UnsafeLogPathError

__all__ = ["lock_path_for", "locked", "locked_shared", "open_no_follow"]

#: The lock descriptors this process holds now. A flock belongs to the open file, and
#: a child forked meanwhile (from another thread of this process, by a library)
#: would keep that file open: the lock would outlive this process letting go of it.
#: The child closes its copies at once (``_drop_inherited``).
_HELD: set[int] = set()


def _drop_inherited() -> None:
    """In a forked child: close the copies of the parent's lock descriptors."""
    for fd in _HELD:
        with suppress(OSError):
            os.close(fd)
    _HELD.clear()  # (the parent's ``locked`` then closes nothing of the child's)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_drop_inherited)


@contextmanager
def _holding(fd: int) -> Iterator[int]:
    """``fd`` is a held lock until the block ends; then it is closed (the lock released)."""
    _HELD.add(fd)
    try:
        yield fd
    finally:
        if fd in _HELD:  # else this is a forked child: the descriptor is closed already
            _HELD.discard(fd)
            os.close(fd)


def lock_path_for(log_file: Path) -> Path:
    """Return the lock file of ``log_file``.

    >>> lock_path_for(Path("logs/wdh_etl_failures_x.csv")).name
    '.wdh_etl_failures_x.csv.lock'
    """
    return log_file.with_name(f".{log_file.name}.lock")


def open_no_follow(path: Path, flags: int, *, what: str, failing: str | None = None) -> int:
    """``os.open`` that never follows a symbolic link at ``path``.

    A link raises ``UnsafeLogPathError`` naming ``what`` ("the lock file");
    with ``failing`` ("create {what} {path}"), any other error raises
    ``FailureLogWriteError`` ("cannot create the lock file ...: Permission
    denied") instead of the bare ``OSError``.
    """
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeLogPathError(
                f"refusing to use {what} {path}: it is a symbolic link"
            ) from error
        if failing is None:
            raise
        raise FailureLogWriteError(
            error.errno, f"cannot {failing.format(what=what, path=path)}: {error.strerror}"
        ) from error


@contextmanager
def locked(log_file: Path) -> Iterator[int]:
    """Hold the exclusive lock of ``log_file``; yield the lock file's descriptor.

    Works across processes and across threads of one process (each call opens
    its own file description). Links are not followed.
    """
    path = lock_path_for(log_file)
    fd = open_no_follow(
        path, os.O_RDWR | os.O_CREAT, what="the lock file", failing="create {what} {path}"
    )
    with _holding(fd):  # closing releases the flock
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd


@contextmanager
def locked_shared(log_file: Path) -> Iterator[int | None]:
    """Hold a shared lock of ``log_file`` for reading; yield the descriptor.

    Yields None when there is no lock file (a log copied from elsewhere):
    reading never creates one, so read-only folders stay readable.
    """
    try:
        fd = open_no_follow(lock_path_for(log_file), os.O_RDONLY, what="the lock file")
    except FileNotFoundError:
        yield None
        return
    with _holding(fd):
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield fd
