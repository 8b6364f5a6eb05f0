"""6. Hostile values: never a crash, never invalid JSON, exact or a documented error."""

import json
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.helpers import SESSION
from tests.strategies import expected_hostile_json, hostile_frames
from work_data_hub.errors import RawDataEncodingError
from work_data_hub.infrastructure.validation import (
    FailureExporter,
    expand_raw_data,
    read_failures,
    to_failed_frame,
)

EXAMPLES = 1000 if os.environ.get("CI") else 200


def _strict_json(text: str):
    def refuse(token: str):
        raise AssertionError(f"invalid JSON token {token} in {text!r}")

    return json.loads(text, parse_constant=refuse)


def _same(left, right) -> bool:
    """Equality that also holds for the -0.0/0.0 sign and NaN-free floats."""
    if isinstance(left, float) and isinstance(right, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(hostile_frames())
def test_hostile_frames_round_trip_or_fail_before_writing(frame):
    keys = [str(name) for name in frame.columns]
    with tempfile.TemporaryDirectory() as folder:
        exporter = FailureExporter(SESSION, Path(folder))

        def build():
            return to_failed_frame(
                frame,
                session_id=SESSION,
                domain="域",
                source_file="源.xlsx",
                error_type="DROPPED_IN_PIPELINE",
            )

        if len(set(keys)) < len(keys):  # the documented error: names that collide
            with pytest.raises(RawDataEncodingError, match="duplicate column names"):
                build()
            assert not exporter.output_file.exists()
            return
        failed = build()
        exporter.export(failed)
        back = read_failures(exporter.output_file)
        assert len(back) == len(frame)
        for position, text in enumerate(back["raw_data"]):
            decoded = _strict_json(text)
            assert list(decoded) == keys
            for key, name in zip(keys, frame.columns, strict=True):
                expected = expected_hostile_json(frame[name].iloc[position])
                assert _same(decoded[key], expected), (key, frame[name].iloc[position])
        assert len(expand_raw_data(back)) == len(frame)
