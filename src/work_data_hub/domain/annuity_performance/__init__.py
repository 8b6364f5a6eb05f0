"""Annuity performance: plan assets and returns per customer and month."""

from __future__ import annotations

from typing import Final

from work_data_hub.domain.annuity import annuity_steps, bronze_schema, gold_schema
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import Reference

__all__ = ["AMOUNTS", "BRONZE", "COLUMNS", "GOLD", "NAME", "steps"]

NAME: Final = "annuity_performance"
AMOUNTS: Final = ("期初资产规模", "期末资产规模", "投资收益", "当期收益率")
#: The source columns the pipeline needs (more may be present and are kept).
COLUMNS: Final = ("月度", "计划代码", "客户名称", *AMOUNTS)
BRONZE: Final = bronze_schema(NAME, amounts=AMOUNTS, non_negative=("期初资产规模", "期末资产规模"))
GOLD: Final = gold_schema(NAME, amounts=AMOUNTS)


def steps(reference: Reference) -> list[Step]:
    """The pipeline of this domain over ``reference``."""
    return annuity_steps(NAME, bronze=BRONZE, gold=GOLD, amounts=AMOUNTS, reference=reference)
