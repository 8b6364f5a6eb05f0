"""Rules the domains share: months, dates, amounts, subtotals, names.

All vectorised over a column; each returns a Series aligned with its input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "SUBTOTAL_MARKERS",
    "invalid_amounts",
    "is_subtotal",
    "normalise_name",
    "parse_date",
    "parse_month",
    "to_amount",
]

SUBTOTAL_MARKERS: Final = ("合计", "小计", "总计")
#: pandas' names for columns of numbers only (number cells of a workbook)
_NUMBERS: Final = ("floating", "integer", "mixed-integer-float", "empty")

# year and month from: 202401, 202401.0 (a number cell), 2024-01, 2024年1月,
# or a date (2024-01-15, 2024/1/15, or a timestamp cell such as 2024-01-15 00:00:00)
_MONTH = (
    r"^(?:(?P<y1>\d{4})(?P<m1>\d{2})(?:\.0+)?"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})"
    r"|(?P<y3>\d{4})年(?P<m3>\d{1,2})月"
    r"|(?P<y4>\d{4})[-/](?P<m4>\d{1,2})[-/](?P<d4>\d{1,2})(?:[ T][\d:.]*)?)$"
)


# a day from: 2024-03-15, 2024/3/15 (with a time: a date cell), 20240315 (also a
# number cell, 20240315.0), 2024年3月15日
_DATE = (
    r"^(?:(?P<y1>\d{4})[-/](?P<m1>\d{1,2})[-/](?P<d1>\d{1,2})(?:[ T][\d:.]*)?"
    r"|(?P<y2>\d{4})(?P<m2>\d{2})(?P<d2>\d{2})(?:\.0+)?"
    r"|(?P<y3>\d{4})年(?P<m3>\d{1,2})月(?P<d3>\d{1,2})日)$"
)


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, texts): each distinct value's trimmed text once, and which one each value
    has (-1: missing). A workbook's cells are Python objects, and their text is worth
    making once per distinct value only; values of different types stay apart (for
    hashing, ``True == 1``)."""
    if values.dtype != object:  # (trimmed after: a distinct value's text is made once)
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        return codes, _text(pd.Series(distinct))
    cells = values.to_numpy(dtype=object)
    kinds, types = pd.factorize(np.fromiter(map(type, cells), dtype=object, count=len(cells)))
    codes = np.full(len(cells), -1, dtype=np.int64)
    parts, offset = [], 0
    for code in range(len(types)):
        where = np.flatnonzero(kinds == code)
        found, of_type = pd.factorize(cells[where], use_na_sentinel=True)
        codes[where] = np.where(found >= 0, found + offset, -1)
        parts.append(pd.Series(of_type, dtype=object))
        offset += len(of_type)
    texts = _text(pd.concat(parts, ignore_index=True)) if parts else pd.Series(dtype="string")
    return codes, texts


def _spread(codes: np.ndarray, results: pd.Series, missing: object, like: pd.Series) -> pd.Series:
    """``results`` (one per distinct value) back onto every value; ``missing`` for -1."""
    taken = np.append(results.to_numpy(dtype=object), np.array([missing], dtype=object))
    return pd.Series(taken[codes], index=like.index, name=like.name)  # -1 takes the last


