"""``expand_raw_data``: raw_data JSON back into the source columns.

The fast path hands all rows to Arrow's multi-threaded JSON reader as one
newline-delimited buffer. Rows it would not read exactly (mixed types in a
column, integers past 2**53 that could be widened to float, lone surrogates)
or arrays and objects go the exact path: orjson (or the standard library)
per row, then columns.

``source_rows`` is the exact path alone, for replaying rows: every value is
the Python value JSON gave (``"0012"`` stays text, ``202401`` an int), with
no dtype inference, the way ``io.sources.read_source`` hands rows over.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation._raw_values import MAX_NESTING

__all__ = ["expand_raw_data", "pandas_dtype_for", "raw_objects", "source_rows"]

_TEXT: Final = pa.large_string()
# An integer value of 16+ digits: Arrow may widen it to float64 (a column
# mixing ints and floats) or past 64 bits read it as float. The exact path
# keeps it. (A match inside a string value only costs speed.)
_LONG_INT_RE2: Final = r"[:\[,]-?[0-9]{16,}[,}\]]"
# Arrow rejects escaped lone surrogates; orjson does too. json does not.
_SURROGATE_ESCAPE_RE2: Final = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}"


def pandas_dtype_for(arrow_type: pa.DataType) -> Any:
    """The pandas dtype a column of ``arrow_type`` becomes (None: Arrow's default).

    >>> pandas_dtype_for(pa.int64())
    Int64Dtype()
    """
    if pa.types.is_large_string(arrow_type) or pa.types.is_string(arrow_type):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _column(arrow_type: pa.DataType, values: pa.Array | pa.Array) -> pd.Series:
    if pa.types.is_null(arrow_type):
        return pd.Series([None] * len(values), dtype=object)
    mapped = pandas_dtype_for(arrow_type)
    # __from_arrow__ keeps int64 exact where a detour via float64 would not
    return pd.Series(mapped.__from_arrow__(values) if mapped is not None else values.to_pandas())


def _ndjson(texts: pa.Array) -> pa.Buffer:
    """All texts, one per line, as one buffer (no Python objects)."""
    newline, nothing = (pa.scalar(b, type=pa.large_binary()) for b in (b"\n", b""))
    lines = pc.binary_join_element_wise(texts.cast(pa.large_binary()), newline, nothing)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].slice(start, end - start)


def _arrow_columns(texts: pa.Array) -> dict[str, pd.Series] | None:
    """Columns read by Arrow, or None when Arrow would not read them exactly."""
    if pc.any(pc.match_substring_regex(texts, _LONG_INT_RE2)).as_py():
        return None
    if pc.any(pc.match_substring_regex(texts, _SURROGATE_ESCAPE_RE2)).as_py():
        return None
    data = _ndjson(texts)
    options = pa_json.ParseOptions(newlines_in_values=False)
    try:
        table = pa_json.read_json(pa.BufferReader(data), parse_options=options)
        guessed = [f for f in table.schema if pa.types.is_timestamp(f.type)]
        if guessed:  # Arrow guesses timestamps from date-like text: keep the text
            explicit = pa.schema([pa.field(f.name, pa.string()) for f in guessed])
            options = pa_json.ParseOptions(
                newlines_in_values=False,
                explicit_schema=explicit,
                unexpected_field_behavior="infer",
            )
            table = pa_json.read_json(pa.BufferReader(data), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != len(texts) or any(pa.types.is_nested(f.type) for f in table.schema):
        return None  # nested values: Arrow's list<null> and friends do not convert back
    return {field.name: _column(field.type, table[field.name]) for field in table.schema}


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # e.g. an escaped lone surrogate, which orjson refuses


def _where(frame: pd.DataFrame | None, position: int) -> str:
    """The row at ``position`` as an operator finds it: its source file and row where
    the frame has them (a log's rows), else its label (else its position)."""
    if frame is None:
        return f"row {position}"
    if {"source_file", "row_index"} <= set(frame.columns):
        row = frame.iloc[position]
        return f"{row['source_file']} row {row['row_index']}"
    return f"the row labelled {frame.index[position]}"


def _objects(texts: pa.Array, frame: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Each row's JSON object, exactly (ints past 64 bits too); ``frame`` (whose
    ``raw_data`` the texts are) names a bad row in the error."""
    values = texts.to_pylist()
    long_ints = pc.match_substring_regex(texts, _LONG_INT_RE2).to_numpy(zero_copy_only=False)
    try:
        objects = list(map(_loads, values))
    except ValueError:  # json.JSONDecodeError: name the first bad row
        for position, text in enumerate(values):
            try:
                _loads(text)
            except ValueError as error:
                raise FailureLogFormatError(
                    f"raw_data of {_where(frame, position)} is not valid JSON ({error}): "
                    f"{text[:80]!r}"
                ) from error
        raise
    for row in np.flatnonzero(long_ints).tolist():
        objects[row] = json.loads(values[row])  # ints past 64 bits stay exact
    for position, value in enumerate(objects):
        if not isinstance(value, dict):
            raise FailureLogFormatError(
                f"raw_data of {_where(frame, position)} must hold a JSON object, found a "
                f"{type(value).__name__}"
            )
    return objects


def _exact_columns(texts: pa.Array, frame: pd.DataFrame | None = None) -> dict[str, pd.Series]:
    objects = _objects(texts, frame)
    try:
        struct = pa.array(objects)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        struct = None
    if struct is not None and pa.types.is_struct(struct.type):
        return {
            # nested values stay the Python objects JSON gave
            field.name: pd.Series([obj.get(field.name) for obj in objects], dtype=object)
            if pa.types.is_nested(field.type)
            else _column(field.type, child)
            for field, child in zip(struct.type, struct.flatten(), strict=True)
        }
    # Mixed or out-of-range values: keep exactly what JSON said, as objects.
    keys = list(dict.fromkeys(key for obj in objects for key in obj))
    return {key: pd.Series([obj.get(key) for obj in objects], dtype=object) for key in keys}


_STRING_RE: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENS: Final = np.zeros(256, dtype=np.int8)
_OPENS[[ord("["), ord("{")]] = 1
_OPENS[[ord("]"), ord("}")]] = -1


def _nesting(text: str) -> int:
    """How deep arrays and objects nest in one JSON text (strings do not count)."""
    skeleton = _STRING_RE.sub('""', text).encode()
    steps = _OPENS[np.frombuffer(skeleton, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _refuse_deep_nesting(texts: pa.Array, frame: pd.DataFrame) -> None:
    """Raise before any JSON parser recurses into raw_data nested past ``MAX_NESTING``.

    A tampered log can nest thousands of levels deep: recursive parsers then
    fail, or overflow the C stack. Only texts with enough brackets to be that
    deep are scanned.
    """
    brackets = pc.add(pc.count_substring(texts, "["), pc.count_substring(texts, "{"))
    suspects = np.flatnonzero(brackets.to_numpy(zero_copy_only=False) > MAX_NESTING)
    for position in suspects.tolist():
        depth = _nesting(texts[position].as_py())
        if depth > MAX_NESTING:
            raise FailureLogFormatError(
                f"raw_data of {_where(frame, position)} nests {depth} levels deep, more than "
                f"the {MAX_NESTING} a failure log holds: the log was not written by "
                "work_data_hub or was altered"
            )


def _raw_data_texts(frame: pd.DataFrame, caller: str) -> pa.Array:
    """The frame's ``raw_data`` as one Arrow text array, a missing one as ``{}``.

    Raises:
        FailureLogFormatError: there is no ``raw_data`` column, or a value nests
            deeper than ``MAX_NESTING``.
    """
    if "raw_data" not in frame.columns:
        raise FailureLogFormatError(f"{caller} needs a frame with a raw_data column")
    texts = pa.array(frame["raw_data"], type=_TEXT, from_pandas=True)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.fill_null("{}")
    _refuse_deep_nesting(texts, frame)
    return texts


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
    texts = _raw_data_texts(frame, "expand_raw_data")
    columns: dict[str, pd.Series] = {}
    if len(texts):
        columns = _arrow_columns(texts) or _exact_columns(texts, frame)
    expanded = pd.DataFrame(columns, index=pd.RangeIndex(len(texts)))
    expanded.index = frame.index
    return expanded


def source_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows ``raw_data`` holds as the source reader gave them, ``object`` columns.

    Aligned with ``frame``'s rows; columns in order of first appearance; a key
    absent from a row is ``None`` there, as is JSON ``null``.

    >>> failures = pd.DataFrame({"raw_data": ['{"计划代码":"0012","月度":202401,"x":null}']})
    >>> source_rows(failures).to_dict("records")
    [{'计划代码': '0012', '月度': 202401, 'x': None}]
    """
    texts = _raw_data_texts(frame, "source_rows")
    objects = _objects(texts, frame) if len(texts) else []
    keys = list(dict.fromkeys(key for obj in objects for key in obj))
    columns = {key: [obj.get(key) for obj in objects] for key in keys}
    rows = pd.DataFrame(columns, index=frame.index, dtype=object)
    return rows


def raw_objects(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row's ``raw_data`` as the JSON object it holds, exactly.

    >>> raw_objects(pd.DataFrame({"raw_data": ['{"a":"0012","b":null}']}))
    [{'a': '0012', 'b': None}]
    """
    texts = _raw_data_texts(frame, "raw_objects")
    return _objects(texts, frame) if len(texts) else []
