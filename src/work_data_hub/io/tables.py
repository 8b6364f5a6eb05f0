"""SQL tables built from the domains' specs: reference tables and domain tables.

A domain table has the spec's columns, an ``extra`` JSON column for the
source's other columns, and the lineage every loaded row carries: its
``source_file`` and ``row_index`` (unique together: the row's *slot*), the
``session_id`` that loaded it, ``raw_hash`` (the fingerprint of its
``raw_data``) and ``replayed_from`` (the session whose log held it, when a
replay loaded it). Names here come from specs only.

Types: a ``DATE`` column is SQL ``DATE`` (a day: a month is its first day;
a time of day is dropped). An ``AMOUNT`` is exact where the database can
hold it exactly: ``NUMERIC`` in PostgreSQL, where the pipeline's float64
is sent as its shortest round-trip decimal text (``repr``: ``3107.9``,
``12345678901234.56``) and reads back as that ``Decimal``. SQLite has no
decimal type: there an amount is ``REAL``, the same IEEE double the
pipeline holds, so it reads back as the equal float (any amount of up to
15 significant digits prints back as written, less trailing zeros:
``3107.90`` reads ``3107.9``). Tables an older version made keep their
column types (``adopt_column_types``): old ``DATETIME`` months keep
getting datetimes, old ``FLOAT`` amounts floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

from work_data_hub.domain.table import ColumnKind, ReferenceTable, TableSpec
from work_data_hub.errors import ReferenceKeyTooLongError

__all__ = [
    "EXTRA",
    "KEY_TEXT",
    "LINEAGE",
    "PG_KEY_BYTES",
    "adopt_column_types",
    "check_key_sizes",
    "domain_table",
    "reference_table",
]

#: The columns every domain table adds after the spec's.
LINEAGE: Final = ("source_file", "row_index", "session_id", "raw_hash", "replayed_from")
#: The column holding the source's other columns, as a JSON object.
EXTRA: Final = "extra"

_TYPES: Final[dict[ColumnKind, TypeEngine[Any]]] = {
    ColumnKind.TEXT: String(),
    # NUMERIC where the database has it exactly; SQLite's NUMERIC would be REAL anyway
    ColumnKind.AMOUNT: Float().with_variant(Numeric(), "postgresql"),
    ColumnKind.DATE: Date(),
}

#: Text compared as bytes in PostgreSQL: keys, the columns that reference them and
#: ``source_file``. Codes and file names have no language order, and a byte
#: comparison is cheaper than the database's locale order in every index lookup
#: (the foreign-key check of each loaded row, the lineage slot's uniqueness).
KEY_TEXT: Final = String().with_variant(String(collation="C"), "postgresql")


def reference_table(metadata: MetaData, spec: ReferenceTable) -> Table:
    """The table of a reference spec (text columns, its key the primary key), once."""
    if spec.name in metadata.tables:
        return metadata.tables[spec.name]
    return Table(
        spec.name,
        metadata,
        *(
            Column(name, KEY_TEXT if name == spec.key else String, primary_key=name == spec.key)
            for name in spec.columns
        ),
    )


def domain_table(metadata: MetaData, spec: TableSpec) -> Table:
    """The table of a domain spec, with ``extra`` and the lineage columns."""
    references = {fk.column: fk for fk in spec.foreign_keys}
    columns = []
    for column in spec.columns:
        constraints = []
        if column.name in references:
            fk = references[column.name]
            reference_table(metadata, fk.references)
            constraints.append(ForeignKey(fk.target))
        text_key = constraints and column.kind is ColumnKind.TEXT
        kind = KEY_TEXT if text_key else _TYPES[column.kind]
        columns.append(
            Column(
                column.name,
                kind,
                *constraints,
                nullable=not column.required,
                info={"kind": column.kind},
            )
        )
    return Table(
        spec.name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *columns,
        Column(EXTRA, Text, doc="other source columns, as a JSON object"),
        Column("source_file", KEY_TEXT, nullable=False),
        Column("row_index", Integer, nullable=False),
        Column("session_id", String, nullable=False),
        Column("raw_hash", BigInteger, doc="fingerprint of the row's raw_data"),
        Column("replayed_from", String, doc="the session whose failure log held the row"),
        UniqueConstraint("source_file", "row_index", name=f"uq_{spec.name}_lineage"),
    )


def adopt_column_types(table: Table, present: Mapping[str, TypeEngine[Any]]) -> None:
    """Keep the types of a table an older version made: ``present`` are its columns'
    reflected types. A month column made ``DATETIME`` (``TIMESTAMP``) stays one, so
    old and new rows hold the same form; an amount column made ``FLOAT`` stays one.

    >>> from work_data_hub.domain.table import Column as Spec
    >>> t = domain_table(MetaData(), TableSpec("t", (Spec("month", ColumnKind.DATE),)))
    >>> adopt_column_types(t, {"month": DateTime()})
    >>> type(t.c["month"].type).__name__
    'DateTime'
    """
    for column in table.columns:
        kind, found = column.info.get("kind"), present.get(column.name)
        if kind is ColumnKind.DATE and isinstance(found, DateTime):
            column.type = DateTime()
        elif kind is ColumnKind.AMOUNT and isinstance(found, Float):
            column.type = Float()


#: The longest key PostgreSQL's btree indexes (bytes; a third of an 8 kB page, less headers).
PG_KEY_BYTES: Final = 2704


def check_key_sizes(spec: ReferenceTable, keys: pd.Series) -> None:
    """Refuse a reference key too long for a PostgreSQL index, naming its row (1 = the
    first data row); checked before anything is written."""
    for row, key in enumerate(keys.tolist(), start=1):
        size = len(str(key).encode("utf-8"))
        if size > PG_KEY_BYTES:
            raise ReferenceKeyTooLongError(
                table=spec.name, key=spec.key, row=row, size=size, limit=PG_KEY_BYTES
            )
