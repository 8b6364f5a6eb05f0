"""Session ids: one per ETL run, naming its failure log."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import datetime

from work_data_hub.errors import InvalidSessionIdError

__all__ = ["SESSION_ID_PATTERN", "generate_session_id", "session_started", "validate_session_id"]

#: ``etl_`` + local date and time + 6 lowercase hex digits, nothing else.
SESSION_ID_PATTERN = re.compile(r"etl_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}")

_issued: set[str] = set()
_issued_lock = threading.Lock()


def generate_session_id() -> str:
    """Return a new session id, unique within this process.

    The suffix comes from :mod:`secrets`; an id already handed out by this
    process is never returned again, even within the same second.

    >>> session_id = generate_session_id()
    >>> validate_session_id(session_id) == session_id
    True
    """
    with _issued_lock:
        while True:
            stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
            session_id = f"etl_{stamp}_{secrets.token_hex(3)}"
            if session_id not in _issued:
                _issued.add(session_id)
                return session_id


def session_started(session_id: str) -> datetime | None:
    """The local start time in a well-formed ``session_id``; None if its date or time
    is not a real one (month 13, hour 25: a log named so by an older release).

    >>> session_started("etl_20240301_090000_0a1b2c"), session_started("etl_20241301_090000_0a1b2c")
    (datetime.datetime(2024, 3, 1, 9, 0), None)
    """
    try:
        return datetime.strptime(session_id[4:19], "%Y%m%d_%H%M%S")
    except ValueError:
        return None


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a well-formed id, else raise.

    The format admits no path separator, dot or upper-case letter, so an id can
    never point a log file outside its folder; its date and time must be real ones.

    >>> validate_session_id("etl_20240101_120000_00ff00")
    'etl_20240101_120000_00ff00'
    >>> validate_session_id("../etc")
    Traceback (most recent call last):
    ...
    work_data_hub.errors.InvalidSessionIdError: session_id '../etc' does not match ...
    """
    if session_id is None or session_id == "":
        raise InvalidSessionIdError("session_id cannot be empty", value=session_id)
    if not isinstance(session_id, str) or SESSION_ID_PATTERN.fullmatch(session_id) is None:
        raise InvalidSessionIdError(
            f"session_id {session_id!r} does not match etl_YYYYMMDD_HHMMSS_xxxxxx "
            "(6 lowercase hex digits)",
            value=session_id,
        )
    if session_started(session_id) is None:
        raise InvalidSessionIdError(
            f"session_id {session_id!r}: {session_id[4:19]} is no real date and time "
            "(YYYYMMDD_HHMMSS)",
            value=session_id,
        )
    return session_id
