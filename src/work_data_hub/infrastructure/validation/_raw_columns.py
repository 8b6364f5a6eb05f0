"""``encode_rows``: raw_data for a whole frame, column by column, no per-row Python.

Each column becomes an Arrow array of JSON value fragments by a kernel for
its dtype; the fragments and the key literals are then joined row-wise in
one Arrow call. Batches of rows are encoded on a thread pool (the kernels
release the GIL). An object column (a workbook's cells) is split by Python
type and each type takes its kernel. Values of exotic types fall back to
:func:`~work_data_hub.infrastructure.validation._raw_values.encode_value`, and a
property test holds both paths equal.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from work_data_hub.infrastructure.validation._raw_values import (
    NEG_INF,
    NULL,
    POS_INF,
    encode_string,
    encode_value,
    format_offset,
    json_keys,
)

__all__ = ["BATCH_ROWS", "encode_rows"]

#: Rows encoded per batch: bounds the memory of per-column fragments.
BATCH_ROWS: Final = 16_384

_TEXT: Final = pa.large_string()
_BYTES: Final = pa.large_binary()
_COMMA: Final = ord(",")


@dataclass(frozen=True, slots=True)
class Fragments:
    """A column's JSON value texts; ``bare`` ones still need their quotes."""

    values: pa.Array
    bare: bool = False

    def quoted(self) -> pa.Array:
        return _join([_lit('"'), self.values, _lit('"')]) if self.bare else self.values


def _text(values: Any) -> pa.Array:
    return pa.array(values, type=_TEXT)


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, type=_TEXT)


def _with_nulls(fragments: pa.Array, null_mask: np.ndarray) -> pa.Array:
    if not null_mask.any():
        return fragments
    return pc.if_else(pa.array(null_mask), _lit(NULL), fragments)


def _json_number_array(values: np.ndarray) -> pa.Array:
    """Fragments of a numeric numpy array, straight from orjson's bytes.

    Numbers never contain commas, so the elements of the JSON array are the
    runs between commas: drop the brackets and commas and point offsets at
    the runs. No Python object per element.
    """
    data = np.frombuffer(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY), np.uint8)
    if len(values) == 0:
        return _text([])
    body = data[1:-1]
    commas = np.flatnonzero(body == _COMMA)
    keep = np.ones(len(body), dtype=bool)
    keep[commas] = False
    ends = np.append(commas, len(body)) - np.arange(len(commas) + 1)
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    return pa.LargeStringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(body[keep].tobytes())
    )


def _float_fragments(series: pd.Series) -> pa.Array:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    fragments = _json_number_array(values)  # orjson writes NaN and inf as null
    infinite = np.isinf(values)
    if infinite.any():
        inf_text = np.where(values > 0, POS_INF, NEG_INF)
        fragments = pc.if_else(pa.array(infinite), _text(inf_text), fragments)
    return fragments


def _int_fragments(series: pd.Series) -> pa.Array:
    null_mask = series.isna().to_numpy()
    numpy_dtype: Any = getattr(series.dtype, "numpy_dtype", series.dtype)
    values = series.to_numpy(dtype=numpy_dtype, na_value=0)
    return _with_nulls(_json_number_array(values), null_mask)


def _bool_fragments(series: pd.Series) -> pa.Array:
    null_mask = series.isna().to_numpy()
    values = series.to_numpy(dtype=bool, na_value=False)
    return _with_nulls(_text(np.where(values, "true", "false")), null_mask)


def _distinct_datetime_fragments(uniques: pd.Series) -> pa.Array:
    """Fragments of distinct, non-null datetimes (naive or tz-aware)."""
    tz = getattr(uniques.dtype, "tz", None)
    wall = (uniques.dt.tz_localize(None) if tz is not None else uniques).to_numpy()
    text = np.datetime_as_string(wall.astype("datetime64[us]"), unit="us").astype(object)
    if np.datetime_data(wall.dtype)[0] == "ns":
        sub_micro = wall.view("i8") % 1000 != 0
        text[sub_micro] = np.datetime_as_string(wall[sub_micro], unit="ns")
    if tz is not None:
        utc = uniques.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        offsets = wall.astype("datetime64[s]").view("i8") - utc.astype("datetime64[s]").view("i8")
        # few distinct offsets (a zone's standard and summer time): format each once
        distinct, which = np.unique(offsets, return_inverse=True)
        text = text + np.array([format_offset(int(s)) for s in distinct], dtype=object)[which]
    return _text('"' + text + '"')


