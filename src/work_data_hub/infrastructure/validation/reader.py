"""``read_failures``: a failure log back as a typed frame."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation.csv_format import check_header
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.raw_data_expand import pandas_dtype_for
from work_data_hub.infrastructure.validation.schema import (
    ERROR_TYPE_DTYPE,
    FAILURE_LOG_DTYPES,
    FIELDNAMES,
)

__all__ = ["read_failures"]

_TEXT: Final = pa.large_string()
_CONVERT_OPTIONS: Final = pa_csv.ConvertOptions(
    column_types={
        **{name: _TEXT for name in FIELDNAMES},
        "timestamp": pa.timestamp("us", tz="UTC"),
        "row_index": pa.int64(),
    },
    null_values=[""],
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)


def _parse(path: Path) -> pa.Table:
    # Values with a line break (possible in domain or source_file, never in
    # raw_data) need Arrow's slower quote-aware splitting. Such a line can
    # only ever parse short of the seven columns, so the fast parse fails
    # loudly on it and the careful one runs instead.
    for newlines_in_values in (False, True):
        try:
            return pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(skip_rows=1, column_names=list(FIELDNAMES)),
                parse_options=pa_csv.ParseOptions(newlines_in_values=newlines_in_values),
                convert_options=_CONVERT_OPTIONS,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            if newlines_in_values:
                raise FailureLogFormatError(f"{path} has a malformed row: {error}") from error
    raise AssertionError("unreachable")


def _error_type_categorical(values: pa.Array, path: Path) -> pd.Categorical:
    """The error_type column as a Categorical of the four values, refusing others."""
    encoded = pc.dictionary_encode(values)
    seen = encoded.dictionary.to_pylist()
    unknown = sorted(set(seen) - set(ERROR_TYPE_DTYPE.categories))
    if unknown:
        raise FailureLogFormatError(
            f"{path} has an unknown error_type {unknown[0]!r}; expected one of "
            f"{[e.value for e in ErrorType]}"
        )
    positions = np.array([ERROR_TYPE_DTYPE.categories.get_loc(v) for v in seen], dtype=np.int8)
    codes = positions[encoded.indices.to_numpy(zero_copy_only=False)] if seen else []
    return pd.Categorical.from_codes(codes, dtype=ERROR_TYPE_DTYPE)


def read_failures(path: str | Path) -> pd.DataFrame:
    """Read a failure log into a frame with the canonical dtypes.

    ``timestamp`` is tz-aware UTC, ``row_index`` nullable Int64, ``error_type``
    a category of the four ``ErrorType`` values, the rest text.

    Raises:
        FailureLogFormatError: the header is not the seven columns, a row is
            malformed, or an ``error_type`` is unknown.

    >>> import tempfile
    >>> from work_data_hub.infrastructure.validation import FailedRecord, FailureExporter
    >>> exporter = FailureExporter("etl_20240101_120000_abcdef", Path(tempfile.mkdtemp()))
    >>> path = exporter.export([FailedRecord.from_validation_error(
    ...     exporter.session_id, "annuity_income", "a.csv", 0, "VALIDATION_FAILED", {"x": 1})])
    >>> read_failures(path)[["row_index", "error_type", "raw_data"]].to_dict("records")
    [{'row_index': 0, 'error_type': 'VALIDATION_FAILED', 'raw_data': '{"x":1}'}]
    """
    path = Path(path)
    with path.open("rb") as file:
        check_header(file.read(4096), path)
    table = _parse(path)
    error_types = _error_type_categorical(table["error_type"].combine_chunks(), path)
    frame = table.drop_columns(["error_type"]).to_pandas(types_mapper=pandas_dtype_for)
    frame.insert(FIELDNAMES.index("error_type"), "error_type", error_types)
    typed: pd.DataFrame = frame.astype(FAILURE_LOG_DTYPES)
    return typed
