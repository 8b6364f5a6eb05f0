import pandas as pd
import pytest
from hypothesis import assume, given

from tests.strategies import read_back_value, source_frames
from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation import expand_raw_data
from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation._raw_decode import (
    _arrow_columns,
    _exact_columns,
    raw_objects,
    source_rows,
)


def _texts(raw_data):
    import pyarrow as pa

    return pa.array(raw_data, type=pa.large_string())


def test_keeps_mixed_huge_nested_and_surrogate_values_exact():
    frame = pd.DataFrame(
        {
            "raw_data": [
                '{"a":1,"b":18446744073709551616,"c":[1,{"x":2}]}',
                '{"a":"x","b":null,"c":null}',
                '{"d":"\\ud800"}',
            ]
        },
        index=[10, 11, 12],
    )
    expanded = expand_raw_data(frame)
    assert expanded.loc[10, "b"] == 2**64
    assert expanded["a"].tolist()[:2] == [1, "x"]
    assert expanded.loc[10, "c"] == [1, {"x": 2}]
    assert expanded.loc[12, "d"] == "\ud800"
    assert expanded.index.tolist() == [10, 11, 12]


def test_ordinary_rows_take_the_arrow_path():
    """The fast path must actually run, or the equality property below is vacuous."""
    frame = pd.DataFrame(
        {
            "计划代码": ["P1", None],
            "规模": [1.5, None],
            "户数": [3, 4],
            "月度": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )
    fast = _arrow_columns(_texts(encode_rows(frame).tolist()))
    assert fast is not None
    assert list(fast) == ["计划代码", "规模", "户数", "月度"]


def test_long_integers_next_to_floats_are_not_widened():
    frame = pd.DataFrame({"raw_data": ['{"n":9007199254740993}', '{"n":0.5}']})
    assert expand_raw_data(frame)["n"].tolist() == [9007199254740993, 0.5]


def test_date_like_text_stays_text():
    frame = pd.DataFrame({"raw_data": ['{"d":"2024-01-31","t":"2024-01-31T00:00:00.000000"}']})
    expanded = expand_raw_data(frame)
    assert expanded.loc[0, "d"] == "2024-01-31"
    assert expanded.loc[0, "t"] == "2024-01-31T00:00:00.000000"


def test_needs_raw_data_and_objects():
    with pytest.raises(FailureLogFormatError, match="raw_data column"):
        expand_raw_data(pd.DataFrame({"x": [1]}))
    with pytest.raises(FailureLogFormatError, match="must hold a JSON object, found a list"):
        expand_raw_data(pd.DataFrame({"raw_data": ["[1]"]}))
    with pytest.raises(FailureLogFormatError, match="raw_data of the row labelled 1 is not valid"):
        expand_raw_data(pd.DataFrame({"raw_data": ['{"a":1}', ""]}))
    # a log's rows are named as an operator finds them: source file and row, in every command
    log = pd.DataFrame(
        {"source_file": ["a.csv", "b.csv"], "row_index": [4, 2], "raw_data": ['{"a":1}', "{"]},
        index=[10, 11],
    )
    with pytest.raises(FailureLogFormatError, match=r"raw_data of b\.csv row 2 is not valid JSON"):
        expand_raw_data(log)
    with pytest.raises(FailureLogFormatError, match=r"raw_data of b\.csv row 2 is not valid JSON"):
        source_rows(log.iloc[[1]])
    assert expand_raw_data(pd.DataFrame({"raw_data": pd.Series([], dtype=str)})).empty


@given(source_frames())
def test_fast_path_reads_exactly_what_the_exact_path_reads(frame):
    texts = _texts(encode_rows(frame).tolist())
    fast = _arrow_columns(texts)
    exact = _exact_columns(texts)
    # about a fifth of these frames fall back; a fast path that always declined
    # would fail hypothesis' filter health check instead of passing silently
    assume(fast is not None)
    assert list(fast) == list(exact)
    for name in fast:
        assert [read_back_value(v) for v in fast[name]] == [
            read_back_value(v) for v in exact[name]
        ], name


@pytest.mark.parametrize("depth", [100, 1_000, 200_000])
def test_raw_data_nested_past_the_bound_is_refused_before_any_parser_recurses(depth):
    deep = '{"a":' + "[" * depth + "]" * depth + ',"s":"[[[{{{"}'
    frame = pd.DataFrame({"raw_data": ['{"a":1}', deep]}, index=[5, 9])
    for reader in (expand_raw_data, source_rows, raw_objects):
        with pytest.raises(FailureLogFormatError, match=f"labelled 9 nests {depth + 1} levels"):
            reader(frame)


def test_brackets_inside_strings_are_not_nesting():
    text = '{"a":"' + "[" * 500 + '","b":[[1]]}'
    assert raw_objects(pd.DataFrame({"raw_data": [text]})) == [{"a": "[" * 500, "b": [[1]]}]
