"""The exceptions of work_data_hub.

Every error subclasses :class:`WorkDataHubError` and the built-in that matches
it, so ``except ValueError`` (or ``FileNotFoundError``, ``LookupError``...)
keeps working for callers that do not know ours. Like pandera's
``SchemaError`` carries ``failure_cases``, each error carries what it is
about as attributes (``path``, ``line``, ``labels``, ``domain``...); its
message names the offending value and the fix, on one line.

>>> try:
...     raise UnknownDomainError("annuity_perf", known=["annuity_income"])
... except LookupError as error:
...     print(error.domain, "|", error)
annuity_perf | unknown domain 'annuity_perf'; known: annuity_income
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AmbiguousSessionError",
    "DatabaseNotFoundError",
    "DomainNotInLogError",
    "ExcelLimitError",
    "FailedFrameError",
    "FailureLogFormatError",
    "FailureLogWarning",
    "FailureLogWriteError",
    "InvalidSessionIdError",
    "LoadInputError",
    "LoadSupersededError",
    "LogNotFoundError",
    "OutputPathError",
    "OutputWriteError",
    "RawDataEncodingError",
    "ReferenceKeyTooLongError",
    "ResumeConflictError",
    "RowConservationError",
    "SourceFileError",
    "TableLayoutError",
    "UnknownDomainError",
    "UnsafeLogPathError",
    "UnstorableValueError",
    "UnsupportedDatabaseError",
    "WorkDataHubError",
]


class WorkDataHubError(Exception):
    """Base class of every error raised by work_data_hub."""

    def __reduce__(self) -> tuple[object, ...]:
        # fields survive pickling (worker processes hand errors back to the run)
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))


def _rebuilt(
    cls: type[WorkDataHubError], args: tuple[object, ...], fields: dict[str, object]
) -> WorkDataHubError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(fields)
    return error


# -- the failure log ---------------------------------------------------------------


class InvalidSessionIdError(WorkDataHubError, ValueError):
    """A session id is empty or not of the form ``etl_YYYYMMDD_HHMMSS_xxxxxx``."""

    def __init__(self, message: str, *, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class FailedFrameError(WorkDataHubError, ValueError):
    """Failed rows cannot be turned into, or exported as, a failure-log frame."""


class RawDataEncodingError(WorkDataHubError, ValueError):
    """A source row cannot be serialised to ``raw_data`` JSON."""


class FailureLogFormatError(WorkDataHubError, ValueError):
    """A file is not a failure log (wrong header, unparseable row, altered raw_data)."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = path


class UnsafeLogPathError(WorkDataHubError, OSError):
    """Writing the failure log would follow a link or leave its folder."""


class FailureLogWriteError(WorkDataHubError, OSError):
    """The failure log could not be written; the file is left as it was."""


class FailureLogWarning(UserWarning):
    """Something about a failure log the operator should know; nothing was lost."""


class LogNotFoundError(WorkDataHubError, FileNotFoundError):
    """No failure log where one was asked for (a path, a session, a logs folder)."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = path


class AmbiguousSessionError(WorkDataHubError, LookupError):
    """A session id prefix matches more than one session."""

    def __init__(self, prefix: str, matches: Sequence[str]) -> None:
        shown = ", ".join(matches[:5])
        super().__init__(
            f"{prefix!r} matches {len(matches)} sessions ({shown}); give more of the id"
        )
        self.prefix, self.matches = prefix, list(matches)


# -- sources and domains -----------------------------------------------------------


class SourceFileError(WorkDataHubError, ValueError):
    """A source file cannot be read as a table (missing, empty, corrupt, unsupported,
    a row that does not line up with the header)."""

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.path, self.line = path, line


class UnknownDomainError(WorkDataHubError, LookupError):
    """A domain name that this version does not run."""

    def __init__(self, domain: str, *, known: Sequence[str]) -> None:
        super().__init__(f"unknown domain {domain!r}; known: {', '.join(known)}")
        self.domain, self.known = domain, list(known)


class DomainNotInLogError(WorkDataHubError, LookupError):
    """A domain the failure log does not name (a typo, or one that logged nothing)."""

    def __init__(self, domain: str, *, log: Path, present: Sequence[str]) -> None:
        close = difflib.get_close_matches(domain, present, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        names = ", ".join(present) or "none"
        super().__init__(f"no domain {domain!r} in {log.name}{hint}; its domains: {names}")
        self.domain, self.log, self.present = domain, log, list(present)


class RowConservationError(WorkDataHubError, AssertionError):
    """Rows were lost or counted twice: read != loaded + logged (nothing is committed)."""

    def __init__(self, message: str, *, source_file: str | None = None) -> None:
        super().__init__(message)
        self.source_file = source_file


class ResumeConflictError(WorkDataHubError, ValueError):
    """A resumed session would load rows its own log says failed (the file or the
    reference data changed since): the file must run in a new session."""

    def __init__(self, message: str, *, source_file: str, labels: Sequence[int]) -> None:
        super().__init__(message)
        self.source_file, self.labels = source_file, list(labels)


class LoadSupersededError(WorkDataHubError, RuntimeError):
    """Replayed rows would join a load of their file that a later run replaced (while
    the replay ran): they belong to a load that no longer counts."""

    def __init__(self, message: str, *, source_file: str) -> None:
        super().__init__(message)
        self.source_file = source_file


# -- the database ------------------------------------------------------------------


class DatabaseNotFoundError(WorkDataHubError, FileNotFoundError):
    """An SQLite database file that should exist does not (commands that only read)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(f"no database at {path}: run wdh-etl first, or pass --db")
        self.path = path


