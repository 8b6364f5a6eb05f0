"""``raw_data``: the JSON of a source row exactly as it was read.

One encoder serves both paths: :func:`encode_row` for a single mapping
(``FailedRecord``) and :func:`encode_rows` for a whole frame. The frame path
encodes column by column with vectorised numpy/pyarrow kernels and joins the
fragments row-wise in C++; exotic columns fall back to :func:`encode_value`, so
both paths give the same text for the same value by construction.

Type mapping (the contract readers rely on):

=============================================  =====================================
source value                                   JSON
=============================================  =====================================
None, NaN, ``pd.NA``, ``NaT``, Decimal NaN     ``null``
bool, ``numpy.bool_``                          ``true`` / ``false``
int of any size, numpy integers                integer, exact
finite float (float32 widened to float64)      shortest round-trip repr: ``0.30000000000000004``,
                                               ``1.0``, ``-0.0``, ``1e+20``
float or Decimal +/-infinity                   the strings ``"Infinity"`` / ``"-Infinity"``
finite ``Decimal``                             number with exactly its digits (``1.10``)
str                                            string, non-ASCII kept, lone surrogates escaped
                                               as ``\\udXXX``
datetime, ``pd.Timestamp``, ``datetime64``     ``"YYYY-MM-DDTHH:MM:SS.ffffff"`` plus the UTC
                                               offset (``+08:00``) when tz-aware; nine
                                               fraction digits when nanoseconds are set
date / time                                    ``"YYYY-MM-DD"`` / ``"HH:MM:SS.ffffff"``
timedelta, ``pd.Timedelta``                    ISO-8601 duration string (``"P1DT2H0M0S"``)
bytes, bytearray                               string: standard base64
mapping                                        object, keys ``str(key)``, recursive
list, tuple, numpy array                       array, recursive
set, frozenset                                 array, elements sorted by their JSON
Enum member                                    its ``value``, encoded by these rules
anything else                                  string: ``str(value)``
=============================================  =====================================

Column names become keys via ``str(name)`` in source column order; names that
collide after that conversion raise :class:`RawDataEncodingError`.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import math
import re
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from work_data_hub.errors import RawDataEncodingError

__all__ = ["encode_row", "encode_rows", "encode_string", "encode_value", "json_keys"]

#: Rows encoded per batch: bounds the memory of per-column fragments.
BATCH_ROWS: Final = 100_000

_TEXT: Final = pa.large_string()
_NULL: Final = "null"
_POS_INF: Final = '"Infinity"'
_NEG_INF: Final = '"-Infinity"'
_SURROGATE_SPLIT = re.compile("([\ud800-\udfff])")
# Characters JSON requires escaping inside a string (RE2 syntax for pyarrow).
_NEEDS_ESCAPE_RE2: Final = r'[\x{00}-\x{1f}"\\]'


# ---------------------------------------------------------------------------
# One value at a time
# ---------------------------------------------------------------------------


def encode_string(text: str) -> str:
    """Return ``text`` as a JSON string literal, non-ASCII kept.

    >>> print(encode_string('中"\\r'))
    "中\\"\\r"
    """
    try:
        return orjson.dumps(text).decode()
    except orjson.JSONEncodeError:
        # Lone surrogates cannot be UTF-8: write them as JSON \\uXXXX escapes.
        pieces = _SURROGATE_SPLIT.split(text)
        body = "".join(
            f"\\u{ord(piece):04x}" if index % 2 else orjson.dumps(piece).decode()[1:-1]
            for index, piece in enumerate(pieces)
        )
        return f'"{body}"'


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return False


def _format_offset(seconds: int) -> str:
    """Format a UTC offset the way :meth:`datetime.isoformat` does."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def _encode_datetime(value: dt.datetime) -> str:
    nanos = value.nanosecond if isinstance(value, pd.Timestamp) else 0
    naive = value.replace(tzinfo=None)
    text = naive.isoformat(timespec="nanoseconds" if nanos else "microseconds")
    offset = value.utcoffset()
    if offset is not None:
        text += _format_offset(int(offset.total_seconds()))
    return f'"{text}"'


def _encode_float(value: float) -> str:
    if math.isnan(value):
        return _NULL
    if math.isinf(value):
        return _POS_INF if value > 0 else _NEG_INF
    return orjson.dumps(value).decode()


