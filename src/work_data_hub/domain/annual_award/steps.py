"""The steps of awarded mandates, from the rows as read to the rows loaded.

bronze validation -> subtotals -> duplicates (within a sheet) ->
standardise (canonical types, product line, default plan numbers, typed
months, dates and amounts; ``客户全称`` becomes ``上报客户名称``) -> the
customer's company -> the branch's code -> gold validation -> the plan
number must be in plans.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pandera.pandas as pa

from work_data_hub.domain import steps
from work_data_hub.domain.annual_award.rules import (
    business_type,
    default_plan,
    plan_type,
    product_line,
)
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import PLANS, Reference, branch_codes, company_ids, plan_codes
from work_data_hub.domain.rules import invalid_amounts, parse_date, parse_month, to_amount
from work_data_hub.infrastructure.validation import ErrorType

__all__ = ["AMOUNTS", "BRONZE", "DROPPED", "GOLD", "NO_BRANCH", "award_steps"]

AMOUNTS: Final = ("计划规模", "年缴规模")
#: Columns of the reports that are not loaded (they stay in raw_data).
DROPPED: Final = ("区域", "年金中心", "上报人")
#: The branch code of an award that names no branch.
NO_BRANCH: Final = "G00"


def _present(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().fillna("") != ""


def _amount_checks() -> list[pa.Check]:
    return [
        pa.Check(lambda s: ~invalid_amounts(s), name="is_number"),
        pa.Check(lambda s: ~(to_amount(s) < 0), name="not_negative"),
    ]


BRONZE: Final = pa.DataFrameSchema(
    {
        "上报月份": pa.Column(checks=pa.Check(lambda s: parse_month(s).notna(), name="is_month")),
        "业务类型": pa.Column(
            checks=pa.Check(lambda s: business_type(s).notna(), name="known_business_type"),
            nullable=True,
        ),
        "客户全称": pa.Column(nullable=True),
        "年金计划号": pa.Column(nullable=True),
        "机构": pa.Column(nullable=True),
        "计划类型": pa.Column(
            checks=pa.Check(lambda s: ~_present(s) | plan_type(s).notna(), name="known_plan_type"),
            nullable=True,
        ),
        "中标日期": pa.Column(
            checks=pa.Check(lambda s: ~_present(s) | parse_date(s).notna(), name="is_date"),
            nullable=True,
        ),
        **{amount: pa.Column(checks=_amount_checks(), nullable=True) for amount in AMOUNTS},
    },
    # a plan number, or a plan type to default one from
    checks=pa.Check(
        lambda rows: default_plan(rows["年金计划号"], rows["计划类型"]).notna(),
        name="plan_number_or_type",
    ),
    name="annual_award_bronze",
)

GOLD: Final = pa.DataFrameSchema(
    {
        "上报月份": pa.Column("datetime64[us]"),
        "业务类型": pa.Column(str),
        "产品线代码": pa.Column(str),
        "年金计划号": pa.Column(str, pa.Check.str_length(min_value=1)),
        "company_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "机构代码": pa.Column(str, pa.Check.str_length(min_value=1)),
        "中标日期": pa.Column("datetime64[us]", nullable=True),
        **{amount: pa.Column("float64", nullable=True) for amount in AMOUNTS},
    },
    name="annual_award_gold",
)


def _standardise(rows: pd.DataFrame) -> pd.DataFrame:
    kinds = business_type(rows["业务类型"])
    typed = rows.assign(
        上报月份=parse_month(rows["上报月份"]),
        业务类型=kinds.astype(str),
        产品线代码=product_line(kinds).astype(str),
        计划类型=plan_type(rows["计划类型"]).astype(object).where(lambda t: t.notna(), None),
        年金计划号=default_plan(rows["年金计划号"], rows["计划类型"]).astype(str),
        中标日期=parse_date(rows["中标日期"]),
        **{amount: to_amount(rows[amount]) for amount in AMOUNTS},
    )
    return typed.rename(columns={"客户全称": "上报客户名称"}).drop(
        columns=list(DROPPED), errors="ignore"
    )


def award_steps(reference: Reference, loaded: pd.Series) -> list[Step]:
    """The named steps of awarded mandates over ``reference``; ``loaded``: the
    fingerprints of the sheet's rows already loaded (a replay)."""
    return [
        steps.validate("bronze_validation", BRONZE),
        steps.drop_subtotals("年金计划号", "客户全称"),
        steps.drop_duplicates(loaded),
        Step("standardise", ErrorType.DROPPED_IN_PIPELINE, _standardise),
        steps.enrich(
            "enrich_company",
            "上报客户名称",
            company_ids(reference),
            into="company_id",
            what="customer",
            mapping="company",
        ),
        steps.enrich(
            "enrich_branch",
            "机构",
            branch_codes(reference),
            into="机构代码",
            what="branch",
            mapping="branch code",
            empty=NO_BRANCH,
        ),
        steps.validate("gold_validation", GOLD),
        steps.must_exist(
            "plan_exists", "年金计划号", plan_codes(reference), what="plan number", table=PLANS.name
        ),
    ]