def _by_distinct(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``parse`` over each distinct text once (a month column holds a handful), spread back."""
    codes, texts = _distinct(values)
    parsed = parse(texts).to_numpy(dtype="datetime64[us]")
    taken = np.append(parsed, np.datetime64("NaT", "us"))  # (no Timestamp objects made)
    return pd.Series(taken[codes], index=values.index, name=values.name)  # -1 takes NaT


def _days(parts: pd.DataFrame, groups: int, day: pd.Series | None = None) -> pd.Series:
    year = parts["y1"]
    month = parts["m1"]
    for n in range(2, groups + 1):
        year, month = year.fillna(parts[f"y{n}"]), month.fillna(parts[f"m{n}"])
    day = pd.Series("1", index=parts.index, dtype="string") if day is None else day
    stamp = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    dates = pd.to_datetime(stamp, format="%Y-%m-%d", errors="coerce")
    plausible = (dates.dt.year >= 1900) & (dates.dt.year <= 2100)
    return dates.where(plausible)


def _months(texts: pd.Series) -> pd.Series:
    parts = texts.str.extract(_MONTH).astype("string")
    dates = _days(parts, 4, parts["d4"].fillna("1"))
    starts: pd.Series = dates.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]")
    return starts


def _dates(texts: pd.Series) -> pd.Series:
    parts = texts.str.extract(_DATE).astype("string")
    day = parts["d1"].fillna(parts["d2"]).fillna(parts["d3"])
    return _days(parts, 3, day).astype("datetime64[us]")


def parse_month(values: pd.Series) -> pd.Series:
    """Return the first day of each value's month, NaT where it is not a month.

    >>> parse_month(pd.Series(["202401", "2024-02", "2024年3月", "2024/4/15", "2024-13", "x"]))
    0   2024-01-01
    1   2024-02-01
    2   2024-03-01
    3   2024-04-01
    4          NaT
    5          NaT
    dtype: datetime64[us]
    """
    return _by_distinct(values, _months)


def parse_date(values: pd.Series) -> pd.Series:
    """Return each value's day, NaT where it is not a date (or not a real day).

    >>> parse_date(pd.Series(["2024-03-15", "2024/3/1", "20240229", "2024年3月5日",
    ...                       "2024-02-30", "", None])).dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-15', '2024-03-01', '2024-02-29', '2024-03-05', nan, nan, nan]
    """
    return _by_distinct(values, _dates)


def to_amount(values: pd.Series) -> pd.Series:
    """Return amounts as finite floats; thousands separators allowed; empty, not a
    number or not finite (``inf``, ``1e309``) -> NaN.

    >>> to_amount(pd.Series(["1,234.5", "", None, "abc", 7, "inf", "-1e309"])).tolist()
    [1234.5, nan, nan, nan, 7.0, nan, nan]
    """
    return _amounts(values)[1]


def _amounts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(present, ``to_amount``): whether each value is there, and its amount; the text
    of a column of text made once for both."""
    if pd.api.types.infer_dtype(values, skipna=True) in _NUMBERS:  # number cells
        present = values.notna()
        numbers = values.astype("float64")
    else:
        text = _text(values)
        present = text.fillna("") != ""
        text = text.str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text.mask(text == ""), errors="coerce").astype("float64")
    finite: pd.Series = numbers.where(np.isfinite(numbers))
    return present, finite


def invalid_amounts(values: pd.Series) -> pd.Series:
    """True where a value is present but not a finite number.

    >>> invalid_amounts(pd.Series(["1.5", "", "Infinity", "1e309", "x", None])).tolist()
    [False, False, True, True, True, False]
    """
    present, amounts = _amounts(values)
    return present & amounts.isna()


def is_subtotal(*columns: pd.Series) -> pd.Series:
    """True where any of the columns holds a subtotal marker (合计, 小计, 总计)."""
    pattern = "|".join(SUBTOTAL_MARKERS)
    hits = []
    for column in columns:
        codes, texts = _distinct(column)
        found = texts.str.contains(pattern, regex=True).fillna(False).astype(bool)
        hits.append(_spread(codes, found, False, column).astype(bool))
    return pd.concat(hits, axis=1).any(axis=1).astype(bool)


def normalise_name(values: pd.Series) -> pd.Series:
    """Trim and fold full-width characters to half-width (NFKC), for matching names.

    >>> normalise_name(pd.Series(["  上海浦江（集团）有限公司 ", "ＡＢＣ"])).tolist()
    ['上海浦江(集团)有限公司', 'ABC']
    """
    codes, texts = _distinct(values)
    folded = texts.str.normalize("NFKC").str.strip()
    return _spread(codes, folded, pd.NA, values).astype("string")
