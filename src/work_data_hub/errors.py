"""The exceptions of work_data_hub.

Every error subclasses :class:`WorkDataHubError` and the built-in that matches
it, so ``except ValueError`` keeps working for callers that do not know ours.
Messages quote the offending value and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ExcelLimitError",
    "FailedFrameError",
    "FailureLogFormatError",
    "FailureLogWarning",
    "FailureLogWriteError",
    "InvalidSessionIdError",
    "OutputPathError",
    "RawDataEncodingError",
    "ResumeConflictError",
    "RowConservationError",
    "SourceFileError",
    "UnsafeLogPathError",
    "WorkDataHubError",
]


class WorkDataHubError(Exception):
    """Base class of every error raised by work_data_hub."""


class InvalidSessionIdError(WorkDataHubError, ValueError):
    """A session id is empty or not of the form ``etl_YYYYMMDD_HHMMSS_xxxxxx``."""


class FailedFrameError(WorkDataHubError, ValueError):
    """Failed rows cannot be turned into, or exported as, a failure-log frame."""


class RawDataEncodingError(WorkDataHubError, ValueError):
    """A source row cannot be serialised to ``raw_data`` JSON."""


class FailureLogFormatError(WorkDataHubError, ValueError):
    """A file is not a failure log (wrong header, unparseable row)."""


class UnsafeLogPathError(WorkDataHubError, OSError):
    """Writing the failure log would follow a link or leave its folder."""


class FailureLogWriteError(WorkDataHubError, OSError):
    """The failure log could not be written; the file is left as it was."""


class FailureLogWarning(UserWarning):
    """Something about a failure log the operator should know; nothing was lost."""


class SourceFileError(WorkDataHubError, ValueError):
    """A source file cannot be read as a table (missing, empty, corrupt, unsupported)."""


class RowConservationError(WorkDataHubError, AssertionError):
    """Rows were lost or counted twice: read != loaded + logged (nothing is committed)."""


class ExcelLimitError(WorkDataHubError, ValueError):
    """Failed rows do not fit an Excel sheet (1,048,575 rows under its header)."""


class ResumeConflictError(WorkDataHubError, ValueError):
    """A resumed session would load rows its own log says failed (the file or the
    reference data changed since): the file must run in a new session."""


class OutputPathError(WorkDataHubError, ValueError):
    """An output path cannot be written as asked (a folder, a missing folder, a wrong suffix)."""
