"""Reference data the pipelines check rows against: companies, plans, loaded rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from work_data_hub.domain.rules import normalise_name

__all__ = ["Reference"]


@dataclass(frozen=True)
class Reference:
    """Company ids by normalised customer name, the known plan codes, and (when
    replaying a file's rows) the rows of that file already loaded, as
    fingerprint -> row index, so a copy of a loaded row stays a duplicate.

    >>> reference = Reference.from_frames(
    ...     plans=pd.DataFrame({"计划代码": ["P1"], "计划名称": ["计划一"]}),
    ...     companies=pd.DataFrame({"客户名称": [" ＡＢＣ公司 "], "company_id": ["C1"]}),
    ... )
    >>> reference.company_ids.to_dict(), sorted(reference.plan_codes)
    ({'ABC公司': 'C1'}, ['P1'])
    """

    company_ids: pd.Series  # index: normalised customer name; values: company_id
    plan_codes: frozenset[str]
    loaded: pd.Series = field(default_factory=lambda: pd.Series([], dtype="int64"))

    @classmethod
    def from_frames(cls, *, plans: pd.DataFrame, companies: pd.DataFrame) -> Reference:
        names = normalise_name(companies["客户名称"])
        ids = pd.Series(companies["company_id"].astype(str).to_numpy(), index=names.to_numpy())
        ids = ids[~ids.index.duplicated(keep="first")]
        codes = frozenset(plans["计划代码"].astype(str).str.strip())
        return cls(company_ids=ids, plan_codes=codes)
