"""SQL tables built from the domains' specs: reference tables and domain tables.

A domain table has the spec's columns, an ``extra`` JSON column for the
source's other columns, and the lineage every loaded row carries: its
``source_file`` and ``row_index`` (unique together: the row's *slot*), the
``session_id`` that loaded it, ``raw_hash`` (the fingerprint of its
``raw_data``) and ``replayed_from`` (the session whose log held it, when a
replay loaded it). Names here come from specs only.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

from work_data_hub.domain.table import ColumnKind, ReferenceTable, TableSpec

__all__ = ["EXTRA", "LINEAGE", "domain_table", "reference_table"]

#: The columns every domain table adds after the spec's.
LINEAGE: Final = ("source_file", "row_index", "session_id", "raw_hash", "replayed_from")
#: The column holding the source's other columns, as a JSON object.
EXTRA: Final = "extra"

_TYPES: Final[dict[ColumnKind, type[TypeEngine[Any]]]] = {
    ColumnKind.TEXT: String,
    ColumnKind.AMOUNT: Float,
    ColumnKind.DATE: DateTime,
}


def reference_table(metadata: MetaData, spec: ReferenceTable) -> Table:
    """The table of a reference spec (text columns, its key the primary key), once."""
    if spec.name in metadata.tables:
        return metadata.tables[spec.name]
    return Table(
        spec.name,
        metadata,
        *(Column(name, String, primary_key=name == spec.key) for name in spec.columns),
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
        kind = _TYPES[column.kind]
        columns.append(Column(column.name, kind, *constraints, nullable=not column.required))
    return Table(
        spec.name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *columns,
        Column(EXTRA, Text, doc="other source columns, as a JSON object"),
        Column("source_file", String, nullable=False),
        Column("row_index", Integer, nullable=False),
        Column("session_id", String, nullable=False),
        Column("raw_hash", BigInteger, doc="fingerprint of the row's raw_data"),
        Column("replayed_from", String, doc="the session whose failure log held the row"),
        UniqueConstraint("source_file", "row_index", name=f"uq_{spec.name}_lineage"),
    )
