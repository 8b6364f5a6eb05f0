"""Annuity income (收入明细): trustee and investment fees per customer and month."""

from work_data_hub.domain.annuity_income.spec import (
    AMOUNTS,
    BRONZE,
    BUSINESS_TYPES,
    COLUMNS,
    GOLD,
    NAME,
    SPEC,
    TABLE,
    steps,
)

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
