"""Counts of failed rows by domain, source file and error type."""

from __future__ import annotations

import pandas as pd

from work_data_hub.infrastructure.validation.error_types import ErrorType

__all__ = ["summarize"]

TOTAL = "total"


def summarize(failures: pd.DataFrame) -> pd.DataFrame:
    """Return failed-row counts: one row per (domain, source_file), one column per
    error type, a ``total`` column and a final ``total`` row.

    >>> failures = pd.DataFrame({
    ...     "domain": ["a", "a", "b"], "source_file": ["x.csv", "x.csv", "y.csv"],
    ...     "error_type": ["VALIDATION_FAILED", "ENRICHMENT_FAILED", "VALIDATION_FAILED"]})
    >>> summarize(failures)[["VALIDATION_FAILED", "ENRICHMENT_FAILED", "total"]]
                       VALIDATION_FAILED  ENRICHMENT_FAILED  total
    domain source_file
    a      x.csv                       1                  1      2
    b      y.csv                       1                  0      1
    total                              2                  1      3
    """
    error_types = [e.value for e in ErrorType]
    counts = (
        failures.assign(error_type=failures["error_type"].astype(str))
        .groupby(["domain", "source_file", "error_type"], observed=True)
        .size()
        .unstack("error_type", fill_value=0)
        .reindex(columns=error_types, fill_value=0)
    )
    counts.columns.name = None
    counts[TOTAL] = counts.sum(axis=1)
    totals = pd.DataFrame(
        [counts.sum(axis=0)],
        index=pd.MultiIndex.from_tuples([(TOTAL, "")], names=counts.index.names),
    )
    return pd.concat([counts, totals]).astype("int64")
