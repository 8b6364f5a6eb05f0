"""The sessions in a logs folder, and finding one log by id, prefix or path."""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from pathlib import Path

import pandas as pd

from work_data_hub.errors import (
    AmbiguousSessionError,
    FailureLogFormatError,
    FailureLogWarning,
    LogNotFoundError,
)

# the modules, not the package's face: listing sessions needs the reader only
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.reader import read_failures
from work_data_hub.infrastructure.validation.session import SESSION_ID_PATTERN, session_started

__all__ = ["list_sessions", "resolve_log"]

_LOG_NAME = re.compile(rf"wdh_etl_failures_({SESSION_ID_PATTERN.pattern})\.csv")
ERROR_COLUMNS = [e.value for e in ErrorType]


def _logs_in(logs_dir: Path) -> dict[str, Path]:
    if not logs_dir.is_dir():
        raise LogNotFoundError(f"no logs folder at {logs_dir}", path=logs_dir)
    found = {}
    for path in logs_dir.iterdir():
        match = _LOG_NAME.fullmatch(path.name)
        if match and path.is_file():
            found[match.group(1)] = path
    return found


def _recency(session_id: str) -> tuple[datetime, str]:
    """A session's sort key, the newest greatest: an id with no real time is the oldest."""
    return session_started(session_id) or datetime.min, session_id


def list_sessions(logs_dir: str | Path = "logs") -> pd.DataFrame:
    """Return one row per session log in ``logs_dir``, newest first.

    Columns: ``session_id``, ``started`` (local time, from the id; NaT, listed
    last, for an id whose date or time is no real one), ``path``,
    ``rows``, one count per error type, and ``domains`` (comma-separated).
    Rows count once per failed row (``read_failures``). A file named like a
    log that cannot be read as one is left out with a ``FailureLogWarning``.

    >>> import tempfile
    >>> list_sessions(tempfile.mkdtemp()).columns.tolist()[:4]
    ['session_id', 'started', 'path', 'rows']
    """
    records = []
    for session_id, path in _logs_in(Path(logs_dir)).items():
        try:
            failures = read_failures(path)
        except (FailureLogFormatError, OSError) as error:
            warnings.warn(FailureLogWarning(f"left out {path.name}: {error}"), stacklevel=2)
            continue
        counts = failures["error_type"].value_counts()
        records.append(
            {
                "session_id": session_id,
                "started": session_started(session_id),
                "path": str(path),
                "rows": len(failures),
                **{name: int(counts.get(name, 0)) for name in ERROR_COLUMNS},
                "domains": ", ".join(sorted(failures["domain"].unique())),
            }
        )
    columns = ["session_id", "started", "path", "rows", *ERROR_COLUMNS, "domains"]
    frame = pd.DataFrame(records, columns=columns).astype(
        {"started": "datetime64[us]", "rows": "int64"} | dict.fromkeys(ERROR_COLUMNS, "int64")
    )
    return frame.sort_values(
        ["started", "session_id"], ascending=False, na_position="last", ignore_index=True
    )


def resolve_log(reference: str | Path | None, logs_dir: str | Path = "logs") -> Path:
    """Return the log a user means: a file path, a session id, a unique id prefix,
    or (None) the newest session in ``logs_dir``.

    Raises:
        LogNotFoundError: no such file, no logs folder, or no session matches.
        AmbiguousSessionError: a prefix matches several sessions.
    """
    if reference is not None and (Path(reference).is_file() or str(reference).endswith(".csv")):
        path = Path(reference)
        if not path.is_file():
            raise LogNotFoundError(f"no failure log at {path}", path=path)
        return path
    logs = _logs_in(Path(logs_dir))
    if not logs:
        raise LogNotFoundError(f"no failure logs in {logs_dir}", path=logs_dir)
    if reference is None:
        return logs[max(logs, key=_recency)]
    matches = sorted(sid for sid in logs if sid.startswith(str(reference)))
    if not matches:
        raise LogNotFoundError(
            f"no session in {logs_dir} starts with {str(reference)!r}", path=logs_dir
        )
    if len(matches) > 1:
        raise AmbiguousSessionError(str(reference), matches)
    return logs[matches[0]]