def _datetime_fragments(series: pd.Series) -> pa.Array:
    # ETL dates repeat (months, business days): format each distinct value once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = _distinct_datetime_fragments(pd.Series(uniques))
    return distinct.take(pa.array(codes, mask=codes < 0)).fill_null(_lit(NULL))


def _rows_needing_escape(strings: pa.Array) -> np.ndarray | None:
    """Mask of the rows holding a character JSON must escape, or None if none do.

    Scans the array's UTF-8 bytes directly: a control character, ``"`` or
    ``\\`` is one byte that never occurs inside a multi-byte character.
    """
    data_buffer = strings.buffers()[2]
    if data_buffer is None:
        return None
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    special = (data < 0x20) | (data == 0x22) | (data == 0x5C)
    if not special.any():
        return None
    rows = np.searchsorted(offsets, np.flatnonzero(special) + offsets[0], side="right") - 1
    mask = np.zeros(len(strings), dtype=bool)
    mask[rows] = True
    return mask


def _string_fragments(series: pd.Series) -> Fragments | None:
    """Vectorised string path; None when the text cannot be UTF-8 (surrogates)."""
    try:
        strings = pa.array(series, type=_TEXT, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    has_nulls = strings.null_count > 0
    filled = strings.fill_null("") if has_nulls else strings
    needs_escape = _rows_needing_escape(filled)
    if needs_escape is None and not has_nulls:
        return Fragments(filled, bare=True)  # the row join adds the quotes
    quoted = _join([_lit('"'), filled, _lit('"')])
    if needs_escape is not None:
        # Rare in real data: only these rows go through the per-value encoder.
        mask = pa.array(needs_escape)
        escaped = _text(list(map(encode_string, pc.filter(filled, mask).to_pylist())))
        quoted = pc.replace_with_mask(quoted, mask, escaped)
    return Fragments(_with_nulls(quoted, strings.is_null().to_numpy(zero_copy_only=False)))


def _generic_fragments(series: pd.Series) -> pa.Array:
    return _text(list(map(encode_value, series.to_numpy(dtype=object))))


def _typed_fragments(kind: type, values: np.ndarray) -> Fragments | None:
    """Fragments of object values all of exactly one Python type; None: no kernel fits."""
    if kind is str:
        return _string_fragments(pd.Series(values, dtype=object))
    if kind is float:
        return Fragments(_float_fragments(pd.Series(values.astype(np.float64))))
    if kind is bool:
        return Fragments(_bool_fragments(pd.Series(values.astype(bool))))
    if kind is int:
        try:
            return Fragments(_int_fragments(pd.Series(values.astype(np.int64))))
        except OverflowError:  # past 64 bits: the value encoder keeps every digit
            return None
    if kind is type(None):
        return Fragments(_text(np.full(len(values), NULL, dtype=object)))
    if kind is dt.datetime and all(value.tzinfo is None for value in values):
        # (pandas converts datetime objects ~10x faster than numpy's astype)
        typed = pd.Series(values, dtype=object).astype("datetime64[us]")
        return Fragments(_datetime_fragments(typed))
    return None


def _object_fragments(series: pd.Series) -> Fragments:
    """An object column (a workbook's cells): the values of each Python type take
    that type's kernel together; other types go through the value encoder."""
    values = series.to_numpy(dtype=object)
    # (np.array over a list of classes is ~30x slower, and == against a class
    # can broadcast oddly: classes are factorized into codes instead)
    kinds = np.fromiter(map(type, values), dtype=object, count=len(values))
    codes, distinct = pd.factorize(kinds)
    if len(distinct) <= 1:
        typed = _typed_fragments(distinct[0], values) if len(distinct) else None
        return typed if typed is not None else Fragments(_generic_fragments(series))
    positions, parts = [], []
    for code, kind in enumerate(distinct):
        where = np.flatnonzero(codes == code)
        subset = values[where]
        typed = _typed_fragments(kind, subset)
        positions.append(where)
        parts.append(
            typed.quoted()
            if typed is not None
            else _generic_fragments(pd.Series(subset, dtype=object))
        )
    order = np.concatenate(positions)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return Fragments(pa.concat_arrays(parts).take(pa.array(back)))


def _column_fragments(series: pd.Series) -> Fragments:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = _column_fragments(pd.Series(dtype.categories)).quoted()
        codes = series.cat.codes.to_numpy()
        return Fragments(categories.take(pa.array(codes, mask=codes < 0)).fill_null(_lit(NULL)))
    if pd.api.types.is_bool_dtype(dtype):
        return Fragments(_bool_fragments(series))
    if pd.api.types.is_integer_dtype(dtype):
        return Fragments(_int_fragments(series))
    if pd.api.types.is_float_dtype(dtype):
        return Fragments(_float_fragments(series))
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return Fragments(_datetime_fragments(series))
    if pd.api.types.is_string_dtype(dtype) and (
        not isinstance(dtype, np.dtype)
        or pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    ):
        fragments = _string_fragments(series)
        if fragments is not None:
            return fragments
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return _object_fragments(series)
    return Fragments(_generic_fragments(series))


def _join(parts: list[pa.Array | pa.Scalar]) -> pa.Array:
    """Concatenate text arrays and literals row-wise.

    Joined as binary (the inputs are valid UTF-8, so the result is), which
    skips Arrow's UTF-8 checks and runs several times faster; the result is
    viewed back as text without a copy.
    """
    as_bytes = [part.cast(_BYTES) for part in parts]
    joined = pc.binary_join_element_wise(*as_bytes, pa.scalar(b"", type=_BYTES))
    return joined.view(_TEXT)


def _encode_batch(frame: pd.DataFrame, prefixes: list[str]) -> pa.Array:
    if not prefixes:
        return _text(["{}"] * len(frame))
    literals = [*prefixes, "}"]
    values: list[pa.Array] = []
    for position in range(len(prefixes)):
        fragments = _column_fragments(frame.iloc[:, position])
        if fragments.bare:  # quote the text with the literals around it
            literals[position] += '"'
            literals[position + 1] = '"' + literals[position + 1]
        values.append(fragments.values)
    parts: list[pa.Array | pa.Scalar] = []
    for literal, value in zip(literals, values, strict=False):
        parts += [_lit(literal), value]
    parts.append(_lit(literals[-1]))
    return _join(parts)


def encode_rows(frame: pd.DataFrame) -> pd.Series:
    """Return ``raw_data`` for every row of ``frame``, aligned with its index.

    >>> frame = pd.DataFrame({"计划代码": ["P1", None], "当期收益率": [0.1, float("nan")]})
    >>> encode_rows(frame).tolist()
    ['{"计划代码":"P1","当期收益率":0.1}', '{"计划代码":null,"当期收益率":null}']
    """
    keys = json_keys(frame.columns)
    prefixes = [("{" if i == 0 else ",") + encode_string(k) + ":" for i, k in enumerate(keys)]
    starts = range(0, len(frame), BATCH_ROWS)
    batches = [frame.iloc[start : start + BATCH_ROWS] for start in starts]
    if len(batches) > 1:
        with ThreadPoolExecutor(max_workers=min(len(batches), os.cpu_count() or 1)) as pool:
            encoded = list(pool.map(lambda batch: _encode_batch(batch, prefixes), batches))
    else:
        encoded = [_encode_batch(batch, prefixes) for batch in batches]
    chunked = pa.chunked_array(encoded, type=_TEXT)
    return pd.Series(chunked, index=frame.index, dtype="str", name="raw_data")
