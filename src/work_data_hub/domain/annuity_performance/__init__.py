"""Annuity performance (规模明细): plan assets and returns per customer and month."""

from work_data_hub.domain.annuity_performance.spec import (
    AMOUNTS,
    BRONZE,
    COLUMNS,
    GOLD,
    NAME,
    SPEC,
    TABLE,
    steps,
)

__all__ = ["AMOUNTS", "BRONZE", "COLUMNS", "GOLD", "NAME", "SPEC", "TABLE", "steps"]
