"""Synthetic annuity sources with a known number of seeded failures of each type.

    python -m work_data_hub.samples.generate --out data/samples [--rows 40] [--seed 7]

Writes ``<out>/<domain>/<month>.csv|.xlsx`` for every domain (several months,
CSV and Excel; an annual_award workbook has its two sheets),
``<out>/reference/plans.csv``, ``company_mapping.csv`` and ``branches.csv``,
and ``<out>/manifest.json``: for every source table (a file, or a sheet as
``<file>[<sheet>]``), the rows written, how many of them each error type
must reject, and each seeded row's number, error type, step and column.
Every seeded row fails at exactly one step.

Workbook cells are typed the way Excel users leave them: amounts are
numbers, a ``YYYYMM`` month is a number, every other row's month is a date
cell, and a free-text remark may hold digits with leading zeros (``"0012"``)
as text. CSV cells are text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from work_data_hub.domain import annual_award, annuity_income, annuity_performance
from work_data_hub.infrastructure.validation import ErrorType
from work_data_hub.samples.awards import BRANCHES, award_rows, award_seeds, write_awards

__all__ = ["generate"]

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉"]
TRADES = ["浦江制造", "长城科技", "珠江贸易", "南山软件", "西湖茶业", "天府食品", "钟山能源"]
PLANS = [f"P{n:04d}" for n in range(12, 24)]
#: The plan numbers an award defaults to by plan type (collective, single).
DEFAULT_PLANS = ["AN001", "AN002"]
FILES = [("2024-01", ".xlsx"), ("2024-02", ".csv"), ("2024-03", ".xlsx")]
MONTH_FORMATS = ["{y}{m:02d}", "{y}-{m:02d}", "{y}年{m}月"]
PERFORMANCE = [*annuity_performance.COLUMNS, "备注"]  # plus a free-text column
INCOME = list(annuity_income.COLUMNS)


def _companies() -> list[tuple[str, str]]:
    names = [f"{city}{trade}有限公司" for city in CITIES for trade in TRADES]
    return [(name, f"C{index:04d}") for index, name in enumerate(names)]


def _performance_row(rng: random.Random, month: str, plan: str, name: str) -> list[Any]:
    opening = round(rng.uniform(1e5, 5e7), 2)
    closing = round(opening * rng.uniform(0.95, 1.08), 2)
    gain = round(closing - opening, 2)
    remark = rng.choice(["", "", "0012", "复核"])  # text that looks like a number, too
    return [
        month,
        plan,
        name,
        f"{opening:.2f}",
        f"{closing:.2f}",
        f"{gain:.2f}",
        f"{gain / opening:.6f}",
        remark,
    ]


def _income_row(rng: random.Random, month: str, plan: str, name: str) -> list[Any]:
    fees = [round(rng.uniform(100, 20000), 2) for _ in range(2)]
    return [
        month,
        plan,
        name,
        rng.choice(annuity_income.BUSINESS_TYPES),
        f"{fees[0]:.2f}",
        f"{fees[1]:.2f}",
        "0",
        f"{sum(fees) * 0.06:.2f}",
    ]


def _seed_failures(
    rows: list[list[Any]], columns: Sequence[str], rng: random.Random
) -> list[dict[str, Any]]:
    """Insert seeded failures of every type among the good rows; describe each one."""
    at = {name: columns.index(name) for name in columns}
    good = rows[0]
    bad_month = list(good)
    bad_month[at["月度"]] = "2024-13"
    blank_plan = list(good)
    blank_plan[at["计划代码"]] = ""
    subtotal = list(good)
    subtotal[at["计划代码"]] = "合计"
    subtotal[at["客户名称"]] = ""
    unknown = list(good)
    unknown[at["客户名称"]] = f"未登记客户{rng.randint(1, 999)}有限公司"
    no_plan = list(good)
    no_plan[at["计划代码"]] = "P9999"
    invalid, dropped = ErrorType.VALIDATION_FAILED.value, ErrorType.DROPPED_IN_PIPELINE.value
    # (row, error type, step, column)
    seeded = [
        (bad_month, invalid, "bronze_validation", "月度"),
        (blank_plan, invalid, "bronze_validation", "计划代码"),
        (subtotal, dropped, "drop_subtotals", "计划代码"),
        (list(rows[1]), dropped, "drop_duplicates", ""),  # a copy of row 1
        (unknown, ErrorType.ENRICHMENT_FAILED.value, "enrich_company", "客户名称"),
        (no_plan, ErrorType.FK_CONSTRAINT_VIOLATION.value, "plan_exists", "计划代码"),
    ]
    if "期初资产规模" in at:  # a negative amount
        negative = list(good)
        negative[at["期初资产规模"]] = "-1.00"
        seeded.append((negative, invalid, "bronze_validation", "期初资产规模"))
    return insert_seeds(rows, seeded, rng)


Seed = tuple[list[Any], str, str, str]


def insert_seeds(
    rows: list[list[Any]], seeded: list[Seed], rng: random.Random
) -> list[dict[str, Any]]:
    """Insert the seeded rows (row, error type, step, column) among ``rows``, never
    before row 2 (a seed may copy row 1); describe where each landed."""
    for row, *_ in seeded:
        rows.insert(rng.randint(2, len(rows)), row)
    described = [
        {
            "row": next(n for n, candidate in enumerate(rows) if candidate is row),
            "error_type": error_type,
            "step": step,
            "column": column,
        }
        for row, error_type, step, column in seeded
    ]
    return sorted(described, key=lambda seed: seed["row"])


def _excel_cell(column: str, value: Any, as_date: bool, amounts: Sequence[str]) -> Any:
    """A CSV text cell as an Excel user would have typed it (a month as a date if ``as_date``)."""
    if column == "月度" and isinstance(value, str):
        month = re.fullmatch(r"(\d{4})(?:(\d{2})|-(\d{2})|年(\d{1,2})月)", value)
        number = int(next(part for part in month.groups()[1:] if part)) if month else 0
        if not 1 <= number <= 12:
            return value  # not a month: stays text
        if as_date:
            return datetime(int(value[:4]), number, 1)  # a date cell
        return int(value) if value.isdigit() else value
    if column in amounts and value != "":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _write(frame: pd.DataFrame, path: Path, amounts: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8")
        return
    book = Workbook()
    book.active.append(list(frame.columns))
    plan = frame.columns.get_loc("计划代码")
    for row in frame.itertuples(index=False):
        # decided by content, so exact copies stay exact copies
        as_date = sum(map(ord, str(row[plan]))) % 2 == 1
        cells = zip(frame.columns, row, strict=True)
        book.active.append([_excel_cell(c, v, as_date, amounts) for c, v in cells])
    book.save(path)


def _manifest_entry(rows: int, seeded: list[dict[str, Any]]) -> dict[str, Any]:
    failed = {e.value: sum(s["error_type"] == e.value for s in seeded) for e in ErrorType}
    return {
        "rows": rows,
        "failed": {error_type: n for error_type, n in failed.items() if n},
        "seeded": seeded,
    }


def _awards(out: Path, rng: random.Random, rows: int, names: list[str]) -> dict[str, Any]:
    """annual_award's sources: per month a workbook of both sheets, or a CSV."""
    files = {}
    for month, suffix in FILES:
        year, number = (int(part) for part in month.split("-"))
        name = f"{month}{suffix}"
        sheets: dict[str | None, list[list[Any]]] = {}
        for sheet in annual_award.SHEETS if suffix == ".xlsx" else (None,):
            body = award_rows(
                rng, year=year, month=number, count=rows, plans=PLANS, names=names, sheet=sheet
            )
            seeded = insert_seeds(body, award_seeds(body, rng), rng)
            sheets[sheet] = body
            label = name if sheet is None else f"{name}[{sheet}]"
            files[f"{annual_award.NAME}/{label}"] = _manifest_entry(len(body), seeded)
        write_awards(out / annual_award.NAME / name, sheets)
    return files


