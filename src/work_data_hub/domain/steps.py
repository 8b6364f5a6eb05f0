"""Steps every domain can use, parameterised by its columns.

Validation with a pandera schema, dropping subtotal rows and exact
duplicates, looking up a code in a reference mapping (enrichment), and the
foreign-key check of a code against a reference table. Each explains the rows
it rejects (``Step.why``).

>>> import pandas as pd
>>> rows = pd.DataFrame({"计划代码": ["P1", "合计", "P1"]})
>>> [s.name for s in (drop_subtotals("计划代码"), drop_duplicates(NOTHING))]
['drop_subtotals', 'drop_duplicates']
>>> drop_subtotals("计划代码").run(rows).index.tolist()
[0, 2]
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pandera.pandas as pa

from work_data_hub.domain.duplicates import FINGERPRINT, copy_of, fingerprints
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reasons import reasons_frame
from work_data_hub.domain.rules import SUBTOTAL_MARKERS, is_subtotal, normalise_name
from work_data_hub.infrastructure.validation import ErrorType
from work_data_hub.infrastructure.validation.raw_data import encode_rows

__all__ = [
    "NOTHING",
    "drop_duplicates",
    "drop_subtotals",
    "enrich",
    "must_exist",
    "quoted",
    "validate",
]

#: No row of the file is loaded yet: no fingerprint to match.
NOTHING: Final = pd.Series([], dtype="int64")


def quoted(values: pd.Series) -> pd.Series:
    """Each value's ``repr``, for reasons."""
    return values.map(repr).astype("str")


def validate(name: str, schema: pa.DataFrameSchema) -> Step:
    """Reject the rows ``schema`` fails (pandera says why)."""

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return schema.validate(rows, lazy=True, inplace=True)  # checks only: no copy

    return Step(name, ErrorType.VALIDATION_FAILED, run)


def drop_subtotals(*columns: str) -> Step:
    """Drop rows where any of ``columns`` holds a subtotal marker (合计, 小计, 总计)."""

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[~is_subtotal(*(rows[column] for column in columns))]

    def why(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        where = pd.Series(columns[-1], index=rejected)
        for column in reversed(columns[:-1]):
            where = where.mask(is_subtotal(rows.loc[rejected, column]), column)
        value = pd.Series(
            [rows.at[label, column] for label, column in where.items()], index=rejected
        )
        markers = "/".join(SUBTOTAL_MARKERS)
        return reasons_frame(
            rejected, where, f"subtotal row ({markers}): " + where + " is " + quoted(value)
        )

    return Step("drop_subtotals", ErrorType.DROPPED_IN_PIPELINE, run, why)


def drop_duplicates(loaded: pd.Series) -> Step:
    """Drop exact duplicates of every source column: the first copy stays and carries
    its fingerprint on to the database; ``loaded`` (fingerprint -> row) are rows of the
    file loaded already (a replay), the originals of any copy."""

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        texts = encode_rows(rows)
        prints = fingerprints(texts)
        kept = copy_of(texts, loaded, prints).isna().to_numpy()
        return rows[kept].assign(**{FINGERPRINT: prints[kept]})

    def why(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        first = copy_of(encode_rows(rows), loaded).loc[rejected]
        in_batch = pd.Series(first.isin(rows.index).to_numpy(), index=rejected)
        where = pd.Series(" (loaded)", index=rejected).where(~in_batch, "")
        return reasons_frame(rejected, "", "exact duplicate of row " + first.astype("str") + where)

    return Step("drop_duplicates", ErrorType.DROPPED_IN_PIPELINE, run, why)


def enrich(
    name: str,
    column: str,
    lookup: pd.Series,
    *,
    into: str,
    what: str,
    mapping: str,
    empty: str | None = None,
) -> Step:
    """Add ``into`` = ``lookup`` of each row's normalised ``column``; rows without a
    match are ``ENRICHMENT_FAILED``. ``empty``: the value an empty ``column`` gets
    (else an empty one fails too). Reasons name the ``what`` that has no
    ``mapping``: "customer '甲' has no company mapping"."""

    def found(rows: pd.DataFrame) -> pd.Series:
        keys = normalise_name(rows[column])
        values = keys.map(lookup).astype("object")
        if empty is not None:
            values = values.mask(keys.fillna("") == "", empty)
        return values

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        values = found(rows)
        return rows.assign(**{into: values.astype(str).where(values.notna())})[values.notna()]

    def why(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        value = rows.loc[rejected, column]
        folded = normalise_name(value)
        reason = f"{what} " + quoted(value) + f" has no {mapping} mapping"
        reason = reason.where(
            folded.astype("object") == value.astype("object"),
            reason + " (looked up as " + quoted(folded) + ")",
        )
        blank = f"{what} name is empty"
        return reasons_frame(rejected, column, reason.where(folded.fillna("") != "", blank))

    return Step(name, ErrorType.ENRICHMENT_FAILED, run, why)


def must_exist(name: str, column: str, keys: frozenset[str], *, what: str, table: str) -> Step:
    """The foreign-key check: rows whose ``column`` is not a key of ``table`` are
    ``FK_CONSTRAINT_VIOLATION`` ("plan code 'P9' is not in plans")."""

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return rows[rows[column].isin(keys)]

    def why(rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        value = quoted(rows.loc[rejected, column])
        return reasons_frame(rejected, column, f"{what} " + value + f" is not in {table}")

    return Step(name, ErrorType.FK_CONSTRAINT_VIOLATION, run, why)
