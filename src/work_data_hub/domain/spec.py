"""``DomainSpec``: everything the use cases need to know of one domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.table import ReferenceTable, TableSpec

__all__ = ["NOTHING_LOADED", "DomainSpec", "StepsFactory"]

#: (reference data, rows of the file already loaded: fingerprint -> row) -> the steps
StepsFactory = Callable[[Reference, pd.Series], list[Step]]
#: No row of the file is loaded yet (a run, as opposed to a replay).
NOTHING_LOADED: Final = pd.Series([], dtype="int64")


@dataclass(frozen=True)
class DomainSpec:
    """One domain: its name, the table it loads, the reference tables it checks rows
    against, its steps, and how its sources are read.

    ``sheets``: the workbook sheets that are its tables, each logged and
    loaded as ``<file>[<sheet>]``; ``None``: a workbook's first visible sheet.
    ``source_columns``: the columns its pipeline needs (more are kept).
    """

    name: str
    table: TableSpec
    reference: tuple[ReferenceTable, ...]
    steps: StepsFactory
    source_columns: tuple[str, ...] = ()
    sheets: tuple[str, ...] | None = field(default=None)
