import dataclasses
import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from tests.helpers import SESSION
from tests.strategies import source_frames
from work_data_hub.errors import InvalidSessionIdError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailedRecord,
    to_failed_frame,
)


def _record(**overrides) -> FailedRecord:
    arguments = {
        "session_id": SESSION,
        "domain": "annuity_performance",
        "source_file": "2024-03.xlsx",
        "row_index": 17,
        "error_type": ErrorType.VALIDATION_FAILED,
        "raw_row": {"月度": "202403", "期末资产规模": float("nan"), "户数": np.int64(2**62)},
    }
    return FailedRecord.from_validation_error(**{**arguments, **overrides})


def test_fields_in_log_order_and_frozen():
    record = _record()
    assert [f.name for f in dataclasses.fields(FailedRecord)] == [
        "session_id",
        "timestamp",
        "domain",
        "source_file",
        "row_index",
        "error_type",
        "raw_data",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.domain = "x"  # type: ignore[misc]


def test_timestamp_is_aware_utc_iso_8601_now():
    before = datetime.now(UTC)
    stamp = datetime.fromisoformat(_record().timestamp)
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0
    assert before <= stamp <= datetime.now(UTC)


def test_raw_row_serialised_by_the_raw_data_rules():
    record = _record()
    assert record.raw_data == '{"月度":"202403","期末资产规模":null,"户数":4611686018427387904}'
    assert json.loads(record.raw_data)["户数"] == 2**62


def test_raw_row_may_be_a_series():
    row = pd.Series({"计划代码": "P0012", "规模": 1.5})
    assert _record(raw_row=row).raw_data == '{"计划代码":"P0012","规模":1.5}'
    with pytest.raises(TypeError, match="raw_row must be a mapping"):
        _record(raw_row="not a row")


def test_to_dict_has_the_string_error_type():
    data = _record(error_type="FK_CONSTRAINT_VIOLATION").to_dict()
    assert list(data) == list(FailedRecord.__dataclass_fields__)
    assert data["error_type"] == "FK_CONSTRAINT_VIOLATION"
    assert type(data["error_type"]) is str
    assert data["row_index"] == 17


def test_bad_values_are_refused():
    with pytest.raises(InvalidSessionIdError):
        _record(session_id="etl_bad")
    with pytest.raises(ValueError, match="'OOPS' is not a valid ErrorType"):
        _record(error_type="OOPS")


@given(source_frames(max_rows=4))
def test_same_raw_data_as_the_frame_path(frame):
    """One encoder: a record and to_failed_frame serialise a row identically."""
    failed = to_failed_frame(
        frame, session_id=SESSION, domain="d", source_file="f", error_type="DROPPED_IN_PIPELINE"
    )
    for position in range(len(frame)):
        row = {name: frame[name].iloc[position] for name in frame.columns}
        record = _record(raw_row=row)
        assert record.raw_data == failed["raw_data"].iloc[position]
