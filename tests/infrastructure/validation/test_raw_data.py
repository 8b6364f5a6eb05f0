import datetime as dt
import decimal
import enum
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import expected_json_value, nasty_text, read_frames, source_frames
from work_data_hub.errors import RawDataEncodingError
from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation._raw_values import (
    encode_row,
    encode_string,
    encode_value,
)


def _one(column: pd.Series) -> list[object]:
    """Encode a single-column frame and return the decoded values."""
    return [json.loads(text)["c"] for text in encode_rows(pd.DataFrame({"c": column}))]


class TestEncodeValue:
    @pytest.mark.parametrize(
        "null",
        [None, float("nan"), np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), decimal.Decimal("NaN")],
    )
    def test_missing_values_are_null(self, null):
        assert encode_value(null) == "null"

    def test_floats_keep_their_exact_value(self):
        assert encode_value(0.1 + 0.2) == "0.30000000000000004"
        assert float(encode_value(1e-310)) == 1e-310
        assert encode_value(-0.0) == "-0.0"
        assert encode_value(np.float32(0.1)) == repr(float(np.float32(0.1)))

    def test_infinities_are_strings_so_the_json_stays_valid(self):
        assert encode_value(float("inf")) == '"Infinity"'
        assert encode_value(-np.inf) == '"-Infinity"'
        assert encode_value(decimal.Decimal("-Infinity")) == '"-Infinity"'

    def test_integers_are_exact_at_any_size(self):
        assert encode_value(2**63 - 1) == "9223372036854775807"
        assert encode_value(np.uint64(2**64 - 1)) == "18446744073709551615"
        assert encode_value(-(10**30)) == "-" + "1" + "0" * 30

    def test_decimal_keeps_its_digits(self):
        assert encode_value(decimal.Decimal("1.10")) == "1.10"
        assert json.loads(encode_value(decimal.Decimal("1E+2"))) == 100

    def test_booleans(self):
        assert [encode_value(v) for v in (True, np.bool_(False))] == ["true", "false"]

    def test_datetimes_have_microseconds_and_their_offset(self):
        naive = dt.datetime(2024, 3, 1, 8, 30)
        assert encode_value(naive) == '"2024-03-01T08:30:00.000000"'
        aware = pd.Timestamp("2024-03-01 08:30:00.000001", tz="Asia/Shanghai")
        assert encode_value(aware) == '"2024-03-01T08:30:00.000001+08:00"'
        assert encode_value(pd.Timestamp("2024-01-01 00:00:00.000000001")) == (
            '"2024-01-01T00:00:00.000000001"'
        )
        assert encode_value(np.datetime64("2024-01-01T00:00:01")) == '"2024-01-01T00:00:01.000000"'

    def test_dates_times_and_durations(self):
        assert encode_value(dt.date(2024, 1, 31)) == '"2024-01-31"'
        assert encode_value(dt.time(9, 5)) == '"09:05:00.000000"'
        assert encode_value(dt.timedelta(days=1, hours=2)) == '"P1DT2H0M0S"'

    def test_text_keeps_non_ascii_and_escapes_control_characters(self):
        text = '中文\r\n"\\\t\u2028,'
        encoded = encode_value(text)
        assert "中文" in encoded
        assert "\u2028" in encoded
        assert "\r" not in encoded
        assert "\n" not in encoded
        assert json.loads(encoded) == text

    def test_lone_surrogates_are_escaped_deterministically(self):
        text = "a\ud800b\\ud800"
        assert encode_string(text) == '"a\\ud800b\\\\ud800"'
        assert json.loads(encode_string(text)) == text

    def test_other_objects(self):
        class Colour(enum.Enum):
            RED = "红"

        assert encode_value(b"\x00\xff") == '"AP8="'
        assert encode_value(Colour.RED) == '"红"'
        assert encode_value({"k": [1, (2.5, None)], 3: {"x"}}) == '{"k":[1,[2.5,null]],"3":["x"]}'
        assert encode_value({3, 1, 2}) == "[1,2,3]"
        assert encode_value(complex(1, 2)) == '"(1+2j)"'

    @pytest.mark.parametrize("depth", [100, 400, 5_000])
    def test_nesting_past_the_bound_is_refused_not_a_recursion_error(self, depth):
        nested: list = []
        for _ in range(depth):
            nested = [nested]
        with pytest.raises(RawDataEncodingError, match="deeper than 100 levels"):
            encode_row({"a": nested})
        looped: list = []
        looped.append(looped)
        with pytest.raises(RawDataEncodingError, match="contains itself"):
            encode_value(looped)

    def test_nesting_up_to_the_bound_is_kept(self):
        nested: list = []
        for _ in range(98):  # the row's object, then 99 arrays: 100 levels
            nested = [nested]
        assert encode_row({"a": nested}) == '{"a":' + "[" * 99 + "]" * 99 + "}"


