"""``source_rows``: raw_data back into the rows a source reader gave."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given

from tests.strategies import read_frames
from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation._raw_decode import source_rows


def _logged(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"raw_data": encode_rows(frame)}, index=frame.index)


@given(read_frames())
def test_replayed_rows_encode_to_the_same_raw_data(frame):
    replayed = source_rows(_logged(frame))
    assert encode_rows(replayed).tolist() == encode_rows(frame).tolist()


@given(read_frames())
def test_values_keep_their_json_type(frame):
    replayed = source_rows(_logged(frame))
    assert replayed.columns.tolist() == [str(c) for c in frame.columns]
    for column, original in zip(replayed.columns, frame.columns, strict=True):
        for got, sent in zip(replayed[column], frame[original], strict=True):
            if isinstance(sent, dt.datetime):
                assert got == sent.isoformat(timespec="microseconds")  # dates are ISO text
            elif sent is None:
                assert got is None
            else:
                assert got == sent
                assert type(got) is type(sent), (got, sent)


def test_text_that_looks_like_a_number_stays_text():
    frame = pd.DataFrame({"计划代码": ["0012"], "月度": [202403], "收益": [1.50]}, dtype=object)
    replayed = source_rows(_logged(frame))
    assert replayed.iloc[0].tolist() == ["0012", 202403, 1.5]
    assert [type(v) for v in replayed.iloc[0]] == [str, int, float]


def test_keeps_the_row_labels_and_fills_absent_keys_with_none():
    logged = pd.DataFrame({"raw_data": ['{"a":1}', '{"b":"x"}']}, index=[7, 3])
    replayed = source_rows(logged)
    assert replayed.index.tolist() == [7, 3]
    assert replayed.to_dict("records") == [{"a": 1, "b": None}, {"a": None, "b": "x"}]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": [1]}), "raw_data column"),
        (pd.DataFrame({"raw_data": ["[1, 2]"]}), "must hold a JSON object"),
        (pd.DataFrame({"raw_data": ["{oops"]}), "not valid JSON"),
    ],
)
def test_refuses_what_is_not_a_log(frame, message):
    with pytest.raises(FailureLogFormatError, match=message):
        source_rows(frame)
