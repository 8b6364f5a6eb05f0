"""What a domain loads into: its table's columns and types, and its reference tables.

A domain declares these; the database layer builds tables from them and
adds what every domain table has (an ``extra`` JSON column for the source's
other columns, and the lineage: ``source_file``, ``row_index``,
``session_id``, ``raw_hash``, ``replayed_from``). Nothing here touches a
database.

>>> PLANS = ReferenceTable("plans", key="计划代码", columns=("计划代码", "计划名称"))
>>> table = TableSpec("t", (Column("计划代码", ColumnKind.TEXT, required=True),),
...                   foreign_keys=(ForeignKey("计划代码", PLANS),))
>>> PLANS.file, table.foreign_keys[0].target
('plans.csv', 'plans.计划代码')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Column", "ColumnKind", "ForeignKey", "ReferenceTable", "TableSpec"]


class ColumnKind(StrEnum):
    """The kinds of values a domain column holds."""

    TEXT = "text"
    AMOUNT = "amount"  # a finite number
    DATE = "date"  # a day (a month is its first day)


@dataclass(frozen=True)
class Column:
    """One column of a domain table."""

    name: str
    kind: ColumnKind
    required: bool = False


@dataclass(frozen=True)
class ReferenceTable:
    """A reference table: read from ``<name>.csv`` in a reference folder, upserted by ``key``.

    Every column is text.
    """

    name: str
    key: str
    columns: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


@dataclass(frozen=True)
class ForeignKey:
    """A domain column whose values must be keys of a reference table."""

    column: str
    references: ReferenceTable

    @property
    def target(self) -> str:
        return f"{self.references.name}.{self.references.key}"


@dataclass(frozen=True)
class TableSpec:
    """A domain's table: its name and columns (lineage and ``extra`` are added)."""

    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)