def generate(out: str | Path, *, rows: int = 40, seed: int = 7) -> dict[str, Any]:
    """Write the sample sources, reference data and manifest under ``out``."""
    out, rng = Path(out), random.Random(seed)
    companies = _companies()
    reference = out / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    codes = [*PLANS, *DEFAULT_PLANS]
    pd.DataFrame({"计划代码": codes, "计划名称": [f"{code}企业年金计划" for code in codes]}).to_csv(
        reference / "plans.csv", index=False
    )
    mapping = pd.DataFrame(companies, columns=["客户名称", "company_id"])
    mapping.to_csv(reference / "company_mapping.csv", index=False)
    branches = [f"G{n:02d}" for n in range(1, len(BRANCHES) + 1)]
    pd.DataFrame({"机构名称": BRANCHES, "机构代码": branches}).to_csv(
        reference / "branches.csv", index=False
    )
    manifest: dict[str, Any] = {"seed": seed, "good_rows": rows, "files": {}}
    for domain, columns, make_row, amounts in (
        ("annuity_performance", PERFORMANCE, _performance_row, annuity_performance.AMOUNTS),
        ("annuity_income", INCOME, _income_row, annuity_income.AMOUNTS),
    ):
        for index, (month, suffix) in enumerate(FILES):
            year, number = (int(part) for part in month.split("-"))
            label = MONTH_FORMATS[index % len(MONTH_FORMATS)].format(y=year, m=number)
            body = [
                make_row(rng, label, rng.choice(PLANS), rng.choice(companies)[0])
                for _ in range(rows)
            ]
            # as typed by hand: ideographic spaces around a name; enrichment folds them
            body[2][columns.index("客户名称")] = f"\u3000{body[2][columns.index('客户名称')]} "
            seeded = _seed_failures(body, columns, rng)
            frame = pd.DataFrame(body, columns=columns)
            name = f"{month}{suffix}"
            _write(frame, out / domain / name, amounts)
            manifest["files"][f"{domain}/{name}"] = _manifest_entry(len(frame), seeded)
    manifest["files"] |= _awards(out, rng, rows, [name for name, _ in companies])
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/samples"))
    parser.add_argument("--rows", type=int, default=40, help="good rows per file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    manifest = generate(args.out, rows=args.rows, seed=args.seed)
    print(f"wrote {len(manifest['files'])} source files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
