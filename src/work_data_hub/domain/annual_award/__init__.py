"""Awarded mandates (中标客户明细): trustee and investment awards per customer and month.

A workbook holds two sheets, ``企年受托中标`` and ``企年投资中标``, each its own
table (``source_file`` ``<file>[<sheet>]``); a CSV is one table.
"""

from work_data_hub.domain.annual_award.spec import COLUMNS, NAME, SHEETS, SPEC, TABLE
from work_data_hub.domain.annual_award.steps import AMOUNTS, BRONZE, GOLD, award_steps

__all__ = ["AMOUNTS", "BRONZE", "COLUMNS", "GOLD", "NAME", "SHEETS", "SPEC", "TABLE", "award_steps"]
