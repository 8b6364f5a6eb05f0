"""What both annuity domains share: their step sequence, schemas and table layout,
parameterised by each domain's columns.

read -> bronze validation -> cleansing -> enrichment -> gold validation ->
foreign-key check (the load itself happens in the database layer).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa

from work_data_hub.domain import steps
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import PLANS, Reference, company_ids, plan_codes
from work_data_hub.domain.rules import invalid_amounts, parse_month, to_amount
from work_data_hub.domain.table import Column, ColumnKind, ForeignKey, TableSpec
from work_data_hub.infrastructure.validation import ErrorType

__all__ = ["annuity_steps", "annuity_table", "bronze_schema", "gold_schema"]


def _not_blank(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().fillna("") != ""


def bronze_schema(
    name: str,
    *,
    amounts: Sequence[str],
    non_negative: Sequence[str] = (),
    choices: dict[str, Sequence[str]] | None = None,
) -> pa.DataFrameSchema:
    """Checks on the rows as read (text or Excel cells), without coercing them."""
    columns: dict[str, pa.Column] = {
        "月度": pa.Column(checks=pa.Check(lambda s: parse_month(s).notna(), name="is_month")),
        "计划代码": pa.Column(checks=pa.Check(_not_blank, name="not_blank")),
        "客户名称": pa.Column(nullable=True),
    }
    for column in amounts:
        checks = [pa.Check(lambda s: ~invalid_amounts(s), name="is_number")]
        if column in non_negative:
            checks.append(pa.Check(lambda s: ~(to_amount(s) < 0), name="not_negative"))
        columns[column] = pa.Column(checks=checks, nullable=True)
    for column, allowed in (choices or {}).items():
        columns[column] = pa.Column(
            checks=pa.Check(
                lambda s, allowed=tuple(allowed): s.astype("string").str.strip().isin(allowed),
                name=f"one_of_{len(allowed)}",
            ),
            nullable=True,
        )
    return pa.DataFrameSchema(columns, name=f"{name}_bronze")


def gold_schema(name: str, *, amounts: Sequence[str]) -> pa.DataFrameSchema:
    """Checks on the typed, enriched rows just before they are loaded."""
    columns = {
        "月度": pa.Column("datetime64[us]"),
        "计划代码": pa.Column(str, pa.Check.str_length(min_value=1)),
        "company_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        **{column: pa.Column("float64", nullable=True) for column in amounts},
    }
    return pa.DataFrameSchema(columns, name=f"{name}_gold")


def annuity_table(name: str, *, amounts: Sequence[str], texts: Sequence[str] = ()) -> TableSpec:
    """The table an annuity domain loads: month, plan (a foreign key to plans),
    customer and company, the domain's texts and amounts."""
    return TableSpec(
        name,
        (
            Column("月度", ColumnKind.DATE, required=True),
            Column("计划代码", ColumnKind.TEXT, required=True),
            Column("客户名称", ColumnKind.TEXT),
            Column("company_id", ColumnKind.TEXT, required=True),
            *(Column(text, ColumnKind.TEXT) for text in texts),
            *(Column(amount, ColumnKind.AMOUNT) for amount in amounts),
        ),
        foreign_keys=(ForeignKey("计划代码", PLANS),),
    )


def annuity_steps(
    *,
    bronze: pa.DataFrameSchema,
    gold: pa.DataFrameSchema,
    amounts: Sequence[str],
    reference: Reference,
    loaded: pd.Series,
) -> list[Step]:
    """The named steps of an annuity domain over ``reference`` data; ``loaded``: the
    fingerprints of the file's rows already loaded (a replay), which stay originals."""

    def standardise(rows: pd.DataFrame) -> pd.DataFrame:
        typed = rows.assign(
            月度=parse_month(rows["月度"]),
            计划代码=rows["计划代码"].astype("string").str.strip().astype(str),
            **{column: to_amount(rows[column]) for column in amounts},
        )
        return typed

    return [
        steps.validate("bronze_validation", bronze),
        steps.drop_subtotals("计划代码", "客户名称"),
        steps.drop_duplicates(loaded),
        Step("standardise", ErrorType.DROPPED_IN_PIPELINE, standardise),
        steps.enrich(
            "enrich_company",
            "客户名称",
            company_ids(reference),
            into="company_id",
            what="customer",
            mapping="company",
        ),
        steps.validate("gold_validation", gold),
        steps.must_exist(
            "plan_exists", "计划代码", plan_codes(reference), what="plan code", table=PLANS.name
        ),
    ]
