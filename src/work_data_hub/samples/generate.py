"""Synthetic annuity sources with a known number of seeded failures of each type.

    python -m work_data_hub.samples.generate --out data/samples [--rows 40] [--seed 7]

Writes ``<out>/<domain>/<month>.csv|.xlsx`` for both domains (several months,
CSV and Excel), ``<out>/reference/plans.csv`` and ``company_mapping.csv``, and
``<out>/manifest.json``: for every file, the rows written and how many of
them each error type must reject. Every seeded row fails at exactly one step.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from work_data_hub.domain import annuity_income, annuity_performance
from work_data_hub.infrastructure.validation import ErrorType

__all__ = ["generate"]

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉"]
TRADES = ["浦江制造", "长城科技", "珠江贸易", "南山软件", "西湖茶业", "天府食品", "钟山能源"]
PLANS = [f"P{n:04d}" for n in range(12, 24)]
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
    return [
        month,
        plan,
        name,
        f"{opening:.2f}",
        f"{closing:.2f}",
        f"{gain:.2f}",
        f"{gain / opening:.6f}",
        "",
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
) -> dict[str, int]:
    """Insert seeded failures of every type among the good rows; return their counts."""
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
    seeded = {
        ErrorType.VALIDATION_FAILED.value: [bad_month, blank_plan],
        ErrorType.DROPPED_IN_PIPELINE.value: [subtotal, list(rows[1])],  # a duplicate of row 1
        ErrorType.ENRICHMENT_FAILED.value: [unknown],
        ErrorType.FK_CONSTRAINT_VIOLATION.value: [no_plan],
    }
    if "期初资产规模" in at:  # a negative amount
        negative = list(good)
        negative[at["期初资产规模"]] = "-1.00"
        seeded[ErrorType.VALIDATION_FAILED.value].append(negative)
    for bad_rows in seeded.values():
        for row in bad_rows:
            rows.insert(rng.randint(2, len(rows)), row)  # never before the rows they copy
    return {error_type: len(bad_rows) for error_type, bad_rows in seeded.items()}


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8")
        return
    book = Workbook()
    book.active.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        book.active.append(list(row))
    book.save(path)


def generate(out: str | Path, *, rows: int = 40, seed: int = 7) -> dict[str, Any]:
    """Write the sample sources, reference data and manifest under ``out``."""
    out, rng = Path(out), random.Random(seed)
    companies = _companies()
    reference = out / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"计划代码": PLANS, "计划名称": [f"{code}企业年金计划" for code in PLANS]}).to_csv(
        reference / "plans.csv", index=False
    )
    mapping = pd.DataFrame(companies, columns=["客户名称", "company_id"])
    mapping.to_csv(reference / "company_mapping.csv", index=False)
    manifest: dict[str, Any] = {"seed": seed, "good_rows": rows, "files": {}}
    for domain, columns, make_row in (
        ("annuity_performance", PERFORMANCE, _performance_row),
        ("annuity_income", INCOME, _income_row),
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
            failures = _seed_failures(body, columns, rng)
            frame = pd.DataFrame(body, columns=columns)
            name = f"{month}{suffix}"
            _write(frame, out / domain / name)
            manifest["files"][f"{domain}/{name}"] = {"rows": len(frame), "failed": failures}
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