class TestEncodeRows:
    def test_keys_in_source_order_as_strings(self):
        frame = pd.DataFrame([[1, 2, 3]], columns=["z", 1, ("a", 2)])
        assert encode_rows(frame).tolist() == ['{"z":1,"1":2,"(\'a\', 2)":3}']

    def test_duplicate_column_names_raise(self):
        frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
        with pytest.raises(RawDataEncodingError, match=r"duplicate column names \['a'\]"):
            encode_rows(frame)
        with pytest.raises(RawDataEncodingError, match="duplicate"):
            encode_rows(pd.DataFrame([[1, 2]], columns=[1, "1"]))

    def test_aligned_with_the_index(self):
        frame = pd.DataFrame({"a": [1, 2]}, index=[7, 3])
        assert encode_rows(frame).index.tolist() == [7, 3]

    def test_no_columns_and_no_rows(self):
        assert encode_rows(pd.DataFrame(index=[0, 1])).tolist() == ["{}", "{}"]
        assert encode_rows(pd.DataFrame({"a": []})).tolist() == []

    def test_many_batches(self, monkeypatch):
        import work_data_hub.infrastructure.validation._raw_columns as raw_data_columns

        monkeypatch.setattr(raw_data_columns, "BATCH_ROWS", 3)
        frame = pd.DataFrame({"n": range(10), "s": [f"行{i}" for i in range(10)]})
        assert encode_rows(frame).tolist() == [encode_row(r) for r in frame.to_dict("records")]

    def test_float_column_with_missing_and_infinite(self):
        column = pd.Series([0.1 + 0.2, np.nan, np.inf, -np.inf, -0.0, 1e20])
        values = _one(column)
        assert values[:4] == [0.30000000000000004, None, "Infinity", "-Infinity"]
        assert math.copysign(1, values[4]) == -1
        assert values[5] == 1e20

    def test_nullable_and_huge_integers(self):
        column = pd.Series(pd.array([2**63 - 1, None, -(2**63)], dtype="Int64"))
        assert _one(column) == [2**63 - 1, None, -(2**63)]
        assert _one(pd.Series([2**64 - 1], dtype="uint64")) == [2**64 - 1]

    def test_tz_aware_column_across_daylight_saving(self):
        column = pd.Series(pd.to_datetime(["2024-01-15 12:00", "2024-07-15 12:00", None]))
        column = column.dt.tz_localize("Europe/Amsterdam")
        assert _one(column) == [
            "2024-01-15T12:00:00.000000+01:00",
            "2024-07-15T12:00:00.000000+02:00",
            None,
        ]

    def test_nanoseconds_kept_where_present(self):
        column = pd.Series(
            pd.to_datetime(["2024-01-01 00:00:00.000000001", "2024-01-01 00:00:00.5"])
        )
        assert _one(column) == ["2024-01-01T00:00:00.000000001", "2024-01-01T00:00:00.500000"]

    def test_categorical_and_boolean_columns(self):
        assert _one(pd.Series(pd.Categorical(["x", None, "y"]))) == ["x", None, "y"]
        assert _one(pd.Series(pd.array([True, None], dtype="boolean"))) == [True, None]

    def test_mixed_object_column_uses_the_value_rules(self):
        column = pd.Series(
            [1, "0012", 2.5, None, decimal.Decimal("1.10"), dt.date(2024, 1, 1)], dtype=object
        )
        assert _one(column) == [1, "0012", 2.5, None, 1.1, "2024-01-01"]

    def test_object_column_of_several_types_keeps_each_types_text(self):
        column = pd.Series(
            [202403, dt.datetime(2024, 3, 1), "2024年3月", None, 1.0, True, 2**70], dtype=object
        )
        assert encode_rows(pd.DataFrame({"c": column})).str.slice(5, -1).tolist() == [
            "202403",
            '"2024-03-01T00:00:00.000000"',
            '"2024年3月"',
            "null",
            "1.0",
            "true",
            str(2**70),
        ]

    def test_surrogates_in_a_text_column(self):
        column = pd.Series(["ok", "bad\udc80", None], dtype=object)
        assert _one(column) == ["ok", "bad\udc80", None]


@given(source_frames())
def test_frame_encoder_matches_the_value_encoder(frame):
    """One encoder: the vectorised path gives exactly the per-value text."""
    expected = [
        encode_row({name: frame[name].iloc[i] for name in frame.columns}) for i in range(len(frame))
    ]
    assert encode_rows(frame).tolist() == expected


@given(read_frames())
def test_workbook_cells_match_the_value_encoder(frame):
    """Object columns are split by Python type; each type's kernel gives the value text."""
    expected = [
        encode_row({name: frame[name].iloc[i] for name in frame.columns}) for i in range(len(frame))
    ]
    assert encode_rows(frame).tolist() == expected


@given(source_frames())
def test_encoded_rows_are_valid_json_with_the_documented_values(frame):
    for position, text in enumerate(encode_rows(frame)):
        decoded = json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid token {c}"))
        assert list(decoded) == [str(c) for c in frame.columns]
        for name in frame.columns:
            assert decoded[str(name)] == expected_json_value(frame[name].iloc[position])


@given(st.lists(nasty_text, min_size=1, max_size=20))
def test_text_round_trips_exactly(texts):
    column = pd.Series(texts, dtype="str")
    assert _one(column) == texts
