"""Reference data the domains check rows against: the tables, and lookups over them.

``PLANS``, ``COMPANIES`` and ``BRANCHES`` are the reference tables of the
domains here; a domain names the ones it needs. ``Reference`` holds their
rows (as the database has them, perhaps overlaid with a folder's files) and
answers the lookups the steps make.

>>> reference = Reference({
...     "plans": pd.DataFrame({"计划代码": ["P1"], "计划名称": ["计划一"]}),
...     "company_mapping": pd.DataFrame({"客户名称": [" ＡＢＣ公司 "], "company_id": ["C1"]}),
... })
>>> company_ids(reference).to_dict(), sorted(plan_codes(reference))
({'ABC公司': 'C1'}, ['P1'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pandas as pd

from work_data_hub.domain.rules import normalise_name
from work_data_hub.domain.table import ReferenceTable

__all__ = [
    "BRANCHES",
    "COMPANIES",
    "PLANS",
    "Reference",
    "branch_codes",
    "company_ids",
    "plan_codes",
]

PLANS: Final = ReferenceTable("plans", key="计划代码", columns=("计划代码", "计划名称"))
COMPANIES: Final = ReferenceTable(
    "company_mapping", key="客户名称", columns=("客户名称", "company_id")
)
BRANCHES: Final = ReferenceTable("branches", key="机构名称", columns=("机构名称", "机构代码"))


@dataclass(frozen=True)
class Reference:
    """Reference tables by name (text columns)."""

    tables: Mapping[str, pd.DataFrame]

    def table(self, spec: ReferenceTable) -> pd.DataFrame:
        """The rows of ``spec``'s table (none if it is not here)."""
        frame = self.tables.get(spec.name)
        if frame is None:
            return pd.DataFrame({column: pd.Series(dtype="str") for column in spec.columns})
        return frame

    def overlaid(self, other: Reference, specs: tuple[ReferenceTable, ...]) -> Reference:
        """These tables with ``other``'s rows upserted by key, as a load of them would.

        >>> base = Reference({"plans": pd.DataFrame({"计划代码": ["P1"], "计划名称": ["旧"]})})
        >>> new = Reference({"plans": pd.DataFrame({"计划代码": ["P1"], "计划名称": ["新"]})})
        >>> base.overlaid(new, (PLANS,)).table(PLANS)["计划名称"].tolist()
        ['新']
        """
        tables = dict(self.tables)
        for spec in specs:
            if spec.name in other.tables:
                both = pd.concat([self.table(spec), other.table(spec)[list(spec.columns)]])
                tables[spec.name] = both.drop_duplicates(spec.key, keep="last")
        return Reference(tables)


def _lookup(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    names = normalise_name(frame[key])
    found = pd.Series(frame[value].astype(str).to_numpy(), index=names.to_numpy())
    return found[~found.index.duplicated(keep="first")]


def company_ids(reference: Reference) -> pd.Series:
    """company_id by normalised customer name (the first mapping of a name wins)."""
    return _lookup(reference.table(COMPANIES), "客户名称", "company_id")


def branch_codes(reference: Reference) -> pd.Series:
    """机构代码 by normalised branch name."""
    return _lookup(reference.table(BRANCHES), "机构名称", "机构代码")


def plan_codes(reference: Reference) -> frozenset[str]:
    """The known plan codes, trimmed."""
    return frozenset(reference.table(PLANS)["计划代码"].astype(str).str.strip())
