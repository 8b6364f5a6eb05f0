"""Which rows each kind of pandera and pydantic failure rejects."""

import pandas as pd
import pandera.pandas as pa
import pydantic
import pytest

from work_data_hub.infrastructure.validation._failing_labels import (
    pandera_failing_labels,
    pydantic_failing_labels,
)


def _lazy_error(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pa.errors.SchemaErrors:
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(frame, lazy=True)
    return info.value


def _eager_error(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pa.errors.SchemaError:
    with pytest.raises(pa.errors.SchemaError) as info:
        schema.validate(frame, lazy=False)
    return info.value


FRAME = pd.DataFrame(
    {"amount": ["1", "abc", "-3", "5", "x"], "kind": ["a", "b", "z", "a", "a"]},
    index=[10, 11, 12, 13, 14],
)


def test_one_label_per_row_however_many_checks_fail():
    schema = pa.DataFrameSchema(
        {
            "amount": pa.Column(int, [pa.Check.ge(0), pa.Check.le(100)], coerce=True),
            "kind": pa.Column(str, pa.Check.isin(["a", "b"])),
        }
    )
    error = _lazy_error(schema, FRAME)
    # pandera reports 'abc' twice (coercion + dtype); the result lists it once
    assert error.failure_cases["index"].tolist().count(11) >= 2
    assert pandera_failing_labels(error).tolist() == [11, 12, 14]


def test_coercion_trap_rows_that_did_coerce_are_still_checked():
    """'-3' under ge(0) next to an uncoercible 'abc' must not be missed."""
    schema = pa.DataFrameSchema({"amount": pa.Column(int, pa.Check.ge(0), coerce=True)})
    error = _lazy_error(schema, FRAME[["amount"]])
    blinded = error.failure_cases[error.failure_cases["index"].isna()]
    assert blinded["failure_case"].str.startswith("TypeError").all()  # the trap is real
    assert pandera_failing_labels(error).tolist() == [11, 12, 14]


def test_coercion_trap_in_a_wide_check():
    schema = pa.DataFrameSchema(
        {"amount": pa.Column(int, coerce=True)},
        checks=[pa.Check(lambda df: df["amount"] >= 0, name="non_negative")],
    )
    error = _lazy_error(schema, FRAME[["amount"]])
    assert pandera_failing_labels(error).tolist() == [11, 12, 14]


def test_wide_element_wise_check_reports_each_row_once():
    frame = pd.DataFrame({"a": [1, -1, -2], "b": [1, -1, 5]})
    schema = pa.DataFrameSchema(
        {"a": pa.Column(int), "b": pa.Column(int)}, checks=[pa.Check(lambda df: df > 0)]
    )
    error = _lazy_error(schema, frame)
    assert pandera_failing_labels(error).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("schema", "frame"),
    [
        pytest.param(pa.DataFrameSchema({"missing": pa.Column(str)}), FRAME, id="missing_column"),
        pytest.param(
            pa.DataFrameSchema({"amount": pa.Column(str)}, strict=True), FRAME, id="strict_extra"
        ),
        pytest.param(
            pa.DataFrameSchema({"amount": pa.Column(str)}, checks=[pa.Check(lambda d: len(d) > 9)]),
            FRAME[["amount"]],
            id="frame_scalar_check",
        ),
        pytest.param(
            pa.DataFrameSchema({"n": pa.Column(int, pa.Check(lambda s: s.sum() > 100))}),
            pd.DataFrame({"n": [1, 2]}, index=[5, 9]),
            id="column_scalar_check",
        ),
        pytest.param(
            pa.DataFrameSchema({"d": pa.Column("datetime64[ns]")}),
            pd.DataFrame({"d": [1, 2]}, index=[5, 9]),
            id="dtype_mismatch_without_coercion",
        ),
    ],
)
def test_failures_naming_no_row_fail_every_row_once(schema, frame):
    error = _lazy_error(schema, frame)
    assert pandera_failing_labels(error).tolist() == sorted(frame.index)


def test_unlocated_failure_next_to_located_ones_still_fails_every_row():
    schema = pa.DataFrameSchema({"amount": pa.Column(int, coerce=True), "missing": pa.Column(str)})
    error = _lazy_error(schema, FRAME)
    assert pandera_failing_labels(error).tolist() == FRAME.index.tolist()


def test_a_check_that_cannot_run_at_all_fails_every_row():
    schema = pa.DataFrameSchema({"kind": pa.Column(str, pa.Check(lambda s: s > 0))})
    error = _lazy_error(schema, FRAME)
    assert pandera_failing_labels(error).tolist() == FRAME.index.tolist()


def test_index_checks_name_their_rows():
    schema = pa.DataFrameSchema({"kind": pa.Column(str)}, index=pa.Index(int, pa.Check.le(12)))
    assert pandera_failing_labels(_lazy_error(schema, FRAME)).tolist() == [13, 14]


def test_eager_schema_error_with_rows():
    schema = pa.DataFrameSchema({"kind": pa.Column(str, pa.Check.isin(["a"]))})
    error = _eager_error(schema, FRAME)
    assert pandera_failing_labels(error).tolist() == [11, 12]


def test_eager_schema_error_without_rows_fails_every_row():
    error = _eager_error(pa.DataFrameSchema({"missing": pa.Column(str)}), FRAME)
    assert pandera_failing_labels(error).tolist() == FRAME.index.tolist()


class Row(pydantic.BaseModel):
    amount: float
    kind: str


def test_pydantic_list_error_positions_map_to_labels():
    raw = pd.DataFrame(
        {"amount": ["1.5", "abc", "2", "x"], "kind": ["a", "b", None, "c"]}, index=[4, 5, 6, 7]
    )
    with pytest.raises(pydantic.ValidationError) as info:
        pydantic.TypeAdapter(list[Row]).validate_python(raw.to_dict("records"))
    assert pydantic_failing_labels(info.value, raw).tolist() == [5, 6, 7]


def test_pydantic_error_of_the_whole_list_fails_every_row():
    raw = pd.DataFrame({"amount": [1.0]}, index=[3])
    with pytest.raises(pydantic.ValidationError) as info:
        pydantic.TypeAdapter(list[Row]).validate_python("not a list")
    assert pydantic_failing_labels(info.value, raw).tolist() == [3]


def test_pydantic_mapping_of_row_errors():
    errors = {}
    for label, row in {9: {"amount": "x", "kind": "a"}, 2: {"amount": 1}}.items():
        with pytest.raises(pydantic.ValidationError) as info:
            Row.model_validate(row)
        errors[label] = info.value
    assert pydantic_failing_labels(errors, pd.DataFrame()).tolist() == [2, 9]
