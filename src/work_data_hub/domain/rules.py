"""Rules the domains share: months, dates, amounts, subtotals, names.

All vectorised over a column; each returns a Series aligned with its input.
"""

from __future__ import annotations

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
    parts = _text(values).str.extract(_MONTH).astype("string")
    year = parts["y1"].fillna(parts["y2"]).fillna(parts["y3"]).fillna(parts["y4"])
    month = parts["m1"].fillna(parts["m2"]).fillna(parts["m3"]).fillna(parts["m4"])
    day = parts["d4"].fillna("1")
    stamp = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    dates = pd.to_datetime(stamp, format="%Y-%m-%d", errors="coerce")
    plausible = (dates.dt.year >= 1900) & (dates.dt.year <= 2100)
    starts = dates.where(plausible).dt.to_period("M").dt.to_timestamp()
    return pd.Series(starts, index=values.index, name=values.name, dtype="datetime64[us]")


def parse_date(values: pd.Series) -> pd.Series:
    """Return each value's day, NaT where it is not a date (or not a real day).

    >>> parse_date(pd.Series(["2024-03-15", "2024/3/1", "20240229", "2024年3月5日",
    ...                       "2024-02-30", "", None])).dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-15', '2024-03-01', '2024-02-29', '2024-03-05', nan, nan, nan]
    """
    parts = _text(values).str.extract(_DATE).astype("string")
    year = parts["y1"].fillna(parts["y2"]).fillna(parts["y3"])
    month = parts["m1"].fillna(parts["m2"]).fillna(parts["m3"])
    day = parts["d1"].fillna(parts["d2"]).fillna(parts["d3"])
    stamp = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    dates = pd.to_datetime(stamp, format="%Y-%m-%d", errors="coerce")
    plausible = (dates.dt.year >= 1900) & (dates.dt.year <= 2100)
    return pd.Series(
        dates.where(plausible), index=values.index, name=values.name, dtype="datetime64[us]"
    )


def to_amount(values: pd.Series) -> pd.Series:
    """Return amounts as finite floats; thousands separators allowed; empty, not a
    number or not finite (``inf``, ``1e309``) -> NaN.

    >>> to_amount(pd.Series(["1,234.5", "", None, "abc", 7, "inf", "-1e309"])).tolist()
    [1234.5, nan, nan, nan, 7.0, nan, nan]
    """
    text = _text(values).str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text.mask(text == ""), errors="coerce").astype("float64")
    finite: pd.Series = numbers.where(np.isfinite(numbers))
    return finite


def invalid_amounts(values: pd.Series) -> pd.Series:
    """True where a value is present but not a finite number.

    >>> invalid_amounts(pd.Series(["1.5", "", "Infinity", "1e309", "x", None])).tolist()
    [False, False, True, True, True, False]
    """
    present = _text(values).fillna("") != ""
    return present & to_amount(values).isna()


def is_subtotal(*columns: pd.Series) -> pd.Series:
    """True where any of the columns holds a subtotal marker (合计, 小计, 总计)."""
    pattern = "|".join(SUBTOTAL_MARKERS)
    hits = [_text(column).str.contains(pattern, regex=True).fillna(False) for column in columns]
    return pd.concat(hits, axis=1).any(axis=1).astype(bool)


def normalise_name(values: pd.Series) -> pd.Series:
    """Trim and fold full-width characters to half-width (NFKC), for matching names.

    >>> normalise_name(pd.Series(["  上海浦江（集团）有限公司 ", "ＡＢＣ"])).tolist()
    ['上海浦江(集团)有限公司', 'ABC']
    """
    return _text(values).str.normalize("NFKC").str.strip()
