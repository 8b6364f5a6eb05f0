"""Annuity income: its columns, checks, steps and table."""

from __future__ import annotations

from typing import Final

import pandas as pd

from work_data_hub.domain.annuity import annuity_steps, annuity_table, bronze_schema, gold_schema
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import COMPANIES, PLANS, Reference
from work_data_hub.domain.spec import DomainSpec

__all__ = [
    "AMOUNTS",
    "BRONZE",
    "BUSINESS_TYPES",
    "COLUMNS",
    "GOLD",
    "NAME",
    "SPEC",
    "TABLE",
    "steps",
]

NAME: Final = "annuity_income"
AMOUNTS: Final = ("固费", "浮费", "回补", "税")
BUSINESS_TYPES: Final = ("企年受托", "企年投资", "职年受托", "职年投资")
#: The source columns the pipeline needs (more may be present and are kept).
COLUMNS: Final = ("月度", "计划代码", "客户名称", "业务类型", *AMOUNTS)
BRONZE: Final = bronze_schema(NAME, amounts=AMOUNTS, choices={"业务类型": BUSINESS_TYPES})
GOLD: Final = gold_schema(NAME, amounts=AMOUNTS)
TABLE: Final = annuity_table(NAME, amounts=AMOUNTS, texts=("业务类型",))


def steps(reference: Reference, loaded: pd.Series) -> list[Step]:
    """The pipeline of this domain over ``reference`` (``loaded``: see ``annuity_steps``)."""
    return annuity_steps(
        bronze=BRONZE, gold=GOLD, amounts=AMOUNTS, reference=reference, loaded=loaded
    )


SPEC: Final = DomainSpec(NAME, TABLE, (PLANS, COMPANIES), steps, source_columns=COLUMNS)
