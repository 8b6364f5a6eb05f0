import json
from datetime import UTC, datetime

import pandas as pd
import pandera.pandas as pa
import pydantic
import pytest

from tests.helpers import SESSION
from work_data_hub.errors import FailedFrameError, InvalidSessionIdError, RawDataEncodingError
from work_data_hub.infrastructure.validation import (
    FAILURE_LOG_SCHEMA,
    FIELDNAMES,
    dropped_rows,
    to_failed_frame,
)
from work_data_hub.infrastructure.validation.schema import FAILURE_LOG_DTYPES

CONTEXT = {"session_id": SESSION, "domain": "annuity_performance", "source_file": "2024-03.xlsx"}

RAW = pd.DataFrame(
    {
        "月度": ["202401", "2024-02", "bad", "202404"],
        "计划代码": ["P0012", "P0013", "P0014", "合计"],
        "期末资产规模": ["100.5", "-3", "abc", "7"],
    }
)
SCHEMA = pa.DataFrameSchema(
    {
        "月度": pa.Column(str, pa.Check.str_matches(r"^\d{4}-?\d{2}$")),
        "期末资产规模": pa.Column(float, pa.Check.ge(0), coerce=True),
    }
)


def _schema_errors(frame: pd.DataFrame = RAW) -> pa.errors.SchemaErrors:
    with pytest.raises(pa.errors.SchemaErrors) as info:
        SCHEMA.validate(frame, lazy=True)
    return info.value


def test_frame_has_the_seven_columns_and_canonical_dtypes():
    frame = to_failed_frame(_schema_errors(), raw=RAW, **CONTEXT)
    assert tuple(frame.columns) == FIELDNAMES
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype)
        for c, t in FAILURE_LOG_DTYPES.items()  # type: ignore[call-overload]
    }
    FAILURE_LOG_SCHEMA.validate(frame)


def test_schema_errors_give_one_record_per_failing_row_from_raw():
    frame = to_failed_frame(_schema_errors(), raw=RAW, **CONTEXT)
    assert frame["row_index"].tolist() == [1, 2]
    assert set(frame["error_type"]) == {"VALIDATION_FAILED"}
    # raw_data is the row as read: the original text, not pandera's coerced value
    assert json.loads(frame["raw_data"].iloc[0]) == {
        "月度": "2024-02",
        "计划代码": "P0013",
        "期末资产规模": "-3",
    }


def test_raw_data_never_comes_from_coerced_data():
    raw = pd.DataFrame({"amount": ["0012", "-1"]})
    schema = pa.DataFrameSchema({"amount": pa.Column(int, pa.Check.ge(0), coerce=True)})
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(raw, lazy=True)
    frame = to_failed_frame(info.value, raw=raw, **CONTEXT)
    assert frame["raw_data"].tolist() == ['{"amount":"-1"}']


def test_without_raw_the_validated_rows_are_serialised():
    frame = to_failed_frame(_schema_errors(), **CONTEXT)
    assert frame["row_index"].tolist() == [1, 2]
    assert "计划代码" in json.loads(frame["raw_data"].iloc[0])


def test_eager_schema_error():
    schema = pa.DataFrameSchema({"计划代码": pa.Column(str, pa.Check.str_startswith("P"))})
    with pytest.raises(pa.errors.SchemaError) as info:
        schema.validate(RAW, lazy=False)
    frame = to_failed_frame(info.value, raw=RAW, **CONTEXT)
    assert frame["row_index"].tolist() == [3]


def test_rows_keep_their_source_numbers_through_filtering_transforms():
    kept = RAW[RAW["计划代码"] != "合计"]
    assert kept.index.tolist() == [0, 1, 2]
    frame = to_failed_frame(_schema_errors(kept), raw=RAW, **CONTEXT)
    assert frame["row_index"].tolist() == [1, 2]


def test_dropped_rows_need_an_error_type():
    with pytest.raises(FailedFrameError, match="explicit error_type"):
        to_failed_frame(RAW.iloc[[3]], **CONTEXT)
    frame = to_failed_frame(RAW.iloc[[3]], error_type="DROPPED_IN_PIPELINE", **CONTEXT)
    assert frame["error_type"].tolist() == ["DROPPED_IN_PIPELINE"]
    assert frame["row_index"].tolist() == [3]


@pytest.mark.parametrize("error_type", ["ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"])
def test_enriched_rows_are_logged_as_read(error_type):
    enriched = RAW.assign(company_id=[None, "C1", None, None])
    misses = enriched[enriched["company_id"].isna()]
    frame = to_failed_frame(misses, error_type=error_type, raw=RAW, **CONTEXT)
    assert frame["row_index"].tolist() == [0, 2, 3]
    assert "company_id" not in frame["raw_data"].iloc[0]


