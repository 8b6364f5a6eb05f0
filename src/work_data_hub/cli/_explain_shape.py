"""The JSON ``wdh-failures explain --json`` prints (see ``_json_shapes``).

Apart from the other shapes because ``Verdict`` comes with the explain
workflow, which imports every domain: listing sessions should not.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from work_data_hub.cli._json_shapes import ErrorTypeName, FailedRow, Shape
from work_data_hub.workflows.explain import Verdict

__all__ = ["ExplainOutput", "ExplainedRow", "with_logged"]


class ExplainedRow(FailedRow):
    """A failed row and what running it again today says about it."""

    verdict: Verdict
    step: str | None = Field(description="the first step that rejects the row now")
    error_type_now: ErrorTypeName | None
    columns: str | None = Field(description="the columns that step names")
    reason: str | None


class ExplainOutput(Shape):
    """``wdh-failures explain --json``: the rows explained (``--limit`` applies)."""

    log: str
    explained: list[ExplainedRow]


def with_logged(explained: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """``explained`` (``explain_failures``) with each row's ``timestamp`` and
    ``raw_data`` from ``failures``, the log it explains.

    >>> log = pd.DataFrame({"session_id": ["s"], "domain": ["d"], "source_file": ["f"],
    ...     "row_index": [3], "timestamp": ["t"], "raw_data": ['{"a":1}']})
    >>> with_logged(log.drop(columns=["timestamp", "raw_data"]), log)["raw_data"].tolist()
    ['{"a":1}']
    """
    keys = ["session_id", "domain", "source_file", "row_index"]
    # the n-th row of a key in one is the n-th in the other (rows without a row index)
    left = explained.assign(_n=explained.groupby(keys, sort=False, dropna=False).cumcount())
    logged = failures[[*keys, "timestamp", "raw_data"]]
    right = logged.assign(_n=logged.groupby(keys, sort=False, dropna=False).cumcount())
    return left.merge(right, on=[*keys, "_n"], how="left").drop(columns="_n")