def encode_value(value: Any) -> str:
    """Return the JSON text of one value, by the module's type mapping.

    >>> [encode_value(v) for v in (None, float("nan"), 0.1 + 0.2, 2**64, "中")]
    ['null', 'null', '0.30000000000000004', '18446744073709551616', '"中"']
    """
    if _is_null(value):
        return _NULL
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _encode_float(float(value))
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, decimal.Decimal):
        if value.is_infinite():
            return _POS_INF if value > 0 else _NEG_INF
        return str(value)
    if isinstance(value, np.datetime64):
        return _encode_datetime(pd.Timestamp(value))
    if isinstance(value, dt.datetime):
        return _encode_datetime(value)
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, dt.time):
        text = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        offset = value.utcoffset()
        if offset is not None:
            text += _format_offset(int(offset.total_seconds()))
        return f'"{text}"'
    if isinstance(value, dt.timedelta | np.timedelta64):
        return f'"{pd.Timedelta(value).isoformat()}"'
    if isinstance(value, bytes | bytearray | memoryview):
        return f'"{base64.b64encode(bytes(value)).decode("ascii")}"'
    if isinstance(value, enum.Enum):
        return encode_value(value.value)
    if isinstance(value, Mapping):
        return _encode_object(json_keys(value.keys()), (value[k] for k in value))
    if isinstance(value, set | frozenset):
        return "[" + ",".join(sorted(encode_value(v) for v in value)) + "]"
    if isinstance(value, list | tuple | np.ndarray):
        return "[" + ",".join(encode_value(v) for v in value) + "]"
    return encode_string(str(value))


def json_keys(names: Iterable[Hashable]) -> list[str]:
    """Return the JSON keys for column names, refusing names that collide.

    >>> json_keys(["月度", 1, ("a", 2)])
    ['月度', '1', "('a', 2)"]
    """
    keys = [str(name) for name in names]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        duplicates = sorted({k for k in keys if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
        raise RawDataEncodingError(
            f"duplicate column names {duplicates!r} in the source row: raw_data keys must "
            "be unique; rename the columns before logging failures"
        )
    return keys


def _encode_object(keys: list[str], values: Iterable[Any]) -> str:
    members = (f"{encode_string(k)}:{encode_value(v)}" for k, v in zip(keys, values, strict=True))
    return "{" + ",".join(members) + "}"


def encode_row(row: Mapping[Hashable, Any] | pd.Series) -> str:
    """Return ``raw_data`` for one source row given as a mapping or Series.

    >>> encode_row({"计划代码": "P0012", "期末资产规模": 1.5, "月度": None})
    '{"计划代码":"P0012","期末资产规模":1.5,"月度":null}'
    """
    pairs = list(row.items())
    return _encode_object(json_keys(name for name, _ in pairs), (value for _, value in pairs))


# ---------------------------------------------------------------------------
# Whole columns
# ---------------------------------------------------------------------------


def _text(values: Any) -> pa.Array:
    return pa.array(values, type=_TEXT)


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, type=_TEXT)


def _with_nulls(fragments: pa.Array, null_mask: np.ndarray) -> pa.Array:
    if not null_mask.any():
        return fragments
    return pc.if_else(pa.array(null_mask), _lit(_NULL), fragments)


def _split_json_array(data: bytes) -> list[str]:
    # Numbers never contain commas, so a JSON array of numbers splits cleanly.
    body = data[1:-1].decode()
    return body.split(",") if body else []


def _float_fragments(series: pd.Series) -> pa.Array:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    fragments = _text(_split_json_array(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)))
    infinite = np.isinf(values)
    if infinite.any():
        inf_text = np.where(values > 0, _POS_INF, _NEG_INF)
        fragments = pc.if_else(pa.array(infinite), _text(inf_text), fragments)
    return fragments  # orjson already wrote NaN as null


def _int_fragments(series: pd.Series) -> pa.Array:
    null_mask = series.isna().to_numpy()
    numpy_dtype: Any = getattr(series.dtype, "numpy_dtype", series.dtype)
    values = series.to_numpy(dtype=numpy_dtype, na_value=0)
    return _with_nulls(_text(values.astype(str)), null_mask)


def _bool_fragments(series: pd.Series) -> pa.Array:
    null_mask = series.isna().to_numpy()
    values = series.to_numpy(dtype=bool, na_value=False)
    return _with_nulls(_text(np.where(values, "true", "false")), null_mask)


