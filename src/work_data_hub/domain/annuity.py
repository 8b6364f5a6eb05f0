"""The step sequence both annuity domains share, parameterised by their columns.

read -> bronze validation -> cleansing -> enrichment -> gold validation ->
foreign-key check (the load itself happens in the database layer).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa

from work_data_hub.domain.duplicates import FINGERPRINT, copy_of, fingerprints
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reasons import reasons_frame
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.rules import (
    SUBTOTAL_MARKERS,
    invalid_amounts,
    is_subtotal,
    normalise_name,
    parse_month,
    to_amount,
)
from work_data_hub.infrastructure.validation import ErrorType
from work_data_hub.infrastructure.validation.raw_data import encode_rows

__all__ = ["annuity_steps", "bronze_schema", "gold_schema"]


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


def _quoted(values: pd.Series) -> pd.Series:
    return values.map(repr).astype("str")


def _why_subtotal(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
    plan, name = rows.loc[rejected, "计划代码"], rows.loc[rejected, "客户名称"]
    in_plan = is_subtotal(plan)
    column = pd.Series("计划代码", index=rejected).where(in_plan, "客户名称")
    value = _quoted(plan.where(in_plan, name))
    markers = "/".join(SUBTOTAL_MARKERS)
    return reasons_frame(rejected, column, f"subtotal row ({markers}): " + column + " is " + value)


def _why_unmapped(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
    name = rows.loc[rejected, "客户名称"]
    folded = normalise_name(name)
    reason = "customer " + _quoted(name) + " has no company mapping"
    reason = reason.where(
        folded.astype("object") == name.astype("object"),
        reason + " (looked up as " + _quoted(folded) + ")",
    )
    return reasons_frame(
        rejected, "客户名称", reason.where(folded.fillna("") != "", "customer name is empty")
    )


def _why_no_plan(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
    plan = rows.loc[rejected, "计划代码"]
    return reasons_frame(rejected, "计划代码", "plan code " + _quoted(plan) + " is not in plans")


def annuity_steps(
    name: str,
    *,
    bronze: pa.DataFrameSchema,
    gold: pa.DataFrameSchema,
    amounts: Sequence[str],
    reference: Reference,
) -> list[Step]:
    """The named steps of an annuity domain over ``reference`` data."""

    def validate_bronze(rows: pd.DataFrame) -> pd.DataFrame:
        return bronze.validate(rows, lazy=True)

    def drop_subtotals(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[~is_subtotal(rows["计划代码"], rows["客户名称"])]

    def drop_duplicates(rows: pd.DataFrame) -> pd.DataFrame:
        # exact duplicates of every source column: the first one stays, and
        # carries its fingerprint on to the database
        texts = encode_rows(rows)
        kept = copy_of(texts, reference.loaded).isna().to_numpy()
        return rows[kept].assign(**{FINGERPRINT: fingerprints(texts[kept])})

    def why_duplicate(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        first = copy_of(encode_rows(rows), reference.loaded).loc[rejected]
        in_batch = pd.Series(first.isin(rows.index).to_numpy(), index=rejected)
        where = pd.Series(" (loaded)", index=rejected).where(~in_batch, "")
        text = "exact duplicate of row " + first.astype("str") + where
        return reasons_frame(rejected, "", text)

    def standardise(rows: pd.DataFrame) -> pd.DataFrame:
        typed = rows.assign(
            月度=parse_month(rows["月度"]),
            计划代码=rows["计划代码"].astype("string").str.strip().astype(str),
            **{column: to_amount(rows[column]) for column in amounts},
        )
        return typed

    def enrich(rows: pd.DataFrame) -> pd.DataFrame:
        ids = normalise_name(rows["客户名称"]).map(reference.company_ids)
        return rows.assign(company_id=ids.astype(str).where(ids.notna()))[ids.notna()]

    def validate_gold(rows: pd.DataFrame) -> pd.DataFrame:
        return gold.validate(rows, lazy=True)

    def check_plans(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[rows["计划代码"].isin(reference.plan_codes)]

    return [
        Step("bronze_validation", ErrorType.VALIDATION_FAILED, validate_bronze),
        Step("drop_subtotals", ErrorType.DROPPED_IN_PIPELINE, drop_subtotals, _why_subtotal),
        Step("drop_duplicates", ErrorType.DROPPED_IN_PIPELINE, drop_duplicates, why_duplicate),
        Step("standardise", ErrorType.DROPPED_IN_PIPELINE, standardise),
        Step("enrich_company", ErrorType.ENRICHMENT_FAILED, enrich, _why_unmapped),
        Step("gold_validation", ErrorType.VALIDATION_FAILED, validate_gold),
        Step("plan_exists", ErrorType.FK_CONSTRAINT_VIOLATION, check_plans, _why_no_plan),
    ]
