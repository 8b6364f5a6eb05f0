"""``replacing``: write an output file so that its path holds either the file that
was there or the whole new one, never a part of it.

The new content goes to a hidden temporary file in the same folder
(``.<name>.<random>.tmp``, so nothing that lists the folder takes it for an
output), is fsynced, then ``os.replace``s the path. If anything fails or
interrupts the writing (a full disk, Ctrl-C), the temporary file is removed
and the path is as it was.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from work_data_hub.errors import OutputWriteError, WorkDataHubError

__all__ = ["replacing", "write_replacing"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@contextmanager
def replacing(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary file for ``path``'s new content; it replaces ``path`` when the
    block ends without an error.

    A file replaced keeps its permissions; a new one gets the umask's. A
    symbolic link has its target replaced. A path that is no regular file
    (``/dev/stdout``, a pipe) cannot be replaced: it is written in place.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "summary.json"
    >>> with replacing(out) as file:
    ...     _ = file.write(b"{}")
    >>> out.read_bytes(), sorted(p.name for p in out.parent.iterdir())
    (b'{}', ['summary.json'])

    Raises:
        OutputWriteError: the file could not be written (a full disk, no
            permission); ``path`` is as it was. Any other error of the block
            (Ctrl-C included) is raised as it is, leaving ``path`` as it was too.
    """
    shown = Path(path)
    target = Path(os.path.realpath(shown))
    try:
        before: os.stat_result | None = target.stat()
    except OSError:
        before = None
    if before is not None and not stat.S_ISREG(before.st_mode):
        with _in_place(shown) as file:
            yield file
        return
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, _FLAGS, 0o666)
    except OSError as error:
        raise _write_error(error, shown, existed=before is not None) from error
    file = os.fdopen(fd, "wb")
    try:
        if before is not None:
            os.fchmod(fd, stat.S_IMODE(before.st_mode))
        yield file
        file.flush()
        os.fsync(fd)
        file.close()
        os.replace(temporary, target)
    except BaseException as error:
        with suppress(OSError):
            file.close()  # (a flush that fails again: the file is closed all the same)
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, WorkDataHubError):
            raise _write_error(error, shown, existed=before is not None) from error
        raise
    _sync_folder(target.parent)


def write_replacing(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` as ``replacing`` does (the old file or the whole new one).

    Raises:
        OutputWriteError: as ``replacing``.
    """
    with replacing(path) as file:
        file.write(data)


@contextmanager
def _in_place(path: Path) -> Iterator[BinaryIO]:
    try:
        with path.open("wb") as file:
            yield file
    except OSError as error:
        if isinstance(error, WorkDataHubError):
            raise
        raise OutputWriteError(
            error.errno, f"cannot write {path}: {error.strerror or error}", str(path)
        ) from error


def _write_error(error: OSError, path: Path, *, existed: bool) -> OutputWriteError:
    kept = "the file there is as it was" if existed else "no file was made"
    return OutputWriteError(
        error.errno, f"cannot write {path}: {error.strerror or error}; {kept}", str(path)
    )


def _sync_folder(folder: Path) -> None:
    """Make the replace itself durable (best effort: not every system syncs folders)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
