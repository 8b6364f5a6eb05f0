"""``to_failed_frame``: any kind of row failure as a seven-column frame.

Failed rows stay DataFrames end to end: the labels of the failing rows are
found set-wise, their source rows are taken from ``raw`` by label, encoded
column by column, and the constant columns are broadcast. No per-row Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pyarrow as pa
import pydantic

from work_data_hub.errors import FailedFrameError
from work_data_hub.infrastructure.validation._failing_labels import (
    pandera_failing_labels,
    pydantic_failing_labels,
)
from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.schema import (
    ERROR_TYPE_DTYPE,
)
from work_data_hub.infrastructure.validation.session import validate_session_id

__all__ = ["dropped_rows", "to_failed_frame"]

Failures = (
    pa_errors.SchemaErrors
    | pa_errors.SchemaError
    | pd.DataFrame
    | pydantic.ValidationError
    | Mapping[Any, pydantic.ValidationError]
)


def _check_source_index(frame: pd.DataFrame, what: str) -> None:
    index = frame.index
    if len(index) == 0:
        return
    if isinstance(index, pd.MultiIndex) or not pd.api.types.is_integer_dtype(index.dtype):
        raise FailedFrameError(
            f"{what} has a {index.dtype} index; row_index needs the source's integer row "
            "numbers: keep the RangeIndex the reader gave (do not reset or set another index)"
        )
    if not index.is_unique:
        duplicated = index[index.duplicated()].unique().tolist()[:5]
        raise FailedFrameError(
            f"{what} has duplicated index labels {duplicated}: each source row needs one row number"
        )
    if index.min() < 0:
        raise FailedFrameError(f"{what} has negative row numbers (min {index.min()})")


def _normalise_timestamp(timestamp: datetime | str | None) -> pd.Timestamp:
    stamp = pd.Timestamp.now(tz="UTC") if timestamp is None else pd.Timestamp(timestamp)
    if stamp.tzinfo is None:
        raise FailedFrameError(
            f"timestamp {timestamp!r} has no timezone: pass an aware datetime (e.g. UTC)"
        )
    return stamp.tz_convert("UTC").as_unit("us")


def _locate(
    failures: Failures, raw: pd.DataFrame | None, error_type: ErrorType | str | None
) -> tuple[pd.Index, pd.DataFrame, ErrorType]:
    """Return (failing labels, frame holding their source rows, error type)."""
    if isinstance(failures, pa_errors.SchemaErrors | pa_errors.SchemaError):
        validated = failures.data
        labels = pandera_failing_labels(failures)
        source = raw if raw is not None else validated
        return labels, source, ErrorType(error_type or ErrorType.VALIDATION_FAILED)
    if isinstance(failures, pydantic.ValidationError) or (
        isinstance(failures, Mapping) and not isinstance(failures, pd.DataFrame)
    ):
        if raw is None:
            raise FailedFrameError(
                "pydantic errors do not carry the source rows: pass raw=<the frame as read>"
            )
        labels = pydantic_failing_labels(failures, raw)  # raw is checked when rows are taken
        return labels, raw, ErrorType(error_type or ErrorType.VALIDATION_FAILED)
    if isinstance(failures, pd.DataFrame):
        if error_type is None:
            raise FailedFrameError(
                "a frame of failed rows needs an explicit error_type "
                f"(one of {[e.value for e in ErrorType]})"
            )
        if raw is None:  # the failed rows are their own source, checked when taken
            return failures.index, failures, ErrorType(error_type)
        _check_source_index(failures, "the failed rows")
        return failures.index, raw, ErrorType(error_type)
    raise TypeError(
        "failures must be a pandera SchemaErrors/SchemaError, a DataFrame of failed rows, "
        f"or pydantic ValidationError(s), not {type(failures).__name__}"
    )


def _take_rows(source: pd.DataFrame, labels: pd.Index) -> pd.DataFrame:
    _check_source_index(source, "raw")
    if labels.equals(source.index):
        return source  # every row failed: no copy
    missing = labels.difference(source.index)
    if len(missing):
        raise FailedFrameError(
            f"failed row labels {missing.tolist()[:5]} are not in raw ({len(missing)} "
            "missing): raw must be the frame as read, with the reader's row numbers"
        )
    return source.loc[labels]


def _constant_text(value: str, count: int) -> pd.Series:
    return pd.Series(pa.nulls(count, pa.large_string()).fill_null(value), dtype="str")


def to_failed_frame(
    failures: Failures,
    *,
    session_id: str,
    domain: str,
    source_file: str,
    error_type: ErrorType | str | None = None,
    raw: pd.DataFrame | None = None,
    timestamp: datetime | str | None = None,
) -> pd.DataFrame:
    """Return the failure-log frame (seven columns) for the rows ``failures`` rejects.

    Args:
        failures: a pandera ``SchemaErrors``/``SchemaError``; a DataFrame of failed
            rows (dropped rows, enrichment misses, FK violations); a pydantic
            ``ValidationError`` of a list of rows or ``{row_label: ValidationError}``.
        error_type: required for a DataFrame; ``VALIDATION_FAILED`` otherwise.
        raw: the frame exactly as read from the source; ``raw_data`` is taken
            from it by index label. Defaults to the failed rows themselves.
        timestamp: one timestamp for every record (default: now, UTC).

    Raises:
        FailedFrameError: the index is not the source's unique integer row
            numbers, a label is missing from ``raw``, or ``error_type`` is missing.

    >>> raw = pd.DataFrame({"计划代码": ["P1", "小计", "P2"]})
    >>> after = raw[~raw["计划代码"].str.contains("计")]
    >>> frame = to_failed_frame(
    ...     dropped_rows(raw, after), session_id="etl_20240101_120000_abcdef",
    ...     domain="annuity_performance", source_file="2024-03.xlsx",
    ...     error_type="DROPPED_IN_PIPELINE",
    ... )
    >>> frame[["row_index", "error_type", "raw_data"]].to_dict("records")
    [{'row_index': 1, 'error_type': 'DROPPED_IN_PIPELINE', 'raw_data': '{"计划代码":"小计"}'}]
    """
    session_id = validate_session_id(session_id)
    if not isinstance(domain, str) or not domain:
        raise FailedFrameError(f"domain must be a non-empty string, not {domain!r}")
    if not isinstance(source_file, str):
        raise FailedFrameError(f"source_file must be a string, not {source_file!r}")
    stamp = _normalise_timestamp(timestamp)
    labels, source, resolved_type = _locate(failures, raw, error_type)
    rows = _take_rows(source, labels)
    count = len(rows)
    code = ERROR_TYPE_DTYPE.categories.get_loc(resolved_type.value)
    return pd.DataFrame(
        {
            "session_id": _constant_text(session_id, count),
            "timestamp": pd.DatetimeIndex(
                np.full(count, stamp.tz_localize(None).asm8), dtype="datetime64[us]"
            ).tz_localize("UTC"),
            "domain": _constant_text(domain, count),
            "source_file": _constant_text(source_file, count),
            "row_index": pd.array(rows.index.to_numpy(dtype=np.int64), dtype="Int64"),
            "error_type": pd.Categorical.from_codes(
                np.full(count, code, dtype=np.int8), dtype=ERROR_TYPE_DTYPE
            ),
            "raw_data": encode_rows(rows).reset_index(drop=True),
        }
    )


def dropped_rows(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``before`` whose index labels are absent from ``after``.

    The dropped-row diff of a filtering transform, in ``before``'s order.

    >>> before = pd.DataFrame({"x": [1, 2, 3]})
    >>> dropped_rows(before, before[before["x"] != 2]).index.tolist()
    [1]
    """
    _check_source_index(before, "before")
    return before.loc[~before.index.isin(after.index)]
