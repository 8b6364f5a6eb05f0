"""Rows of a frame into a table in the caller's transaction: the fastest way per database.

PostgreSQL through psycopg 3: ``COPY ... FROM STDIN`` (``io._copy``).
Otherwise (SQLite; PostgreSQL through another driver) one prepared INSERT,
run by the driver's executemany: SQLAlchemy's ``insert()`` with a list of
dicts builds and converts every row in Python; here each column is
converted once (missing values to ``None``, then the column type's own
bind processor, so values are stored exactly as SQLAlchemy would store
them) and the driver runs one statement over all the rows.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table
from sqlalchemy.engine.processors import to_float

from work_data_hub.errors import UnsupportedDatabaseError
from work_data_hub.io._copy import copy_rows

__all__ = ["insert_rows"]

_MARKS: Final = {"qmark": "?", "format": "%s", "pyformat": "%s"}

#: Rows converted and sent per executemany: bounds the Python tuples held at once.
CHUNK_ROWS: Final = 16_384


def _parameters(frame: pd.DataFrame, table: Table, connection: Connection) -> list[tuple[Any, ...]]:
    columns: list[list[Any]] = []  # (lists: zip walks them faster than arrays)
    for name in frame.columns:
        series = frame[name]
        kind = table.c[name].type.dialect_impl(connection.dialect)
        process = kind.bind_processor(connection.dialect)
        if process is None or (process is to_float and series.dtype == np.float64):
            # Python scalars, None where missing (``to_float`` of a float is that float)
            values = series.astype(object).to_numpy(copy=True)
            missing = series.isna().to_numpy()
            if missing.any():
                values[missing] = None
            columns.append(values.tolist())
        else:  # (dates as text on SQLite) each distinct value once: a month column has few
            codes, distinct = pd.factorize(series, use_na_sentinel=True)
            processed = np.array([process(value) for value in distinct.astype(object)] + [None])
            columns.append(processed[codes].tolist())  # code -1 (missing) takes the final None
    return list(zip(*columns, strict=True))


def insert_rows(
    connection: Connection, table: Table, frame: pd.DataFrame, *, skip_taken: bool = False
) -> None:
    """INSERT ``frame``'s rows (columns named as ``table``'s) in the caller's transaction.

    ``skip_taken``: a row whose (``source_file``, ``row_index``) slot is taken
    is skipped (``ON CONFLICT ... DO NOTHING``), not an error.

    Raises:
        UnsupportedDatabaseError: the driver's parameter style is not one of
            qmark (SQLite) or format (psycopg).
        UnstorableValueError: (PostgreSQL) a text value holds NUL.
    """
    if frame.empty:
        return
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        copy_rows(connection, table, frame, skip_taken=skip_taken)
        return
    mark = _MARKS.get(connection.dialect.paramstyle)
    if mark is None:
        raise UnsupportedDatabaseError(connection.dialect.name)
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(str(name)) for name in frame.columns)
    sql = (
        f"INSERT INTO {quote(table.name)} ({names}) "
        f"VALUES ({', '.join([mark] * len(frame.columns))})"
    )
    if skip_taken:
        sql += ' ON CONFLICT ("source_file", "row_index") DO NOTHING'
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        connection.exec_driver_sql(sql, _parameters(chunk, table, connection))