def test_pydantic_errors_need_raw():
    class Row(pydantic.BaseModel):
        期末资产规模: float

    with pytest.raises(pydantic.ValidationError) as info:
        pydantic.TypeAdapter(list[Row]).validate_python(RAW.to_dict("records"))
    with pytest.raises(FailedFrameError, match="pass raw="):
        to_failed_frame(info.value, **CONTEXT)
    frame = to_failed_frame(info.value, raw=RAW, **CONTEXT)
    assert frame["row_index"].tolist() == [2]
    per_row = {2: info.value}
    assert to_failed_frame(per_row, raw=RAW, **CONTEXT)["row_index"].tolist() == [2]


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (pd.Index(["a", "b", "c", "d"]), "integer row numbers"),
        (pd.Index([0, 1, 1, 2]), "duplicated index labels"),
        (pd.MultiIndex.from_tuples([(0, 0), (0, 1), (1, 0), (1, 1)]), "integer row numbers"),
        (pd.Index([0.0, 1.0, 2.0, 3.0]), "integer row numbers"),
        (pd.Index([-1, 0, 1, 2]), "negative"),
    ],
)
def test_bad_index_raises_a_clear_error(index, message):
    raw = RAW.set_axis(index)
    with pytest.raises(FailedFrameError, match=message):
        to_failed_frame(raw.iloc[:3], error_type="DROPPED_IN_PIPELINE", **CONTEXT)
    with pytest.raises(FailedFrameError, match=message):
        to_failed_frame(RAW.iloc[[0]], error_type="DROPPED_IN_PIPELINE", raw=raw, **CONTEXT)


def test_labels_missing_from_raw_are_an_error():
    with pytest.raises(FailedFrameError, match=r"\[9\] are not in raw"):
        to_failed_frame(
            RAW.set_axis([0, 1, 2, 9]).iloc[[3]],
            error_type="DROPPED_IN_PIPELINE",
            raw=RAW,
            **CONTEXT,
        )


def test_session_domain_and_timestamp_are_checked():
    with pytest.raises(InvalidSessionIdError):
        to_failed_frame(RAW, error_type="DROPPED_IN_PIPELINE", **{**CONTEXT, "session_id": "../x"})
    with pytest.raises(FailedFrameError, match="domain"):
        to_failed_frame(RAW, error_type="DROPPED_IN_PIPELINE", **{**CONTEXT, "domain": ""})
    with pytest.raises(FailedFrameError, match="no timezone"):
        to_failed_frame(
            RAW, error_type="DROPPED_IN_PIPELINE", timestamp=datetime(2024, 1, 1), **CONTEXT
        )
    with pytest.raises(ValueError, match="'NOPE' is not a valid ErrorType"):
        to_failed_frame(RAW, error_type="NOPE", **CONTEXT)


def test_one_timestamp_in_utc_for_the_call():
    stamp = datetime(2024, 3, 1, 17, 0, 0, 123456, tzinfo=UTC)
    frame = to_failed_frame(RAW, error_type="DROPPED_IN_PIPELINE", timestamp=stamp, **CONTEXT)
    assert frame["timestamp"].unique().tolist() == [pd.Timestamp(stamp)]
    default = to_failed_frame(RAW.iloc[:1], error_type="DROPPED_IN_PIPELINE", **CONTEXT)
    assert abs(default["timestamp"].iloc[0] - pd.Timestamp.now(tz="UTC")) < pd.Timedelta("1min")


def test_no_failures_give_an_empty_frame_with_the_columns():
    frame = to_failed_frame(RAW.iloc[[]], error_type="DROPPED_IN_PIPELINE", **CONTEXT)
    assert frame.empty
    assert tuple(frame.columns) == FIELDNAMES


def test_unsupported_failures_type():
    with pytest.raises(TypeError, match="not list"):
        to_failed_frame([1, 2], **CONTEXT)  # type: ignore[arg-type]


def test_dropped_rows_is_the_label_diff_in_source_order():
    after = RAW.drop(index=[0, 2])
    assert dropped_rows(RAW, after).index.tolist() == [0, 2]
    assert dropped_rows(RAW, RAW).empty
    with pytest.raises(FailedFrameError, match="duplicated"):
        dropped_rows(RAW.set_axis([0, 0, 1, 2]), RAW)


def test_a_value_nested_too_deep_is_an_encoding_error_not_a_recursion_error():
    nested: list = []
    for _ in range(400):
        nested = [nested]
    raw = pd.DataFrame({"a": pd.Series([nested], dtype=object)})
    with pytest.raises(RawDataEncodingError, match="deeper than 100 levels"):
        to_failed_frame(
            raw, session_id=SESSION, domain="d", source_file="f", error_type="VALIDATION_FAILED"
        )
