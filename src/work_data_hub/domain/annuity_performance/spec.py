"""Annuity performance: its columns, checks, steps and table."""

from __future__ import annotations

from typing import Final

import pandas as pd

from work_data_hub.domain.annuity import annuity_steps, annuity_table, bronze_schema, gold_schema
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import COMPANIES, PLANS, Reference
from work_data_hub.domain.spec import DomainSpec

__all__ = ["AMOUNTS", "BRONZE", "COLUMNS", "GOLD", "NAME", "SPEC", "TABLE", "steps"]

NAME: Final = "annuity_performance"
AMOUNTS: Final = ("期初资产规模", "期末资产规模", "投资收益", "当期收益率")
#: The source columns the pipeline needs (more may be present and are kept).
COLUMNS: Final = ("月度", "计划代码", "客户名称", *AMOUNTS)
BRONZE: Final = bronze_schema(NAME, amounts=AMOUNTS, non_negative=("期初资产规模", "期末资产规模"))
GOLD: Final = gold_schema(NAME, amounts=AMOUNTS)
TABLE: Final = annuity_table(NAME, amounts=AMOUNTS)


def steps(reference: Reference, loaded: pd.Series) -> list[Step]:
    """The pipeline of this domain over ``reference`` (``loaded``: see ``annuity_steps``)."""
    return annuity_steps(
        bronze=BRONZE, gold=GOLD, amounts=AMOUNTS, reference=reference, loaded=loaded
    )


SPEC: Final = DomainSpec(NAME, TABLE, (PLANS, COMPANIES), steps, source_columns=COLUMNS)
