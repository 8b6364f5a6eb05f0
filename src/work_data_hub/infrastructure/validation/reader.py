"""Reading a failure log back: typed columns, and raw_data as the source columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation.csv_format import check_header
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.schema import (
    ERROR_TYPE_DTYPE,
    FAILURE_LOG_DTYPES,
    FIELDNAMES,
)

__all__ = ["expand_raw_data", "read_failures"]

_TEXT: Final = pa.large_string()
_COLUMN_TYPES: Final = {
    **{name: _TEXT for name in FIELDNAMES},
    "timestamp": pa.timestamp("us", tz="UTC"),
    "row_index": pa.int64(),
}
# Integers past 64 bits: orjson would read them as floats, so such rows are
# parsed by the standard library, which keeps them exact.
_HUGE_INT_RE2: Final = r"[0-9]{20,}"


def _pandas_type(arrow_type: pa.DataType) -> Any:
    if pa.types.is_large_string(arrow_type) or pa.types.is_string(arrow_type):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


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
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=list(FIELDNAMES)),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=_COLUMN_TYPES,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise FailureLogFormatError(f"{path} has a malformed row: {error}") from error
    error_types = table["error_type"]
    known = pc.is_in(error_types, value_set=pa.array([e.value for e in ErrorType], _TEXT))
    if not pc.all(known).as_py() and len(error_types):
        bad = pc.filter(error_types, pc.invert(known))[0].as_py()
        raise FailureLogFormatError(
            f"{path} has an unknown error_type {bad!r}; expected one of "
            f"{[e.value for e in ErrorType]}"
        )
    frame = table.to_pandas(types_mapper=_pandas_type)
    frame["error_type"] = frame["error_type"].astype(ERROR_TYPE_DTYPE)
    typed: pd.DataFrame = frame.astype(FAILURE_LOG_DTYPES)
    return typed


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # e.g. an escaped lone surrogate, which orjson refuses and json accepts
        return json.loads(text)


def _parse_objects(raw_data: pd.Series) -> list[Any]:
    texts = pa.array(raw_data, type=_TEXT, from_pandas=True).fill_null("{}")
    huge = pc.match_substring_regex(texts, _HUGE_INT_RE2).to_numpy(zero_copy_only=False)
    values = texts.to_pylist()
    parsed = list(map(_loads, values))
    for position in np.flatnonzero(huge):
        parsed[position] = json.loads(values[position])
    not_objects = [type(v).__name__ for v in parsed if not isinstance(v, dict)]
    if not_objects:
        raise FailureLogFormatError(f"raw_data must hold JSON objects, found a {not_objects[0]}")
    return parsed


def _columns_from_objects(objects: list[dict[str, Any]]) -> dict[str, pd.Series]:
    try:
        struct = pa.array(objects)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return _columns_from_python(objects)
    if not pa.types.is_struct(struct.type):
        return _columns_from_python(objects)
    columns: dict[str, pd.Series] = {}
    for field, child in zip(struct.type, struct.flatten(), strict=True):
        if pa.types.is_null(field.type):
            columns[field.name] = pd.Series([None] * len(child), dtype=object)
        elif pa.types.is_struct(field.type) or pa.types.is_list(field.type):
            columns[field.name] = pd.Series(child.to_pylist(), dtype=object)
        else:
            mapped = _pandas_type(field.type)
            # __from_arrow__ keeps int64 exact where a detour via float64 would not
            values = mapped.__from_arrow__(child) if mapped is not None else child.to_pandas()
            columns[field.name] = pd.Series(values)
    return columns


def _columns_from_python(objects: list[dict[str, Any]]) -> dict[str, pd.Series]:
    # Mixed or out-of-range values: keep exactly what JSON said, as objects.
    keys = list(dict.fromkeys(key for obj in objects for key in obj))
    return {key: pd.Series([obj.get(key) for obj in objects], dtype=object) for key in keys}


def expand_raw_data(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn ``raw_data`` back into the source columns, aligned with ``frame``'s rows.

    Columns come in order of first appearance; a key absent from a row is
    missing there. JSON types map back as: integers -> ``Int64`` (exact;
    objects past 64 bits), floats -> ``float64``, strings -> ``str``,
    booleans -> ``boolean``, ``null`` -> missing. A column whose rows mix
    types, or hold arrays/objects, keeps the Python values (``object``).
    Dates stay ISO-8601 strings; ``"Infinity"`` stays a string.

    >>> failures = pd.DataFrame({"raw_data": ['{"a":1,"b":"x"}', '{"a":null,"c":0.5}']})
    >>> expand_raw_data(failures)
          a    b    c
    0     1    x  NaN
    1  <NA>  NaN  0.5
    """
    if "raw_data" not in frame.columns:
        raise FailureLogFormatError("expand_raw_data needs a frame with a raw_data column")
    objects = _parse_objects(frame["raw_data"])
    columns = _columns_from_objects(objects) if objects else {}
    expanded = pd.DataFrame(columns, index=pd.RangeIndex(len(objects)))
    expanded.index = frame.index
    return expanded
