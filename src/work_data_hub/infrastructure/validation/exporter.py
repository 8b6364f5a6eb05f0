"""``FailureExporter``: append failed rows to the session's one failure log.

Appends are atomic with respect to each other: the header check, the header
write and the row write happen under one inter-process lock, so concurrent
exports to one session give one header and each export's rows contiguous.
An export either lands whole or not at all: if writing fails part-way (full
disk, file-size limit, an interrupt) the file is cut back to its size before
the export and the error is raised; if the process is killed mid-write, the
commit record (``commit_record``) tells readers and the next export which
bytes never finished.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pandera.errors as pa_errors
import pyarrow as pa

from work_data_hub.errors import (
    FailedFrameError,
    FailureLogWriteError,
)
from work_data_hub.infrastructure.validation._commit_record import (
    committed_length,
    move_torn_tail,
    read_record,
    write_record,
)
from work_data_hub.infrastructure.validation._csv_format import (
    HEADER_BYTES,
    check_header,
    to_arrow_table,
    write_fully,
    write_rows,
)
from work_data_hub.infrastructure.validation._file_lock import locked, open_no_follow
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.failed_record import FailedRecord
from work_data_hub.infrastructure.validation.schema import (
    FAILURE_LOG_DTYPES,
    FAILURE_LOG_SCHEMA,
    FIELDNAMES,
)
from work_data_hub.infrastructure.validation.session import validate_session_id

__all__ = ["FailureExporter"]

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT


class FailureExporter:
    """Appends failed records of one session to ``wdh_etl_failures_{session_id}.csv``.

    >>> import tempfile
    >>> exporter = FailureExporter("etl_20240101_120000_abcdef", Path(tempfile.mkdtemp()))
    >>> record = FailedRecord.from_validation_error(
    ...     exporter.session_id, "annuity_income", "2024-01.csv", 3,
    ...     ErrorType.ENRICHMENT_FAILED, {"客户名称": "某公司"},
    ... )
    >>> exporter.export([record]).name
    'wdh_etl_failures_etl_20240101_120000_abcdef.csv'
    """

    FIELDNAMES: ClassVar[list[str]] = list(FIELDNAMES)

    def __init__(self, session_id: str, output_dir: Path = Path("logs")) -> None:
        self.session_id = validate_session_id(session_id)
        self.output_dir = Path(output_dir)
        self.output_file = self.output_dir / f"wdh_etl_failures_{self.session_id}.csv"

    def __repr__(self) -> str:
        return f"FailureExporter({self.session_id!r}, output_dir={self.output_dir!r})"

    def _ensure_directory(self) -> None:
        """Create the output folder and its parents if missing."""
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FailureLogWriteError(
                error.errno, f"cannot create failure-log folder {self.output_dir}: {error.strerror}"
            ) from error

    def export(self, records: Sequence[FailedRecord] | pd.DataFrame) -> Path:
        """Append ``records`` (FailedRecords or a seven-column frame); return the log path.

        Zero records write nothing and create no file.

        Raises:
            FailedFrameError: a row belongs to another session, has an unknown
                ``error_type`` or is otherwise malformed; nothing is written.
            FailureLogFormatError: the existing file's header is not the seven
                columns; the file is left unchanged.
            UnsafeLogPathError: the log file is a symbolic link.
            FailureLogWriteError: the write failed; the file is as it was.
        """
        frame = self._validated(records)
        if frame.empty:
            return self.output_file
        table = to_arrow_table(frame)
        self._ensure_directory()
        with locked(self.output_file) as lock_fd:
            self._append(table, lock_fd)
        return self.output_file

    # -- validation ------------------------------------------------------

    def _validated(self, records: Sequence[FailedRecord] | pd.DataFrame) -> pd.DataFrame:
        if isinstance(records, pd.DataFrame):
            frame = records
        else:
            not_records = [type(r).__name__ for r in records if not isinstance(r, FailedRecord)]
            if not_records:
                raise TypeError(
                    f"export takes FailedRecords or a DataFrame, got a {not_records[0]} "
                    "in the sequence"
                )
            frame = pd.DataFrame([r.to_dict() for r in records], columns=self.FIELDNAMES)
        if list(frame.columns) != self.FIELDNAMES:
            raise FailedFrameError(
                f"a failure frame needs exactly the columns {self.FIELDNAMES} in that order, "
                f"got {list(frame.columns)}"
            )
        if frame.empty:
            return frame
        foreign = frame["session_id"] != self.session_id
        if foreign.any():
            raise FailedFrameError(
                f"{int(foreign.sum())} row(s) belong to session "
                f"{frame.loc[foreign, 'session_id'].iloc[0]!r}, not to this exporter's "
                f"{self.session_id!r}: nothing was written"
            )
        unknown = ~frame["error_type"].isin([e.value for e in ErrorType])
        if unknown.any():
            raise FailedFrameError(
                f"error_type {str(frame.loc[unknown, 'error_type'].iloc[0])!r} is not one of "
                f"{[e.value for e in ErrorType]}: nothing was written"
            )
        frame = _with_canonical_dtypes(frame)
        try:
            return FAILURE_LOG_SCHEMA.validate(frame, lazy=True)
        except pa_errors.SchemaErrors as error:
            cases = error.failure_cases.head(5)
            details = "; ".join(
                f"{row.column}: {row.check} failed for {row.failure_case!r}"
                for row in cases.itertuples()
            )
            raise FailedFrameError(
                f"{len(error.failure_cases)} problem(s) in the failure frame, nothing was "
                f"written: {details}"
            ) from error

    # -- writing ---------------------------------------------------------

    def _append(self, table: pa.Table, lock_fd: int) -> None:
        path = self.output_file
        fd = open_no_follow(
            path, _OPEN_FLAGS, what="the failure log", failing="open failure log {path} for writing"
        )
        try:
            size = os.fstat(fd).st_size
            record = read_record(lock_fd)
            committed = committed_length(fd, size, record, path)
            if committed:
                check_header(os.pread(fd, 4096, 0), path)
            if size > committed:
                move_torn_tail(fd, path, committed, size)
            self._write_all_or_nothing(fd, committed, table, lock_fd, record)
        finally:
            os.close(fd)

    def _write_all_or_nothing(
        self, fd: int, size_before: int, table: pa.Table, lock_fd: int, record: int | None
    ) -> None:
        """Append, or leave the log as it was: a new log that fails is removed, never
        left empty (a 0-byte file is no log)."""
        try:
            if not size_before:
                if record != 0:  # a new log: nothing in it counts until this export returns
                    write_record(lock_fd, 0)
                write_fully(fd, HEADER_BYTES)
            write_rows(fd, table)
            os.fsync(fd)
            write_record(lock_fd, os.fstat(fd).st_size)
        except BaseException as error:
            os.ftruncate(fd, size_before)
            if not size_before:
                self.output_file.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise FailureLogWriteError(
                    error.errno,
                    f"writing failure log {self.output_file} failed "
                    f"({error.strerror or error}); the file is left as it was before "
                    "this export",
                ) from error
            raise


def _with_canonical_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Convert the columns whose dtype is not the canonical one (e.g. records' text)."""
    converted: dict[str, pd.Series] = {}
    for name, dtype in FAILURE_LOG_DTYPES.items():
        column = frame[name]
        if column.dtype == dtype:
            continue
        try:
            if name == "timestamp":
                parsed = pd.to_datetime(column, utc=True, format="ISO8601")
                converted[name] = parsed.dt.as_unit("us")
            else:
                converted[name] = column.astype(dtype)
        except (ValueError, TypeError) as error:
            raise FailedFrameError(
                f"column {name} cannot be read as {dtype}: {error}; nothing was written"
            ) from error
    return frame.assign(**converted) if converted else frame
