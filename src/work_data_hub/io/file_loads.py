"""The ledger of committed file loads: which session's rows of a source file count.

A run logs a file's failed rows first and loads its kept rows after, so a
failure log can hold rows of a load that never committed (a full disk, a
locked database, a kill between the two) or of a load that a later run of
the changed file replaced. The ledger tells them apart: one row per committed
change to a domain table's rows of one source file, written in the same
transaction as those rows, so a ledger row exists exactly when its rows do.

- ``load``: a run replaced the file's rows (``wdh-etl``). The latest load of
  a file is its *current* load; a session's failures of that file count only
  while its load is current.
- ``replay``: a replay added fixed rows to the file's current load
  (``load_session`` names that load). A replay's failure log refers to the
  same load.

Each row also keeps the rows read, loaded and logged, and a SHA-256 of the
file's bytes, so a resumed session knows which files it already loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
)

from work_data_hub.errors import LoadSupersededError

__all__ = [
    "LEDGER_COLUMNS",
    "FileLoad",
    "LoadKind",
    "ledger_table",
    "one_load_at_a_time",
    "read_ledger",
    "record_load",
    "still_current",
]

LEDGER_TABLE: Final = "wdh_file_loads"
#: The columns ``read_ledger`` returns, oldest commit first.
LEDGER_COLUMNS: Final = (
    "id",
    "domain",
    "source_file",
    "session_id",
    "kind",
    "load_session",
    "rows_read",
    "rows_loaded",
    "rows_logged",
    "file_sha256",
    "committed_at",
)


class LoadKind(StrEnum):
    """What a ledger row records."""

    LOAD = "load"
    REPLAY = "replay"


@dataclass(frozen=True)
class FileLoad:
    """One committed change to a domain table's rows of one source file.

    >>> FileLoad("annuity_income", "2024-03.csv", "etl_20240401_120000_abcdef",
    ...          rows_read=10, rows_loaded=8, rows_logged=2).balanced
    True
    """

    domain: str
    source_file: str
    session_id: str
    rows_read: int
    rows_loaded: int
    rows_logged: int
    file_sha256: str | None = None
    kind: LoadKind = LoadKind.LOAD
    #: the load this change belongs to: itself for a load, the load a replay added to
    load_session: str | None = None

    @property
    def balanced(self) -> bool:
        """Rows read = rows loaded + rows logged."""
        return self.rows_read == self.rows_loaded + self.rows_logged


def ledger_table(metadata: MetaData) -> Table:
    """The ledger's table in ``metadata``."""
    return Table(
        LEDGER_TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("domain", String, nullable=False),
        Column("source_file", String, nullable=False),
        Column("session_id", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("load_session", String, nullable=False),
        Column("rows_read", Integer, nullable=False),
        Column("rows_loaded", Integer, nullable=False),
        Column("rows_logged", Integer, nullable=False),
        Column("file_sha256", String),
        Column("committed_at", DateTime(timezone=True), nullable=False),
        Index(f"ix_{LEDGER_TABLE}_file", "domain", "source_file"),
    )


def record_load(connection: Connection, table: Table, entry: FileLoad) -> None:
    """Add ``entry`` to the ledger inside the caller's transaction."""
    connection.execute(
        insert(table).values(
            domain=entry.domain,
            source_file=entry.source_file,
            session_id=entry.session_id,
            kind=entry.kind.value,
            load_session=entry.load_session or entry.session_id,
            rows_read=entry.rows_read,
            rows_loaded=entry.rows_loaded,
            rows_logged=entry.rows_logged,
            file_sha256=entry.file_sha256,
            committed_at=datetime.now(UTC),
        )
    )


def read_ledger(
    engine: Engine, table: Table, domain: str, source_files: Sequence[str]
) -> pd.DataFrame:
    """The ledger rows of ``source_files`` of ``domain``, oldest commit first.

    A database without a ledger (made by an older version, or holding only
    reference data) has none.
    """
    if not inspect(engine).has_table(table.name):
        return pd.DataFrame({name: [] for name in LEDGER_COLUMNS}).astype({"id": "int64"})
    query = (
        select(*(table.c[name] for name in LEDGER_COLUMNS))
        .where(table.c.domain == domain, table.c.source_file.in_(list(source_files)))
        .order_by(table.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=list(LEDGER_COLUMNS)).astype({"id": "int64"})


def still_current(connection: Connection, table: Table, entry: FileLoad) -> None:
    """Wait for a load of ``entry``'s file in progress (``one_load_at_a_time``), then
    make sure ``entry.load_session``'s load is still the file's latest.

    Raises:
        LoadSupersededError: a run of the file committed a newer load meanwhile.
    """
    one_load_at_a_time(connection, [entry])
    query = (
        select(table.c.session_id)
        .where(
            table.c.domain == entry.domain,
            table.c.source_file == entry.source_file,
            table.c.kind == LoadKind.LOAD.value,
        )
        .order_by(table.c.id.desc())
        .limit(1)
    )
    current = connection.execute(query).scalar()
    if current != entry.load_session:
        raise LoadSupersededError(
            f"{entry.source_file} was loaded again by session {current} while this replay "
            f"ran: its rows belong to session {entry.load_session}'s load, which no longer "
            f"counts; explain or replay session {current}'s failures instead",
            source_file=entry.source_file,
        )


def one_load_at_a_time(connection: Connection, entries: Sequence[FileLoad]) -> None:
    """Make two transactions loading the same source tables wait for each other, so
    the second replaces the first's rows (a task Dask ran again while the first
    still ran; a resume while a killed client's load went on). PostgreSQL: a
    transaction-level advisory lock per table, taken in one order; SQLite lets
    one writer in at a time already."""
    if connection.dialect.name != "postgresql":
        return
    for key in sorted({f"{entry.domain}/{entry.source_file}" for entry in entries}):
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )
