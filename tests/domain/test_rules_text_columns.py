"""The shared rules read a column of text (a CSV's) as they read the same values as
workbook cells (objects): the text path works per distinct value, trimmed after."""

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import nasty_text
from work_data_hub.domain.rules import (
    invalid_amounts,
    is_subtotal,
    normalise_name,
    parse_date,
    parse_month,
    to_amount,
)

RULES = (parse_month, parse_date, normalise_name, is_subtotal, to_amount, invalid_amounts)
texts = st.sampled_from(
    ["202403", " 202403 ", "2024-03", "2024年3月", "2024/3/15 ", "20240315", "2024-02-30", "小计",
     " 合计 ", "ＡＢＣ", "\u3000上海 ", "1,234.5", " -1 ", "inf", "", " "]
)  # fmt: skip
columns = st.lists(st.one_of(st.none(), texts, nasty_text), min_size=1, max_size=12)


@given(columns)
def test_a_text_column_reads_as_the_same_values_as_cells(values):
    index = pd.RangeIndex(3, 3 + len(values))
    as_text = pd.Series(values, dtype="str", index=index, name="c")
    as_cells = pd.Series(values, dtype=object, index=index, name="c")
    for rule in RULES:
        pd.testing.assert_series_equal(
            rule(as_text),
            rule(as_cells),
            obj=rule.__name__,
            check_dtype=rule is not invalid_amounts,  # (all empty: bool or boolean)
        )


def test_padded_copies_of_a_value_parse_alike():
    months = parse_month(pd.Series(["202403", " 202403", "202403 ", None], dtype="str"))
    assert months.tolist()[:3] == [pd.Timestamp("2024-03-01")] * 3
    assert months.isna().tolist() == [False, False, False, True]
    assert str(months.dtype) == "datetime64[us]"
