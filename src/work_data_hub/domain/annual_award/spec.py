"""Awarded mandates: the source columns, the sheets, the table and the spec."""

from __future__ import annotations

from typing import Final

from work_data_hub.domain.annual_award.steps import AMOUNTS, award_steps
from work_data_hub.domain.reference import BRANCHES, COMPANIES, PLANS
from work_data_hub.domain.spec import DomainSpec
from work_data_hub.domain.table import Column, ColumnKind, ForeignKey, TableSpec

__all__ = ["COLUMNS", "NAME", "SHEETS", "SPEC", "TABLE"]

NAME: Final = "annual_award"
#: A workbook's two tables: trustee awards, investment awards (the same columns).
SHEETS: Final = ("企年受托中标", "企年投资中标")
#: The source columns the pipeline needs (more may be present and are kept).
COLUMNS: Final = (
    "上报月份",
    "业务类型",
    "客户全称",
    "年金计划号",
    "机构",
    "中标日期",
    "计划类型",
    *AMOUNTS,
    "备注",
)
TABLE: Final = TableSpec(
    NAME,
    (
        Column("上报月份", ColumnKind.DATE, required=True),
        Column("业务类型", ColumnKind.TEXT, required=True),
        Column("产品线代码", ColumnKind.TEXT, required=True),
        Column("上报客户名称", ColumnKind.TEXT),
        Column("company_id", ColumnKind.TEXT, required=True),
        Column("年金计划号", ColumnKind.TEXT, required=True),
        Column("计划类型", ColumnKind.TEXT),
        Column("机构", ColumnKind.TEXT),
        Column("机构代码", ColumnKind.TEXT, required=True),
        Column("中标日期", ColumnKind.DATE),
        *(Column(amount, ColumnKind.AMOUNT) for amount in AMOUNTS),
        Column("备注", ColumnKind.TEXT),
    ),
    foreign_keys=(ForeignKey("年金计划号", PLANS),),
)
SPEC: Final = DomainSpec(
    NAME, TABLE, (PLANS, COMPANIES, BRANCHES), award_steps, source_columns=COLUMNS, sheets=SHEETS
)
