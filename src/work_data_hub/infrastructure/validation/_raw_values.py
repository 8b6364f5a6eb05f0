"""``raw_data``: the JSON of a source row exactly as it was read.

One encoder serves both paths: :func:`encode_row` here for a single mapping
(``FailedRecord``), and ``raw_data_columns.encode_rows`` for a whole frame,
which encodes column by column with vectorised kernels and falls back to
:func:`encode_value` for exotic columns, so both paths give the same text for
the same value (a property test holds them equal).

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
collide after that conversion raise :class:`RawDataEncodingError`. Values nest
at most :data:`MAX_NESTING` levels of arrays and objects (the row's own object
is the first): deeper values (or a list that contains itself) raise
:class:`RawDataEncodingError`, and readers refuse deeper ``raw_data`` with
``FailureLogFormatError``. A source row read from a CSV or a workbook is one
flat object.
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

from work_data_hub.errors import RawDataEncodingError

__all__ = [
    "MAX_NESTING",
    "encode_row",
    "encode_string",
    "encode_value",
    "format_offset",
    "json_keys",
]

#: The deepest nesting of arrays and objects raw_data may hold (the row itself is 1).
MAX_NESTING: Final = 100
NULL: Final = "null"
POS_INF: Final = '"Infinity"'
NEG_INF: Final = '"-Infinity"'
_SURROGATE_SPLIT = re.compile("([\ud800-\udfff])")


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


def format_offset(seconds: int) -> str:
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
        text += format_offset(int(offset.total_seconds()))
    return f'"{text}"'


def _encode_float(value: float) -> str:
    if math.isnan(value):
        return NULL
    if math.isinf(value):
        return POS_INF if value > 0 else NEG_INF
    return orjson.dumps(value).decode()


def encode_value(value: Any, _depth: int = 1) -> str:
    """Return the JSON text of one value, by the module's type mapping.

    >>> [encode_value(v) for v in (None, float("nan"), 0.1 + 0.2, 2**64, "中")]
    ['null', 'null', '0.30000000000000004', '18446744073709551616', '"中"']
    """
    if _is_null(value):
        return NULL
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
            return POS_INF if value > 0 else NEG_INF
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
            text += format_offset(int(offset.total_seconds()))
        return f'"{text}"'
    if isinstance(value, dt.timedelta | np.timedelta64):
        return f'"{pd.Timedelta(value).isoformat()}"'
    if isinstance(value, bytes | bytearray | memoryview):
        return f'"{base64.b64encode(bytes(value)).decode("ascii")}"'
    if isinstance(value, enum.Enum):
        return encode_value(value.value, _depth)
    if isinstance(value, Mapping | set | frozenset | list | tuple | np.ndarray):
        return _encode_container(value, _depth + 1)
    return encode_string(str(value))


def _encode_container(value: Any, depth: int) -> str:
    if depth > MAX_NESTING:
        raise RawDataEncodingError(
            f"a value nests arrays or objects deeper than {MAX_NESTING} levels (or contains "
            "itself): raw_data cannot hold it; flatten it before logging the row"
        )
    if isinstance(value, Mapping):
        return _encode_object(json_keys(value.keys()), (value[k] for k in value), depth)
    if isinstance(value, set | frozenset):
        return "[" + ",".join(sorted(encode_value(v, depth) for v in value)) + "]"
    return "[" + ",".join(encode_value(v, depth) for v in value) + "]"


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


def _encode_object(keys: list[str], values: Iterable[Any], depth: int = 1) -> str:
    members = (
        f"{encode_string(k)}:{encode_value(v, depth)}" for k, v in zip(keys, values, strict=True)
    )
    return "{" + ",".join(members) + "}"


def encode_row(row: Mapping[Hashable, Any] | pd.Series) -> str:
    """Return ``raw_data`` for one source row given as a mapping or Series.

    >>> encode_row({"计划代码": "P0012", "期末资产规模": 1.5, "月度": None})
    '{"计划代码":"P0012","期末资产规模":1.5,"月度":null}'
    """
    pairs = list(row.items())
    return _encode_object(json_keys(name for name, _ in pairs), (value for _, value in pairs))
