"""``pandera_reasons``: the failing columns, checks and values of each rejected row."""

import pandas as pd
import pandera.pandas as pa
import pytest

from work_data_hub.domain.reasons import pandera_reasons
from work_data_hub.infrastructure.validation._failing_labels import pandera_failing_labels


def _error(schema, frame):
    with pytest.raises((pa.errors.SchemaErrors, pa.errors.SchemaError)) as caught:
        schema.validate(frame, lazy=True)
    return caught.value


def test_one_reason_per_failing_check_and_value_joined_per_row():
    schema = pa.DataFrameSchema(
        {
            "月度": pa.Column(checks=pa.Check.isin(["202403"], name="is_month")),
            "期初资产规模": pa.Column(float, pa.Check.ge(0, name="not_negative")),
        }
    )
    frame = pd.DataFrame({"月度": ["202403", "2024-13", "x"], "期初资产规模": [1.0, -5.0, 2.0]})
    reasons = pandera_reasons(_error(schema, frame))
    assert reasons.index.tolist() == [1, 2]
    assert reasons.loc[1, "columns"] == "月度, 期初资产规模"
    assert reasons.loc[1, "reason"] == (
        "月度 is_month fails on '2024-13'; 期初资产规模 not_negative fails on -5.0"
    )
    assert reasons.loc[2, "reason"] == "月度 is_month fails on 'x'"


def test_nulls_are_named_as_a_check():
    schema = pa.DataFrameSchema({"计划代码": pa.Column()})
    frame = pd.DataFrame({"计划代码": ["P1", None]}, dtype=object)
    reasons = pandera_reasons(_error(schema, frame))
    assert reasons.to_dict("index") == {
        1: {"columns": "计划代码", "reason": "计划代码 not_null fails on None"}
    }


def test_a_failure_naming_no_row_is_every_rows_reason_in_one_line():
    schema = pa.DataFrameSchema({"a": pa.Column(str), "b": pa.Column(str)})
    reasons = pandera_reasons(_error(schema, pd.DataFrame({"a": ["x", "y"]})))
    assert reasons.index.tolist() == [0, 1]
    assert set(reasons["columns"]) == {"(frame)"}
    assert all("column 'b' not in dataframe" in text for text in reasons["reason"])
    assert all("\n" not in text and "Traceback" not in text for text in reasons["reason"])


def test_rows_are_exactly_those_the_error_rejects():
    schema = pa.DataFrameSchema({"a": pa.Column(int, pa.Check.ge(0), coerce=True)})
    error = _error(schema, pd.DataFrame({"a": ["1", "abc", "-3"]}))
    reasons = pandera_reasons(error)
    assert reasons.index.tolist() == pandera_failing_labels(error).tolist() == [1, 2]
    assert "'abc'" in reasons.loc[1, "reason"]
    assert reasons.loc[2, "reason"] != ""


def test_long_values_are_shortened():
    schema = pa.DataFrameSchema({"a": pa.Column(checks=pa.Check.isin(["ok"], name="known"))})
    reasons = pandera_reasons(_error(schema, pd.DataFrame({"a": ["x" * 500]})))
    assert len(reasons.loc[0, "reason"]) < 100
    assert reasons.loc[0, "reason"].endswith("…")
