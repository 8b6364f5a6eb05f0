"""Hypothesis strategies shared by the test suite: nasty source data.

Text covers every Unicode category but lone surrogates (and NUL, which no
source reader yields), plus the characters that break CSV and JSON writers:
``\\r``, ``\\n``, quotes, commas, tabs, U+2028 and Chinese.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

SPECIAL_TEXT = [
    "",
    " ",
    "\r",
    "\n",
    "\r\n",
    '"',
    '""',
    ",",
    "\t",
    "\u2028",
    "\u2029",
    "中文",
    "小计",
    "合计",
    "0012",
    "NaN",
    "null",
    "None",
    "\\",
    "\\u0000",
    "=1+1",
]

nasty_text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        max_size=30,
    ),
    st.lists(st.sampled_from([*SPECIAL_TEXT, "a", "中", "1"]), max_size=8).map("".join),
)

column_names = st.one_of(
    st.sampled_from(
        [
            "月度",
            "计划代码",
            "客户名称",
            "期初资产规模",
            "期末资产规模",
            "投资收益",
            "当期收益率",
            "业务类型",
            "a",
            "b,c",
            'q"uote',
            "line\nbreak",
            "",
        ]
    ),
    nasty_text,
)

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.1 + 0.2, -0.0, 1.0, 1e20, 5e-324, 1.7976931348623157e308]),
)
#: Amounts as the pipeline holds them: finite float64s, money-like and extreme.
amounts = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([12345678901234.56, 3107.90, 0.1 + 0.2, -0.0, 1e16, 5e-324]),
    st.decimals(min_value=-(10**13), max_value=10**13, places=2).map(float),
)
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)
aware_zones = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Europe/Amsterdam"])
datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))


@st.composite
def typed_column(draw: st.DrawFn, size: int) -> pd.Series:
    """One column of ``size`` rows in one of the dtypes a reader produces."""
    kind = draw(
        st.sampled_from(
            [
                "float",
                "int",
                "nullable_int",
                "str",
                "datetime",
                "aware_datetime",
                "bool",
                "object_str",
            ]
        )
    )
    missing = st.none()
    if kind == "float":
        return pd.Series(draw(st.lists(floats, min_size=size, max_size=size)), dtype="float64")
    if kind == "int":
        return pd.Series(draw(st.lists(int64s, min_size=size, max_size=size)), dtype="int64")
    if kind == "nullable_int":
        values = draw(st.lists(st.one_of(int64s, missing), min_size=size, max_size=size))
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind in ("str", "object_str"):
        values = draw(st.lists(st.one_of(nasty_text, missing), min_size=size, max_size=size))
        return pd.Series(values, dtype="str" if kind == "str" else object)
    if kind == "datetime":
        values = draw(st.lists(st.one_of(datetimes, missing), min_size=size, max_size=size))
        return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
    if kind == "aware_datetime":
        zone = draw(aware_zones)
        values = draw(st.lists(st.one_of(datetimes, missing), min_size=size, max_size=size))
        naive = pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
        return naive.dt.tz_localize("UTC").dt.tz_convert(zone)
    values = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    return pd.Series(values, dtype=bool)


@st.composite
def source_frames(draw: st.DrawFn, max_rows: int = 12, max_columns: int = 6) -> pd.DataFrame:
    """A frame as a reader gives it: unique column names, a RangeIndex."""
    rows = draw(st.integers(min_value=1, max_value=max_rows))
    names = draw(st.lists(column_names, min_size=1, max_size=max_columns, unique=True))
    return pd.DataFrame({name: draw(typed_column(rows)) for name in names})


def expected_json_value(value: Any) -> Any:
    """What a value reads back as from raw_data, by the documented type mapping.

    Written independently of the encoder, from Python's own formatting.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat(timespec="microseconds")
    return value


