"""What part of a failure log is committed, and what happens to the rest.

An export appends its rows, fsyncs the log, and only then records the log's
new length in the lock file beside it (``.<log name>.lock``: 20 digits and a
newline, fsynced). Bytes past that length belong to an export that never
returned — killed mid-write, say, after some complete lines reached the disk.
Readers ignore them and warn. The next export, under the lock, moves them to
a sidecar file next to the log (``<log name>.torn-<UTC time>``, named in a
warning) and cuts the log back, so nothing is destroyed silently and every
export is all or nothing.

An exporter records 0 before it first writes to a new log, so a first export
killed mid-write leaves nothing committed. A log without a commit record
(copied from elsewhere) counts as committed up to its last complete line.
A committed length always ends a line: one that ends inside a line now
means the log was edited in place (a value made longer by hand), and the
log is refused rather than cut there.
"""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from work_data_hub.errors import FailureLogFormatError, FailureLogWarning
from work_data_hub.infrastructure.validation._csv_format import write_fully
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

__all__ = ["committed_length", "move_torn_tail", "read_record", "write_record"]

_WIDTH: Final = 20
_COPY_BLOCK: Final = 1 << 20


def read_record(lock_fd: int) -> int | None:
    """Return the committed length stored in the lock file, or None if none is."""
    data = os.pread(lock_fd, 64, 0)
    if not data:
        return None
    text = data.strip()
    if not text.isdigit():
        raise FailureLogFormatError(
            f"the commit record of a failure log is corrupt ({data[:40]!r}); "
            "delete the .lock file beside the log to treat the log as committed"
        )
    return int(text)


def write_record(lock_fd: int, length: int) -> None:
    """Store ``length`` as the committed length, durably."""
    os.pwrite(lock_fd, f"{length:0{_WIDTH}d}\n".encode(), 0)
    os.fsync(lock_fd)


def _end_of_last_line(log_fd: int, size: int) -> int:
    end = size
    while end > 0:
        start = max(0, end - _COPY_BLOCK)
        block = os.pread(log_fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def committed_length(log_fd: int, size: int, record: int | None, path: Path) -> int:
    """Return how many leading bytes of the log belong to finished exports."""
    if size == 0:
        return 0
    if record is None:
        return _end_of_last_line(log_fd, size)
    if record > size:
        raise FailureLogFormatError(
            f"{path} is shorter ({size} bytes) than its commit record ({record} bytes): "
            "it was cut or replaced outside work_data_hub",
            path=path,
        )
    if 0 < record < size and os.pread(log_fd, 1, record - 1) != b"\n":
        raise FailureLogFormatError(
            f"{path} was changed outside work_data_hub after its last export: its commit "
            f"record ({record} bytes) ends inside a line now. If the change was meant (a "
            f"hand edit), delete {lock_path_for(path).name} beside it to take the log as it "
            "is; else restore the log",
            path=path,
        )
    return record


def move_torn_tail(log_fd: int, path: Path, committed: int, size: int) -> None:
    """Move the log's bytes past ``committed`` to a sidecar file (named in a warning)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    sidecar = path.with_name(f"{path.name}.torn-{stamp}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    out = os.open(sidecar, flags, 0o644)
    try:
        for start in range(committed, size, _COPY_BLOCK):
            write_fully(out, os.pread(log_fd, min(_COPY_BLOCK, size - start), start))
        os.fsync(out)
    finally:
        os.close(out)
    os.ftruncate(log_fd, committed)
    os.fsync(log_fd)
    warnings.warn(
        FailureLogWarning(
            f"{path}: moved {size - committed} bytes of an interrupted export to {sidecar}"
        ),
        stacklevel=4,
    )