class UnsupportedDatabaseError(WorkDataHubError, NotImplementedError):
    """A database this version cannot load into (no ``INSERT ... ON CONFLICT``)."""

    def __init__(self, dialect: str) -> None:
        super().__init__(f"loads and replays are written for SQLite and PostgreSQL, not {dialect}")
        self.dialect = dialect


class TableLayoutError(WorkDataHubError, RuntimeError):
    """A table made by another version lacks a column this one requires."""

    def __init__(self, table: str, column: str) -> None:
        super().__init__(
            f"table {table} lacks the required column {column}: move its rows to a new "
            "database, or drop the table and run wdh-etl over its files again"
        )
        self.table, self.column = table, column


class LoadInputError(WorkDataHubError, ValueError):
    """Rows handed to the database lack what a load needs (their fingerprints)."""


class UnstorableValueError(LoadInputError):
    """A value the database cannot hold as it is (PostgreSQL text cannot hold NUL,
    U+0000): nothing of the file is loaded, and nothing is changed silently."""

    def __init__(self, *, source_file: str | None, column: str, row_index: int | None) -> None:
        where = f"{source_file or 'rows to load'}, row_index {row_index}"
        super().__init__(
            f"{where}: column {column!r} holds a NUL character (U+0000), which PostgreSQL "
            "text cannot hold: nothing loaded; remove it from the source file, or load into SQLite"
        )
        self.source_file, self.column, self.row_index = source_file, column, row_index


class ReferenceKeyTooLongError(WorkDataHubError, ValueError):
    """A reference table's key longer than the database can index (PostgreSQL's btree
    holds keys up to ~2.7 kB): the reference data is refused, nothing is changed."""

    def __init__(self, *, table: str, key: str, row: int, size: int, limit: int) -> None:
        super().__init__(
            f"reference {table}: the {key} of row {row} is {size:,} bytes, longer than the "
            f"{limit:,} bytes PostgreSQL can index as a key: shorten it in the reference file"
        )
        self.table, self.key, self.row, self.size, self.limit = table, key, row, size, limit


# -- outputs -----------------------------------------------------------------------


class ExcelLimitError(WorkDataHubError, ValueError):
    """Failed rows do not fit an Excel sheet (1,048,575 rows under its header)."""

    def __init__(self, message: str, *, domain: str, rows: int) -> None:
        super().__init__(message)
        self.domain, self.rows = domain, rows


class OutputPathError(WorkDataHubError, ValueError):
    """An output path cannot be written as asked (a folder, a missing folder, a wrong suffix)."""

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(message)
        self.path = path


class OutputWriteError(WorkDataHubError, OSError):
    """An output file (a workbook, a summary) could not be written; a file already at
    its path is as it was, and nothing half-written is left.

    Made as ``OutputWriteError(errno, message, path)``: ``filename`` is the path."""

    def __str__(self) -> str:
        return str(self.strerror)