def read_back_value(value: Any) -> Any:
    """Normalise a value from ``expand_raw_data`` for comparison."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# -- hostile values: anything a pandas object column can hold ---------------

any_text = st.text(max_size=40)  # every code point, lone surrogates included
huge_ints = st.integers(min_value=-(2**200), max_value=2**200)
scalars = st.one_of(
    st.none(),
    any_text,
    nasty_text,
    huge_ints,
    st.floats(),  # NaN, inf, -0.0 included
    st.booleans(),
    st.binary(max_size=20),
    datetimes,
    datetimes.map(lambda d: pd.Timestamp(d).tz_localize("Asia/Shanghai")),
    st.decimals(allow_nan=False, allow_infinity=True, places=4),
)
hostile_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
    ),
    max_leaves=6,
)
hostile_names = st.one_of(
    any_text,
    st.integers(min_value=-5, max_value=5),
    st.tuples(st.text(max_size=3), st.integers(0, 3)),
    st.sampled_from(["", "中文", "计划代码", "a\nb", 'q"uote']),
)


@st.composite
def hostile_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Object columns of hostile values under odd column names (may collide)."""
    rows = draw(st.integers(min_value=1, max_value=5))
    names = draw(st.lists(hostile_names, min_size=1, max_size=4, unique_by=repr))
    columns = {
        position: pd.Series(
            draw(st.lists(hostile_values, min_size=rows, max_size=rows)), dtype=object
        )
        for position in range(len(names))
    }
    frame = pd.DataFrame(columns)
    frame.columns = pd.Index(names, dtype=object, tupleize_cols=False)
    return frame


def expected_hostile_json(value: Any) -> Any:
    """The JSON value a hostile value reads back as (the documented mapping)."""
    import base64
    import decimal

    if isinstance(value, decimal.Decimal):
        if value.is_infinite():
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)  # JSON numbers read back as floats
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple):
        return [expected_hostile_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): expected_hostile_json(v) for k, v in value.items()}
    return expected_json_value(value)


# -- cells as the source readers give them ----------------------------------

#: What ``read_source`` gives for a workbook cell: text, numbers, dates, booleans, empty.
excel_cells = st.one_of(
    st.none(),
    nasty_text,
    int64s.filter(lambda n: abs(n) < 2**53),  # Excel stores doubles
    st.floats(allow_nan=False, allow_infinity=False),
    datetimes,
    st.booleans(),
)


@st.composite
def read_frames(draw: st.DrawFn, max_rows: int = 8) -> pd.DataFrame:
    """A frame as ``read_source`` gives it: CSV (all text) or a workbook (object cells)."""
    rows = draw(st.integers(min_value=1, max_value=max_rows))
    names = draw(st.lists(column_names, min_size=1, max_size=5, unique=True))
    if draw(st.booleans()):  # a CSV: text, "" where empty
        return pd.DataFrame(
            {name: draw(st.lists(nasty_text, min_size=rows, max_size=rows)) for name in names},
            dtype="str",
        )
    return pd.DataFrame(
        {name: draw(st.lists(excel_cells, min_size=rows, max_size=rows)) for name in names},
        dtype=object,
    )


#: Annuity cells as CSVs and workbooks hold them, good and bad.
month_cells = st.one_of(
    st.sampled_from(["202403", "2024-03", "2024年3月", "2024/3/15", "2024-13", "", " x "]),
    st.sampled_from([202403, 202403.0, None]),
    st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 12, 31)),
)
plan_cells = st.sampled_from(["P0012", " P0013 ", "P0099", "0012", 12, "", None, "合计"])
name_cells = st.sampled_from(
    ["上海浦江制造有限公司", "\u3000上海浦江制造有限公司 ", "未知公司", "小计", "", None, 7]
)
amount_cells = st.one_of(
    st.sampled_from(["1,234.5", "0012", "-1", "abc", "", None, "1e3", "Infinity"]),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.integers(min_value=-(10**6), max_value=10**6),
)
