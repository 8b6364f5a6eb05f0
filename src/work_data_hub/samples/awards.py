"""Sample sources of awarded mandates: a workbook of two sheets, or a CSV.

Rows are as reports hold them: short business and plan types (``受托``,
``集合``), an empty plan number now and then (it defaults by plan type), an
empty branch (``G00``), the columns that are not loaded (``区域``, ``年金中心``,
``上报人``). In a workbook the month is a number or a date cell, the award
date a date cell and the amounts numbers; in a CSV every cell is text.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
from openpyxl import Workbook

from work_data_hub.domain.annual_award import SHEETS
from work_data_hub.infrastructure.validation import ErrorType

__all__ = ["BRANCHES", "COLUMNS", "award_rows", "award_seeds", "write_awards"]

BRANCHES: Final = ["北京分行", "上海分行", "广州分行", "深圳分行", "杭州分行"]
COLUMNS: Final = [
    "上报月份",
    "业务类型",
    "客户全称",
    "年金计划号",
    "机构",
    "中标日期",
    "计划类型",
    "计划规模",
    "年缴规模",
    "备注",
    "区域",
    "年金中心",
    "上报人",
]
#: The business types a sheet's reports use (a CSV mixes them).
_KINDS: Final = {
    SHEETS[0]: ["受托", "企年受托"],
    SHEETS[1]: ["投资", "投管", "企年投资"],
    None: ["受托", "投资"],
}
_AT: Final = {name: position for position, name in enumerate(COLUMNS)}


def award_rows(
    rng: random.Random,
    *,
    year: int,
    month: int,
    count: int,
    plans: list[str],
    names: list[str],
    sheet: str | None,
) -> list[list[Any]]:
    """``count`` good award rows of one month, as text (the month as ``YYYY-MM``)."""
    rows = []
    for _ in range(count):
        kind = rng.choice(["集合", "单一", "集合计划", "单一计划"])
        size = round(rng.uniform(1e6, 5e8), 2)
        rows.append(
            [
                f"{year}-{month:02d}",
                rng.choice(_KINDS[sheet]),
                rng.choice(names),
                rng.choice([rng.choice(plans), rng.choice(plans), ""]),  # empty: by plan type
                rng.choice([*BRANCHES, ""]),  # empty: no branch (G00)
                f"{year}-{month:02d}-{rng.randint(1, 28):02d}",
                kind,
                f"{size:.2f}",
                f"{size * rng.uniform(0.01, 0.1):.2f}",
                rng.choice(["", "", "0012", "续签"]),
                rng.choice(["华北", "华东", "华南"]),
                "企业年金中心",
                rng.choice(["张三", "李四"]),
            ]
        )
    return rows


def award_seeds(rows: list[list[Any]], rng: random.Random) -> list[tuple[list[Any], str, str, str]]:
    """One failure of every kind, each at exactly one step: (row, error type, step, column)."""
    good = list(rows[0])
    good[_AT["机构"]] = BRANCHES[0]  # a known branch, so only the seeded column fails

    def seed(**cells: str) -> list[Any]:
        row = list(good)
        for name, value in cells.items():
            row[_AT[name]] = value
        return row

    invalid, dropped = ErrorType.VALIDATION_FAILED.value, ErrorType.DROPPED_IN_PIPELINE.value
    enrich, fk = ErrorType.ENRICHMENT_FAILED.value, ErrorType.FK_CONSTRAINT_VIOLATION.value
    stranger = f"未登记客户{rng.randint(1, 999)}有限公司"
    return [
        (seed(上报月份="2024-13"), invalid, "bronze_validation", "上报月份"),
        (seed(业务类型="其他"), invalid, "bronze_validation", "业务类型"),
        (seed(计划规模="-5.00"), invalid, "bronze_validation", "计划规模"),
        (seed(客户全称="合计", 年金计划号="AN001"), dropped, "drop_subtotals", "客户全称"),
        (list(rows[1]), dropped, "drop_duplicates", ""),  # a copy of row 1
        (seed(客户全称=stranger), enrich, "enrich_company", "上报客户名称"),
        (seed(机构="未登记分行"), enrich, "enrich_branch", "机构"),
        (seed(年金计划号="P9999"), fk, "plan_exists", "年金计划号"),
    ]


def _cell(column: str, value: Any, as_date: bool) -> Any:
    """A text cell as an Excel user would have typed it."""
    if value == "":
        return value
    if column == "上报月份" and value[:4].isdigit() and value[5:].isdigit():  # YYYY-MM
        year, month = int(value[:4]), int(value[5:])
        if 1 <= month <= 12:
            return datetime(year, month, 1) if as_date else year * 100 + month
    if column == "中标日期":
        return datetime.strptime(value, "%Y-%m-%d")
    if column in ("计划规模", "年缴规模"):
        return float(value)
    return value


def write_awards(path: Path, sheets: dict[str | None, list[list[Any]]]) -> None:
    """Write one CSV (``sheets`` keyed ``None``) or a workbook of named sheets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        pd.DataFrame(sheets[None], columns=COLUMNS).to_csv(path, index=False, encoding="utf-8")
        return
    book = Workbook()
    book.remove(book.active)
    for sheet, rows in sheets.items():
        table = book.create_sheet(str(sheet))
        table.append(COLUMNS)
        for row in rows:
            # decided by content, so exact copies stay exact copies
            as_date = sum(map(ord, str(row[_AT["客户全称"]]))) % 2 == 1
            table.append([_cell(c, v, as_date) for c, v in zip(COLUMNS, row, strict=True)])
    book.save(path)
