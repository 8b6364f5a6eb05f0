"""SQLite files and connections: how long they wait for another connection's write, the write
lock taken first, foreign keys on.

SQLite lets one connection write at a time. A connection waits for another's
write ``SQLITE_WAIT_SECONDS`` (``?timeout=SECONDS`` in the URL sets another);
a write transaction takes the lock first (``begin_immediate``), in short
slices, so that Ctrl-C stops the wait.

>>> wait_seconds("sqlite:///w.db"), wait_seconds("sqlite:///w.db?timeout=60")
(600.0, 60.0)
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

__all__ = [
    "SQLITE_WAIT_SECONDS",
    "begin_immediate",
    "engine_arguments",
    "foreign_keys_on",
    "sqlite_file",
    "wait_seconds",
]

#: How long an SQLite connection waits for another connection's write to end before
#: it fails with "database is locked" (SQLite lets one writer in at a time: a run's
#: load waits for a concurrent run's or worker's load of a large file; the driver's
#: own 5 s failed such a file). ``?timeout=SECONDS`` in the URL sets another.
SQLITE_WAIT_SECONDS: Final = 600.0

#: A write transaction on SQLite waits for the write lock in slices this long: SQLite
#: waits in C, where Ctrl-C cannot stop it; between two slices it can.
_LOCK_SLICE_MS: Final = 100


def wait_seconds(url: str) -> float:
    """Seconds an SQLite connection of ``url`` waits for another's write: the URL's
    ``timeout``, else ``SQLITE_WAIT_SECONDS``; at most 2,000,000 (SQLite counts the
    wait's milliseconds in a 32-bit int: more wrapped round to no wait at all).
    A ``timeout`` that is not seconds >= 0, or is given twice, is a ValueError.
    Other databases: 0 (their drivers read their own URL options).

    >>> wait_seconds("sqlite:///w.db?timeout=2.5"), wait_seconds("sqlite:///w.db?timeout=1e10")
    (2.5, 2000000.0)
    >>> wait_seconds("sqlite:///w.db?timeout=soon")
    Traceback (most recent call last):
    ValueError: timeout='soon' is not the seconds to wait for another's write, e.g. 60
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return 0.0
    given = parsed.query.get("timeout")
    if given is None:
        return SQLITE_WAIT_SECONDS
    if isinstance(given, tuple):  # (the driver would take neither)
        raise ValueError(f"timeout= is given {len(given)} times: give it once")
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:  # also NaN
        raise ValueError(
            f"timeout={given!r} is not the seconds to wait for another's write, e.g. 60"
        )
    return min(abs(seconds), 2_000_000.0)  # (abs: -0 is 0)


def engine_arguments(url: str) -> dict[str, Any]:
    """The engine's arguments for ``url``: an SQLite connection waits ``wait_seconds``.

    >>> engine_arguments("sqlite:///w.db?timeout=5"), engine_arguments("postgresql://db/wdh")
    ({'connect_args': {'timeout': 5.0}}, {})
    """
    if make_url(url).get_backend_name() != "sqlite":
        return {}
    return {"connect_args": {"timeout": wait_seconds(url)}}


def begin_immediate(connection: Connection, seconds: float) -> None:
    """``BEGIN IMMEDIATE`` on SQLite, tried in ``_LOCK_SLICE_MS`` waits until it takes
    the write lock or ``seconds`` have passed (then SQLite's "database is locked").
    A failed ``BEGIN`` leaves no transaction open, hence no read lock held that would
    make the writer it waits for wait on it."""
    deadline = time.monotonic() + seconds
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {_LOCK_SLICE_MS}")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() >= deadline:
                    raise
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def foreign_keys_on(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite file URL; None for other databases and in-memory SQLite.

    >>> sqlite_file("sqlite:///data/wdh.db"), sqlite_file("sqlite://")
    (PosixPath('data/wdh.db'), None)
    """
    engine_url = make_url(url)
    file = engine_url.database if engine_url.get_backend_name() == "sqlite" else None
    return None if file in (None, "", ":memory:") else Path(str(file))