def _datetime_fragments(series: pd.Series) -> pa.Array:
    tz = getattr(series.dtype, "tz", None)
    wall = series.dt.tz_localize(None) if tz is not None else series
    values = wall.to_numpy()
    nat = np.isnat(values)
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
    if np.datetime_data(values.dtype)[0] == "ns":
        sub_micro = (values.view("i8") % 1000 != 0) & ~nat
        if sub_micro.any():
            text = text.astype(object)
            text[sub_micro] = np.datetime_as_string(values[sub_micro], unit="ns")
    fragments = _text(text.astype(str))
    if tz is not None:
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        offset_s = (
            values.astype("datetime64[us]").view("i8") - utc.astype("datetime64[us]").view("i8")
        ) // 1_000_000
        offset_s[nat] = 0
        unique, inverse = np.unique(offset_s, return_inverse=True)
        labels = np.array([_format_offset(int(s)) for s in unique], dtype=object)
        fragments = pc.binary_join_element_wise(fragments, _text(labels[inverse]), _lit(""))
    quoted = pc.binary_join_element_wise(_lit('"'), fragments, _lit('"'), _lit(""))
    return _with_nulls(quoted, nat)


def _string_fragments(series: pd.Series) -> pa.Array | None:
    """Vectorised string path; None when the text cannot be UTF-8 (surrogates)."""
    try:
        strings = pa.array(series, type=_TEXT, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None
    null_mask = strings.is_null().to_numpy(zero_copy_only=False)
    filled = strings.fill_null("")
    quoted = pc.binary_join_element_wise(_lit('"'), filled, _lit('"'), _lit(""))
    needs_escape = pc.fill_null(pc.match_substring_regex(filled, _NEEDS_ESCAPE_RE2), False)
    if pc.any(needs_escape).as_py():
        # Rare in real data: only these rows go through the per-value encoder.
        to_escape = pc.filter(filled, needs_escape).to_pylist()
        escaped = _text(list(map(encode_string, to_escape)))
        quoted = pc.replace_with_mask(quoted, needs_escape, escaped)
    return _with_nulls(quoted, null_mask)


def _generic_fragments(series: pd.Series) -> pa.Array:
    return _text(list(map(encode_value, series.to_numpy(dtype=object))))


def _column_fragments(series: pd.Series) -> pa.Array:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = _column_fragments(pd.Series(dtype.categories))
        codes = series.cat.codes.to_numpy()
        taken = categories.take(pa.array(codes, mask=codes < 0))
        return taken.fill_null(_lit(_NULL))
    if pd.api.types.is_bool_dtype(dtype):
        return _bool_fragments(series)
    if pd.api.types.is_integer_dtype(dtype):
        return _int_fragments(series)
    if pd.api.types.is_float_dtype(dtype):
        return _float_fragments(series)
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return _datetime_fragments(series)
    if pd.api.types.is_string_dtype(dtype) and (
        not isinstance(dtype, np.dtype)
        or pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    ):
        fragments = _string_fragments(series)
        if fragments is not None:
            return fragments
    return _generic_fragments(series)


def _encode_batch(frame: pd.DataFrame, prefixes: list[str]) -> pa.Array:
    if not prefixes:
        return _text(["{}"] * len(frame))
    parts: list[Any] = []
    for position, prefix in enumerate(prefixes):
        parts.append(_lit(prefix))
        parts.append(_column_fragments(frame.iloc[:, position]))
    parts.append(_lit("}"))
    return pc.binary_join_element_wise(*parts, _lit(""))


def encode_rows(frame: pd.DataFrame) -> pd.Series:
    """Return ``raw_data`` for every row of ``frame``, aligned with its index.

    >>> frame = pd.DataFrame({"计划代码": ["P1", None], "当期收益率": [0.1, float("nan")]})
    >>> encode_rows(frame).tolist()
    ['{"计划代码":"P1","当期收益率":0.1}', '{"计划代码":null,"当期收益率":null}']
    """
    keys = json_keys(frame.columns)
    prefixes = [("{" if i == 0 else ",") + encode_string(k) + ":" for i, k in enumerate(keys)]
    batches = [
        _encode_batch(frame.iloc[start : start + BATCH_ROWS], prefixes)
        for start in range(0, len(frame), BATCH_ROWS)
    ]
    chunked = pa.chunked_array(batches, type=_TEXT)
    return pd.Series(chunked, index=frame.index, dtype="str", name="raw_data")
