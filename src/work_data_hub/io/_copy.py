"""Rows of a frame into a PostgreSQL table by ``COPY ... FROM STDIN``, in the caller's transaction.

The rows go as CSV that pyarrow writes column by column in C: no Python
work per value. psycopg's ``copy`` runs on the SQLAlchemy connection's own
driver connection, so the ``COPY`` is part of the transaction the caller
holds (the ``DELETE`` of a file's earlier rows before it, the ledger row
after it) and a foreign key it breaks rolls all of it back.

How values travel, so they read back equal:

- text is always quoted (``""`` is the empty string) and a missing value
  is an unquoted empty field (``NULL``); in CSV mode tabs, line breaks,
  backslashes and ``\\.`` are plain data. PostgreSQL text cannot hold NUL
  (U+0000): such a value is refused before anything is sent
  (``UnstorableValueError``, naming the file, row and column), never
  changed;
- an amount (a float64) is its shortest round-trip decimal text (what
  ``repr`` gives, ``12345678901234.56``, ``1e+16``), so a ``NUMERIC`` column
  holds exactly the decimal the float was read from;
- a date is ``YYYY-MM-DD`` (a time of day is dropped, as a ``DATE`` column
  drops it), a timestamp ``YYYY-MM-DD HH:MM:SS.ffffff``; integers in full.

``skip_taken`` copies into a temporary table (dropped at commit), then
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` moves the rows whose slot
is free.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import Date, DateTime, Integer, Numeric, TypeEngine

from work_data_hub.errors import UnstorableValueError

__all__ = ["copy_rows", "csv_chunks", "refuse_nul"]

#: Rows turned into CSV and sent at once: bounds the text held in memory, and the
#: server starts on the first chunk while the next is written.
CHUNK_ROWS: Final = 16_384

_CSV: Final = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _without_zone(series: pd.Series) -> pd.Series:
    """Wall-clock times (as SQLAlchemy stores an aware datetime in a naive column)."""
    zone = getattr(series.dtype, "tz", None)
    return series.dt.tz_localize(None) if zone is not None else series


def _arrow(series: pd.Series, kind: TypeEngine[Any]) -> pa.Array:
    """One column as the Arrow array whose CSV text PostgreSQL reads back as the value."""
    if isinstance(kind, Date | DateTime) and pd.api.types.is_datetime64_any_dtype(series):
        series = _without_zone(series)
        if isinstance(kind, Date):
            # Arrow floors to the day (1969-12-31 23:59 stays 1969-12-31)
            return pa.array(series, from_pandas=True).cast(pa.date32(), safe=False)
        return pa.array(series, from_pandas=True)
    if isinstance(kind, Integer):
        return pa.array(series, type=pa.int64(), from_pandas=True)
    if isinstance(kind, Numeric):  # Float too: Arrow prints the shortest round-trip text
        return pa.array(series.astype("float64"), type=pa.float64(), from_pandas=True)
    if isinstance(kind, Date | DateTime):  # date or datetime objects
        return pa.array(series, from_pandas=True)
    try:
        return pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: text as PostgreSQL casts it
        return pa.array(series.where(series.isna(), series.astype(str)), from_pandas=True)


def _table(frame: pd.DataFrame, table: Table, connection: Connection) -> pa.Table:
    dialect = connection.dialect
    return pa.table(
        {
            str(name): _arrow(frame[name], table.c[name].type.dialect_impl(dialect))
            for name in frame.columns
        }
    )


def refuse_nul(frame: pd.DataFrame, columns: pa.Table) -> None:
    """Raise if a text value of ``columns`` (``frame`` as Arrow) holds NUL (U+0000),
    which PostgreSQL text cannot hold.

    >>> frame = pd.DataFrame({"a": ["x", "y\\x00"], "source_file": "f.csv"})
    >>> refuse_nul(frame, pa.table({"a": ["x", "y\\x00"]}))
    Traceback (most recent call last):
    work_data_hub.errors.UnstorableValueError: f.csv, row_index 1: column 'a' holds a NUL ...

    Raises:
        UnstorableValueError: naming the ``source_file`` and ``row_index`` of the
            first such row (the frame's index where it has no ``row_index``) and
            its column.
    """
    for name, values in zip(columns.column_names, columns.columns, strict=True):
        if not pa.types.is_string(values.type):
            continue
        found = pc.match_substring(values, "\x00")
        if not pc.any(found).as_py():
            continue
        at = int(np.flatnonzero(found.fill_null(False).to_numpy())[0])
        row = frame.iloc[at]
        raise UnstorableValueError(
            source_file=str(row["source_file"]) if "source_file" in frame.columns else None,
            column=name,
            row_index=int(row["row_index"] if "row_index" in frame.columns else frame.index[at]),
        )


def csv_chunks(frame: pd.DataFrame, table: Table, connection: Connection) -> Iterator[memoryview]:
    """``frame``'s rows as CSV for ``COPY ... (FORMAT csv)``, ``CHUNK_ROWS`` at a time.

    Raises:
        UnstorableValueError: a text value holds NUL (see ``refuse_nul``).
    """
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        columns = _table(chunk, table, connection)
        refuse_nul(chunk, columns)
        buffer = io.BytesIO()
        pa_csv.write_csv(columns, buffer, _CSV)
        yield buffer.getbuffer()


def copy_rows(
    connection: Connection, table: Table, frame: pd.DataFrame, *, skip_taken: bool = False
) -> None:
    """``COPY`` ``frame``'s rows into ``table`` in the caller's transaction (psycopg 3).

    ``skip_taken``: rows whose (``source_file``, ``row_index``) slot is taken
    are skipped. A database error is raised as SQLAlchemy raises it
    (``IntegrityError`` for a broken foreign key), the transaction left to
    the caller to roll back.

    Raises:
        UnstorableValueError: a text value holds NUL: the ``COPY`` is abandoned,
            the transaction left to the caller to roll back.
    """
    if frame.empty:
        return
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(str(name)) for name in frame.columns)
    target = into = quote(table.name)
    if skip_taken:
        into = quote(f"wdh_copy_{uuid.uuid4().hex[:16]}")
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {into} ON COMMIT DROP AS "
            f"SELECT {names} FROM {target} WITH NO DATA"
        )
    driver = connection.connection.driver_connection
    assert driver is not None  # a live connection inside the caller's transaction
    utf8 = driver.info.encoding == "utf-8"
    sql = f"COPY {into} ({names}) FROM STDIN (FORMAT csv)"
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for chunk in csv_chunks(frame, table, connection):
                copy.write(chunk if utf8 else bytes(chunk).decode("utf-8"))
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, None, error, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
        ) from error
    if skip_taken:
        connection.exec_driver_sql(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM {into} "
            'ON CONFLICT ("source_file", "row_index") DO NOTHING'
        )
